"""Writes across several models: classify and create referrals, expire them, purge old cases."""

import datetime
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from partners.models import Convention, Domain, Service
from partners.partnerships import Partnerships

from .enums import CaseStatus, Classification, OffConventionReason, ReferralStatus
from .insight import referrals_archive
from .models import Case, Referral, ReferralStatistic

logger = logging.getLogger(__name__)


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
def referrals_create(*, case, requests, user, on=None):
    """Create and send one referral per request, atomically: one invalid request and none is saved."""
    if not case.is_open:
        raise ReferralRejected({None: "Cette situation est clôturée : rouvrez-la pour orienter."})
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
            errors[service.pk] = "Une orientation est déjà en cours vers ce service."
        elif not covered:
            errors[service.pk] = "Ce service ne couvre aucun des besoins de la situation."
        elif result.needs_reason and request.reason not in OffConventionReason.values:
            errors[service.pk] = "Orientation hors convention : indiquez le motif."
        elif (
            result.needs_reason
            and request.reason == OffConventionReason.OTHER
            and not request.details.strip()
        ):
            errors[service.pk] = "Motif « Autre » : précisez-le en quelques mots."
    if errors:
        raise ReferralRejected(errors)

    referrals = []
    for service, covered, result in preview:
        request = by_id[service.pk]
        keep_reason = result.classification != Classification.IN_CONVENTION
        referral = Referral.objects.create(
            case=case,
            service=service,
            classification=result.classification,
            convention=result.convention,
            off_convention_reason=request.reason if keep_reason else "",
            off_convention_details=request.details.strip() if keep_reason else "",
            sender=user,
        )
        referral.needs.set(covered)
        referral.send(by=user)
        referrals.append(referral)
    transaction.on_commit(lambda: [notify_referral_sent(r) for r in referrals])
    return referrals


# --- Notifications ------------------------------------------------------------------------------


def _service_recipients(service):
    emails = set(service.staff.filter(is_active=True).values_list("email", flat=True))
    if service.email:
        emails.add(service.email)
    return sorted(emails)


def _absolute(path):
    return settings.SITE_URL.rstrip("/") + path


def notify_referral_sent(referral):
    recipients = _service_recipients(referral.service)
    if not recipients:
        return
    send_mail(
        subject=f"Nouvelle orientation reçue ({referral.case.reference})",
        message=(
            f"Bonjour,\n\nLe service « {referral.case.service.name} » vous adresse une orientation "
            f"(situation {referral.case.reference}).\n\nPour l'accepter ou la refuser : "
            f"{_absolute(reverse('referrals:referral_detail', args=[referral.pk]))}\n\n"
            "Sans réponse sous "
            f"{settings.REFERRAL_EXPIRY_DAYS} jours, l'orientation expirera.\n\n— Réseau"
        ),
        from_email=None,
        recipient_list=recipients,
    )


def notify_referral_answered(referral):
    # The worker who sent it; if they have left, their colleagues (the case belongs to the service).
    sender = referral.sender
    if sender and sender.is_active:
        recipients = [sender.email]
    else:
        recipients = sorted(
            referral.case.service.staff.filter(is_active=True).values_list("email", flat=True)
        )
    if not recipients:
        return
    send_mail(
        subject=f"Orientation {referral.get_status_display().lower()} ({referral.case.reference})",
        message=(
            f"Bonjour,\n\n« {referral.service.name} » a répondu à votre orientation "
            f"(situation {referral.case.reference}) : {referral.get_status_display().lower()}."
            + (f"\nMotif : {referral.get_refusal_reason_display()}." if referral.refusal_reason else "")
            + f"\n\n{_absolute(reverse('referrals:case_detail', args=[referral.case_id]))}\n\n— Réseau"
        ),
        from_email=None,
        recipient_list=recipients,
    )


# --- Expiry and reminders -----------------------------------------------------------------------


def referrals_expire(*, now=None, dry_run=False, batch_size=500):
    """Expire referrals sent and unanswered for REFERRAL_EXPIRY_DAYS days. Idempotent."""
    now = now or timezone.now()
    due = Referral.objects.unanswered_since(now - datetime.timedelta(days=settings.REFERRAL_EXPIRY_DAYS))
    ids = list(due.order_by("pk").values_list("pk", flat=True))
    if dry_run:
        return len(ids)
    expired = 0
    for start in range(0, len(ids), batch_size):
        with transaction.atomic():
            for referral in Referral.objects.filter(
                pk__in=ids[start : start + batch_size], status=ReferralStatus.SENT
            ):
                referral.expire(by=None, comment="Sans réponse dans le délai.")
                expired += 1
    logger.info("referrals expired: %s", expired)
    return expired


def referrals_remind(*, now=None, dry_run=False):
    """E-mail the receiving service once, a few days before a referral expires. Idempotent."""
    now = now or timezone.now()
    threshold = now - datetime.timedelta(
        days=settings.REFERRAL_EXPIRY_DAYS - settings.REFERRAL_REMINDER_DAYS_BEFORE
    )
    due = Referral.objects.unanswered_since(threshold).filter(reminder_sent_at__isnull=True)
    due = due.select_related("case", "service")
    if dry_run:
        return due.count()
    reminded = 0
    for referral in due:
        recipients = _service_recipients(referral.service)
        if recipients:
            send_mail(
                subject=f"Rappel : orientation sans réponse ({referral.case.reference})",
                message=(
                    f"Bonjour,\n\nL'orientation reçue le {timezone.localtime(referral.sent_at):%d/%m/%Y} "
                    f"(situation {referral.case.reference}) attend votre réponse ; elle expirera dans "
                    f"{settings.REFERRAL_REMINDER_DAYS_BEFORE} jours.\n\n"
                    f"{_absolute(reverse('referrals:referral_detail', args=[referral.pk]))}\n\n— Réseau"
                ),
                from_email=None,
                recipient_list=recipients,
            )
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
