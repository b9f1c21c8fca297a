import datetime
import secrets
from functools import wraps

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import OperationalError, models, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Lower
from django.utils import timezone
from django_fsm import ConcurrentTransition, ConcurrentTransitionMixin, FSMField, transition

from partners.enums import DEFAULT_RADIUS_KM, SEARCH_RADII_KM
from partners.models import Convention, Domain, Public, Service, choices_check

from .enums import CaseStatus, Classification, OffConventionReason, ReferralStatus, RefusalReason

_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud on the phone

# A case reference: letters (French accents included), digits, spaces and dashes, neither starting nor
# ending with a space. One pattern for the form and the database (Python's re and PostgreSQL's regex
# read it alike; on SQLite Django provides REGEXP). No newline can reach an e-mail subject.
_REFERENCE_CHAR = "0-9A-Za-zÀ-ÖØ-öø-ÿŒœŸ"
# \A and \Z, not ^ and $: Python's $ also matches before a final newline.
REFERENCE_PATTERN = rf"\A[{_REFERENCE_CHAR}-]([{_REFERENCE_CHAR} -]*[{_REFERENCE_CHAR}-])?\Z"
REFERENCE_MESSAGE = (
    "Référence invalide : utilisez seulement des lettres, des chiffres, des espaces et des tirets."
)
validate_case_reference = RegexValidator(REFERENCE_PATTERN, REFERENCE_MESSAGE, code="invalid_reference")
DUPLICATE_REFERENCE_MESSAGE = (
    "Votre service a déjà une situation avec cette référence : choisissez-en une autre."
)

COMMENT_MAX_LENGTH = 2000  # comments, refusal and off-convention details

# A case may look further than a search (100 km): rural needs; it starts at the search's default.
RADIUS_CHOICES_KM = [*SEARCH_RADII_KM, 100]

CASE_CLOSED_MESSAGE = "Cette situation est clôturée : rouvrez-la pour la modifier ou orienter."


class CaseStateError(Exception):
    """An action the case's status does not allow (editing or referring a closed case, closing it twice)."""


def generate_case_reference():
    """A pseudonymous reference, e.g. "S-2611-7K3Q": year-month and four random characters."""
    suffix = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(4))
    return f"S-{timezone.localdate():%y%m}-{suffix}"


class CaseQuerySet(models.QuerySet):
    def for_user(self, user):
        """A case belongs to the worker's service: colleagues see it, nobody else does."""
        if not user.is_authenticated or not user.service_id:
            return self.none()
        return self.filter(service_id=user.service_id)

    def open(self):
        return self.filter(status=CaseStatus.OPEN)

    def purgeable(self, before):
        return self.filter(status=CaseStatus.CLOSED, closed_at__lt=before)

    def with_reference(self, service_id, reference):
        """Cases of a service with this reference, whatever its case: the rule of the unique constraint
        (lowered by the database on both sides, so the check and the constraint agree on each database)."""
        return (
            self.filter(service_id=service_id)
            .annotate(lowered_reference=Lower("reference"))
            .filter(lowered_reference=Lower(Value(reference)))
        )


