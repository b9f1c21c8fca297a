import datetime

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from referrals.enums import ReferralStatus
from referrals.models import Case, Referral, ReferralStatistic
from referrals.services import cases_purge, referrals_expire, referrals_remind
from tests.factories import CaseFactory, DomainFactory, ReferralFactory, UserFactory

pytestmark = pytest.mark.django_db


def sent_days_ago(days, **kwargs):
    referral = ReferralFactory(to="sent", **kwargs)
    Referral.objects.filter(pk=referral.pk).update(sent_at=timezone.now() - datetime.timedelta(days=days))
    referral.refresh_from_db()
    return referral


def test_expire_referrals_expires_only_overdue_sent_ones_and_is_idempotent(capsys):
    overdue, recent = sent_days_ago(31), sent_days_ago(29)
    accepted = ReferralFactory(to="accepted")

    call_command("expire_referrals", "--dry-run")
    assert Referral.objects.get(pk=overdue.pk).status == ReferralStatus.SENT
    assert "[simulation]" in capsys.readouterr().out

    assert referrals_expire() == 1
    assert referrals_expire() == 0
    assert Referral.objects.get(pk=overdue.pk).status == ReferralStatus.EXPIRED
    assert Referral.objects.get(pk=overdue.pk).events.filter(to_status=ReferralStatus.EXPIRED).count() == 1
    assert Referral.objects.get(pk=recent.pk).status == ReferralStatus.SENT
    assert Referral.objects.get(pk=accepted.pk).status == ReferralStatus.ACCEPTED


def test_under_review_referrals_expire_after_sixty_days_not_thirty():
    studied_long_ago, studied = sent_days_ago(61), sent_days_ago(31)
    for referral in (studied_long_ago, studied):
        referral.review(by=None)

    assert referrals_expire() == 1
    assert Referral.objects.get(pk=studied_long_ago.pk).status == ReferralStatus.EXPIRED
    assert Referral.objects.get(pk=studied.pk).status == ReferralStatus.UNDER_REVIEW
    assert Referral.objects.get(pk=studied.pk).answer_deadline() == studied.sent_at + datetime.timedelta(
        days=60
    )


def test_reminder_is_sent_once_ten_days_after_sending(django_capture_on_commit_callbacks):
    referral = sent_days_ago(11)
    UserFactory(service=referral.service, email="accueil@service.fr")
    sent_days_ago(9)
    under_review = sent_days_ago(11)
    under_review.review(by=None)  # the receiver answered "en cours d'étude": no reminder

    with django_capture_on_commit_callbacks(execute=True):
        assert referrals_remind() == 1
        assert referrals_remind() == 0
    assert [m.to for m in mail.outbox] == [["accueil@service.fr"]]
    assert reverse("referrals:answer_link", args=["x"]).removesuffix("x/") in mail.outbox[0].body
    assert "Rappel" in mail.outbox[0].subject


def test_purge_removes_old_closed_cases_and_keeps_statistics(capsys):
    need = DomainFactory()
    old = CaseFactory(closed=True, needs=[need])
    Case.objects.filter(pk=old.pk).update(closed_at=timezone.now() - datetime.timedelta(days=30 * 25))
    ReferralFactory(case=old, needs=[need], to="accepted")
    recent = CaseFactory(closed=True)
    still_open = CaseFactory()

    call_command("purge_cases", "--dry-run")
    assert "[simulation] 1 situation(s)" in capsys.readouterr().out
    assert Case.objects.count() == 3

    assert cases_purge() == {"cases": 1, "referrals": 1}
    assert cases_purge() == {"cases": 0, "referrals": 0}
    assert set(Case.objects.all()) == {recent, still_open}
    assert not Referral.objects.exists()
    statistic = ReferralStatistic.objects.get()
    assert (statistic.domain, statistic.final_status, statistic.count) == (need, ReferralStatus.ACCEPTED, 1)
