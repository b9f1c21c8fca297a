"""A failing mail server never fails a request nor stops a batch: logged, and retried next run."""

import datetime
import smtplib

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from referrals import services
from referrals.enums import ReferralStatus
from referrals.models import Referral
from tests.factories import DomainFactory, ReferralFactory, ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db


def failing_mail_server(bad_address=None):
    real = services.send_mail

    def send_mail(**kwargs):
        if bad_address is None or bad_address in kwargs["recipient_list"]:
            raise smtplib.SMTPRecipientsRefused({bad_address or "*": (550, b"no such user")})
        return real(**kwargs)

    return send_mail


# --- A failing mail server ---------------------------------------------------------------------------


def test_a_failing_mail_server_does_not_fail_the_referral(
    client_for, gap, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services, "send_mail", failing_mail_server())
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(gap["worker"]).post(
            reverse("referrals:case_refer", args=[gap["case"].pk]),
            {"services": [gap["target"].pk], "confirm": "1"},
        )
    assert response.status_code == 302
    referral = Referral.objects.get()
    assert (referral.service, referral.status) == (gap["target"], ReferralStatus.SENT)
    assert "e-mail not sent" in caplog.text and caplog.records[-1].exc_info


@pytest.mark.parametrize("error", [OSError("Connection refused"), smtplib.SMTPServerDisconnected("bye")])
def test_a_failing_mail_server_does_not_fail_an_answer(
    client_for, monkeypatch, caplog, error, django_capture_on_commit_callbacks
):
    referral = ReferralFactory(needs=[DomainFactory()], to="sent")
    UserFactory(service=referral.case.service)

    def send_mail(**kwargs):
        raise error

    monkeypatch.setattr(services, "send_mail", send_mail)
    receiver = client_for(UserFactory(service=referral.service))
    with django_capture_on_commit_callbacks(execute=True):
        response = receiver.post(reverse("referrals:referral_transition", args=[referral.pk, "accepter"]))
    assert response.status_code == 302
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.ACCEPTED
    assert "e-mail not sent" in caplog.text


def _sent_days_ago(days, email):
    referral = ReferralFactory(service=ServiceFactory(email=email), to="sent")
    Referral.objects.filter(pk=referral.pk).update(sent_at=timezone.now() - datetime.timedelta(days=days))
    return referral


def test_one_bad_address_does_not_stop_the_reminders_and_is_retried(monkeypatch, caplog):
    bad = _sent_days_ago(13, "bad@nowhere.invalid")
    good = _sent_days_ago(13, "accueil@service.fr")
    monkeypatch.setattr(services, "send_mail", failing_mail_server("bad@nowhere.invalid"))

    assert services.referrals_remind() == 1
    assert [m.to for m in mail.outbox] == [["accueil@service.fr"]]
    assert Referral.objects.get(pk=good.pk).reminder_sent_at is not None
    assert Referral.objects.get(pk=bad.pk).reminder_sent_at is None  # tried again next run
    assert f"reminder of referral {bad.pk}" in caplog.text

    monkeypatch.undo()
    assert services.referrals_remind() == 1
    assert Referral.objects.get(pk=bad.pk).reminder_sent_at is not None


def test_expire_referrals_goes_on_when_the_mail_server_fails(monkeypatch, capsys):
    to_remind = _sent_days_ago(13, "accueil@service.fr")
    overdue = _sent_days_ago(40, "autre@service.fr")
    monkeypatch.setattr(services, "send_mail", failing_mail_server())
    call_command("expire_referrals")
    assert "0 relance(s), 1 orientation(s) expirée(s)" in capsys.readouterr().out
    assert Referral.objects.get(pk=overdue.pk).status == ReferralStatus.EXPIRED
    assert Referral.objects.get(pk=to_remind.pk).reminder_sent_at is None
