"""Case life-cycle (close, reopen) and what a closed case allows."""

import pytest
from django.urls import reverse

from referrals.enums import CaseStatus
from referrals.models import Case, CaseStateError, Referral
from tests.factories import (
    CaseFactory,
    CommuneFactory,
    DomainFactory,
    ReferralFactory,
    ServiceFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


# --- Life-cycle (model methods) --------------------------------------------------------------------


def test_an_open_case_closes_then_reopens():
    case = CaseFactory()
    case.close()
    stored = Case.objects.get(pk=case.pk)
    assert (case.status, stored.status) == (CaseStatus.CLOSED, CaseStatus.CLOSED)
    assert stored.closed_at is not None and stored.closed_at == case.closed_at

    case.reopen()
    stored = Case.objects.get(pk=case.pk)
    assert (case.status, stored.status, stored.closed_at) == (CaseStatus.OPEN, CaseStatus.OPEN, None)


@pytest.mark.parametrize(("status", "action"), [("open", "reopen"), ("closed", "close")])
def test_refused_life_cycle_moves_change_nothing(status, action):
    case = CaseFactory(closed=status == "closed")
    before = Case.objects.values_list("status", "closed_at").get(pk=case.pk)
    with pytest.raises(CaseStateError):
        getattr(case, action)()
    assert Case.objects.values_list("status", "closed_at").get(pk=case.pk) == before


def test_a_stale_copy_cannot_close_a_case_closed_meanwhile():
    case = CaseFactory()
    stale = Case.objects.get(pk=case.pk)
    case.close()
    closed_at = Case.objects.get(pk=case.pk).closed_at
    with pytest.raises(CaseStateError):
        stale.close()
    assert Case.objects.get(pk=case.pk).closed_at == closed_at


def test_ensure_open_reads_the_database_when_asked_to_lock():
    case = CaseFactory()
    stale = Case.objects.get(pk=case.pk)
    case.close()
    stale.ensure_open()  # its own (stale) status says open
    with pytest.raises(CaseStateError):
        stale.ensure_open(lock=True)


# --- What a closed case allows (views) -------------------------------------------------------------


@pytest.fixture
def closed_case():
    need = DomainFactory()
    case = CaseFactory(needs=[need], closed=True, reference="CLOS-1", notes="avant")
    ReferralFactory(case=case, needs=[need], to="sent")
    return case


def test_worker_closes_and_reopens_a_case_from_its_page(client_for):
    case = CaseFactory()
    client = client_for(UserFactory(service=case.service))
    response = client.post(reverse("referrals:case_close", args=[case.pk]))
    assert response.status_code == 302
    assert Case.objects.get(pk=case.pk).status == CaseStatus.CLOSED
    assert client.post(reverse("referrals:case_reopen", args=[case.pk])).status_code == 302
    assert Case.objects.get(pk=case.pk).status == CaseStatus.OPEN


def test_closing_twice_is_a_409_with_a_french_message(client_for, closed_case):
    client = client_for(UserFactory(service=closed_case.service))
    closed_at = Case.objects.get(pk=closed_case.pk).closed_at
    response = client.post(reverse("referrals:case_close", args=[closed_case.pk]))
    assert response.status_code == 409
    assert "déjà clôturée" in response.content.decode()
    assert Case.objects.get(pk=closed_case.pk).closed_at == closed_at


def test_a_closed_case_can_be_read(client_for, closed_case):
    client = client_for(UserFactory(service=closed_case.service))
    response = client.get(reverse("referrals:case_detail", args=[closed_case.pk]))
    content = response.content.decode()
    assert response.status_code == 200
    assert "Rouvrir" in content and "Modifier" not in content and "Proposer des orientations" not in content


def test_a_closed_case_cannot_be_edited(client_for, closed_case):
    client = client_for(UserFactory(service=closed_case.service))
    url = reverse("referrals:case_update", args=[closed_case.pk])
    page = client.get(url)
    assert page.status_code == 302 and page["Location"] == reverse(
        "referrals:case_detail", args=[closed_case.pk]
    )

    need = DomainFactory()
    CommuneFactory(postcodes=["35000"], latitude=48.1, longitude=-1.6)
    response = client.post(
        url,
        {"reference": "NOUVELLE", "needs": [need.pk], "place": "35000", "radius_km": 20, "notes": "après"},
    )
    assert response.status_code == 409
    assert "rouvrez-la" in response.content.decode()
    stored = Case.objects.get(pk=closed_case.pk)
    assert (stored.reference, stored.notes, stored.status) == ("CLOS-1", "avant", CaseStatus.CLOSED)


def test_an_edit_does_not_reopen_a_case_closed_meanwhile(client_for):
    """The form's instance was loaded open; the save must not write status=open back."""
    need = DomainFactory()
    CommuneFactory(postcodes=["35000"], latitude=48.1, longitude=-1.6)
    case = CaseFactory(needs=[need])
    client = client_for(UserFactory(service=case.service))
    from referrals import views

    real_load = views._load_case

    def load_then_close(request, pk):
        loaded = real_load(request, pk)
        if request.method == "POST" and loaded.is_open:
            Case.objects.get(pk=pk).close()  # a colleague closes it between our read and our write
        return loaded

    views._load_case = load_then_close
    try:
        response = client.post(
            reverse("referrals:case_update", args=[case.pk]),
            {"reference": "APRES", "needs": [need.pk], "place": "35000", "radius_km": 20},
        )
    finally:
        views._load_case = real_load
    assert response.status_code == 409
    stored = Case.objects.get(pk=case.pk)
    assert stored.status == CaseStatus.CLOSED and stored.reference != "APRES"


def test_a_closed_case_gets_no_new_referral(client_for, closed_case):
    target = ServiceFactory(domains=list(closed_case.needs.all()))
    client = client_for(UserFactory(service=closed_case.service))
    url = reverse("referrals:case_refer", args=[closed_case.pk])
    for data in ({"services": [target.pk]}, {"services": [target.pk], "confirm": "1"}):
        response = client.post(url, data)
        assert response.status_code == 409
        assert "rouvrez-la" in response.content.decode()
    assert Referral.objects.filter(case=closed_case).count() == 1


def test_the_routing_page_of_a_closed_case_sends_back_to_the_case(client_for, closed_case):
    client = client_for(UserFactory(service=closed_case.service))
    response = client.get(reverse("referrals:case_routing", args=[closed_case.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("referrals:case_detail", args=[closed_case.pk])
    assert "rouvrez-la" in response.content.decode()


def test_referrals_of_a_closed_case_can_still_be_answered(client_for, closed_case):
    referral = closed_case.referrals.get()
    receiver = client_for(UserFactory(service=referral.service))
    response = receiver.post(reverse("referrals:referral_transition", args=[referral.pk, "accepter"]))
    assert response.status_code == 302
    assert Referral.objects.get(pk=referral.pk).status == "accepted"
