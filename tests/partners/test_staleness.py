"""Staleness is one rule (settings.STALE_AFTER_MONTHS): Service.is_stale, the querysets and the admin filter."""

import datetime

import pytest
from django.urls import reverse

from partners.models import Service, stale_before
from tests.factories import ServiceFactory, UserFactory

LEAP_DAY = datetime.date(2028, 2, 29)


@pytest.mark.parametrize(
    ("today", "months", "cutoff"),
    [
        (datetime.date(2026, 6, 1), 12, datetime.date(2025, 6, 1)),
        (LEAP_DAY, 12, datetime.date(2027, 2, 28)),
        (LEAP_DAY, 48, datetime.date(2024, 2, 29)),
        (datetime.date(2026, 3, 31), 1, datetime.date(2026, 2, 28)),
        (datetime.date(2026, 1, 15), 6, datetime.date(2025, 7, 15)),
        (datetime.date(2026, 8, 31), 6, datetime.date(2026, 2, 28)),
    ],
)
def test_stale_before_is_today_minus_the_setting_in_months(settings, today, months, cutoff):
    settings.STALE_AFTER_MONTHS = months

    assert stale_before(today) == cutoff


def test_is_stale_follows_the_setting(settings):
    service = ServiceFactory.build(verified_on=datetime.date(2026, 1, 1))
    today = datetime.date(2026, 8, 1)

    settings.STALE_AFTER_MONTHS = 12
    assert service.is_stale(today=today) is False
    settings.STALE_AFTER_MONTHS = 6
    assert service.is_stale(today=today) is True


@pytest.mark.django_db
@pytest.mark.parametrize("months", [12, 6, 1])
def test_is_stale_and_the_querysets_agree_around_the_leap_day(settings, months):
    settings.STALE_AFTER_MONTHS = months
    never = ServiceFactory(verified_on=None)
    first = LEAP_DAY - datetime.timedelta(days=31 * months + 40)
    services = [ServiceFactory(verified_on=first + datetime.timedelta(days=n)) for n in range(0, 80, 3)]
    for today in (
        LEAP_DAY,
        datetime.date(2028, 3, 1),
        datetime.date(2027, 2, 28),
        datetime.date(2026, 12, 31),
    ):
        stale = set(Service.objects.stale(today))
        fresh = set(Service.objects.fresh(today))
        assert never in stale
        for service in services:
            assert (service in stale) is service.is_stale(today=today), (today, service.verified_on)
            assert (service in fresh) is not service.is_stale(today=today), (today, service.verified_on)


@pytest.fixture
def on_leap_day(monkeypatch):
    """Today is 29 February 2028 for the code under test."""
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args, **kwargs: LEAP_DAY)


@pytest.mark.django_db
@pytest.mark.allow_unknown_template_variables
@pytest.mark.parametrize("choice", ["a_jour", "perime"])
def test_admin_stale_filter_works_on_the_29th_of_february(client_for, on_leap_day, choice):
    fresh = ServiceFactory(verified_on=datetime.date(2027, 3, 1))
    stale = ServiceFactory(verified_on=datetime.date(2027, 2, 28))
    never = ServiceFactory(verified_on=None)

    response = client_for(UserFactory(admin=True)).get(
        reverse("admin:partners_service_changelist"), {"fraicheur": choice}
    )

    assert response.status_code == 200
    expected = {fresh} if choice == "a_jour" else {stale, never}
    assert set(response.context["cl"].result_list) == expected


@pytest.mark.django_db
@pytest.mark.allow_unknown_template_variables
def test_admin_stale_filter_follows_the_setting_and_says_it(client_for, settings):
    settings.STALE_AFTER_MONTHS = 3
    recent = ServiceFactory(verified_on=datetime.date.today() - datetime.timedelta(days=30))
    older = ServiceFactory(verified_on=datetime.date.today() - datetime.timedelta(days=200))
    client = client_for(UserFactory(admin=True))
    url = reverse("admin:partners_service_changelist")

    page = client.get(url).content.decode()
    assert "Vérifié depuis moins de 3 mois" in page
    assert "12 mois" not in page
    assert list(client.get(url, {"fraicheur": "perime"}).context["cl"].result_list) == [older]
    assert list(client.get(url, {"fraicheur": "a_jour"}).context["cl"].result_list) == [recent]
