"""Each figure of the insight pages on the hand-built network of conftest.py, checked by hand."""

import datetime

import pytest
from django.utils import timezone

from referrals.insight import (
    Filters,
    Period,
    concentration,
    concentration_by_quarter,
    freshness,
    gaps,
    headline,
    masked,
    median_from_histogram,
    network_referrals,
    off_convention,
    outside_services,
    responsiveness,
    uncovered_needs_record,
)
from referrals.models import Case, InsightReferral, ReferralStatistic, UncoveredNeed
from referrals.services import cases_purge
from tests.factories import CaseFactory, ConventionFactory, ErrorReportFactory

pytestmark = pytest.mark.django_db


def filters(**kwargs):
    return Filters(Period.last_months(12), **kwargs)


def test_network_referrals_are_those_of_members_on_the_day_they_were_sent(network_data):
    referrals = network_referrals(network_data.network, filters())
    assert referrals.count() == 8
    assert set(referrals.values_list("sender_service", flat=True)) == {network_data.s1.pk}


def test_other_network_sees_none_of_these_referrals(network_data):
    # S2 is a member of the other network; its one referral was sent last month.
    assert network_referrals(network_data.other_network, filters()).count() == 1


def test_period_and_department_filters_narrow_the_referrals(network_data):
    this_month_only = Filters(Period.last_months(1))
    assert network_referrals(network_data.network, this_month_only).count() == 0
    assert network_referrals(network_data.network, filters(department="29")).count() == 0
    assert network_referrals(network_data.network, filters(department="35")).count() == 8


def test_need_category_filter_matches_the_category_and_its_thematiques(network_data):
    from tests.factories import DomainFactory

    other = DomainFactory(code="sante", label="Santé")
    assert network_referrals(network_data.network, filters(category=network_data.housing)).count() == 8
    assert network_referrals(network_data.network, filters(category=other)).count() == 0


def test_headline_figures(network_data):
    figures = headline(network_data.network)
    assert figures["total"] == 8
    assert figures["off_rate"] == 3 / 8
    # Answered within 10 days: #1 (1 day), #2 (3), #3 (8), #7 (2); #5 took 12 days.
    assert figures["answered_fast_rate"] == 4 / 8
    # Organisations O1 3, O2 1, O3 2, O4 2 of 8: 37.5² + 12.5² + 25² + 25² = 2812.5, rounded half to even.
    assert figures["hhi"] == 2812


def test_off_convention_per_month_and_reasons(network_data):
    page = off_convention(network_data.network, filters())
    last_month = [row for row in page["months"] if row["total"]]
    assert len(page["months"]) == 12
    assert len(last_month) == 1
    assert last_month[0]["counts"] == [4, 3, 1]  # in, off, no partner
    assert last_month[0]["off_rate"] == 3 / 8
    assert page["reasons"] == [
        {"reason": "Plus proche de la personne", "count": 2},
        {"reason": "Choix de la personne", "count": 1},
    ]


def test_outside_services_used_most(network_data):
    rows = outside_services(network_data.network, filters())
    assert [(row["service"], row["count"], row["senders"]) for row in rows] == [
        (network_data.x1, 2, 1),
        (network_data.x2, 2, 1),
    ]
    # X1: 1 answered, accepted; X2: 1 answered (#7), refused.
    assert [row["acceptance_rate"] for row in rows] == [1.0, 0.0]
    assert rows[0]["needs"] == ["Logement"]


def test_responsiveness_of_members(network_data):
    page = responsiveness(network_data.network, filters())
    by_service = {row["service"]: row for row in page["rows"]}
    p1 = by_service[network_data.p1]
    assert (p1["count"], p1["median_days"], p1["answered_fast_rate"]) == (3, 3, 1.0)
    assert p1["refusal_rate"] == 1 / 3
    p2 = by_service[network_data.p2]
    assert (p2["count"], p2["median_days"], p2["expired"], p2["refusal_rate"]) == (1, None, 1, None)
    # S1 and S3 send but receive nothing; P3 receives nothing.
    assert {s.name for s in page["dormant"]} == {"Partenaire P3", "CCAS S1", "Nouveau S3"}
    assert page["refusal_reasons"] == [{"reason": "Plus de place disponible", "count": 1}]
    assert p1["refusal_reasons"] == ["Plus de place disponible"]
    assert p2["refusal_reasons"] == []


