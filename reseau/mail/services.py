"""Queue e-mails and deliver them, retrying with backoff: a mail failure never fails a request."""

import datetime
import logging

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from reseau.accounts.enums import NotificationFrequency
from reseau.accounts.models import User

from .models import DigestEntry, MailStatus, OutgoingMail

logger = logging.getLogger(__name__)

# Minutes to wait before each new attempt; after the last one the e-mail is marked failed.
RETRY_DELAYS_MINUTES = (1, 5, 30, 120, 720)


def mail_queue(*, subject, body, recipients, digestible=False):
    """Record an e-mail and hand it to the task queue once the current transaction commits.

    Returns the OutgoingMail (None when there is nobody to write to now). Never sends in the request:
    the web request only writes a row. ``digestible`` e-mails (follow-up of one's own referrals) go
    into the daily summary of the users who chose one (see ``mail_send_digests``).
    """
    recipients = sorted({address.lower() for address in recipients if address})
    if digestible and recipients:
        daily = set(
            User.objects.filter(
                email__in=recipients, is_active=True, notification_frequency=NotificationFrequency.DAILY
            ).values_list("email", flat=True)
        )
        DigestEntry.objects.bulk_create(
            DigestEntry(email=email, subject=subject[:255], body=body) for email in sorted(daily)
        )
        recipients = [address for address in recipients if address not in daily]
    if not recipients:
        return None
    mail = OutgoingMail.objects.create(subject=subject[:255], body=body, recipients=recipients)
    transaction.on_commit(lambda: _enqueue(mail.pk))
    return mail


def _enqueue(mail_id, run_after=None):
    from .tasks import deliver_mail  # the task module imports this one

    task = deliver_mail
    if run_after is not None:
        if not task.get_backend().supports_defer:
            return  # `send_pending_mail` (run by cron) picks it up when it is due
        task = task.using(run_after=run_after)
    try:
        task.enqueue(mail_id)
    except Exception:
        # The row is saved: `send_pending_mail` delivers it later. Never fail the caller.
        logger.exception("could not enqueue outgoing mail %s", mail_id)


def mail_deliver(*, mail_id, now=None):
    """Try to send one queued e-mail. On failure, schedule the next attempt or give up. Idempotent."""
    now = now or timezone.now()
    with transaction.atomic():
        mail = OutgoingMail.objects.select_for_update().filter(pk=mail_id).first()
        if mail is None or mail.status != MailStatus.PENDING:
            return "skipped"
        mail.attempts += 1
        try:
            send_mail(mail.subject, mail.body, None, mail.recipients)
        except Exception as error:  # SMTP errors, refused connections, bad addresses…
            mail.last_error = f"{type(error).__name__}: {error}"[:2000]
            if mail.attempts > len(RETRY_DELAYS_MINUTES):
                mail.status = MailStatus.FAILED
                logger.error("outgoing mail %s failed for good: %s", mail.pk, mail.last_error)
            else:
                delay = datetime.timedelta(minutes=RETRY_DELAYS_MINUTES[mail.attempts - 1])
                mail.next_attempt_at = now + delay
                logger.warning("outgoing mail %s failed (attempt %s): %s", mail.pk, mail.attempts, error)
            mail.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
        else:
            mail.status, mail.sent_at, mail.last_error = MailStatus.SENT, now, ""
            mail.save(update_fields=["attempts", "last_error", "status", "sent_at"])
            return "sent"
    if mail.status == MailStatus.PENDING:
        transaction.on_commit(lambda: _enqueue(mail.pk, run_after=mail.next_attempt_at))
    return mail.status


def mail_send_due(*, now=None, dry_run=False):
    """Deliver every pending e-mail whose next attempt is due (cron safety net). Returns a count."""
    due = list(OutgoingMail.objects.due(now).order_by("next_attempt_at", "pk").values_list("pk", flat=True))
    if dry_run:
        return {"due": len(due)}
    outcomes = {}
    for mail_id in due:
        outcome = mail_deliver(mail_id=mail_id, now=now)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return {"due": len(due), **outcomes}


def mail_retry(*, mail_ids):
    """Administrators: give failed e-mails a new series of attempts."""
    updated = OutgoingMail.objects.filter(pk__in=mail_ids, status=MailStatus.FAILED).update(
        status=MailStatus.PENDING, attempts=0, next_attempt_at=timezone.now()
    )
    for mail_id in mail_ids:
        transaction.on_commit(lambda mail_id=mail_id: _enqueue(mail_id))
    return updated


def mail_send_digests(*, now=None):
    """Queue one summary per user of the events kept for them, then forget those events. Idempotent.

    Run daily (cron). Each recipient is one transaction: entries are removed with their summary queued.
    """
    now = now or timezone.now()
    sent = 0
    for email in DigestEntry.objects.filter(created_at__lte=now).values_list("email", flat=True).distinct():
        with transaction.atomic():
            entries = list(DigestEntry.objects.select_for_update().filter(email=email, created_at__lte=now))
            if not entries:
                continue
            sections = "\n\n".join(
                f"— {timezone.localtime(e.created_at):%d/%m à %H:%M} · {e.subject}\n\n{e.body}"
                for e in entries
            )
            mail_queue(
                subject=f"Réseau : votre récapitulatif ({len(entries)} événement{'s' if len(entries) > 1 else ''})",
                body=f"Bonjour,\n\nVoici ce qui s'est passé depuis votre dernier récapitulatif.\n\n{sections}",
                recipients=[email],
            )
            DigestEntry.objects.filter(pk__in=[e.pk for e in entries]).delete()
            sent += 1
    return sent
