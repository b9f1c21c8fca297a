"""Writes across several models for the directory: a service keeps its listing, errors are reported.

Each function is one transaction; e-mails are queued inside it (reseau.mail) and leave once it commits.
"""

import logging

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from .enums import ErrorReportStatus
from .models import (
    ErrorReport,
    ListingReminder,
    Service,
    network_coordinator_addresses,
    services_due_for_listing_reminder,
)
from .notifications import absolute_url, notify_coordinators, notify_service

logger = logging.getLogger(__name__)

LISTING_FIELDS = ("capacity_status", "phone", "email", "website", "opening_hours", "description")


def _author(user, link):
    """(history user, change reason) of a change made by a logged-in user or through a personal link."""
    if link is not None:
        return None, f"par lien envoyé à {link.email}"
    return user, f"par {user.email} (compte du service)"


def _save_with_history(service, user, link, what):
    history_user, reason = _author(user, link)
    service._history_user = history_user
    service._change_reason = f"{what} {reason}"[:100]
    service.save()


@transaction.atomic
def listing_update(*, service, data, user=None, link=None, today=None):
    """The service updates its listing (capacity, contact, opening hours, description), as staff
    (``user``) or through a personal ``link``. Saving the listing also confirms it (``verified_on``)
    and dates the capacity. Kept in the service's history with its author or link.

    A changed e-mail address is told to the old one, with a fresh link to put it back (and, when
    changed through a link, to the coordinators of the service's networks): the holder of a link
    cannot silently take the listing's future links for themselves. Returns the changed fields.
    """
    assert (user is None) != (link is None), "a listing changes either by a user or by a link"
    today = today or timezone.localdate()
    service = Service.objects.select_for_update().select_related("organisation").get(pk=service.pk)
    old_email = service.email
    changed = [name for name in LISTING_FIELDS if getattr(service, name) != data[name]]
    for name in LISTING_FIELDS:
        setattr(service, name, data[name])
    service.capacity_updated_on = today
    service.verified_on = today
    _save_with_history(service, user, link, "Fiche mise à jour")
    if "email" in changed and old_email:
        _, reason = _author(user, link)
        context = {"old_email": old_email, "new_email": service.email, "changed_by": reason}
        notify_service(service, "email_changed", emails=[old_email], **context)
        if link is not None:
            notify_coordinators(
                service,
                subject=f"Adresse de la fiche « {service.name} » modifiée par lien",
                template="partners/emails/coordinators_email_changed.txt",
                emails=network_coordinator_addresses(service),
                **context,
            )
    return changed


@transaction.atomic
def listing_verify(*, service, user=None, link=None, today=None):
    """The service confirms its listing is right as it is: ``verified_on`` is today, in the history."""
    assert (user is None) != (link is None), "a listing is confirmed either by a user or by a link"
    service = Service.objects.select_for_update().get(pk=service.pk)
    service.verified_on = today or timezone.localdate()
    _save_with_history(service, user, link, "Fiche confirmée à jour")
    return service


@transaction.atomic
def listing_link_send(*, service, email=None, event="requested"):
    """E-mail a personal link to update ``service``'s listing to its own address (or ``email``, the
    address an expired link was sent to). Returns False when there is no address to write to."""
    email = email or service.email
    if not email:
        return False
    notify_service(service, event, emails=[email])
    return True


@transaction.atomic
def error_report_create(*, service, reporter, category, text):
    """A worker reports an error: saved, e-mailed to the service (with a link to update its listing;
    its staff, to their page) and to the coordinators of the networks it belongs to today."""
    report = ErrorReport.objects.create(service=service, reporter=reporter, category=category, text=text)
    notify_service(service, "error_report", include_staff=True, report=report)
    notify_coordinators(
        service,
        subject=f"Erreur signalée sur « {service.name} »",
        template="partners/emails/coordinators_error_report.txt",
        emails=network_coordinator_addresses(service),
        report=report,
        admin_url=absolute_url(reverse("admin:partners_errorreport_change", args=[report.pk])),
    )
    return report


def error_report_set_status(*, report, status, by, now=None):
    """Close (who, when) or reopen one error report."""
    if status == ErrorReportStatus.CLOSED:
        if report.status != ErrorReportStatus.CLOSED or report.closed_at is None:
            report.closed_by, report.closed_at = by, now or timezone.now()
    else:
        report.closed_by, report.closed_at = None, None
    report.status = status
    report.save(update_fields=["status", "closed_by", "closed_at"])
    return report


@transaction.atomic
def error_reports_close(*, reports, by, now=None):
    """Close the open ones among ``reports`` (a queryset, already scoped to what ``by`` sees)."""
    return reports.filter(status=ErrorReportStatus.OPEN).update(
        status=ErrorReportStatus.CLOSED, closed_by=by, closed_at=now or timezone.now()
    )


def listing_reminders_send(*, today=None, dry_run=False, batch_size=200):
    """The yearly "is your listing still right?" e-mail to services not verified for 11 months.

    Idempotent: a reminder is recorded per service (ListingReminder) and none is sent twice within
    12 months; each batch is one transaction, re-checked under a lock. Returns counts.
    """
    today = today or timezone.localdate()
    ids = list(services_due_for_listing_reminder(today).order_by("pk").values_list("pk", flat=True))
    if dry_run:
        logger.info("listing reminders due: %s (dry run)", len(ids))
        return {"due": len(ids), "sent": 0}
    sent = 0
    for start in range(0, len(ids), batch_size):
        with transaction.atomic():
            batch = (
                services_due_for_listing_reminder(today)
                .filter(pk__in=ids[start : start + batch_size])
                .select_for_update()
                .order_by("pk")
            )
            for service in batch:
                ListingReminder.objects.create(service=service, email=service.email, sent_on=today)
                notify_service(service, "reminder", last_verified=service.verified_on)
                sent += 1
    logger.info("listing reminders sent: %s of %s due", sent, len(ids))
    return {"due": len(ids), "sent": sent}
