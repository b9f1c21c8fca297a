"""Case and referral pages, tested by trying to break them."""

import pytest
from django.urls import reverse

from referrals.enums import ReferralStatus
from referrals.models import Referral
from tests.factories import CaseFactory, DomainFactory, PublicFactory, ReferralFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def referral():
    """A referral sent by a case's service to a receiving service."""
    need = DomainFactory()
    case = CaseFactory(needs=[need])
    return ReferralFactory(case=case, needs=[need], to="sent")


def test_colleague_sees_the_case_other_service_gets_404(client_for, referral):
    colleague = UserFactory(service=referral.case.service)
    stranger = UserFactory(worker=True)
    url = reverse("referrals:case_detail", args=[referral.case_id])
    assert client_for(colleague).get(url).status_code == 200
    assert client_for(stranger).get(url).status_code == 404
    assert (
        client_for(stranger).get(reverse("referrals:case_routing", args=[referral.case_id])).status_code
        == 404
    )


def test_other_service_cannot_open_or_answer_a_referral(client_for, referral):
    stranger = client_for(UserFactory(worker=True))
    assert stranger.get(reverse("referrals:referral_detail", args=[referral.pk])).status_code == 404
    response = stranger.post(reverse("referrals:referral_transition", args=[referral.pk, "accepter"]))
    assert response.status_code == 404
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.SENT


def test_sender_cannot_accept_their_own_referral(client_for, referral):
    sender = client_for(UserFactory(service=referral.case.service))
    response = sender.post(reverse("referrals:referral_transition", args=[referral.pk, "accepter"]))
    assert response.status_code == 403
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.SENT


def test_receiver_accepts_then_a_second_answer_is_refused_with_409(client_for, referral):
    receiver = client_for(UserFactory(service=referral.service))
    url = reverse("referrals:referral_transition", args=[referral.pk, "accepter"])
    assert receiver.post(url).status_code == 302
    response = receiver.post(
        reverse("referrals:referral_transition", args=[referral.pk, "refuser"]), {"reason": "full"}
    )
    assert response.status_code == 409
    assert "Impossible" in response.content.decode()
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.ACCEPTED


def test_refusal_without_reason_is_a_400_and_changes_nothing(client_for, referral):
    receiver = client_for(UserFactory(service=referral.service))
    response = receiver.post(
        reverse("referrals:referral_transition", args=[referral.pk, "refuser"]), {"reason": ""}
    )
    assert response.status_code == 400
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.SENT


def test_user_without_service_gets_403_on_cases(client_for):
    assert client_for(UserFactory()).get(reverse("referrals:case_list")).status_code == 403


def test_inbox_query_count_does_not_grow(client_for, referral, django_assert_max_num_queries):
    receiver = client_for(UserFactory(service=referral.service))
    receiver.get(reverse("referrals:inbox"))
    with django_assert_max_num_queries(8) as few:
        receiver.get(reverse("referrals:inbox"))
    for _ in range(5):
        ReferralFactory(service=referral.service, needs=[DomainFactory()], to="sent")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = receiver.get(reverse("referrals:inbox"))
    assert len(response.context["referrals"]) == 6


def test_case_page_query_count_does_not_grow(client_for, referral, django_assert_max_num_queries):
    worker = client_for(UserFactory(service=referral.case.service))
    url = reverse("referrals:case_detail", args=[referral.case_id])
    worker.get(url)
    with django_assert_max_num_queries(12) as few:
        worker.get(url)
    for _ in range(5):
        ReferralFactory(case=referral.case, needs=[DomainFactory()], to="sent")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert worker.get(url).status_code == 200