class Case(models.Model):
    """A person's situation, pseudonymous: needs, place and publics — never a name or a national number."""

    service = models.ForeignKey(
        Service, verbose_name="service référent", on_delete=models.PROTECT, related_name="cases"
    )
    reference = models.CharField(
        "référence",
        max_length=30,
        default=generate_case_reference,
        validators=[validate_case_reference],
        help_text=(
            "Référence pseudonyme : ni nom, ni date de naissance, ni numéro national. "
            "Lettres, chiffres, espaces et tirets."
        ),
    )
    needs = models.ManyToManyField(Domain, verbose_name="besoins", related_name="cases")
    commune = models.ForeignKey(
        "partners.Commune",
        verbose_name="commune",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    radius_km = models.PositiveSmallIntegerField(
        "rayon de recherche (km)",
        choices=[(km, f"{km} km") for km in RADIUS_CHOICES_KM],
        default=DEFAULT_RADIUS_KM,
    )
    publics = models.ManyToManyField(Public, verbose_name="publics", blank=True, related_name="cases")
    notes = models.TextField("notes", blank=True)
    status = models.CharField("statut", max_length=10, choices=CaseStatus, default=CaseStatus.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="créée par",
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    created_at = models.DateTimeField("créée le", default=timezone.now)
    updated_at = models.DateTimeField("modifiée le", auto_now=True)
    closed_at = models.DateTimeField("clôturée le", null=True, blank=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = "situation"
        verbose_name_plural = "situations"
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["service", "status", "-created_at"], name="case_service_status_idx"),
            models.Index(fields=["status", "closed_at"], name="case_status_closed_idx"),
        ]
        constraints = [
            choices_check("status", CaseStatus, "case_status_valid"),
            models.UniqueConstraint(
                "service",
                Lower("reference"),
                name="case_reference_unique_per_service_ci",
                violation_error_message=DUPLICATE_REFERENCE_MESSAGE,
            ),
            models.CheckConstraint(
                condition=Q(reference__regex=REFERENCE_PATTERN),
                name="case_reference_characters",
                violation_error_message=REFERENCE_MESSAGE,
            ),
            models.CheckConstraint(
                condition=Q(status=CaseStatus.OPEN, closed_at__isnull=True)
                | Q(status=CaseStatus.CLOSED, closed_at__isnull=False),
                name="case_closed_at_matches_status",
            ),
            models.CheckConstraint(condition=Q(radius_km__in=RADIUS_CHOICES_KM), name="case_radius_choices"),
        ]

    def __str__(self):
        return self.reference

    @property
    def is_open(self):
        return self.status == CaseStatus.OPEN

    # Life-cycle: open → closed (purged after the retention period) → open again if needed.
    # A closed case can be read and reopened; it cannot be edited nor referred (see ``ensure_open``).
    # Its referrals keep their own life-cycle: the receiving service may still answer them.

    def close(self):
        """Close an open case. Raises CaseStateError if it is already closed (here or meanwhile)."""
        self._move(CaseStatus.OPEN, CaseStatus.CLOSED, "Cette situation est déjà clôturée.")

    def reopen(self):
        """Reopen a closed case. Raises CaseStateError if it is open (here or meanwhile)."""
        self._move(CaseStatus.CLOSED, CaseStatus.OPEN, "Cette situation est déjà ouverte.")

    def ensure_open(self, *, lock=False):
        """Raises CaseStateError unless the case is open — in the database, under a row lock if ``lock``."""
        if lock:
            self.status = Case.objects.select_for_update().values_list("status", flat=True).get(pk=self.pk)
        if not self.is_open:
            raise CaseStateError(CASE_CLOSED_MESSAGE)

    def _move(self, source, target, message):
        now = timezone.now()
        closed_at = now if target == CaseStatus.CLOSED else None
        with transaction.atomic():
            current = Case.objects.select_for_update().filter(pk=self.pk).values_list("status", flat=True)
            if current.first() != source:
                raise CaseStateError(message)
            Case.objects.filter(pk=self.pk).update(status=target, closed_at=closed_at, updated_at=now)
        self.status, self.closed_at, self.updated_at = target, closed_at, now


# --- Referrals ------------------------------------------------------------------------------------

SENT_STATUSES = [
    ReferralStatus.SENT,
    ReferralStatus.UNDER_REVIEW,
    ReferralStatus.ACCEPTED,
    ReferralStatus.REFUSED,
    ReferralStatus.COMPLETED,
    ReferralStatus.EXPIRED,
]
PENDING_STATUSES = [
    ReferralStatus.DRAFT,
    ReferralStatus.SENT,
    ReferralStatus.UNDER_REVIEW,
    ReferralStatus.ACCEPTED,
]
# Waiting for the receiver's answer: what a personal link may act on.
AWAITING_ANSWER_STATUSES = [ReferralStatus.SENT, ReferralStatus.UNDER_REVIEW]
# What the sender hears back: the receiver's answers, and the expiry of an unanswered referral.
ANSWER_STATUSES = [
    ReferralStatus.UNDER_REVIEW,
    ReferralStatus.ACCEPTED,
    ReferralStatus.REFUSED,
    ReferralStatus.EXPIRED,
]
# The home page warns this many days before an unanswered referral expires.
EXPIRY_WARNING_DAYS = 3


# What the proposals page reads of a referral already made for the case (see ReferralQuerySet).
_HISTORY_FIELDS = (
    "pk",
    "case_id",
    "service_id",
    "status",
    "created_at",
    "sent_at",
    "answered_at",
    "closed_at",
)


def due_for_expiry_condition(now) -> Q:
    """The condition of ReferralQuerySet.due_for_expiry (also counted by referrals.attention)."""
    sent_before = now - datetime.timedelta(days=settings.REFERRAL_EXPIRY_DAYS)
    reviewed_sent_before = now - datetime.timedelta(days=settings.REFERRAL_REVIEW_EXPIRY_DAYS)
    return Q(status=ReferralStatus.SENT, sent_at__lt=sent_before) | Q(
        status=ReferralStatus.UNDER_REVIEW, sent_at__lt=reviewed_sent_before
    )


def expiring_soon_condition(now, days=EXPIRY_WARNING_DAYS) -> Q:
    """The condition of ReferralQuerySet.expiring_soon (also counted by referrals.attention)."""
    return due_for_expiry_condition(now + datetime.timedelta(days=days))


class ReferralQuerySet(models.QuerySet):
    def for_user(self, user):
        """Referrals a user may see: sent by their service, or received by it."""
        if not user.is_authenticated or not user.service_id:
            return self.none()
        return self.filter(Q(case__service_id=user.service_id) | Q(service_id=user.service_id))

    def incoming_for(self, user):
        if not user.is_authenticated or not user.service_id:
            return self.none()
        return self.filter(service_id=user.service_id).exclude(status=ReferralStatus.DRAFT)

    def pending(self):
        return self.filter(status__in=PENDING_STATUSES)

    def awaiting_answer(self):
        return self.filter(status__in=AWAITING_ANSWER_STATUSES)

    def expiring_soon(self, now, days=EXPIRY_WARNING_DAYS):
        """Unanswered referrals that expire within ``days``: the expiry rule, read that many days ahead."""
        return self.filter(expiring_soon_condition(now, days))

    def latest_by_service(self):
        """Service id -> the latest of these referrals to it (status and dates only), in one query:
        what the proposals page says of a service already referred for the case."""
        latest = {}
        for referral in self.only(*_HISTORY_FIELDS).order_by("created_at", "pk"):
            latest[referral.service_id] = referral
        return latest

    def routing_history(self):
        """(``latest_by_service()``, the needs of the pending ones), in one query: what the proposals
        page says of the services already referred, and the needs already being taken care of."""
        latest, handled = {}, set()
        # One row per (referral, need): the same referral comes again for each of its needs.
        for referral in self.only(*_HISTORY_FIELDS).annotate(need_id=F("needs")).order_by("created_at", "pk"):
            latest[referral.service_id] = referral
            if referral.is_pending and referral.need_id is not None:
                handled.add(referral.need_id)
        return latest, frozenset(handled)

    def due_for_expiry(self, now):
        """Unanswered past their deadline (same rule as Referral.answer_deadline)."""
        return self.filter(due_for_expiry_condition(now))

    def due_for_reminder(self, now):
        """Sent REFERRAL_REMINDER_AFTER_DAYS ago, still without any answer, not reminded yet."""
        sent_before = now - datetime.timedelta(days=settings.REFERRAL_REMINDER_AFTER_DAYS)
        return self.filter(status=ReferralStatus.SENT, sent_at__lt=sent_before, reminder_sent_at__isnull=True)


def logged_transition(method):
    """Runs a django-fsm transition under a row lock and records it as a ReferralEvent.

    The row is locked (SELECT … FOR UPDATE) and its status compared with ours: a referral answered
    meanwhile by someone else raises ConcurrentTransition instead of being overwritten. On SQLite,
    which locks the whole database (transactions start IMMEDIATE, see settings), a writer that waited
    too long gets "database is locked": the same lost race, the same ConcurrentTransition.
    """

    @wraps(method)
    def wrapper(self, *, by=None, comment="", via_email="", **kwargs):
        try:
            _run_logged(self, method, by, comment, via_email, kwargs)
        except OperationalError as error:
            if "locked" not in str(error):
                raise
            raise ConcurrentTransition("Cette orientation est modifiée au même moment.") from error

    return wrapper


def _run_logged(referral, method, by, comment, via_email, kwargs):
    """The transition itself: lock, compare, change, save, count, log — one transaction."""
    with transaction.atomic():
        current = (
            type(referral)
            .objects.select_for_update()
            .filter(pk=referral.pk)
            .values_list("status", flat=True)
            .first()
        )
        if current != referral.status:
            raise ConcurrentTransition("Cette orientation a été modifiée entre-temps.")
        from .insight_counts import referral_counts_follow, referral_state  # it reads these models

        source, counted = referral.status, referral_state(referral)
        method(referral, by=by, comment=comment, **kwargs)
        referral.save()
        referral_counts_follow(referral, counted)  # insight's counts move with the status
        ReferralEvent.objects.create(
            referral=referral,
            actor=by,
            via_link_email=via_email,
            from_status=source,
            to_status=referral.status,
            comment=comment,
        )


class Referral(ConcurrentTransitionMixin, models.Model):
    """A case sent to one service for some of its needs."""

    case = models.ForeignKey(
        Case, verbose_name="situation", on_delete=models.CASCADE, related_name="referrals"
    )
    service = models.ForeignKey(
        Service,
        verbose_name="service destinataire",
        on_delete=models.PROTECT,
        related_name="incoming_referrals",
    )
    needs = models.ManyToManyField(Domain, verbose_name="besoins couverts", related_name="referrals")
    status = FSMField(
        "statut", max_length=20, choices=ReferralStatus.choices, default=ReferralStatus.DRAFT, protected=True
    )

    # Snapshot taken at creation, on the server: later changes to conventions do not rewrite it.
    classification = models.CharField("classement", max_length=20, choices=Classification)
    convention = models.ForeignKey(
        Convention,
        verbose_name="convention",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="referrals",
    )
    off_convention_reason = models.CharField(
        "motif hors convention", max_length=30, choices=OffConventionReason, blank=True
    )
    off_convention_details = models.TextField("précisions sur le motif", blank=True)

    # What the receiver needs to decide, chosen by the sender: never identifying data (see the form's warning).
    message = models.TextField("message au service", blank=True)
    contact_phone = models.CharField("téléphone pour rappeler", max_length=30, blank=True)
    contact_email = models.EmailField("courriel pour répondre", blank=True)

    refusal_reason = models.CharField("motif du refus", max_length=20, choices=RefusalReason, blank=True)
    refusal_details = models.TextField("précisions sur le refus", blank=True)

    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="orienté par",
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    created_at = models.DateTimeField("créée le", default=timezone.now)
    sent_at = models.DateTimeField("envoyée le", null=True, blank=True)
    reviewed_at = models.DateTimeField("mise à l'étude le", null=True, blank=True)
    answered_at = models.DateTimeField("réponse le", null=True, blank=True)
    closed_at = models.DateTimeField("close le", null=True, blank=True)
    reminder_sent_at = models.DateTimeField("relance envoyée le", null=True, blank=True)

    objects = ReferralQuerySet.as_manager()

    class Meta:
        verbose_name = "orientation"
        verbose_name_plural = "orientations"
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["service", "status", "-created_at"], name="referral_inbox_idx"),
            models.Index(fields=["status", "sent_at"], name="referral_status_sent_idx"),
            models.Index(fields=["classification", "created_at"], name="referral_classification_idx"),
        ]
        constraints = [
            choices_check("status", ReferralStatus, "referral_status_valid"),
            choices_check("classification", Classification, "referral_classification_valid"),
            models.CheckConstraint(
                condition=~Q(classification=Classification.IN_CONVENTION) | Q(convention__isnull=False),
                name="referral_in_convention_has_convention",
            ),
            models.CheckConstraint(
                condition=~Q(classification=Classification.OFF_CONVENTION) | ~Q(off_convention_reason=""),
                name="referral_off_convention_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(off_convention_reason="")
                | Q(off_convention_reason__in=OffConventionReason.values),
                name="referral_off_convention_reason_valid",
            ),
            models.CheckConstraint(
                condition=~Q(off_convention_reason=OffConventionReason.OTHER) | ~Q(off_convention_details=""),
                name="referral_other_reason_has_details",
            ),
            models.CheckConstraint(
                condition=~Q(status=ReferralStatus.REFUSED) | ~Q(refusal_reason=""),
                name="referral_refused_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=SENT_STATUSES) | Q(sent_at__isnull=False),
                name="referral_sent_has_sent_at",
            ),
            models.UniqueConstraint(
                fields=["case", "service"],
                condition=Q(status__in=PENDING_STATUSES),
                name="referral_one_pending_per_case_and_service",
                violation_error_message="Une orientation est déjà en cours vers ce service pour cette situation.",
            ),
        ]

    def __str__(self):
        return f"{self.case} → {self.service}"

    @property
    def is_flagged(self):
        return self.classification == Classification.OFF_CONVENTION

    # Transitions: each one is the only way to change the status (the field is protected).

    @logged_transition
    @transition(field=status, source=ReferralStatus.DRAFT, target=ReferralStatus.SENT)
    def send(self, *, by=None, comment=""):
        self.sent_at = timezone.now()

    @logged_transition
    @transition(field=status, source=ReferralStatus.SENT, target=ReferralStatus.UNDER_REVIEW)
    def review(self, *, by=None, comment=""):
        """The receiver is studying the request: it expires later (REFERRAL_REVIEW_EXPIRY_DAYS)."""
        self.reviewed_at = timezone.now()

    @logged_transition
    @transition(field=status, source=AWAITING_ANSWER_STATUSES, target=ReferralStatus.ACCEPTED)
    def accept(self, *, by=None, comment=""):
        self.answered_at = timezone.now()

    @logged_transition
    @transition(field=status, source=AWAITING_ANSWER_STATUSES, target=ReferralStatus.REFUSED)
    def refuse(self, *, by=None, comment="", reason="", details=""):
        if reason not in RefusalReason.values:
            raise ValueError("Un motif de refus est obligatoire.")
        self.refusal_reason, self.refusal_details = reason, details
        self.answered_at = timezone.now()

    @logged_transition
    @transition(field=status, source=ReferralStatus.ACCEPTED, target=ReferralStatus.COMPLETED)
    def complete(self, *, by=None, comment=""):
        self.closed_at = timezone.now()

    @logged_transition
    @transition(
        field=status,
        source=[ReferralStatus.DRAFT, *AWAITING_ANSWER_STATUSES, ReferralStatus.ACCEPTED],
        target=ReferralStatus.CANCELLED,
    )
    def cancel(self, *, by=None, comment=""):
        self.closed_at = timezone.now()

    @logged_transition
    @transition(field=status, source=AWAITING_ANSWER_STATUSES, target=ReferralStatus.EXPIRED)
    def expire(self, *, by=None, comment=""):
        self.closed_at = timezone.now()

    @property
    def is_pending(self):
        """Still open (draft, awaiting an answer or accepted): the case cannot be sent there again."""
        return self.status in PENDING_STATUSES

    @property
    def may_be_rerouted(self):
        """Refused or expired: the worker looks for another service for these needs."""
        return self.status in (ReferralStatus.REFUSED, ReferralStatus.EXPIRED)

    @property
    def status_date(self):
        """When the referral reached its current status (sent, answered or closed)."""
        if self.status in (ReferralStatus.ACCEPTED, ReferralStatus.REFUSED):
            return self.answered_at
        if self.status in (ReferralStatus.COMPLETED, ReferralStatus.CANCELLED, ReferralStatus.EXPIRED):
            return self.closed_at
        return self.sent_at or self.created_at

    @property
    def is_awaiting_answer(self):
        return self.status in AWAITING_ANSWER_STATUSES

    def answer_deadline(self):
        """When an unanswered referral expires: REFERRAL_EXPIRY_DAYS after sending, or
        REFERRAL_REVIEW_EXPIRY_DAYS once under review. None when no answer is awaited."""
        if not self.is_awaiting_answer or self.sent_at is None:
            return None
        days = (
            settings.REFERRAL_REVIEW_EXPIRY_DAYS
            if self.status == ReferralStatus.UNDER_REVIEW
            else settings.REFERRAL_EXPIRY_DAYS
        )
        return self.sent_at + datetime.timedelta(days=days)


