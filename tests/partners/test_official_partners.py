import datetime

import pytest
from django.utils import timezone

from partners.enums import ConventionStatus
from partners.models import Convention, Service
from partners.partnerships import Partnerships
from tests.factories import ConventionFactory, MembershipFactory, ServiceFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 6, 15)


def days(n):
    return datetime.timedelta(days=n)


def partners_of(service, on=TODAY):
    return set(Service.objects.filter(pk__in=Partnerships.of(service, on=on).partner_ids))


@pytest.fixture
def convention():
    return ConventionFactory(valid_from=TODAY - days(100), valid_until=TODAY + days(100))


def test_current_members_of_an_active_convention_are_partners(convention):
    mine, partner, other = ServiceFactory.create_batch(3)
    for service in (mine, partner):
        MembershipFactory(convention=convention, service=service, joined_on=TODAY - days(50))

    assert partners_of(mine) == {partner}
    assert partners_of(partner) == {mine}
    assert partners_of(other) == set()


def test_a_service_is_not_its_own_partner(convention):
    mine = ServiceFactory()
    MembershipFactory(convention=convention, service=mine, joined_on=TODAY - days(50))

    assert partners_of(mine) == set()


@pytest.mark.parametrize(
    ("valid_from", "valid_until", "status", "expected"),
    [
        (-100, 100, ConventionStatus.ACTIVE, True),
        (0, None, ConventionStatus.ACTIVE, True),  # first day, open-ended
        (-100, 0, ConventionStatus.ACTIVE, True),  # last day is included
        (-100, -1, ConventionStatus.ACTIVE, False),  # expired yesterday
        (1, 100, ConventionStatus.ACTIVE, False),  # not started yet
        (-100, 100, ConventionStatus.DRAFT, False),
        (-100, 100, ConventionStatus.ENDED, False),  # ended early, dates notwithstanding
    ],
)
def test_only_conventions_in_force_make_partners(valid_from, valid_until, status, expected):
    convention = ConventionFactory(
        valid_from=TODAY + days(valid_from),
        valid_until=None if valid_until is None else TODAY + days(valid_until),
        status=status,
    )
    mine, partner = ServiceFactory.create_batch(2)
    for service in (mine, partner):
        MembershipFactory(convention=convention, service=service, joined_on=TODAY - days(200))

    assert (partner in partners_of(mine)) is expected


@pytest.mark.parametrize(
    ("joined", "left", "expected"),
    [
        (-10, None, True),
        (0, None, True),  # joined today
        (1, None, False),  # joins tomorrow
        (-10, 1, True),  # leaves tomorrow
        (-10, 0, False),  # left_on is the first day out
        (-10, -5, False),
    ],
)
def test_partner_membership_dates(convention, joined, left, expected):
    mine, partner = ServiceFactory.create_batch(2)
    MembershipFactory(convention=convention, service=mine, joined_on=TODAY - days(50))
    MembershipFactory(
        convention=convention,
        service=partner,
        joined_on=TODAY + days(joined),
        left_on=None if left is None else TODAY + days(left),
    )

    assert (partner in partners_of(mine)) is expected


def test_a_service_that_left_has_no_partners_any_more(convention):
    mine, partner = ServiceFactory.create_batch(2)
    MembershipFactory(
        convention=convention, service=mine, joined_on=TODAY - days(50), left_on=TODAY - days(1)
    )
    MembershipFactory(convention=convention, service=partner, joined_on=TODAY - days(50))

    assert partners_of(mine) == set()
    assert partners_of(mine, on=TODAY - days(10)) == {partner}


def test_partners_come_from_every_shared_convention_and_only_those(convention):
    mine, first, second, stranger = ServiceFactory.create_batch(4)
    other_convention = ConventionFactory(valid_from=TODAY - days(10), valid_until=None)
    unrelated_convention = ConventionFactory(valid_from=TODAY - days(10), valid_until=None)
    MembershipFactory(convention=convention, service=mine, joined_on=TODAY - days(50))
    MembershipFactory(convention=convention, service=first, joined_on=TODAY - days(50))
    MembershipFactory(convention=other_convention, service=mine, joined_on=TODAY - days(5))
    MembershipFactory(convention=other_convention, service=second, joined_on=TODAY - days(5))
    MembershipFactory(convention=other_convention, service=first, joined_on=TODAY - days(5))
    MembershipFactory(convention=unrelated_convention, service=stranger, joined_on=TODAY - days(5))
    MembershipFactory(convention=unrelated_convention, service=first, joined_on=TODAY - days(5))

    partnerships = Partnerships.of(mine, on=TODAY)
    assert partnerships.partner_ids == {first.pk, second.pk}
    assert list(partnerships.partners()) == sorted(
        [first, second], key=lambda s: (s.organisation.name, s.name, s.pk)
    )
    assert partnerships.conventions_with(first.pk) == (convention, other_convention)


def test_the_rule_can_be_asked_for_any_date(convention):
    mine, partner = ServiceFactory.create_batch(2)
    for service in (mine, partner):
        MembershipFactory(convention=convention, service=service, joined_on=TODAY - days(50))

    assert partners_of(mine, on=TODAY - days(60)) == set()  # before they joined
    assert partners_of(mine, on=TODAY + days(101)) == set()  # after the convention expired
    assert partners_of(mine, on=TODAY + days(100)) == {partner}


def test_default_date_is_today():
    convention = ConventionFactory(valid_from=timezone.localdate(), valid_until=None)
    mine, partner = ServiceFactory.create_batch(2)
    for service in (mine, partner):
        MembershipFactory(convention=convention, service=service, joined_on=timezone.localdate())

    assert Partnerships.of(mine).partner_ids == {partner.pk}
    assert list(Convention.objects.shared_by(mine)) == [convention]
