"""Referral life-cycle, classification and atomic creation (services and model methods)."""

import datetime

import pytest
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from partners.enums import ConventionStatus
from referrals.enums import Classification, OffConventionReason, ReferralStatus
from referrals.models import Case, CaseStateError, Referral, ReferralEvent
from referrals.services import (
    ReferralRejected,
    ReferralRequest,
    referral_classify,
    referral_preview,
    referrals_create,
)
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

ALL = list(ReferralStatus.values)
LEGAL = {
    "send": {"draft": "sent"},
    "review": {"sent": "under_review"},
    "accept": {"sent": "accepted", "under_review": "accepted"},
    "refuse": {"sent": "refused", "under_review": "refused"},
    "complete": {"accepted": "completed"},
    "cancel": {
        "draft": "cancelled",
        "sent": "cancelled",
        "under_review": "cancelled",
        "accepted": "cancelled",
    },
    "expire": {"sent": "expired", "under_review": "expired"},
}
CASES = [(action, source) for action in LEGAL for source in ALL]


def run(referral, action, by=None):
    extra = {"reason": "full"} if action == "refuse" else {}
    getattr(referral, action)(by=by, comment="note", **extra)


@pytest.mark.parametrize(("action", "source"), CASES, ids=[f"{a}-from-{s}" for a, s in CASES])
def test_every_transition_from_every_status(action, source):
    referral = ReferralFactory(to=source)
    actor = UserFactory()
    events_before = referral.events.count()

    if source in LEGAL[action]:
        run(referral, action, by=actor)
        referral = Referral.objects.get(pk=referral.pk)
        assert referral.status == LEGAL[action][source]
        event = referral.events.order_by("-pk").first()
        assert (event.from_status, event.to_status, event.actor, event.comment) == (
            source,
            LEGAL[action][source],
            actor,
            "note",
        )
    else:
        with pytest.raises(TransitionNotAllowed):
            run(referral, action, by=actor)
        assert Referral.objects.get(pk=referral.pk).status == source
        assert referral.events.count() == events_before


def test_status_cannot_be_assigned_directly():
    referral = ReferralFactory()
    with pytest.raises(AttributeError):
        referral.status = ReferralStatus.ACCEPTED


def test_a_referral_answered_meanwhile_is_not_overwritten():
    referral = ReferralFactory(to="sent")
    stale_copy = Referral.objects.get(pk=referral.pk)
    referral.accept(by=None)

    with pytest.raises(ConcurrentTransition):
        stale_copy.refuse(by=None, reason="full")
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.ACCEPTED


def test_refusal_needs_a_reason():
    referral = ReferralFactory(to="sent")
    with pytest.raises(ValueError):
        referral.refuse(by=None, reason="")
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.SENT


def test_database_refuses_an_off_convention_referral_without_reason():
    with pytest.raises(IntegrityError), transaction.atomic():
        ReferralFactory(classification=Classification.OFF_CONVENTION, off_convention_reason="")


def test_database_refuses_in_convention_without_convention():
    with pytest.raises(IntegrityError), transaction.atomic():
        ReferralFactory(classification=Classification.IN_CONVENTION, convention=None)


# --- Classification -----------------------------------------------------------------------------


@pytest.fixture
def network():
    """A worker's service in a convention with a food partner; a housing need nobody official covers."""
    food, housing = DomainFactory(label="Aide alimentaire"), DomainFactory(label="Logement")
    mine = ServiceFactory(name="CCAS")
    convention = ConventionFactory(title="Convention précarité")
    MembershipFactory(convention=convention, service=mine)
    partner = ServiceFactory(name="Épicerie partenaire", domains=[food])
    MembershipFactory(convention=convention, service=partner)
    return {
        "mine": mine,
        "convention": convention,
        "partner": partner,
        "outside_food": ServiceFactory(name="Épicerie indépendante", domains=[food]),
        "outside_housing": ServiceFactory(name="Agence logement", domains=[housing]),
        "food": food,
        "housing": housing,
    }


def classify(network, target, need):
    return referral_classify(
        sender_service_id=network["mine"].pk, target_service_id=target.pk, need_ids={need.pk}
    )


def test_partner_is_in_convention_with_its_convention(network):
    result = classify(network, network["partner"], network["food"])
    assert (result.classification, result.convention) == (Classification.IN_CONVENTION, network["convention"])


def test_outside_service_for_a_need_a_partner_covers_is_off_convention(network):
    assert (
        classify(network, network["outside_food"], network["food"]).classification
        == Classification.OFF_CONVENTION
    )


def test_outside_service_for_a_need_no_partner_covers_is_a_gap(network):
    result = classify(network, network["outside_housing"], network["housing"])
    assert result.classification == Classification.NO_PARTNER


def test_a_thematique_covers_its_category_need(network):
    category = DomainFactory(label="Alimentation")
    network["food"].parent = category
    network["food"].save()
    assert (
        classify(network, network["outside_food"], category).classification == Classification.OFF_CONVENTION
    )


# --- Creating referrals -------------------------------------------------------------------------


@pytest.fixture
def case(network):
    worker = UserFactory(service=network["mine"])
    case = CaseFactory(
        service=network["mine"], needs=[network["food"], network["housing"]], created_by=worker
    )
    return case, worker