class ReferralEventQuerySet(models.QuerySet):
    def answers_for(self, user):
        """Answers (and expiries) to the referrals the user's service sent: what the sender hears back."""
        if not user.is_authenticated or not user.service_id:
            return self.none()
        return self.filter(referral__case__service_id=user.service_id, to_status__in=ANSWER_STATUSES)


class ReferralEvent(models.Model):
    """One transition of a referral: who, when, from, to, and an optional comment."""

    referral = models.ForeignKey(
        Referral, verbose_name="orientation", on_delete=models.CASCADE, related_name="events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="par",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    at = models.DateTimeField("le", default=timezone.now)
    via_link_email = models.EmailField(
        "par lien personnel envoyé à",
        blank=True,
        help_text="Réponse donnée sans compte, depuis le lien reçu.",
    )
    from_status = models.CharField("de", max_length=20, choices=ReferralStatus)
    to_status = models.CharField("vers", max_length=20, choices=ReferralStatus)
    comment = models.TextField("commentaire", blank=True)

    objects = ReferralEventQuerySet.as_manager()

    class Meta:
        verbose_name = "événement d'orientation"
        verbose_name_plural = "événements d'orientation"
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["referral", "at"], name="referral_event_idx")]

    def __str__(self):
        return f"{self.get_from_status_display()} → {self.get_to_status_display()}"


