"""A failing mail server never fails a request nor stops a batch: the e-mail waits in the queue and
is retried (reseau.mail); nothing is lost."""

import datetime
import smtplib

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from referrals import services
from referrals.enums import ReferralStatus
from referrals.models import Referral
from reseau.mail.models import MailStatus, OutgoingMail
from reseau.mail.services import mail_send_due
from tests.factories import DomainFactory, ReferralFactory, ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db
BAD_ADDRESS = "bad@nowhere.invalid"


class DownBackend:
    """The mail server is down."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise OSError("Connection refused")


class RefusesOneAddressBackend(EmailBackend):
    """The mail server refuses one address and takes the others."""

    def send_messages(self, messages):
        if any(BAD_ADDRESS in message.to for message in messages):
            raise smtplib.SMTPRecipientsRefused({BAD_ADDRESS: (550, b"no such user")})
        return super().send_messages(messages)


@pytest.fixture
def mail_server_down(settings):
    settings.EMAIL_BACKEND = "tests.referrals.test_mail_failures.DownBackend"


def test_a_failing_mail_server_does_not_fail_the_referral(
    client_for, gap, mail_server_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(gap["worker"]).post(
            reverse("referrals:case_refer", args=[gap["case"].pk]),
            {"services": [gap["target"].pk], "confirm": "1"},
        )
    assert response.status_code == 302
    referral = Referral.objects.get()
    assert (referral.service, referral.status) == (gap["target"], ReferralStatus.SENT)
    waiting = OutgoingMail.objects.get()
    assert (waiting.recipients, waiting.status) == (["accueil@agence.fr"], MailStatus.PENDING)
    assert "Connection refused" in waiting.last_error


def test_a_failing_mail_server_does_not_fail_an_answer(
    client_for, mail_server_down, django_capture_on_commit_callbacks
):
    referral = ReferralFactory(needs=[DomainFactory()], to="sent")
    UserFactory(service=referral.case.service, email="referente@ccas.fr")
    receiver = client_for(UserFactory(service=referral.service))
    with django_capture_on_commit_callbacks(execute=True):
        response = receiver.post(reverse("referrals:referral_transition", args=[referral.pk, "accepter"]))
    assert response.status_code == 302
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.ACCEPTED
    assert OutgoingMail.objects.get().status == MailStatus.PENDING


def _sent_days_ago(days, email):
    referral = ReferralFactory(service=ServiceFactory(email=email), to="sent")
    Referral.objects.filter(pk=referral.pk).update(sent_at=timezone.now() - datetime.timedelta(days=days))
    return referral


def test_one_bad_address_does_not_stop_the_reminders_and_is_retried(
    settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.referrals.test_mail_failures.RefusesOneAddressBackend"
    bad = _sent_days_ago(13, BAD_ADDRESS)
    good = _sent_days_ago(13, "accueil@service.fr")

    with django_capture_on_commit_callbacks(execute=True):
        assert services.referrals_remind() == 2

    assert [m.to for m in mail.outbox] == [["accueil@service.fr"]]
    assert Referral.objects.get(pk=good.pk).reminder_sent_at is not None
    assert Referral.objects.get(pk=bad.pk).reminder_sent_at is not None  # its e-mail waits in the queue
    retried = OutgoingMail.objects.get(status=MailStatus.PENDING)
    assert retried.recipients == [BAD_ADDRESS] and "SMTPRecipientsRefused" in retried.last_error

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # the address is fixed
    assert mail_send_due(now=retried.next_attempt_at) == {"due": 1, "sent": 1}
    assert [m.to for m in mail.outbox][-1] == [BAD_ADDRESS]


def test_expire_referrals_goes_on_when_the_mail_server_fails(mail_server_down, capsys):
    to_remind = _sent_days_ago(13, "accueil@service.fr")
    overdue = _sent_days_ago(40, "autre@service.fr")
    UserFactory(service=overdue.case.service)
    call_command("expire_referrals")
    assert "1 relance(s), 1 orientation(s) expirée(s)" in capsys.readouterr().out
    assert Referral.objects.get(pk=overdue.pk).status == ReferralStatus.EXPIRED
    assert Referral.objects.get(pk=to_remind.pk).reminder_sent_at is not None
    assert OutgoingMail.objects.count() == 2  # the reminder and the sender's notice, both kept for retry