def test_worker_creates_a_case_sees_proposals_and_refers_with_a_reason(client_for):
    from partners.models import Service
    from tests.factories import CommuneFactory, ConventionFactory, MembershipFactory, ServiceFactory

    rennes = CommuneFactory(
        insee_code="35238", name="Rennes", latitude=48.1119, longitude=-1.6809, postcodes=["35000"]
    )
    food = DomainFactory(label="Aide alimentaire")
    worker = UserFactory(worker=True)
    convention = ConventionFactory()
    MembershipFactory(convention=convention, service=worker.service)
    partner = ServiceFactory(name="Épicerie partenaire", domains=[food], latitude=48.30, longitude=-1.6809)
    MembershipFactory(convention=convention, service=partner)
    outside = ServiceFactory(name="Épicerie voisine", domains=[food], latitude=48.1119, longitude=-1.6809)
    Service.objects.filter(pk=worker.service_id).update(latitude=None, longitude=None)
    client = client_for(worker)

    response = client.post(
        reverse("referrals:case_create"),
        {"reference": "S-TEST-1", "needs": [food.pk], "place": "35000", "radius_km": 50},
    )
    case = worker.service.cases.get()
    assert response["Location"] == reverse("referrals:case_routing", args=[case.pk])
    assert case.commune == rennes

    routing = client.get(response["Location"])
    content = routing.content.decode()
    assert routing.status_code == 200
    assert "Épicerie partenaire" in content and "Hors convention mais plus proche" in content

    url = reverse("referrals:case_refer", args=[case.pk])
    review = client.post(url, {"services": [outside.pk]})
    assert review.status_code == 200 and "Hors convention" in review.content.decode()
    missing_reason = client.post(url, {"services": [outside.pk], "confirm": "1"})
    assert missing_reason.status_code == 400
    assert not Referral.objects.exists()
    done = client.post(url, {"services": [outside.pk], "confirm": "1", f"reason_{outside.pk}": "closer"})
    assert done.status_code == 302
    referral = Referral.objects.get()
    assert (referral.classification, referral.off_convention_reason) == ("off_convention", "closer")


def test_case_edit_form_ticks_the_current_needs_and_publics(client_for):
    food, debts = DomainFactory(label="Aide alimentaire"), DomainFactory(label="Dettes")
    youth = PublicFactory(label="Jeunes")
    case = CaseFactory(needs=[food])
    case.publics.set([youth])
    content = (
        client_for(UserFactory(service=case.service))
        .get(reverse("referrals:case_update", args=[case.pk]))
        .content.decode()
    )

    def is_ticked(name, pk):
        start = content.index(f'name="{name}" value="{pk}"')
        return content[start:].split(">", 1)[0].endswith(" checked")

    assert is_ticked("needs", food.pk) and not is_ticked("needs", debts.pk)
    assert is_ticked("publics", youth.pk)


def _answer(client, referral, action, data, capture):
    with capture(execute=True):
        response = client.post(reverse("referrals:referral_transition", args=[referral.pk, action]), data)
    assert response.status_code == 302


def test_the_sender_is_told_the_referral_was_accepted(
    client_for, referral, mailoutbox, django_capture_on_commit_callbacks
):
    sender = UserFactory(service=referral.case.service, email="referente@ccas.fr")
    Referral.objects.filter(pk=referral.pk).update(sender=sender)
    receiver = client_for(UserFactory(service=referral.service))
    _answer(receiver, referral, "accepter", {}, django_capture_on_commit_callbacks)

    (message,) = mailoutbox
    assert message.to == ["referente@ccas.fr"]
    assert message.subject == f"Orientation acceptée : {referral.service.name} ({referral.case.reference})"
    assert f"« {referral.service.name} » a répondu à votre orientation" in message.body
    assert ": acceptée." in message.body and "Motif" not in message.body
    assert reverse("referrals:case_detail", args=[referral.case_id]) in message.body


def test_a_refusal_gives_its_reason_but_not_the_free_text(
    client_for, referral, mailoutbox, django_capture_on_commit_callbacks
):
    sender = UserFactory(service=referral.case.service, email="referente@ccas.fr")
    Referral.objects.filter(pk=referral.pk).update(sender=sender)
    receiver = client_for(UserFactory(service=referral.service))
    details = "Rappeler la personne au 06 12 34 56 78"
    _answer(
        receiver,
        referral,
        "refuser",
        {"reason": "other", "details": details},
        django_capture_on_commit_callbacks,
    )

    (message,) = mailoutbox
    assert message.subject == f"Orientation refusée : {referral.service.name} ({referral.case.reference})"
    assert "Motif : Autre." in message.body
    assert details not in message.body  # free text stays in Réseau, behind the login


def test_when_the_sender_has_left_their_colleagues_are_told(
    client_for, referral, mailoutbox, django_capture_on_commit_callbacks
):
    sender = UserFactory(service=referral.case.service, email="partie@ccas.fr", is_active=False)
    UserFactory(service=referral.case.service, email="collegue@ccas.fr")
    Referral.objects.filter(pk=referral.pk).update(sender=sender)
    receiver = client_for(UserFactory(service=referral.service))
    _answer(receiver, referral, "accepter", {}, django_capture_on_commit_callbacks)

    (message,) = mailoutbox
    assert message.to == ["collegue@ccas.fr"]