class ReferralStatistic(models.Model):
    """Aggregate counts that survive the purge of closed cases (insight keeps its history)."""

    month = models.DateField("mois")
    sender_service = models.ForeignKey(Service, on_delete=models.SET_NULL, null=True, related_name="+")
    target_service = models.ForeignKey(Service, on_delete=models.SET_NULL, null=True, related_name="+")
    domain = models.ForeignKey(Domain, on_delete=models.SET_NULL, null=True, related_name="+")
    department = models.CharField("département", max_length=3, blank=True)
    classification = models.CharField("classement", max_length=20, choices=Classification)
    final_status = models.CharField("statut final", max_length=20, choices=ReferralStatus)
    off_convention_reason = models.CharField(max_length=30, choices=OffConventionReason, blank=True)
    count = models.PositiveIntegerField("nombre", default=0)

    class Meta:
        verbose_name = "statistique d'orientations"
        verbose_name_plural = "statistiques d'orientations"
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "month",
                    "sender_service",
                    "target_service",
                    "domain",
                    "department",
                    "classification",
                    "final_status",
                    "off_convention_reason",
                ],
                name="referral_statistic_unique",
                nulls_distinct=False,
            )
        ]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.classification} {self.final_status}: {self.count}"


# --- Insight (coordinators' figures) --------------------------------------------------------------
# Insight reads every referral through InsightReferral, a database view over the live referrals and
# the archived ones (ArchivedReferral, written by purge_cases): a page computed before and after a
# purge gives the same figures. The views are created after every migrate (referrals.insight_schema).


