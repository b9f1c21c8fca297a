"""Personal links: unguessable, hashed, one object, expiring; the pages they open are rate-limited."""

import datetime
import hashlib

import pytest
from django.test import RequestFactory
from django.utils import timezone

from reseau.links.models import AccessLink, LinkPurpose, RateCounter
from reseau.links.services import (
    link_check,
    link_create,
    rate_counters_prune,
    rate_limit_exceeded,
    too_many_requests,
)
from tests.factories import ReferralFactory, ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def referral():
    return ReferralFactory()


def make_link(referral, **kwargs):
    return link_create(
        purpose=LinkPurpose.REFERRAL_ANSWER,
        service=referral.service,
        referral=referral,
        email="accueil@exemple.fr",
        **kwargs,
    )


def test_only_a_hash_of_the_token_is_stored(referral):
    link, token = make_link(referral)
    assert len(token) == 43
    stored = AccessLink.objects.values_list("token_hash", flat=True).get()
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(AccessLink.objects.values().get())


def test_a_link_opens_its_own_referral_for_seven_days_by_default(referral, settings):
    settings.ACCESS_LINK_VALID_DAYS = 7
    link, token = make_link(referral)
    check = link_check(token, purpose=LinkPurpose.REFERRAL_ANSWER)
    assert check.is_valid
    assert check.link.referral == referral
    assert link.expires_at - link.created_at == datetime.timedelta(days=7)

    later = link.created_at + datetime.timedelta(days=7, seconds=1)
    assert link_check(token, purpose=LinkPurpose.REFERRAL_ANSWER, now=later).state == "expired"


def test_two_links_never_share_a_token(referral):
    _, first = make_link(referral)
    _, second = make_link(referral)
    assert first != second


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # one character changed
        lambda t: t[:-1],  # cut
        lambda t: t + "x",  # longer
        lambda t: t.upper(),
        lambda t: "",
        lambda t: "../" + t,
        lambda t: t[:20] + "\n" + t[21:],
        lambda t: "a" * 10_000,
        lambda t: None,
    ],
)
def test_tampered_tokens_open_nothing(referral, tamper):
    _, token = make_link(referral)
    assert link_check(tamper(token), purpose=LinkPurpose.REFERRAL_ANSWER) == link_check(
        "", purpose=LinkPurpose.REFERRAL_ANSWER
    )
    assert link_check(tamper(token), purpose=LinkPurpose.REFERRAL_ANSWER).state == "unknown"


def test_a_link_for_one_purpose_does_not_open_another(referral):
    _, token = link_create(
        purpose=LinkPurpose.SERVICE_LISTING, service=ServiceFactory(), email="a@exemple.fr"
    )
    assert link_check(token, purpose=LinkPurpose.REFERRAL_ANSWER).state == "unknown"
    assert link_check(token, purpose=LinkPurpose.SERVICE_LISTING).is_valid


def test_requests_are_counted_per_key_and_window():
    moment = timezone.now().replace(minute=0, second=1)
    assert not any(rate_limit_exceeded("ip:1", limit=3, window_seconds=3600, now=moment) for _ in range(3))
    assert rate_limit_exceeded("ip:1", limit=3, window_seconds=3600, now=moment)
    assert not rate_limit_exceeded("ip:2", limit=3, window_seconds=3600, now=moment)  # another client
    next_hour = moment + datetime.timedelta(hours=1)
    assert not rate_limit_exceeded("ip:1", limit=3, window_seconds=3600, now=next_hour)  # a new window
    assert RateCounter.objects.count() == 3

    assert rate_counters_prune(before=next_hour.replace(second=0, microsecond=0)) == 2
    assert RateCounter.objects.count() == 1


def test_too_many_requests_answers_a_french_429(settings):
    settings.LINK_RATE_LIMIT_PER_HOUR = 2
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9")
    assert too_many_requests(request, "answer") is None
    assert too_many_requests(request, "answer") is None
    response = too_many_requests(request, "answer")
    assert response.status_code == 429
    assert "Trop de demandes" in response.content.decode()
    # Another client address is counted apart.
    assert too_many_requests(RequestFactory().get("/", REMOTE_ADDR="203.0.113.10"), "answer") is None


def test_prune_links_forgets_long_expired_links_and_past_counters(referral, capsys):
    from django.core.management import call_command

    old, _ = make_link(referral)
    recent, _ = make_link(referral)
    AccessLink.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=60),
        expires_at=timezone.now() - datetime.timedelta(days=31),
    )
    rate_limit_exceeded(
        "ip:old", limit=5, window_seconds=3600, now=timezone.now() - datetime.timedelta(days=2)
    )
    rate_limit_exceeded("ip:new", limit=5, window_seconds=3600)

    call_command("prune_links")

    assert "liens effacés : 1, compteurs effacés : 1" in capsys.readouterr().out
    assert list(AccessLink.objects.all()) == [recent]
    assert list(RateCounter.objects.values_list("key", flat=True)) == ["ip:new"]
