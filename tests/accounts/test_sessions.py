"""Sessions (reseau.accounts.sessions): Django's database sessions, read with one plain statement."""

import datetime

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from reseau.accounts.sessions import SessionStore
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PAGE = reverse("accounts:notification_settings")


def test_a_saved_session_is_read_back():
    session = SessionStore()
    session["worker"] = "Camille"
    session.save()
    assert SessionStore(session.session_key).load() == {"worker": "Camille"}


def test_an_expired_or_unknown_session_is_empty_and_its_key_dropped():
    session = SessionStore()
    session["worker"] = "Camille"
    session.save()
    Session.objects.filter(pk=session.session_key).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )
    for key in (session.session_key, "unknown-session-key-0123456789"):
        read = SessionStore(key)
        assert read.load() == {}
        assert read.session_key is None


def test_the_settings_use_these_sessions():
    assert settings.SESSION_ENGINE == "reseau.accounts.sessions"


def test_a_signed_in_worker_stays_signed_in_until_the_session_expires(client_for):
    client = client_for(UserFactory(worker=True))
    assert client.get(PAGE).status_code == 200
    Session.objects.update(expire_date=timezone.now() - datetime.timedelta(seconds=1))
    response = client.get(PAGE)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_a_signed_out_session_no_longer_signs_in(client_for):
    client = client_for(UserFactory(worker=True))
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.post(reverse("logout"))
    client.cookies[settings.SESSION_COOKIE_NAME] = key  # the old cookie, replayed
    response = client.get(PAGE)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