class ArchivedReferral(models.Model):
    """A purged referral, kept for insight only: no case, no person, no free text, no sender user."""

    id = models.BigIntegerField("identifiant de l'orientation", primary_key=True)  # the referral's own id
    sender_service = models.ForeignKey(
        Service, verbose_name="service orienteur", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    target_service = models.ForeignKey(
        Service, verbose_name="service destinataire", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    needs = models.ManyToManyField(Domain, verbose_name="besoins", related_name="+")
    status = models.CharField("statut", max_length=20, choices=ReferralStatus)
    classification = models.CharField("classement", max_length=20, choices=Classification)
    off_convention_reason = models.CharField(
        "motif hors convention", max_length=30, choices=OffConventionReason, blank=True
    )
    refusal_reason = models.CharField("motif du refus", max_length=20, choices=RefusalReason, blank=True)
    sent_at = models.DateTimeField("envoyée le")
    answered_at = models.DateTimeField("réponse le", null=True, blank=True)
    commune = models.ForeignKey(
        "partners.Commune", verbose_name="commune", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    department = models.CharField("département", max_length=3, blank=True)

    class Meta:
        verbose_name = "orientation archivée"
        verbose_name_plural = "orientations archivées"
        indexes = [models.Index(fields=["sender_service", "sent_at"], name="archived_referral_sender_idx")]

    def __str__(self):
        return f"{self.pk} ({self.get_classification_display()})"


class InsightReferral(models.Model):
    """Read-only: every sent referral, live or archived, as insight counts it (a database view)."""

    id = models.BigIntegerField(primary_key=True)
    sender_service = models.ForeignKey(
        Service, on_delete=models.DO_NOTHING, db_constraint=False, null=True, related_name="+"
    )
    target_service = models.ForeignKey(
        Service, on_delete=models.DO_NOTHING, db_constraint=False, null=True, related_name="+"
    )
    status = models.CharField(max_length=20, choices=ReferralStatus)
    classification = models.CharField(max_length=20, choices=Classification)
    off_convention_reason = models.CharField(max_length=30, choices=OffConventionReason)
    refusal_reason = models.CharField(max_length=20, choices=RefusalReason)
    sent_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True)
    answer_days = models.IntegerField(null=True)  # whole days from sending to the answer
    commune = models.ForeignKey(
        "partners.Commune", on_delete=models.DO_NOTHING, db_constraint=False, null=True, related_name="+"
    )
    department = models.CharField(max_length=3)

    class Meta:
        managed = False
        db_table = "referrals_insight_referral"

    def __str__(self):
        return str(self.pk)


class InsightReferralNeed(models.Model):
    """Read-only: the needs of every sent referral, live or archived (a database view)."""

    id = models.BigIntegerField(primary_key=True)
    referral = models.ForeignKey(
        InsightReferral, on_delete=models.DO_NOTHING, db_constraint=False, related_name="needs"
    )
    domain = models.ForeignKey(Domain, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")

    class Meta:
        managed = False
        db_table = "referrals_insight_referral_need"

    def __str__(self):
        return f"{self.referral_id}: {self.domain_id}"


class UncoveredNeed(models.Model):
    """A need routing found no service for, recorded when proposals are computed: once per case and day.

    Nothing identifies the person: the case is only a keyed digest used to count it once a day.
    """

    day = models.DateField("jour")
    need = models.ForeignKey(Domain, verbose_name="besoin", on_delete=models.CASCADE, related_name="+")
    commune = models.ForeignKey(
        "partners.Commune", verbose_name="commune", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    sender_service = models.ForeignKey(
        Service, verbose_name="service orienteur", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    case_digest = models.CharField("empreinte de la situation", max_length=32, editable=False)

    class Meta:
        verbose_name = "besoin sans service"
        verbose_name_plural = "besoins sans service"
        indexes = [models.Index(fields=["sender_service", "day"], name="uncovered_need_sender_idx")]
        constraints = [
            models.UniqueConstraint(fields=["case_digest", "need", "day"], name="uncovered_need_once_per_day")
        ]

    def __str__(self):
        return f"{self.day} {self.need_id}"


# --- Insight's pre-aggregated counts ----------------------------------------------------------------
# One row per network and month of sending (and the dimensions of each table), so that a page reads
# thousands of rows, not every referral. Written by referrals.insight_counts in the transaction of each
# transition (and rebuilt by ``manage.py rebuild_insight``); purging cases leaves them untouched.
# Each referral is counted at four levels, so that each filter reads its own rows: every département
# and every need (``department`` = ALL_DEPARTMENTS, ``category`` = ALL_CATEGORIES), its département,
# each of its needs' catégories, and both. Keys hold no NULL (sentinels instead): the upsert's
# ``ON CONFLICT`` needs them equal.

ALL_DEPARTMENTS = "*"
ALL_CATEGORIES = 0  # the category id of the "every need" rows
_LEVEL = ("network", "department", "category")  # first in each key: the unique index serves each filter
_FLOW_KEY = (*_LEVEL, "month", "target_service", "classification")
_CLASSIFICATION_KEY = (*_LEVEL, "month", "classification", "off_convention_reason")
_ANSWER_KEY = (*_LEVEL, "target_service", "month", "answer_days", "refusal_reason")
_SENDER_KEY = (*_LEVEL, "target_service", "sender_service", "month")
_GAP_KEY = (*_LEVEL, "month", "commune")


# Services and catégories may be deleted after the fact: the counts stay, the join drops them.
# Their keys' indexes lead with the network: no index of their own.
_COUNTED = {"on_delete": models.DO_NOTHING, "db_constraint": False, "db_index": False, "related_name": "+"}


class InsightCount(models.Model):
    network = models.ForeignKey(
        "partners.Network", verbose_name="réseau", on_delete=models.CASCADE, db_index=False, related_name="+"
    )
    month = models.DateField("mois d'envoi")
    department = models.CharField("département", max_length=3)
    category = models.ForeignKey(Domain, verbose_name="catégorie de besoin", **_COUNTED)
    referrals = models.IntegerField("orientations", default=0)

    MEASURES = ("referrals",)

    class Meta:
        abstract = True


class InsightFlowCount(InsightCount):
    """Referrals per receiving service and classification, with their outcome."""

    target_service = models.ForeignKey(Service, verbose_name="service destinataire", **_COUNTED)
    classification = models.CharField("classement", max_length=20, choices=Classification)
    answered = models.IntegerField("répondues", default=0)
    answered_fast = models.IntegerField("répondues sous 10 jours", default=0)
    accepted = models.IntegerField("acceptées", default=0)
    refused = models.IntegerField("refusées", default=0)
    expired = models.IntegerField("expirées", default=0)

    KEY = _FLOW_KEY
    MEASURES = ("referrals", "answered", "answered_fast", "accepted", "refused", "expired")

    class Meta:
        verbose_name = "compte d'orientations par destinataire"
        verbose_name_plural = "comptes d'orientations par destinataire"
        constraints = [models.UniqueConstraint(fields=_FLOW_KEY, name="insight_flow_count_key")]
        indexes = [
            models.Index(
                # One receiving service's rows at every level: its needs (a-inviter), its figures (reactivite).
                fields=["network", "target_service", "department", "category", "month"],
                name="insight_flow_target_idx",
            )
        ]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.department} {self.category_id}: {self.referrals}"


class InsightClassificationCount(InsightCount):
    """Referrals per classification and off-convention reason."""

    classification = models.CharField("classement", max_length=20, choices=Classification)
    off_convention_reason = models.CharField(
        "motif hors convention", max_length=30, choices=OffConventionReason
    )

    KEY = _CLASSIFICATION_KEY

    class Meta:
        verbose_name = "compte d'orientations par classement"
        verbose_name_plural = "comptes d'orientations par classement"
        constraints = [
            models.UniqueConstraint(fields=_CLASSIFICATION_KEY, name="insight_classification_count_key")
        ]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.department} {self.category_id}: {self.referrals}"


class InsightAnswerCount(InsightCount):
    """Answered referrals per receiving service, whole days to answer and refusal reason (medians)."""

    target_service = models.ForeignKey(Service, verbose_name="service destinataire", **_COUNTED)
    answer_days = models.IntegerField("jours pour répondre")
    refusal_reason = models.CharField("motif du refus", max_length=20, choices=RefusalReason)

    KEY = _ANSWER_KEY

    class Meta:
        verbose_name = "compte de réponses"
        verbose_name_plural = "comptes de réponses"
        constraints = [models.UniqueConstraint(fields=_ANSWER_KEY, name="insight_answer_count_key")]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.department} {self.category_id}: {self.referrals}"


class InsightSenderCount(InsightCount):
    """Referrals outside the conventions per receiving and sending service (distinct senders)."""

    target_service = models.ForeignKey(Service, verbose_name="service destinataire", **_COUNTED)
    sender_service = models.ForeignKey(Service, verbose_name="service orienteur", **_COUNTED)

    KEY = _SENDER_KEY

    class Meta:
        verbose_name = "compte d'orientations hors convention par orienteur"
        verbose_name_plural = "comptes d'orientations hors convention par orienteur"
        constraints = [models.UniqueConstraint(fields=_SENDER_KEY, name="insight_sender_count_key")]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.department} {self.category_id}: {self.referrals}"


class InsightGapCount(InsightCount):
    """No-partner referrals per need catégorie and commune (their département's real code, no levels)."""

    commune = models.ForeignKey("partners.Commune", verbose_name="commune", **_COUNTED)

    KEY = _GAP_KEY

    class Meta:
        verbose_name = "compte d'orientations sans partenaire"
        verbose_name_plural = "comptes d'orientations sans partenaire"
        constraints = [models.UniqueConstraint(fields=_GAP_KEY, name="insight_gap_count_key")]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.department} {self.category_id}: {self.referrals}"


INSIGHT_COUNT_MODELS = (
    InsightFlowCount,
    InsightClassificationCount,
    InsightAnswerCount,
    InsightSenderCount,
    InsightGapCount,
)
