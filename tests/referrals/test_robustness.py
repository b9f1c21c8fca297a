"""Referrals under bad input: no 500, no partial write, a French message next to the field."""

import pytest
from django.urls import reverse

from referrals.enums import ReferralStatus
from referrals.models import Referral, ReferralEvent
from tests.factories import (
    CaseFactory,
    ConventionFactory,
    DomainFactory,
    MembershipFactory,
    ReferralFactory,
    ServiceFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def off_convention():
    """A worker in a convention whose partner covers the need, and an outside service that covers it too."""
    need = DomainFactory(label="Aide alimentaire")
    case = CaseFactory(needs=[need])
    convention = ConventionFactory()
    MembershipFactory(convention=convention, service=case.service)
    MembershipFactory(convention=convention, service=ServiceFactory(domains=[need]))
    outside = ServiceFactory(name="Épicerie indépendante", domains=[need])
    return {"case": case, "worker": UserFactory(service=case.service), "target": outside}


def refer(client, case, data):
    return client.post(reverse("referrals:case_refer", args=[case.pk]), data)


# --- Reasons and details on the confirm page -----------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "details", "message"),
    [
        ("not_a_reason", "", "Motif inconnu"),
        ("x" * 5000, "", "Motif inconnu"),
        ("other", "", "Motif « Autre » : précisez-le"),
        ("closer", "x" * 2001, "Précisions trop longues : 2000 caractères au plus (2001 saisis)"),
        ("", "x" * 5000, "Précisions trop longues"),
    ],
)
def test_a_bad_optional_reason_on_a_gap_is_a_400_next_to_the_service(
    client_for, gap, reason, details, message
):
    target = gap["target"]
    data = {
        "services": [target.pk],
        "confirm": "1",
        f"reason_{target.pk}": reason,
        f"details_{target.pk}": details,
    }
    response = refer(client_for(gap["worker"]), gap["case"], data)
    content = response.content.decode()
    assert response.status_code == 400
    assert message in content
    assert f'id="erreur-{target.pk}"' in content and "Agence logement" in content
    assert not Referral.objects.exists()


def test_a_gap_referral_with_a_valid_optional_reason_is_saved(client_for, gap):
    target = gap["target"]
    data = {
        "services": [target.pk],
        "confirm": "1",
        f"reason_{target.pk}": "closer",
        f"details_{target.pk}": "x" * 2000,
    }
    assert refer(client_for(gap["worker"]), gap["case"], data).status_code == 302
    referral = Referral.objects.get()
    assert (referral.classification, referral.off_convention_reason) == ("no_partner", "closer")
    assert len(referral.off_convention_details) == 2000


def test_off_convention_details_are_not_cut_but_refused_when_too_long(client_for, off_convention):
    target = off_convention["target"]
    data = {
        "services": [target.pk],
        "confirm": "1",
        f"reason_{target.pk}": "other",
        f"details_{target.pk}": "y" * 2500,
    }
    response = refer(client_for(off_convention["worker"]), off_convention["case"], data)
    assert response.status_code == 400
    assert "Précisions trop longues" in response.content.decode()
    assert not Referral.objects.exists()


# --- Services picked -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["99999999999999999999999", "-1", "1e5", "abc", "0", ""])
@pytest.mark.parametrize("confirm", ["", "1"])
def test_impossible_service_ids_are_a_french_400(client_for, gap, value, confirm):
    data = {"services": [gap["target"].pk, value], "confirm": confirm}
    response = refer(client_for(gap["worker"]), gap["case"], data)
    content = response.content.decode()
    assert response.status_code == 400
    assert "Choix invalide" in content
    assert "Agence logement" in content  # the rest of the form is still there
    assert not Referral.objects.exists()


@pytest.mark.parametrize("confirm", ["", "1"])
@pytest.mark.parametrize("kind", ["unknown", "inactive"])
def test_an_unknown_or_inactive_service_is_said_and_the_rest_of_the_form_shown(
    client_for, gap, confirm, kind
):
    if kind == "unknown":
        missing_id = gap["target"].pk + 1000
    else:
        missing_id = ServiceFactory(domains=[gap["need"]], is_active=False).pk
    data = {"services": [gap["target"].pk, missing_id], "confirm": confirm}
    response = refer(client_for(gap["worker"]), gap["case"], data)
    content = response.content.decode()
    assert response.status_code == 400
    assert "existe pas ou n&#x27;est plus actif" in content
    assert f'name="services" value="{gap["target"].pk}"' in content
    assert f'value="{missing_id}"' not in content
    assert not Referral.objects.exists()


# --- Answers --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["accepter", "terminer", "annuler"])
def test_a_comment_over_2000_characters_is_a_400_and_no_transition(client_for, action):
    referral = ReferralFactory(needs=[DomainFactory()], to="accepted" if action == "terminer" else "sent")
    who = referral.case.service if action == "annuler" else referral.service
    before = (Referral.objects.get(pk=referral.pk).status, ReferralEvent.objects.count())
    response = client_for(UserFactory(service=who)).post(
        reverse("referrals:referral_transition", args=[referral.pk, action]), {"comment": "z" * 2001}
    )
    assert response.status_code == 400
    assert "au plus 2000 caractères" in response.content.decode()
    assert (Referral.objects.get(pk=referral.pk).status, ReferralEvent.objects.count()) == before


def test_a_comment_of_2000_characters_is_kept(client_for):
    referral = ReferralFactory(needs=[DomainFactory()], to="sent")
    response = client_for(UserFactory(service=referral.service)).post(
        reverse("referrals:referral_transition", args=[referral.pk, "accepter"]), {"comment": "z" * 2000}
    )
    assert response.status_code == 302
    assert referral.events.get(to_status=ReferralStatus.ACCEPTED).comment == "z" * 2000
