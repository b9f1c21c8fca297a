"""Personal links e-mailed to people without an account: only a hash of each token is stored."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from partners.models import choices_check


class LinkPurpose(models.TextChoices):
    REFERRAL_ANSWER = "referral_answer", "Répondre à une orientation"
    SERVICE_LISTING = "service_listing", "Mettre à jour la fiche d'un service"


class AccessLink(models.Model):
    """One link, for one purpose and one object, sent to one address, valid until ``expires_at``.

    The token itself is only ever in the e-mail: a database leak does not open any referral.
    """

    purpose = models.CharField("usage", max_length=20, choices=LinkPurpose)
    token_hash = models.CharField("empreinte du jeton", max_length=64, unique=True, editable=False)
    referral = models.ForeignKey(
        "referrals.Referral",
        verbose_name="orientation",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="access_links",
    )
    service = models.ForeignKey(
        "partners.Service",
        verbose_name="service",
        on_delete=models.CASCADE,
        related_name="access_links",
    )
    email = models.EmailField("envoyé à")
    created_at = models.DateTimeField("créé le", default=timezone.now)
    expires_at = models.DateTimeField("expire le")
    last_used_at = models.DateTimeField("dernière utilisation", null=True, blank=True)

    class Meta:
        verbose_name = "lien personnel"
        verbose_name_plural = "liens personnels"
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["expires_at"], name="access_link_expires_idx")]
        constraints = [
            choices_check("purpose", LinkPurpose, "access_link_purpose_valid"),
            models.CheckConstraint(
                condition=~Q(purpose=LinkPurpose.REFERRAL_ANSWER) | Q(referral__isnull=False),
                name="access_link_answer_has_referral",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")), name="access_link_expires_after_creation"
            ),
        ]

    def __str__(self):
        return f"{self.get_purpose_display()} · {self.email}"

    def is_expired(self, now=None):
        return self.expires_at <= (now or timezone.now())


class RateCounter(models.Model):
    """Requests counted per key (e.g. a client address) and time window, shared by every process."""

    key = models.CharField(max_length=200)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "compteur de requêtes"
        verbose_name_plural = "compteurs de requêtes"
        constraints = [models.UniqueConstraint(fields=["key", "window_start"], name="rate_counter_unique")]

    def __str__(self):
        return f"{self.key} @ {self.window_start:%Y-%m-%d %H:%M}: {self.count}"