def test_concentration_per_quarter(network_data):
    quarters = concentration_by_quarter(network_data.network, filters())
    assert len(quarters) == 1
    assert quarters[0]["total"] == 8
    assert quarters[0]["top3_share"] == 7 / 8
    assert quarters[0]["hhi"] == 2812


def test_gaps_by_department_then_commune_masked(network_data):
    uncovered_needs_record(
        case=CaseFactory(service=network_data.s1, commune=network_data.commune),
        need_ids={network_data.shelter.pk},
    )
    page = gaps(network_data.network, filters())
    assert page["rows"] == [
        {"need": "Logement", "place": "35", "no_partner": 1, "no_service": 1, "total": 2, "heat": 0}
    ]
    by_commune = gaps(network_data.network, filters(department="35"))
    assert by_commune["by_commune"] is True
    assert [row["place"] for row in by_commune["rows"]] == ["Rennes"]


def test_uncovered_needs_recorded_once_per_case_and_day_without_the_case(network_data):
    case = CaseFactory(service=network_data.s1, commune=network_data.commune)
    uncovered_needs_record(case=case, need_ids={network_data.shelter.pk})
    uncovered_needs_record(case=case, need_ids={network_data.shelter.pk})
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    uncovered_needs_record(case=case, need_ids={network_data.shelter.pk}, on=tomorrow)
    rows = list(UncoveredNeed.objects.values("day", "need", "commune", "sender_service", "case_digest"))
    assert len(rows) == 2
    assert str(case.pk) not in rows[0]["case_digest"]
    assert rows[0]["commune"] == "35238" and rows[0]["sender_service"] == network_data.s1.pk


def test_freshness_lists_stale_services_old_capacities_and_ending_conventions(network_data):
    today = timezone.localdate()
    type(network_data.p1).objects.filter(pk=network_data.p1.pk).update(
        verified_on=today - datetime.timedelta(days=400)
    )
    type(network_data.p2).objects.filter(pk=network_data.p2.pk).update(
        capacity_updated_on=today - datetime.timedelta(days=120)
    )
    ending = ConventionFactory(network=network_data.network, valid_until=today + datetime.timedelta(days=30))
    ConventionFactory(network=network_data.network, valid_until=today + datetime.timedelta(days=200))
    open_report = ErrorReportFactory(service=network_data.p1)
    ErrorReportFactory(service=network_data.p2, closed=True)  # closed
    ErrorReportFactory(service=network_data.x1)  # not a member
    page = freshness(network_data.network)
    assert page["stale"] == [network_data.p1]
    assert page["old_capacity"] == [network_data.p2]
    assert page["ending"] == [ending]
    assert page["error_reports"] == [open_report]


def test_figures_survive_the_purge(network_data):
    def every_figure():
        return (
            headline(network_data.network),
            off_convention(network_data.network, filters()),
            outside_services(network_data.network, filters()),
            gaps(network_data.network, filters(department="35")),
            responsiveness(network_data.network, filters()),
            concentration_by_quarter(network_data.network, filters()),
            network_referrals(network_data.network, filters(category=network_data.housing)).count(),
        )

    before = every_figure()
    long_ago = timezone.now() - datetime.timedelta(days=365 * 3)
    Case.objects.update(status="closed", closed_at=long_ago)
    assert cases_purge()["referrals"] == 10
    assert not Case.objects.exists()
    assert InsightReferral.objects.count() == 10
    assert ReferralStatistic.objects.exists()
    assert every_figure() == before


def test_small_counts_are_masked():
    assert [masked(n) for n in (0, 1, 4, 5, 12)] == [0, "< 5", "< 5", 5, 12]


def test_median_of_an_even_count_is_the_mean_of_the_middle_values():
    assert median_from_histogram({1: 1, 3: 1, 8: 1}) == 3
    assert median_from_histogram({1: 2, 5: 1, 9: 1}) == 3
    assert median_from_histogram({}) is None


def test_concentration_of_a_single_organisation_is_total():
    assert concentration([10]) == {"total": 10, "top3_share": 1.0, "hhi": 10000}
    assert concentration([1, 1, 1, 1])["hhi"] == 2500