def test_referrals_are_classified_and_sent_in_one_step(network, case):
    case, worker = case
    referrals = referrals_create(
        case=case,
        user=worker,
        requests=[
            ReferralRequest(network["partner"].pk),
            ReferralRequest(network["outside_food"].pk, reason=OffConventionReason.CLOSER),
            ReferralRequest(network["outside_housing"].pk),
        ],
    )

    by_service = {r.service: r for r in referrals}
    assert by_service[network["partner"]].classification == Classification.IN_CONVENTION
    assert by_service[network["partner"]].convention == network["convention"]
    assert by_service[network["outside_food"]].classification == Classification.OFF_CONVENTION
    assert by_service[network["outside_food"]].off_convention_reason == OffConventionReason.CLOSER
    assert by_service[network["outside_housing"]].classification == Classification.NO_PARTNER
    assert all(r.status == ReferralStatus.SENT and r.sent_at for r in referrals)
    assert set(by_service[network["outside_housing"]].needs.all()) == {network["housing"]}
    assert ReferralEvent.objects.filter(referral__in=referrals, to_status=ReferralStatus.SENT).count() == 3


def test_one_invalid_request_saves_nothing(network, case):
    case, worker = case
    with pytest.raises(ReferralRejected) as rejected:
        referrals_create(
            case=case,
            user=worker,
            requests=[ReferralRequest(network["partner"].pk), ReferralRequest(network["outside_food"].pk)],
        )
    assert rejected.value.errors_by_service == {
        network["outside_food"].pk: "Orientation hors convention : indiquez le motif."
    }
    assert not Referral.objects.exists()


def test_other_reason_needs_details(network, case):
    case, worker = case
    with pytest.raises(ReferralRejected):
        referrals_create(
            case=case,
            user=worker,
            requests=[
                ReferralRequest(network["outside_food"].pk, reason=OffConventionReason.OTHER, details="  ")
            ],
        )
    referral = referrals_create(
        case=case,
        user=worker,
        requests=[
            ReferralRequest(network["outside_food"].pk, reason=OffConventionReason.OTHER, details="Connue")
        ],
    )[0]
    assert referral.off_convention_details == "Connue"


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("mine", "Vous ne pouvez pas orienter vers votre propre service."),
        ("unrelated", "Ce service ne couvre aucun des besoins de la situation."),
    ],
)
def test_pointless_referrals_are_refused(network, case, target, message):
    case, worker = case
    service = network["mine"] if target == "mine" else ServiceFactory(domains=[DomainFactory()])
    with pytest.raises(ReferralRejected) as rejected:
        referrals_create(case=case, user=worker, requests=[ReferralRequest(service.pk)])
    assert rejected.value.errors_by_service[service.pk] == message


def test_a_second_pending_referral_to_the_same_service_is_refused(network, case):
    case, worker = case
    referrals_create(case=case, user=worker, requests=[ReferralRequest(network["partner"].pk)])
    with pytest.raises(ReferralRejected):
        referrals_create(case=case, user=worker, requests=[ReferralRequest(network["partner"].pk)])
    assert Referral.objects.count() == 1


def test_classification_is_a_snapshot(network, case):
    case, worker = case
    referral = referrals_create(case=case, user=worker, requests=[ReferralRequest(network["partner"].pk)])[0]

    network["convention"].status = ConventionStatus.ENDED
    network["convention"].save()
    network["partner"].memberships.update(left_on=timezone.localdate() + datetime.timedelta(days=1))

    referral = Referral.objects.get(pk=referral.pk)
    assert (referral.classification, referral.convention) == (
        Classification.IN_CONVENTION,
        network["convention"],
    )
    new_case = CaseFactory(service=network["mine"], needs=[network["food"]])
    later = referrals_create(case=new_case, user=worker, requests=[ReferralRequest(network["partner"].pk)])[0]
    assert later.classification == Classification.NO_PARTNER


def test_receiving_service_is_notified_by_email(network, case, django_capture_on_commit_callbacks):
    case, worker = case
    UserFactory(service=network["partner"], email="accueil@epicerie.fr")
    with django_capture_on_commit_callbacks(execute=True):
        referrals_create(case=case, user=worker, requests=[ReferralRequest(network["partner"].pk)])
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["accueil@epicerie.fr"]
    assert case.reference in mail.outbox[0].subject


def test_a_closed_case_cannot_be_referred(network):
    case = CaseFactory(service=network["mine"], needs=[network["food"]], closed=True)
    with pytest.raises(CaseStateError):
        referrals_create(case=case, user=None, requests=[ReferralRequest(network["partner"].pk)])
    assert not Referral.objects.exists()


def test_a_case_closed_meanwhile_cannot_be_referred(network):
    """The status is read again under a lock: a stale open copy of a closed case refers nothing."""
    case = CaseFactory(service=network["mine"], needs=[network["food"]])
    Case.objects.get(pk=case.pk).close()
    with pytest.raises(CaseStateError):
        referrals_create(case=case, user=None, requests=[ReferralRequest(network["partner"].pk)])
    assert not Referral.objects.exists()


def test_preview_costs_the_same_queries_for_two_services_or_three(network, case):
    case, _ = case
    referral_preview(case=case, service_ids=[network["partner"].pk])  # loads the reference lists once
    with CaptureQueriesContext(connection) as one:
        preview = referral_preview(case=case, service_ids=[network["partner"].pk, network["outside_food"].pk])
    assert [result.classification for _, _, result in preview] == [
        Classification.OFF_CONVENTION,
        Classification.IN_CONVENTION,
    ]

    three = [network["partner"].pk, network["outside_food"].pk, network["outside_housing"].pk]
    with CaptureQueriesContext(connection) as many:
        preview = referral_preview(case=case, service_ids=three)
    assert len(many) == len(one)
    assert {service.name: result.classification for service, _, result in preview} == {
        "Épicerie partenaire": Classification.IN_CONVENTION,
        "Épicerie indépendante": Classification.OFF_CONVENTION,
        "Agence logement": Classification.NO_PARTNER,
    }
