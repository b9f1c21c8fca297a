"""The demo's generated referral history: every kind of referral and answer, deterministic, in bulk."""

import datetime
import random
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from partners.demo import PRECARITY_NETWORK
from partners.models import Network
from partners.referentials import load_referentials
from referrals.demo_history import generate_referral_history
from referrals.insight import Filters, Period, headline, network_referrals, off_convention
from referrals.insight_counts import counts_rebuild
from referrals.models import Referral, ReferralEvent, UncoveredNeed
from tests.factories import ConventionFactory, DomainFactory, MembershipFactory, ServiceFactory
from tests.partners.test_demo import create_communes

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_network():
    covered, partnerless, orphan = DomainFactory(), DomainFactory(), DomainFactory(parent=DomainFactory())
    convention = ConventionFactory()
    senders = [ServiceFactory() for _ in range(3)]
    partner = ServiceFactory(domains=[covered])
    joined_on = timezone.localdate() - datetime.timedelta(days=400)
    for service in [*senders, partner]:
        MembershipFactory(convention=convention, service=service, joined_on=joined_on)
    ServiceFactory(domains=[covered, partnerless])
    ServiceFactory(domains=[partnerless])
    assert orphan.parent_id
    return convention.network


def generate(network):
    return generate_referral_history(rng=random.Random(7), network=network)


def summary():
    return list(
        Referral.objects.order_by("sent_at", "service_id").values_list(
            "classification", "status", "service_id", "sent_at", "answered_at", "off_convention_reason"
        )
    )


def test_history_has_every_kind_of_referral_and_answer(small_network):
    with CaptureQueriesContext(connection) as queries:
        written = generate(small_network)
    assert written == Referral.objects.count() > 100
    assert len(queries) <= 25  # bulk writes (and their savepoints), whatever the number of referrals
    assert set(Referral.objects.values_list("classification", flat=True)) == {
        "in_convention",
        "off_convention",
        "no_partner",
    }
    assert {"accepted", "completed", "refused", "expired", "sent"} <= set(
        Referral.objects.values_list("status", flat=True)
    )
    assert ReferralEvent.objects.count() >= written
    assert UncoveredNeed.objects.exists()
    # Every referral is the network's (its senders are members on the day) and shows on the monthly chart.
    assert network_referrals(small_network, Filters(Period.last_months(12))).count() == written
    counts_rebuild()
    months = off_convention(small_network, Filters(Period.last_months(12)))["months"]
    assert all(month["total"] for month in months)


def test_history_is_deterministic(small_network):
    with transaction.atomic():
        generate(small_network)
        first = summary()
        transaction.set_rollback(True)
    generate(small_network)
    assert summary() == first


def test_load_demo_gives_the_coordinator_a_year_of_insight():
    load_referentials()
    create_communes()
    call_command("load_demo", stdout=StringIO())
    figures = headline(Network.objects.get(name=PRECARITY_NETWORK))
    assert figures["total"] > 100
    assert 0 < figures["off_rate"] < 0.5
    months = off_convention(Network.objects.get(name=PRECARITY_NETWORK), Filters(Period.last_months(12)))
    assert all(month["total"] for month in months["months"])
    # Loading again leaves the history alone (the directory, and its history, are created once).
    count = Referral.objects.count()
    call_command("load_demo", stdout=StringIO())
    assert Referral.objects.count() == count
