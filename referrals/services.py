"""Writes across several models: classify and create referrals, expire them, purge old cases."""

import datetime
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from partners.models import Convention, Domain, Service
from partners.partnerships import Partnerships

from .enums import CaseStatus, Classification, OffConventionReason
from .insight import referrals_archive
from .models import AWAITING_ANSWER_STATUSES, COMMENT_MAX_LENGTH, Case, Referral, ReferralStatistic
from .notifications import notify_receiver, notify_sender

logger = logging.getLogger(__name__)

PENDING_REFERRAL_MESSAGE = "Une orientation est déjà en cours vers ce service : décochez-le."


# --- Classification ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassificationResult:
    classification: str
    convention: Convention | None = None

    @property
    def needs_reason(self):
        return self.classification == Classification.OFF_CONVENTION


class ReferralClassifier:
    """Classifies referrals from one sending service on one day, per PRODUCT.md, from the database
    only (never from client input), through the partnership read model (partners.partnerships):
    picking ten services costs the queries of one.

    in_convention: the target is an official partner (the convention recorded is the oldest shared
    one whose scope meets the needs, else the oldest shared one); off_convention: not a partner
    although an official partner meets one of these needs; no_partner: no official partner meets them.
    """

    def __init__(self, sender_service_id, on=None):
        self.partnerships = Partnerships.of(sender_service_id, on=on)

    def classify(self, target_service_id, need_ids) -> ClassificationResult:
        convention = self.partnerships.convention_for(target_service_id, need_ids)
        if convention is not None:
            return ClassificationResult(Classification.IN_CONVENTION, convention)
        if self.partnerships.cover(need_ids):
            return ClassificationResult(Classification.OFF_CONVENTION)
        return ClassificationResult(Classification.NO_PARTNER)


def referral_classify(*, sender_service_id, target_service_id, need_ids, on=None) -> ClassificationResult:
    """One referral's classification (see ReferralClassifier)."""
    return ReferralClassifier(sender_service_id, on=on).classify(target_service_id, need_ids)


# --- Creating referrals -------------------------------------------------------------------------


@dataclass
class ReferralRequest:
    """One service the worker picked, with the reason they gave if it is off-convention."""

    service_id: int
    reason: str = ""
    details: str = ""


class ReferralRejected(ValidationError):
    """At least one referral is invalid: none was saved. ``errors_by_service`` says why, in French."""

    def __init__(self, errors_by_service):
        self.errors_by_service = errors_by_service
        super().__init__(list(errors_by_service.values()))


def referral_preview(*, case, service_ids, on=None):
    """What ``referrals_create`` would do, without saving: [(service, needs, classification)].

    A constant number of queries, whatever the number of services.
    """
    need_ids = set(case.needs.values_list("pk", flat=True))
    needs_met = Domain.objects.meeting(need_ids)
    classifier = ReferralClassifier(case.service_id, on=on)
    services = Service.objects.active().filter(pk__in=service_ids).select_related("organisation", "commune")
    covered_by_service = {}
    for service_id, domain_id in Service.domains.through.objects.filter(
        service_id__in=service_ids, domain_id__in=needs_met
    ).values_list("service_id", "domain_id"):
        covered_by_service.setdefault(service_id, set()).update(needs_met[domain_id])
    preview = []
    for service in sorted(services, key=lambda s: (s.name.lower(), s.pk)):
        covered = covered_by_service.get(service.pk, set())
        preview.append((service, covered, classifier.classify(service.pk, covered)))
    return preview


@transaction.atomic
def referrals_create(*, case, requests, user, message="", contact_phone="", contact_email="", on=None):
    """Create and send one referral per request, atomically: one invalid request and none is saved.

    Raises CaseStateError if the case is closed (checked under a lock: closing it meanwhile wins).
    """
    case.ensure_open(lock=True)
    by_id = {request.service_id: request for request in requests}
    if not by_id:
        raise ReferralRejected({None: "Choisissez au moins un service."})
    preview = referral_preview(case=case, service_ids=list(by_id), on=on)
    errors = {}
    found = {service.pk for service, _, _ in preview}
    for missing in set(by_id) - found:
        errors[missing] = "Ce service n'existe pas ou n'est plus actif."
    pending = set(case.referrals.pending().values_list("service_id", flat=True))
    for service, covered, result in preview:
        request = by_id[service.pk]
        if service.pk == case.service_id:
            errors[service.pk] = "Vous ne pouvez pas orienter vers votre propre service."
        elif service.pk in pending:
            errors[service.pk] = PENDING_REFERRAL_MESSAGE
        elif not covered:
            errors[service.pk] = "Ce service ne couvre aucun des besoins de la situation."
        elif result.needs_reason and request.reason not in OffConventionReason.values:
            errors[service.pk] = "Orientation hors convention : indiquez le motif."
        elif result.classification != Classification.IN_CONVENTION and (
            reason_error := _reason_error(request)
        ):
            errors[service.pk] = reason_error
    if errors:
        raise ReferralRejected(errors)

    referrals = []
    for service, covered, result in preview:
        request = by_id[service.pk]
        keep_reason = result.classification != Classification.IN_CONVENTION
        try:
            with transaction.atomic():  # a savepoint: the error below undoes the whole send
                referral = Referral.objects.create(
                    case=case,
                    service=service,
                    classification=result.classification,
                    convention=result.convention,
                    off_convention_reason=request.reason if keep_reason else "",
                    off_convention_details=request.details.strip() if keep_reason else "",
                    message=message.strip(),
                    contact_phone=contact_phone.strip(),
                    contact_email=contact_email.strip(),
                    sender=user,
                )
        except IntegrityError:
            # Only the one-pending-referral constraint can fail here (the case row is locked, so it
            # means a referral was written without that lock): said next to the service, nothing kept.
            raise ReferralRejected({service.pk: PENDING_REFERRAL_MESSAGE}) from None
        referral.needs.set(covered)
        referral.send(by=user)
        notify_receiver(referral, "sent")  # links and e-mails saved with the referrals, sent after commit
        referrals.append(referral)
    return referrals


