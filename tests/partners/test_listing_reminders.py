"""The yearly « Votre fiche est-elle toujours exacte ? » e-mail (send_listing_reminders)."""

import datetime
import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from partners.models import ListingReminder, Service, months_before, services_due_for_listing_reminder
from partners.services import listing_reminders_send
from reseau.mail.models import OutgoingMail
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db
LISTING_LINK = re.compile(r"https?://\S+/fiche/([A-Za-z0-9_-]+)/")
TODAY = timezone.localdate()


def days_ago(days):
    return TODAY - datetime.timedelta(days=days)


@pytest.fixture
def services():
    old = timezone.now() - datetime.timedelta(days=1000)
    made = {
        "verified 12 months ago": ServiceFactory(email="douze@exemple.fr", verified_on=days_ago(365)),
        "verified exactly 11 months ago": ServiceFactory(
            email="onze@exemple.fr", verified_on=months_before(11, TODAY)
        ),
        "never verified, created long ago": ServiceFactory(email="jamais@exemple.fr", verified_on=None),
        "verified 10 months ago": ServiceFactory(email="dix@exemple.fr", verified_on=days_ago(300)),
        "never verified, created last week": ServiceFactory(email="neuf@exemple.fr", verified_on=None),
        "no address": ServiceFactory(email="", verified_on=days_ago(400)),
        "inactive": ServiceFactory(email="ferme@exemple.fr", verified_on=days_ago(400), is_active=False),
    }
    Service.objects.exclude(pk=made["never verified, created last week"].pk).update(created_at=old)
    Service.objects.filter(pk=made["never verified, created last week"].pk).update(
        created_at=timezone.now() - datetime.timedelta(days=7)
    )
    return made


def test_services_not_verified_for_eleven_months_are_due(services):
    due = set(services_due_for_listing_reminder(TODAY))

    assert due == {
        services["verified 12 months ago"],
        services["verified exactly 11 months ago"],
        services["never verified, created long ago"],
    }


def test_reminders_e_mail_a_personal_link_and_are_recorded(services):
    counts = listing_reminders_send(today=TODAY)

    assert counts == {"due": 3, "sent": 3}
    assert sorted(r.email for r in ListingReminder.objects.all()) == [
        "douze@exemple.fr",
        "jamais@exemple.fr",
        "onze@exemple.fr",
    ]
    mails = {mail.recipients[0]: mail for mail in OutgoingMail.objects.all()}
    assert set(mails) == {"douze@exemple.fr", "jamais@exemple.fr", "onze@exemple.fr"}
    assert "toujours exacte" in mails["douze@exemple.fr"].subject
    assert "n'a jamais été vérifiée" in mails["jamais@exemple.fr"].body
    token = LISTING_LINK.search(mails["douze@exemple.fr"].body).group(1)
    response = Client().post(reverse("partners:listing_link_confirm", args=[token]))
    assert response.status_code == 302
    services["verified 12 months ago"].refresh_from_db()
    assert services["verified 12 months ago"].verified_on == timezone.localdate()


def test_reminders_are_idempotent_and_yearly(services):
    listing_reminders_send(today=TODAY)

    assert listing_reminders_send(today=TODAY) == {"due": 0, "sent": 0}
    # 200 days later, only the service verified 10 months ago has come due.
    assert listing_reminders_send(today=TODAY + datetime.timedelta(days=200)) == {"due": 1, "sent": 1}
    assert ListingReminder.objects.latest("pk").service == services["verified 10 months ago"]
    # A year later, the three still not verified are reminded again, with the one created last week
    # (now 11 months old); the one reminded 166 days earlier is not.
    later = TODAY + datetime.timedelta(days=366)
    assert set(services_due_for_listing_reminder(later)) == {
        services["verified 12 months ago"],
        services["verified exactly 11 months ago"],
        services["never verified, created long ago"],
        services["never verified, created last week"],
    }
    assert listing_reminders_send(today=later)["sent"] == 4
    assert OutgoingMail.objects.count() == 8


def test_dry_run_counts_and_writes_nothing(services):
    out = io.StringIO()

    call_command("send_listing_reminders", "--dry-run", stdout=out)

    assert "simulation" in out.getvalue()
    assert ListingReminder.objects.count() == 0
    assert OutgoingMail.objects.count() == 0


def test_the_command_sends_in_batches(services, monkeypatch):
    monkeypatch.setattr("partners.services.timezone.localdate", lambda: TODAY)
    out = io.StringIO()

    with CaptureQueriesContext(connection) as queries:
        call_command("send_listing_reminders", "--batch-size", "2", stdout=out)

    assert "3 rappel(s) envoyé(s) sur 3" in out.getvalue()
    assert ListingReminder.objects.count() == 3
    # Two batches, each in its own transaction (a savepoint inside the test's transaction).
    assert sum(1 for q in queries if q["sql"].startswith("SAVEPOINT")) >= 2
    call_command("send_listing_reminders", stdout=out)
    assert ListingReminder.objects.count() == 3


def test_the_command_refuses_a_bad_batch_size():
    with pytest.raises(CommandError, match="batch-size"):
        call_command("send_listing_reminders", "--batch-size", "0")


def test_months_before_clamps_to_the_end_of_a_shorter_month():
    assert months_before(11, datetime.date(2026, 1, 31)) == datetime.date(2025, 2, 28)
    assert months_before(12, datetime.date(2024, 2, 29)) == datetime.date(2023, 2, 28)
