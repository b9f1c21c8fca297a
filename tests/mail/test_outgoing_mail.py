"""E-mails leave through the task queue: a failing mail server loses nothing and fails nothing."""

import datetime
import smtplib

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from reseau.mail.models import MailStatus, OutgoingMail
from reseau.mail.services import RETRY_DELAYS_MINUTES, mail_deliver, mail_queue, mail_send_due
from tests.factories import CoordinatorFactory, UserFactory

pytestmark = pytest.mark.django_db


class BrokenBackend:
    """An e-mail backend whose server refuses every connection."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise smtplib.SMTPConnectError(421, "service indisponible")


@pytest.fixture
def broken_mail_server(settings):
    settings.EMAIL_BACKEND = "tests.mail.test_outgoing_mail.BrokenBackend"


def queue(**kwargs):
    return mail_queue(
        subject=kwargs.get("subject", "Nouvelle orientation"),
        body="Bonjour",
        recipients=kwargs.get("recipients", ["accueil@exemple.fr", "accueil@exemple.fr", ""]),
    )


def test_a_queued_mail_is_sent_by_the_task_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        outgoing = queue()
        assert mail.outbox == []  # nothing leaves inside the transaction

    outgoing.refresh_from_db()
    assert (outgoing.status, outgoing.attempts) == (MailStatus.SENT, 1)
    assert outgoing.sent_at is not None
    assert [m.to for m in mail.outbox] == [["accueil@exemple.fr"]]  # duplicates and blanks dropped


def test_nobody_to_write_to_queues_nothing():
    assert mail_queue(subject="x", body="y", recipients=["", None]) is None
    assert not OutgoingMail.objects.exists()


def test_a_rolled_back_transaction_sends_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        queue()
        raise RuntimeError
    assert mail.outbox == []
    assert not OutgoingMail.objects.exists()


def test_a_failing_mail_server_keeps_the_mail_and_retries_with_backoff(
    broken_mail_server, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        outgoing = queue()  # must not raise

    outgoing.refresh_from_db()
    assert (outgoing.status, outgoing.attempts) == (MailStatus.PENDING, 1)
    assert "SMTPConnectError" in outgoing.last_error
    delay = outgoing.next_attempt_at - timezone.now()
    assert datetime.timedelta(seconds=50) < delay <= datetime.timedelta(minutes=RETRY_DELAYS_MINUTES[0])

    # Not due yet: the safety net leaves it alone; once due, and the server back, it leaves.
    assert mail_send_due() == {"due": 0}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert mail_send_due(now=outgoing.next_attempt_at) == {"due": 1, "sent": 1}
    outgoing.refresh_from_db()
    assert (outgoing.status, outgoing.attempts) == (MailStatus.SENT, 2)
    assert len(mail.outbox) == 1


def test_after_the_last_attempt_the_mail_is_marked_failed(broken_mail_server):
    outgoing = queue()
    moment = timezone.now()
    for _ in range(len(RETRY_DELAYS_MINUTES) + 1):
        mail_deliver(mail_id=outgoing.pk, now=moment)
        moment += datetime.timedelta(days=1)
    outgoing.refresh_from_db()
    assert (outgoing.status, outgoing.attempts) == (MailStatus.FAILED, len(RETRY_DELAYS_MINUTES) + 1)
    assert mail_deliver(mail_id=outgoing.pk) == "skipped"  # failed for good: no more attempts
    assert mail_deliver(mail_id=10**12) == "skipped"


@pytest.mark.django_db(transaction=True)  # the worker closes and reopens database connections
def test_the_database_queue_holds_the_task_until_a_worker_runs_it(
    settings, django_capture_on_commit_callbacks
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    with django_capture_on_commit_callbacks(execute=True):
        outgoing = queue()
    assert DBTaskResult.objects.count() == 1
    assert mail.outbox == []

    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)

    outgoing.refresh_from_db()
    assert outgoing.status == MailStatus.SENT
    assert len(mail.outbox) == 1


def test_a_failure_with_the_database_queue_is_retried_later_by_a_deferred_task(
    settings, broken_mail_server, django_capture_on_commit_callbacks
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    outgoing = queue()
    with django_capture_on_commit_callbacks(execute=True):
        mail_deliver(mail_id=outgoing.pk)
    retry = DBTaskResult.objects.get()
    outgoing.refresh_from_db()
    assert retry.run_after == outgoing.next_attempt_at


def test_send_pending_mail_command_reports_and_sends(capsys):
    queue()
    call_command("send_pending_mail", "--dry-run")
    assert "due: 1" in capsys.readouterr().out
    assert mail.outbox == []
    call_command("send_pending_mail")
    assert "sent: 1" in capsys.readouterr().out
    assert len(mail.outbox) == 1


@pytest.mark.allow_unknown_template_variables
def test_administrators_see_failed_mails_and_can_retry_them(
    broken_mail_server, client_for, django_capture_on_commit_callbacks
):
    outgoing = queue(subject="Orientation perdue ?")
    OutgoingMail.objects.filter(pk=outgoing.pk).update(status=MailStatus.FAILED, attempts=6)
    admin = client_for(UserFactory(admin=True))

    listing = admin.get(reverse("admin:mail_outgoingmail_changelist"), {"status__exact": "failed"})
    assert "Orientation perdue ?" in listing.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        admin.post(
            reverse("admin:mail_outgoingmail_changelist"),
            {"action": "retry", "_selected_action": [outgoing.pk]},
        )
    outgoing.refresh_from_db()
    assert (outgoing.status, outgoing.attempts) == (MailStatus.PENDING, 1)  # retried at once, still failing


@pytest.mark.allow_unknown_template_variables
def test_coordinators_and_workers_do_not_see_outgoing_mail(client_for):
    outgoing = queue()
    for user in (CoordinatorFactory(), UserFactory(worker=True)):
        client = client_for(user)
        assert client.get(reverse("admin:mail_outgoingmail_changelist")).status_code in {302, 403}
        change = reverse("admin:mail_outgoingmail_change", args=[outgoing.pk])
        assert client.get(change).status_code in {302, 403}


def test_the_suite_runs_tasks_inline_through_the_documented_environment_setting():
    import os

    from django.conf import settings

    assert os.environ["DJANGO_TASKS_IMMEDIATE"] == "true"
    assert settings.TASKS["default"]["BACKEND"] == "django_tasks.backends.immediate.ImmediateBackend"