def _reason_error(request):
    """What is wrong with the reason given for a referral outside the conventions, if anything.

    Required for off_convention (checked before), optional for no_partner: when given, from the list,
    with details for « Autre », and details no longer than a comment.
    """
    if request.reason and request.reason not in OffConventionReason.values:
        return "Motif inconnu : choisissez-en un dans la liste."
    if request.reason == OffConventionReason.OTHER and not request.details.strip():
        return "Motif « Autre » : précisez-le en quelques mots."
    if len(request.details.strip()) > COMMENT_MAX_LENGTH:
        return (
            f"Précisions trop longues : {COMMENT_MAX_LENGTH} caractères au plus "
            f"({len(request.details.strip())} saisis)."
        )
    return ""


# --- Expiry and reminders -----------------------------------------------------------------------


def referrals_expire(*, now=None, dry_run=False, batch_size=500):
    """Expire referrals unanswered past their deadline (Referral.answer_deadline). Idempotent."""
    now = now or timezone.now()
    due = Referral.objects.due_for_expiry(now)
    ids = list(due.order_by("pk").values_list("pk", flat=True))
    if dry_run:
        return len(ids)
    expired = 0
    for start in range(0, len(ids), batch_size):
        with transaction.atomic():
            for referral in Referral.objects.filter(
                pk__in=ids[start : start + batch_size], status__in=AWAITING_ANSWER_STATUSES
            ):
                referral.expire(by=None, comment="Sans réponse dans le délai.")
                notify_sender(referral)
                expired += 1
    logger.info("referrals expired: %s", expired)
    return expired


def referrals_remind(*, now=None, dry_run=False):
    """E-mail the receiving service once, REFERRAL_REMINDER_AFTER_DAYS after sending. Idempotent."""
    now = now or timezone.now()
    due = Referral.objects.due_for_reminder(now)
    due = due.select_related("case__service__organisation", "case__commune", "service")
    if dry_run:
        return due.count()
    reminded = 0
    for referral in due.prefetch_related("needs"):
        with transaction.atomic():
            notify_receiver(referral, "reminder")  # queued: a mail server failure is retried, not lost
            Referral.objects.filter(pk=referral.pk).update(reminder_sent_at=now)
        reminded += 1
    return reminded


# --- Purge ----------------------------------------------------------------------------------------


def cases_purge(*, now=None, dry_run=False, batch_size=200):
    """Remove cases closed for longer than the retention period, keeping aggregate statistics.

    Each batch is one transaction: its referrals are first counted into ReferralStatistic (month,
    services, need, department, classification, final status, reason), then the cases are deleted
    with their notes, referrals and events. Re-running finds nothing more to do.
    """
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=30 * settings.CASE_RETENTION_MONTHS)
    ids = list(Case.objects.purgeable(cutoff).order_by("pk").values_list("pk", flat=True))
    if dry_run:
        return {"cases": len(ids), "referrals": Referral.objects.filter(case_id__in=ids).count()}
    totals = {"cases": 0, "referrals": 0}
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size]
        with transaction.atomic():
            referrals = Referral.objects.filter(case_id__in=batch)
            referrals_archive(referrals)  # insight's figures survive the purge
            totals["referrals"] += _aggregate_referrals(referrals)
            deleted = Case.objects.filter(pk__in=batch, status=CaseStatus.CLOSED)
            totals["cases"] += deleted.count()
            deleted.delete()
    logger.info("cases purged: %(cases)s (referrals: %(referrals)s)", totals)
    return totals


def _aggregate_referrals(referrals):
    counts = {}
    rows = referrals.select_related("case__commune").prefetch_related("needs")
    for referral in rows:
        needs = list(referral.needs.all()) or [None]
        for need in needs:
            key = (
                referral.created_at.date().replace(day=1),
                referral.case.service_id,
                referral.service_id,
                need.pk if need else None,
                referral.case.commune.department if referral.case.commune else "",
                referral.classification,
                referral.status,
                referral.off_convention_reason,
            )
            counts[key] = counts.get(key, 0) + 1
    for key, count in counts.items():
        month, sender, target, domain, department, classification, status, reason = key
        fields = {
            "month": month,
            "sender_service_id": sender,
            "target_service_id": target,
            "domain_id": domain,
            "department": department,
            "classification": classification,
            "final_status": status,
            "off_convention_reason": reason,
        }
        updated = ReferralStatistic.objects.filter(**fields).update(count=F("count") + count)
        if not updated:
            ReferralStatistic.objects.create(**fields, count=count)
    return referrals.count()
