"""Outgoing e-mails, kept until delivered: a mail server failure never loses one nor fails a request."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from partners.models import choices_check


class MailStatus(models.TextChoices):
    PENDING = "pending", "À envoyer"
    SENT = "sent", "Envoyé"
    FAILED = "failed", "Échec définitif"


class OutgoingMailQuerySet(models.QuerySet):
    def due(self, now=None):
        """Pending e-mails whose next attempt time has come."""
        return self.filter(status=MailStatus.PENDING, next_attempt_at__lte=now or timezone.now())


class OutgoingMail(models.Model):
    """One e-mail to send. Delivered by the task queue (reseau.mail.tasks), retried with backoff."""

    subject = models.CharField("objet", max_length=255)
    body = models.TextField("message")
    recipients = models.JSONField("destinataires", default=list)
    status = models.CharField("statut", max_length=10, choices=MailStatus, default=MailStatus.PENDING)
    attempts = models.PositiveSmallIntegerField("tentatives", default=0)
    last_error = models.TextField("dernière erreur", blank=True)
    created_at = models.DateTimeField("créé le", default=timezone.now)
    next_attempt_at = models.DateTimeField("prochaine tentative", default=timezone.now)
    sent_at = models.DateTimeField("envoyé le", null=True, blank=True)

    objects = OutgoingMailQuerySet.as_manager()

    class Meta:
        verbose_name = "courriel sortant"
        verbose_name_plural = "courriels sortants"
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="mail_status_next_idx")]
        constraints = [
            choices_check("status", MailStatus, "mail_status_valid"),
            models.CheckConstraint(
                condition=~Q(status=MailStatus.SENT) | Q(sent_at__isnull=False), name="mail_sent_has_sent_at"
            ),
        ]

    def __str__(self):
        return self.subject


class DigestEntry(models.Model):
    """An event kept for a user who asked for one daily summary instead of an e-mail per event."""

    email = models.EmailField("destinataire")
    subject = models.CharField("objet", max_length=255)
    body = models.TextField("message")
    created_at = models.DateTimeField("créé le", default=timezone.now)

    class Meta:
        verbose_name = "événement du récapitulatif"
        verbose_name_plural = "événements du récapitulatif"
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["email", "created_at"], name="digest_email_created_idx")]

    def __str__(self):
        return f"{self.email}: {self.subject}"
