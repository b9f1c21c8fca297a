"""Insight's pre-aggregated counts: kept by the transitions, equal to a rebuild and to the direct
computation over the referrals (``network_referrals``), and untouched by the purge."""

import datetime
import io
import statistics

import pytest
from django.core.management import call_command
from django.utils import timezone

from referrals.enums import Classification
from referrals.insight import (
    Filters,
    Period,
    concentration,
    concentration_by_quarter,
    headline,
    network_referrals,
    off_convention,
    outside_services,
    responsiveness,
)
from referrals.insight_counts import counts_rebuild
from referrals.models import INSIGHT_COUNT_MODELS, Case, InsightFlowCount, Referral
from referrals.services import cases_purge, referrals_expire
from tests.factories import (
    CaseFactory,
    CommuneFactory,
    ConventionFactory,
    DomainFactory,
    MembershipFactory,
    NetworkFactory,
    ReferralFactory,
    ServiceFactory,
)

pytestmark = pytest.mark.django_db


def snapshot():
    """Every count row with a non-zero measure, as plain tuples."""
    found = {}
    for model in INSIGHT_COUNT_MODELS:
        fields = [model._meta.get_field(name).attname for name in (*model.KEY, *model.MEASURES)]
        found[model.__name__] = sorted(
            row
            for row in model.objects.values_list(*fields)
            if any(row[len(model.KEY) :])  # zero rows left by a retraction count nothing
        )
    return found


@pytest.fixture
def world(db):
    """Two networks sharing a sender; referrals sent today through the real transitions."""
    housing = DomainFactory(code="logement", label="Logement")
    shelter = DomainFactory(code="logement--hebergement", label="Hébergement", parent=housing)
    health = DomainFactory(code="sante", label="Santé")
    rennes = CommuneFactory(insee_code="35238", name="Rennes", department="35")
    brest = CommuneFactory(insee_code="29019", name="Brest", department="29")
    network, other = NetworkFactory(name="N"), NetworkFactory(name="M")
    convention, other_convention = ConventionFactory(network=network), ConventionFactory(network=other)
    sender, partner, outside, late = (ServiceFactory(name=name) for name in ("S", "P", "X", "L"))
    for service in (sender, partner):
        MembershipFactory(convention=convention, service=service)
    MembershipFactory(convention=other_convention, service=sender)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    MembershipFactory(convention=convention, service=late, joined_on=tomorrow)  # not a member today

    def refer(
        target, to, *, needs=(shelter,), commune=rennes, classification="in_convention", by=sender, **kw
    ):
        if classification == "in_convention":
            kw.setdefault("convention", convention)
        if classification == "off_convention":
            kw.setdefault("off_convention_reason", "closer")
        case = CaseFactory(service=by, commune=commune, needs=list(needs))
        return ReferralFactory(
            case=case, service=target, classification=classification, needs=list(needs), to=to, **kw
        )

    referrals = [
        refer(partner, "accepted"),
        refer(partner, "refused"),
        refer(partner, "under_review", needs=(shelter, health)),
        refer(partner, "completed", commune=brest),
        refer(partner, "expired"),
        refer(partner, "draft"),
        refer(partner, "cancelled"),
        refer(outside, "accepted", classification="off_convention", needs=(health,)),
        refer(outside, "sent", classification="off_convention", commune=None),
        refer(outside, "refused", classification="no_partner", needs=(shelter, health)),
        refer(partner, "sent", by=late, classification="no_partner"),  # not the network's today
    ]
    return {
        "network": network,
        "other": other,
        "referrals": referrals,
        "housing": housing,
        "health": health,
        "partner": partner,
        "outside": outside,
    }


def test_transitions_keep_the_counts_equal_to_a_rebuild(world):
    first, _, under_review, *_ = world["referrals"]
    first.complete(by=None)
    under_review.accept(by=None)
    under_review.cancel(by=None)  # accepted, then cancelled: no longer accepted
    incremental = snapshot()
    assert incremental["InsightFlowCount"]  # counted as they went
    counts_rebuild()
    assert snapshot() == incremental


def test_expiry_by_the_command_moves_the_counts(world):
    pending = world["referrals"][8]  # sent, off convention
    Referral.objects.filter(pk=pending.pk).update(sent_at=timezone.now() - datetime.timedelta(days=1))
    counts_rebuild()  # its month may have changed with the date
    assert referrals_expire(now=timezone.now() + datetime.timedelta(days=40)) >= 1
    incremental = snapshot()
    counts_rebuild()
    assert snapshot() == incremental


def test_a_network_counts_only_its_members_referrals_and_each_once(world):
    rows = InsightFlowCount.objects.filter(network=world["network"], department="*", category=0)
    # 8 sent by S (the draft is not sent, the cancelled draft neither); L was not a member on the day.
    assert sum(rows.values_list("referrals", flat=True)) == 8
    assert network_referrals(world["network"], Filters(Period.last_months(1))).count() == 8
    # S is also in M's convention: M counts the same 8.
    other = InsightFlowCount.objects.filter(network=world["other"], department="*", category=0)
    assert sum(other.values_list("referrals", flat=True)) == 8


FILTERS = [
    {},
    {"department": "35"},
    {"department": "29"},
    {"category": "housing"},
    {"category": "health"},
    {"department": "35", "category": "health"},
]


