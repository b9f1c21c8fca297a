import datetime

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models

from partners.models import choices_check

from .enums import NotificationFrequency

# Home page views less than this apart are one visit: its news stay shown until the worker leaves for longer.
VISIT_GAP = datetime.timedelta(hours=1)
# The last-seen time is written at most this often while a visit goes on (one UPDATE, none most of the time).
LAST_SEEN_PRECISION = datetime.timedelta(minutes=5)


class EmailUserManager(UserManager):
    """Users log in with their e-mail address; there is no username."""

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("Une adresse électronique est obligatoire.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


class User(AbstractUser):
    """A person using Réseau.

    The roles come from relationships, not flags: a *worker* has a ``service`` (their employer,
    whose cases they see and whose incoming referrals they answer); a *coordinator* coordinates
    one or more networks (``coordinated_networks``); an *administrator* is a superuser.
    """

    username = None
    email = models.EmailField("adresse électronique", unique=True)
    service = models.ForeignKey(
        "partners.Service",
        verbose_name="service employeur",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="staff",
        help_text="Le service pour lequel la personne travaille : elle voit ses situations et orientations.",
    )

    notification_frequency = models.CharField(
        "courriels de suivi",
        max_length=20,
        choices=NotificationFrequency,
        default=NotificationFrequency.EACH_EVENT,
        help_text="Réponses et changements de vos orientations : à chaque événement, ou un récapitulatif par jour.",
    )

    # What is new since the previous visit (home page): two times, written by note_home_visit().
    last_seen_at = models.DateTimeField(
        "dernier passage sur l'accueil", null=True, blank=True, editable=False
    )
    previous_visit_at = models.DateTimeField("visite précédente", null=True, blank=True, editable=False)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = EmailUserManager()

    class Meta:
        verbose_name = "utilisateur·rice"
        verbose_name_plural = "utilisateur·rices"
        ordering = ["email"]
        constraints = [
            choices_check(
                "notification_frequency", NotificationFrequency, "user_notification_frequency_valid"
            )
        ]

    def __str__(self):
        return self.get_full_name() or self.email

    def note_home_visit(self, now):
        """Records a home page view at ``now``; returns the end of the previous visit (None the first time).

        Views less than VISIT_GAP apart are one visit, so the news of a visit stay on the page while the
        worker comes and goes; the row is written only when a visit starts or every LAST_SEEN_PRECISION.
        """
        starts_visit = self.last_seen_at is None or now - self.last_seen_at > VISIT_GAP
        if starts_visit:
            self.previous_visit_at = self.last_seen_at
        if starts_visit or now - self.last_seen_at > LAST_SEEN_PRECISION:
            self.last_seen_at = now
            type(self).objects.filter(pk=self.pk).update(
                last_seen_at=self.last_seen_at, previous_visit_at=self.previous_visit_at
            )
        return self.previous_visit_at

    @property
    def is_worker(self):
        return self.service_id is not None

    @property
    def service_commune(self):
        """The commune of the worker's service, where their searches centre when no place is given.

        None without a service, a commune or its coordinates. No query for the signed-in user: the
        auth backend (reseau.accounts.backends) loads the service and its commune with the user.
        """
        commune = self.service.commune if self.service_id and self.service.commune_id else None
        return commune if commune is not None and commune.latitude is not None else None

    @property
    def is_coordinator(self):
        # Cached per instance: asked by several admin permission checks on one request.
        if not hasattr(self, "_is_coordinator"):
            self._is_coordinator = self.is_active and self.coordinated_networks.exists()
        return self._is_coordinator
