"""Two workers answering the same referral at once: one wins, the other gets a French 409."""

import threading

import pytest
from django.db import OperationalError, connection, transaction
from django.urls import reverse

from referrals import models
from referrals.enums import ReferralStatus
from referrals.models import Referral, ReferralEvent
from tests.factories import DomainFactory, ReferralFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_sqlite_transactions_start_immediately():
    """SQLite takes its write lock at BEGIN; PostgreSQL locks rows (the race test below runs on both)."""
    options = connection.settings_dict["OPTIONS"]
    if connection.vendor == "sqlite":
        assert options["transaction_mode"] == "IMMEDIATE"
    else:
        assert "transaction_mode" not in options


def test_a_locked_database_is_the_same_french_409_as_a_lost_race(client_for, monkeypatch):
    """SQLite's "database is locked" (a writer that waited too long) is a lost race, not a 500."""
    referral = ReferralFactory(needs=[DomainFactory()], to="sent")
    receiver = client_for(UserFactory(service=referral.service))

    def locked(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(models, "_run_logged", locked)
    response = receiver.post(reverse("referrals:referral_transition", args=[referral.pk, "accepter"]))
    assert response.status_code == 409
    assert "L&#x27;orientation a changé entre-temps" in response.content.decode()
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.SENT
    assert not referral.events.filter(to_status=ReferralStatus.ACCEPTED).exists()


@pytest.mark.django_db(transaction=True)
def test_two_workers_answering_at_once_one_wins_the_other_gets_a_409(client_for):
    """A real race, in two threads: a colleague refuses while holding the referral's row (on
    PostgreSQL) or the database's write lock (on SQLite, transactions start IMMEDIATE); the worker
    who accepts meanwhile gets the French 409 and nothing of theirs is written."""
    referral = ReferralFactory(needs=[DomainFactory()], to="sent")
    receiver = client_for(UserFactory(service=referral.service))
    holding, release = threading.Event(), threading.Event()
    errors = []

    def colleague():
        try:
            with transaction.atomic():
                mine = Referral.objects.select_for_update().get(pk=referral.pk)
                holding.set()
                release.wait(10)
                mine.refuse(by=None, reason="full")
        except Exception as error:  # noqa: BLE001 — reported to the main thread
            errors.append(error)
        finally:
            holding.set()
            connection.close()

    thread = threading.Thread(target=colleague)
    thread.start()
    assert holding.wait(5)
    if connection.vendor == "postgresql":
        # Our SELECT … FOR UPDATE waits for the colleague's commit, then finds the referral refused.
        threading.Timer(0.3, release.set).start()
    response = receiver.post(reverse("referrals:referral_transition", args=[referral.pk, "accepter"]))
    release.set()  # on SQLite the colleague holds the database until we have our answer
    thread.join(10)
    assert not errors, errors
    assert response.status_code == 409
    assert "L&#x27;orientation a changé entre-temps" in response.content.decode()
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.REFUSED
    assert not ReferralEvent.objects.filter(referral=referral, to_status=ReferralStatus.ACCEPTED).exists()