@pytest.mark.parametrize("wanted", FILTERS, ids=lambda f: "-".join(f"{k}={v}" for k, v in f.items()) or "all")
def test_figures_from_counts_equal_the_direct_computation(world, wanted):
    """Each page's figures from the counts, against the same figures computed from the referrals."""
    network = world["network"]
    filters = Filters(
        Period.last_months(12),
        department=wanted.get("department", ""),
        category=world[wanted["category"]] if "category" in wanted else None,
    )
    direct = list(
        network_referrals(network, filters).values(
            "sender_service",
            "target_service",
            "target_service__organisation",
            "classification",
            "status",
            "answered_at",
            "sent_at",
            "answer_days",
            "refusal_reason",
            "off_convention_reason",
        )
    )

    months = off_convention(network, filters)["months"]
    by_classification = [sum(month["counts"][i] for month in months) for i in range(3)]
    assert by_classification == [
        sum(1 for r in direct if r["classification"] == c) for c in Classification.values
    ]

    outside = {row["service"].pk: row for row in outside_services(network, filters)}
    expected_outside = {}
    for r in direct:
        if r["classification"] != Classification.IN_CONVENTION:
            expected_outside.setdefault(r["target_service"], []).append(r)
    assert set(outside) == set(expected_outside)
    for target, rows in expected_outside.items():
        assert outside[target]["count"] == len(rows)
        assert outside[target]["senders"] == len({r["sender_service"] for r in rows})
        assert outside[target]["answered"] == sum(1 for r in rows if r["answered_at"])
        assert outside[target]["accepted"] == sum(1 for r in rows if r["status"] in ("accepted", "completed"))

    partner = {row["service"].pk: row for row in responsiveness(network, filters)["rows"]}[
        world["partner"].pk
    ]
    received = [r for r in direct if r["target_service"] == world["partner"].pk]
    days = [r["answer_days"] for r in received if r["answer_days"] is not None]
    assert partner["count"] == len(received)
    assert partner["median_days"] == (statistics.median(days) if days else None)
    assert partner["refused"] == sum(1 for r in received if r["status"] == "refused")
    assert partner["expired"] == sum(1 for r in received if r["status"] == "expired")
    fast = [
        r
        for r in received
        if r["answered_at"] and r["answered_at"] <= r["sent_at"] + datetime.timedelta(days=10)
    ]
    assert partner["answered_fast"] == len(fast)

    per_organisation = {}
    for r in direct:
        organisation = r["target_service__organisation"]
        per_organisation[organisation] = per_organisation.get(organisation, 0) + 1
    quarters = concentration_by_quarter(network, filters)
    expected = concentration(list(per_organisation.values()))
    assert [(q["total"], q["hhi"], q["top3_share"]) for q in quarters] == (
        [(expected["total"], expected["hhi"], expected["top3_share"])] if direct else []
    )
    if not wanted:
        figures = headline(network)
        assert (figures["total"], figures["hhi"]) == (len(direct), expected["hhi"])


def test_counts_survive_the_purge_and_a_rebuild_after_it(world):
    before = snapshot()
    Case.objects.update(status="closed", closed_at=timezone.now() - datetime.timedelta(days=365 * 3))
    cases_purge()
    assert not Referral.objects.exists()
    assert snapshot() == before
    call_command("rebuild_insight_counts", verbosity=0)  # from the archived referrals
    assert snapshot() == before


def test_rebuild_of_one_network_leaves_the_others(world):
    InsightFlowCount.objects.filter(network=world["other"]).update(referrals=99)
    counts_rebuild([world["network"].pk])
    assert set(
        InsightFlowCount.objects.filter(network=world["other"]).values_list("referrals", flat=True)
    ) == {99}


def test_moving_a_membership_date_recounts_its_senders_referrals(world):
    late = world["referrals"][-1]  # sent today by L, who joins tomorrow: not counted yet
    membership = late.case.service.memberships.get()
    rows = InsightFlowCount.objects.filter(network=world["network"], department="*", category=0)
    assert sum(rows.values_list("referrals", flat=True)) == 8
    membership.joined_on = timezone.localdate() - datetime.timedelta(days=30)
    membership.save()
    assert sum(rows.values_list("referrals", flat=True)) == 9
    recounted = snapshot()
    counts_rebuild()
    assert snapshot() == recounted
    membership.delete()
    assert sum(rows.values_list("referrals", flat=True)) == 8


def test_ending_a_convention_early_recounts_its_members_referrals(world):
    convention = world["partner"].memberships.get().convention
    convention.valid_from = timezone.localdate() + datetime.timedelta(days=1)  # not in force on the day sent
    convention.save()
    rows = InsightFlowCount.objects.filter(network=world["network"], department="*", category=0)
    assert sum(rows.values_list("referrals", flat=True)) == 0
    recounted = snapshot()
    counts_rebuild()
    assert snapshot() == recounted


def test_rebuild_command_refuses_an_unknown_network(world):
    errors, out = io.StringIO(), io.StringIO()
    call_command("rebuild_insight_counts", "--reseau", "999999", stdout=out, stderr=errors)
    assert "Réseau inconnu : 999999." in errors.getvalue()
    assert out.getvalue() == ""
    call_command("rebuild_insight_counts", "--reseau", str(world["network"].pk), stdout=out)
    assert "orientation(s) comptée(s) à nouveau" in out.getvalue()
