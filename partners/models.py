import calendar
import datetime

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from .enums import (
    LEGAL_KIND_LABELS_BE,
    LEGAL_KIND_LABELS_FR,
    CapacityStatus,
    ConventionStatus,
    ErrorReportCategory,
    ErrorReportStatus,
    LegalKind,
    MembershipRole,
    ReferralMode,
    SpreadsheetImportStatus,
)
from .text import content_words, normalize


def coordinates_check(name):
    """Both coordinates or neither, within the Earth's ranges."""
    return models.CheckConstraint(
        condition=Q(latitude__isnull=True, longitude__isnull=True)
        | Q(latitude__gte=-90, latitude__lte=90, longitude__gte=-180, longitude__lte=180),
        name=name,
    )


def stale_before(today=None):
    """The staleness cutoff: a service verified on or before this date (or never) is stale.

    PRODUCT.md's rule, in one place: not verified for ``settings.STALE_AFTER_MONTHS`` months. The day is
    clamped to the end of a shorter month (29 February minus 12 months is 28 February).
    """
    today = today or timezone.localdate()
    year, month = divmod(today.year * 12 + today.month - 1 - settings.STALE_AFTER_MONTHS, 12)
    month += 1
    return datetime.date(year, month, min(today.day, calendar.monthrange(year, month)[1]))


def choices_check(field, choices_class, name):
    """The database side of ``choices``: forms check them, the database does not by itself."""
    return models.CheckConstraint(condition=Q(**{f"{field}__in": choices_class.values}), name=name)


def source_key_constraints(prefix):
    """The stable key of an imported record (data·inclusion): ``source`` and ``source_id`` together or neither,
    unique together when set. Records typed in Réseau have neither."""
    return [
        models.CheckConstraint(
            condition=Q(source="", source_id="") | (~Q(source="") & ~Q(source_id="")),
            name=f"{prefix}_source_key_complete",
        ),
        models.UniqueConstraint(
            fields=["source", "source_id"], condition=~Q(source=""), name=f"{prefix}_source_key_unique"
        ),
    ]


def source_fields():
    return (
        models.CharField("source", max_length=100, blank=True, editable=False),
        models.CharField("identifiant à la source", max_length=255, blank=True, editable=False),
    )


def import_digest_field():
    """Digest of the source record last imported (partners.data_inclusion.record_digest): a re-import
    skips a record whose digest it already holds."""
    return models.CharField("empreinte de l'import", max_length=32, blank=True, editable=False)


# --- Reference lists (national schema + local additions) -------------------------------------


class ReferentialQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class ReferentialItem(models.Model):
    """An entry of a list coordinators may extend.

    ``code`` is the natural key: the slug of the national schema of inclusion services
    (data-inclusion-schema) for national entries, so national data flows in and out unchanged.
    """

    code = models.SlugField("code", max_length=120, unique=True)
    label = models.CharField("libellé", max_length=200)
    description = models.TextField("description", blank=True)
    is_active = models.BooleanField("actif", default=True)
    is_national = models.BooleanField(
        "référentiel national",
        default=False,
        help_text="Issu du schéma national data·inclusion : son code ne doit pas changer.",
    )

    objects = ReferentialQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["label"]

    def __str__(self):
        return self.label

    def natural_key(self):
        return (self.code,)


def needs_met_by(domain_id, parent_id):
    """The needs a service offering this thématique meets: the thématique itself and its catégorie.

    The one home of "a thématique covers its category need": a worker who records the need
    "Logement" is helped by any service of a Logement thématique. Classification, routing, search
    and partnerships all go through this function (or ``Domain.objects.meeting``).
    """
    return (domain_id,) if parent_id is None else (domain_id, parent_id)


class DomainQuerySet(ReferentialQuerySet):
    def meeting(self, need_ids) -> dict[int, frozenset[int]]:
        """{domain id: the needs among ``need_ids`` it meets} for every domain meeting one, in one query.

        Its keys are what a service must offer to help with these needs: the needs themselves and,
        for a catégorie, each of its thématiques.
        """
        need_ids = set(need_ids)
        if not need_ids:
            return {}
        if self.query.has_filters():
            rows = self.filter(Q(pk__in=need_ids) | Q(parent_id__in=need_ids)).values_list("pk", "parent_id")
        else:  # every domain: the catégories are in memory (partners.reference_lists), no query
            from .reference_lists import reference_lists

            parents = reference_lists().domain_parents
            rows = [(pk, parent) for pk, parent in parents.items() if pk in need_ids or parent in need_ids]
        return {
            pk: frozenset(need for need in needs_met_by(pk, parent_id) if need in need_ids)
            for pk, parent_id in rows
        }


class Domain(ReferentialItem):
    """A need a service answers: a category (no parent) or a thématique (under a category)."""

    parent = models.ForeignKey(
        "self",
        verbose_name="catégorie",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        limit_choices_to={"parent__isnull": True},
    )

    objects = DomainQuerySet.as_manager()

    class Meta(ReferentialItem.Meta):
        verbose_name = "thématique"
        verbose_name_plural = "thématiques"
        ordering = ["parent__label", "label"]
        constraints = [
            models.CheckConstraint(condition=~Q(parent=models.F("pk")), name="domain_not_own_parent"),
        ]

    def __str__(self):
        return self.label

    @property
    def is_category(self):
        return self.parent_id is None

    def clean(self):
        if self.parent_id and self.parent.parent_id:
            raise ValidationError(
                {"parent": "Une thématique ne peut dépendre que d'une catégorie (deux niveaux)."}
            )


class Public(ReferentialItem):
    class Meta(ReferentialItem.Meta):
        verbose_name = "public"
        verbose_name_plural = "publics"


class AccessMode(ReferentialItem):
    """Mode d'accueil: on site, remote, at home."""

    class Meta(ReferentialItem.Meta):
        verbose_name = "mode d'accueil"
        verbose_name_plural = "modes d'accueil"


class Fee(ReferentialItem):
    class Meta(ReferentialItem.Meta):
        verbose_name = "frais"
        verbose_name_plural = "frais"


class ServiceType(ReferentialItem):
    class Meta(ReferentialItem.Meta):
        verbose_name = "type de service"
        verbose_name_plural = "types de service"


class Language(ReferentialItem):
    """A language a service can work in (ISO 639-1 code)."""

    class Meta(ReferentialItem.Meta):
        verbose_name = "langue"
        verbose_name_plural = "langues"


class ReferenceListsVersion(models.Model):
    """One row per cache kept in process memory (partners.versions): a token that changes with every
    write to what it covers. Row 1: the reference lists (partners.reference_lists); row 2: the
    partnerships (partners.partnerships). Each process compares its tokens with these once per request.
    """

    token = models.CharField("jeton", max_length=32)
    changed_at = models.DateTimeField("modifiées le", auto_now=True)

    class Meta:
        verbose_name = "version des référentiels"
        verbose_name_plural = "versions des référentiels"

    def __str__(self):
        return self.token


# --- Places ----------------------------------------------------------------------------------


class CommuneQuerySet(models.QuerySet):
    def matching_place(self, text):
        """Communes designated by a postcode ("35000"), a name ("saint etienne", "St-Étienne", accents
        optional) or both ("Rennes 35000", "35 Rennes"): see partners.communes.parse_place."""
        from .communes import parse_place

        return self.matching(parse_place(text))

    def matching(self, query, *, prefix=False):
        """Communes matching a parsed place (partners.communes.PlaceQuery); ``prefix``: names starting
        with the typed name ("Renn" -> Rennes, Rennemoulin…), or postcodes starting with the digits."""
        if not (query.name or query.postcode):
            return self.none()
        queryset = self
        if query.name:
            lookup = "search_name__startswith" if prefix else "search_name"
            queryset = queryset.filter(**{lookup: query.name})
        if query.postcode:
            queryset = queryset.filter(
                pk__in=Postcode.objects.filter(code=query.postcode).values("commune_id")
            )
        if query.department:
            queryset = queryset.filter(department=query.department)
        return queryset


class Commune(models.Model):
    insee_code = models.CharField("code INSEE", max_length=5, primary_key=True)
    name = models.CharField("nom", max_length=150)
    search_name = models.CharField("nom normalisé", max_length=150, db_index=True, editable=False)
    department = models.CharField("département", max_length=3, db_index=True)
    population = models.PositiveIntegerField("population", null=True, blank=True)
    latitude = models.FloatField("latitude", null=True, blank=True)
    longitude = models.FloatField("longitude", null=True, blank=True)

    objects = CommuneQuerySet.as_manager()

    class Meta:
        verbose_name = "commune"
        verbose_name_plural = "communes"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(insee_code__regex=r"^[0-9][0-9AB][0-9]{3}$"), name="commune_insee_format"
            ),
            coordinates_check("commune_coordinates_valid"),
        ]

    def __str__(self):
        return f"{self.name} ({self.department})"

    def save(self, *args, **kwargs):
        self.search_name = normalize(self.name)
        super().save(*args, **kwargs)


class Postcode(models.Model):
    """A postcode of a commune: a commune may have several, a postcode may cover several communes."""

    commune = models.ForeignKey(Commune, on_delete=models.CASCADE, related_name="postcodes")
    code = models.CharField("code postal", max_length=5, db_index=True)

    class Meta:
        verbose_name = "code postal"
        verbose_name_plural = "codes postaux"
        constraints = [
            models.UniqueConstraint(fields=["commune", "code"], name="postcode_unique_per_commune"),
            models.CheckConstraint(condition=Q(code__regex=r"^[0-9]{5}$"), name="postcode_format"),
        ]

    def __str__(self):
        return self.code


# --- Directory -------------------------------------------------------------------------------


class OrganisationQuerySet(models.QuerySet):
    def editable_by(self, user):
        """Organisations ``user`` may change: those of the services they may change, or that they created."""
        if user.is_superuser:
            return self
        if not (user.is_authenticated and user.is_coordinator):
            return self.none()
        created = Organisation.history.filter(history_type="+", history_user=user).values("id")
        return self.filter(
            Q(pk__in=Service.objects.editable_by(user).values("organisation_id")) | Q(pk__in=created)
        )


# What partners.partnerships keeps of a member service: a change to one of these changes the partnerships.
SERVICE_FIELDS_IN_PARTNERSHIPS = ("is_active", "name", "organisation_id")


def _loaded(instance, fields) -> tuple:
    """The values of ``fields`` as loaded (None for a deferred one)."""
    return tuple(instance.__dict__.get(name) for name in fields)


class Organisation(models.Model):
    name = models.CharField("nom", max_length=255)
    legal_kind = models.CharField(
        "forme juridique", max_length=30, choices=LegalKind, default=LegalKind.ASSOCIATION
    )
    siret = models.CharField(
        "SIRET",
        max_length=14,
        blank=True,
        validators=[RegexValidator(r"^[0-9]{14}$", "Le SIRET compte 14 chiffres.")],
    )
    bce_number = models.CharField(
        "numéro BCE",
        max_length=10,
        blank=True,
        validators=[RegexValidator(r"^[01][0-9]{9}$", "Le numéro BCE compte 10 chiffres.")],
    )
    website = models.URLField("site internet", blank=True)
    # The structure's own hours (data·inclusion ``horaires_accueil``): its services without hours show them.
    opening_hours = models.TextField("horaires d'accueil", blank=True)
    # data·inclusion key (partners.data_inclusion): empty for organisations typed in Réseau.
    source, source_id = source_fields()
    import_digest = import_digest_field()
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    updated_at = models.DateTimeField("modifiée le", auto_now=True)
    history = HistoricalRecords(
        excluded_fields=["updated_at", "import_digest"], verbose_name="historique de l'organisation"
    )

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        verbose_name = "organisation"
        verbose_name_plural = "organisations"
        ordering = ["name"]
        indexes = [models.Index(fields=["name"], name="organisation_name_idx")]
        constraints = [
            choices_check("legal_kind", LegalKind, "organisation_legal_kind_valid"),
            models.CheckConstraint(
                condition=Q(siret="") | Q(siret__regex=r"^[0-9]{14}$"), name="organisation_siret_format"
            ),
            models.CheckConstraint(
                condition=Q(bce_number="") | Q(bce_number__regex=r"^[01][0-9]{9}$"),
                name="organisation_bce_format",
            ),
            models.UniqueConstraint(
                fields=["siret"], condition=~Q(siret=""), name="organisation_siret_unique"
            ),
            *source_key_constraints("organisation"),
        ]

    def __str__(self):
        return self.name

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # partners.partnerships compares it on save: the partners' organisation names are kept with them.
        instance._loaded_for_partnerships = _loaded(instance, ("name",))
        return instance

    @property
    def is_belgian(self):
        """Only a Belgian company number (BCE), no SIRET: the organisation is Belgian."""
        return bool(self.bce_number) and not self.siret

    @property
    def legal_kind_label(self):
        """The legal form in its own country's words (see LEGAL_KIND_LABELS_FR and _BE)."""
        labels = LEGAL_KIND_LABELS_BE if self.is_belgian else LEGAL_KIND_LABELS_FR
        return labels.get(self.legal_kind) or self.get_legal_kind_display()


class ServiceQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def with_display_relations(self):
        return self.select_related("organisation", "commune").prefetch_related("domains")

    def stale(self, today=None):
        """Services not verified since ``stale_before(today)``, or never verified."""
        return self.filter(Q(verified_on__isnull=True) | Q(verified_on__lte=stale_before(today)))

    def fresh(self, today=None):
        return self.filter(verified_on__gt=stale_before(today))

    def editable_by(self, user):
        """Services ``user`` may change in the admin.

        Administrators: all. Coordinators: the current and past members of their networks' conventions,
        and the services they created themselves (so a new service can be completed before it joins a
        convention). Everyone else: none; the rest of the directory is read-only for coordinators.
        """
        if user.is_superuser:
            return self
        if not (user.is_authenticated and user.is_coordinator):
            return self.none()
        members = ConventionMembership.objects.filter(convention__network__coordinators=user).values(
            "service_id"
        )
        created = Service.history.filter(history_type="+", history_user=user).values("id")
        return self.filter(Q(pk__in=members) | Q(pk__in=created))


class Service(models.Model):
    organisation = models.ForeignKey(
        Organisation, verbose_name="organisation", on_delete=models.PROTECT, related_name="services"
    )
    name = models.CharField("nom", max_length=255)
    description = models.TextField("description", blank=True)
    domains = models.ManyToManyField(Domain, verbose_name="thématiques", related_name="services")
    publics = models.ManyToManyField(Public, verbose_name="publics", related_name="services", blank=True)
    service_types = models.ManyToManyField(ServiceType, verbose_name="types de service", blank=True)
    fees = models.ManyToManyField(Fee, verbose_name="frais", blank=True)
    access_modes = models.ManyToManyField(AccessMode, verbose_name="modes d'accueil", blank=True)
    languages = models.ManyToManyField(Language, verbose_name="langues parlées", blank=True)

    commune = models.ForeignKey(
        Commune,
        verbose_name="commune",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="services",
    )
    address = models.CharField("adresse", max_length=255, blank=True)
    postcode = models.CharField("code postal", max_length=5, blank=True)
    latitude = models.FloatField(
        "latitude", null=True, blank=True, validators=[MinValueValidator(-90), MaxValueValidator(90)]
    )
    longitude = models.FloatField(
        "longitude", null=True, blank=True, validators=[MinValueValidator(-180), MaxValueValidator(180)]
    )
    intervention_radius_km = models.PositiveSmallIntegerField(
        "rayon d'intervention (km)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(500)],
        help_text="Laisser vide si le service intervient sur une liste de communes.",
    )
    intervention_communes = models.ManyToManyField(
        Commune, verbose_name="communes d'intervention", blank=True, related_name="+"
    )

    referral_mode = models.CharField(
        "mode d'orientation", max_length=20, choices=ReferralMode, default=ReferralMode.PHONE
    )
    referral_details = models.TextField(
        "comment orienter",
        blank=True,
        help_text="Lien du formulaire, horaires de permanence téléphonique, pièces à fournir…",
    )
    capacity_status = models.CharField(
        "disponibilité", max_length=20, choices=CapacityStatus, default=CapacityStatus.OPEN
    )
    capacity_updated_on = models.DateField("disponibilité mise à jour le", default=datetime.date.today)
    opening_hours = models.TextField("horaires d'ouverture", blank=True)
    phone = models.CharField("téléphone", max_length=30, blank=True)
    email = models.EmailField("courriel", blank=True)
    website = models.URLField("site ou formulaire", blank=True)
    verified_on = models.DateField("vérifié le", null=True, blank=True)
    is_active = models.BooleanField("actif", default=True)
    # data·inclusion key (partners.data_inclusion): empty for services typed in Réseau.
    source, source_id = source_fields()
    import_digest = import_digest_field()
    created_at = models.DateTimeField("créé le", auto_now_add=True)
    updated_at = models.DateTimeField("modifié le", auto_now=True)
    # PostgreSQL full-text vector (names A, domains B, description C), maintained by partners.search_index;
    # GIN-indexed by a migration. Unused on SQLite, which has its own FTS5 table.
    search_vector = SearchVectorField(null=True, editable=False)
    # Who changed what and when (the admin's history view). The search vector and the timestamp are derived;
    # intervention communes can be hundreds of rows, copied on every change: not kept.
    history = HistoricalRecords(
        excluded_fields=["search_vector", "updated_at", "import_digest"],
        m2m_fields=[domains, publics, service_types, fees, access_modes, languages],
        verbose_name="historique du service",
    )

    objects = ServiceQuerySet.as_manager()

    class Meta:
        verbose_name = "service"
        verbose_name_plural = "services"
        ordering = ["name"]
        indexes = [
            # The bounding boxes of search and routing read active services from the index alone.
            models.Index(
                fields=["latitude", "longitude"],
                include=["id", "capacity_status", "verified_on"],
                condition=Q(is_active=True),
                name="service_active_coordinates_idx",
            ),
            models.Index(fields=["capacity_status"], name="service_capacity_idx"),
            # Plus, created by migration 0004 (NULLS LAST is PostgreSQL syntax), the search's order when it
            # does not rank: (verified_on DESC NULLS LAST, name, id) WHERE is_active.
            models.Index(fields=["name"], name="service_name_idx"),
        ]
        constraints = [
            choices_check("capacity_status", CapacityStatus, "service_capacity_status_valid"),
            choices_check("referral_mode", ReferralMode, "service_referral_mode_valid"),
            coordinates_check("service_coordinates_valid"),
            models.CheckConstraint(
                condition=Q(intervention_radius_km__isnull=True)
                | Q(intervention_radius_km__gte=1, intervention_radius_km__lte=500),
                name="service_radius_range",
            ),
            models.CheckConstraint(
                condition=Q(postcode="") | Q(postcode__regex=r"^[0-9]{5}$"), name="service_postcode_format"
            ),
            *source_key_constraints("service"),
        ]

    def __str__(self):
        return f"{self.name} — {self.organisation.name}" if self.organisation_id else self.name

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # partners.partnerships compares them on save: (de)activating a member changes the partnerships,
        # renaming it or moving it to another organisation changes what pages show of them.
        instance._loaded_for_partnerships = _loaded(instance, SERVICE_FIELDS_IN_PARTNERSHIPS)
        return instance

    def is_stale(self, today=None):
        """Not verified for STALE_AFTER_MONTHS months (or never): shown with a warning."""
        return self.verified_on is None or self.verified_on <= stale_before(today)

    def clean(self):
        if (self.latitude is None) != (self.longitude is None):
            raise ValidationError("Renseignez la latitude et la longitude ensemble, ou aucune des deux.")
        if self.commune_id and self.latitude is None and self.commune.latitude is not None:
            # Default position: the commune's town hall, good enough for distances.
            self.latitude, self.longitude = self.commune.latitude, self.commune.longitude


# --- Networks and conventions ----------------------------------------------------------------


class NetworkQuerySet(models.QuerySet):
    def coordinated_by(self, user):
        if user.is_superuser:
            return self
        return self.filter(coordinators=user)


class Network(models.Model):
    name = models.CharField("nom", max_length=200, unique=True)
    territory = models.CharField("territoire", max_length=200)
    description = models.TextField("description", blank=True)
    coordinators = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name="coordinateur·rices",
        blank=True,
        related_name="coordinated_networks",
    )
    created_at = models.DateTimeField("créé le", auto_now_add=True)

    objects = NetworkQuerySet.as_manager()

    class Meta:
        verbose_name = "réseau"
        verbose_name_plural = "réseaux"
        ordering = ["name"]

    def __str__(self):
        return self.name


class ConventionQuerySet(models.QuerySet):
    def active_on(self, on=None):
        """Conventions in force on ``on``: status active and the date inside [valid_from, valid_until]."""
        on = on or timezone.localdate()
        return self.filter(status=ConventionStatus.ACTIVE, valid_from__lte=on).filter(
            Q(valid_until__isnull=True) | Q(valid_until__gte=on)
        )

    def shared_by(self, service, on=None):
        """Active conventions of which ``service`` is a current member on ``on``."""
        members = ConventionMembership.objects.in_force(on).filter(service=service)
        return self.filter(pk__in=members.values("convention_id"))

    def coordinated_by(self, user):
        if user.is_superuser:
            return self
        return self.filter(network__coordinators=user)


class Convention(models.Model):
    network = models.ForeignKey(
        Network, verbose_name="réseau", on_delete=models.PROTECT, related_name="conventions"
    )
    title = models.CharField("intitulé", max_length=255)
    signed_on = models.DateField("signée le", null=True, blank=True)
    valid_from = models.DateField("valable du")
    valid_until = models.DateField(
        "valable jusqu'au", null=True, blank=True, help_text="Vide : sans date de fin."
    )
    status = models.CharField(
        "statut", max_length=10, choices=ConventionStatus, default=ConventionStatus.DRAFT
    )
    scope_domains = models.ManyToManyField(
        Domain, verbose_name="thématiques couvertes", blank=True, related_name="conventions"
    )
    document_url = models.URLField("lien vers le document", blank=True)
    members = models.ManyToManyField(
        Service, through="ConventionMembership", verbose_name="services membres", related_name="conventions"
    )
    history = HistoricalRecords(m2m_fields=[scope_domains], verbose_name="historique de la convention")

    objects = ConventionQuerySet.as_manager()

    class Meta:
        verbose_name = "convention de partenariat"
        verbose_name_plural = "conventions de partenariat"
        ordering = ["-valid_from", "title"]
        indexes = [
            models.Index(fields=["status", "valid_from", "valid_until"], name="convention_validity_idx")
        ]
        constraints = [
            choices_check("status", ConventionStatus, "convention_status_valid"),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=models.F("valid_from")),
                name="convention_valid_until_after_valid_from",
            ),
        ]

    def __str__(self):
        return self.title

    def clean(self):
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValidationError({"valid_until": "La date de fin doit suivre la date de début."})

    def is_active_on(self, on=None):
        on = on or timezone.localdate()
        return (
            self.status == ConventionStatus.ACTIVE
            and self.valid_from <= on
            and (self.valid_until is None or self.valid_until >= on)
        )


class ConventionMembershipQuerySet(models.QuerySet):
    def coordinated_by(self, user):
        if user.is_superuser:
            return self
        return self.filter(convention__network__coordinators=user)

    def current_on(self, on=None):
        """Memberships in force on ``on``: joined on or before it, and not yet left (left_on is exclusive)."""
        on = on or timezone.localdate()
        return self.filter(joined_on__lte=on).filter(Q(left_on__isnull=True) | Q(left_on__gt=on))

    def in_force(self, on=None):
        """Current memberships of conventions in force on ``on``: what makes a service part of a
        network that day (its conventions, its partners, its networks' coordinators)."""
        on = on or timezone.localdate()
        return self.current_on(on).filter(convention__in=Convention.objects.active_on(on))


class ConventionMembership(models.Model):
    convention = models.ForeignKey(
        Convention, verbose_name="convention", on_delete=models.CASCADE, related_name="memberships"
    )
    service = models.ForeignKey(
        Service, verbose_name="service", on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField("rôle", max_length=10, choices=MembershipRole, default=MembershipRole.MEMBER)
    joined_on = models.DateField("membre depuis le")
    left_on = models.DateField(
        "sorti le", null=True, blank=True, help_text="Premier jour où le service n'est plus membre."
    )
    history = HistoricalRecords(verbose_name="historique des membres")

    objects = ConventionMembershipQuerySet.as_manager()

    class Meta:
        verbose_name = "membre de la convention"
        verbose_name_plural = "membres de la convention"
        ordering = ["convention", "service__name"]
        indexes = [
            models.Index(fields=["service", "joined_on", "left_on"], name="membership_service_dates_idx")
        ]
        constraints = [
            choices_check("role", MembershipRole, "membership_role_valid"),
            models.CheckConstraint(
                condition=Q(left_on__isnull=True) | Q(left_on__gt=models.F("joined_on")),
                name="membership_left_after_joined",
            ),
            models.UniqueConstraint(
                fields=["convention", "service"],
                condition=Q(left_on__isnull=True),
                name="membership_one_open_per_service",
                violation_error_message="Ce service est déjà membre de cette convention.",
            ),
        ]

    def __str__(self):
        return f"{self.service} dans {self.convention}"

    def clean(self):
        if self.joined_on and self.left_on and self.left_on <= self.joined_on:
            raise ValidationError({"left_on": "La date de sortie doit suivre la date d'entrée."})


class SearchWord(models.Model):
    """The directory's own vocabulary (accent-free words), for typo correction on PostgreSQL.

    Built from the services' texts by partners.search_index; a pg_trgm GIN index (migration) makes
    "closest word" look-ups take well under a millisecond.
    """

    word = models.CharField(max_length=100, primary_key=True)
    document_count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "mot de l'annuaire"
        verbose_name_plural = "mots de l'annuaire"

    def __str__(self):
        return self.word


SYNONYM_MAX_LENGTH = 100


def synonym_key(text: str) -> str:
    """How a term is looked up in a query: accent-free words without stop words ("Femmes battues" ->
    "femmes battues", "Aide sociale à l'enfance" -> "aide sociale enfance")."""
    return " ".join(word for word in content_words(text) if len(word) > 1)


class SearchSynonymQuerySet(models.QuerySet):
    def editable_by(self, user):
        """Synonyms ``user`` may change: all for administrators; for coordinators, those they added
        (the seeded list and other coordinators' entries serve every network: administrators keep them)."""
        if user.is_superuser:
            return self
        if not user.is_coordinator:
            return self.none()
        return self.filter(created_by=user)


class SearchSynonym(models.Model):
    """A word or acronym workers type ("CHRS", "dettes") and what the directory says instead.

    A search for the term also finds the services that say one of its equivalents (one way: a search
    for an equivalent does not look for the term). Edited by coordinators in the admin; seeded by
    ``load_referentials`` from ``partners/data/synonyms.csv``.
    """

    term = models.CharField(
        "sigle ou expression",
        max_length=SYNONYM_MAX_LENGTH,
        help_text="Ce que tapent les professionnel·les, ex. « CHRS » ou « femmes battues ».",
    )
    key = models.CharField("forme de recherche", max_length=SYNONYM_MAX_LENGTH, unique=True, editable=False)
    equivalents = models.TextField(
        "équivalents",
        help_text="Une expression par ligne, telle qu'elle figure dans les fiches, ex. « centre "
        "d'hébergement et de réinsertion sociale ». Chaque mot d'une ligne doit figurer dans la fiche.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="ajouté par",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    updated_at = models.DateTimeField("modifié le", auto_now=True)

    objects = SearchSynonymQuerySet.as_manager()

    class Meta:
        verbose_name = "synonyme de recherche"
        verbose_name_plural = "synonymes de recherche"
        ordering = ["key"]
        constraints = [
            models.CheckConstraint(condition=~Q(key=""), name="searchsynonym_key_not_empty"),
            models.CheckConstraint(condition=~Q(equivalents=""), name="searchsynonym_equivalents_not_empty"),
        ]

    def __str__(self):
        return self.term

    def save(self, *args, **kwargs):
        self.key = synonym_key(self.term)
        super().save(*args, **kwargs)

    def equivalent_list(self) -> list[str]:
        return [line.strip() for line in self.equivalents.splitlines() if synonym_key(line)]

    def clean(self):
        self.key = synonym_key(self.term)
        if not self.key:
            raise ValidationError(
                {"term": "Saisissez au moins un mot qui ne soit pas un mot vide (le, de, pour…)."}
            )
        lines = self.equivalent_list()
        if not lines:
            raise ValidationError({"equivalents": "Saisissez au moins un équivalent."})
        self.equivalents = "\n".join(lines)
        duplicate = SearchSynonym.objects.filter(key=self.key).exclude(pk=self.pk)
        if duplicate.exists():
            raise ValidationError(
                {"term": f"« {duplicate.first().term} » existe déjà : complétez-le plutôt."}
            )


# --- Listing upkeep and error reports (issue 10) -----------------------------------------------
# Services keep their own listing (staff, or a personal link without an account), are reminded yearly
# when not verified for a while, and any worker can report an error on a service.

LISTING_REMINDER_AFTER_MONTHS = 11  # not verified for this long: "is your listing still right?"
LISTING_REMINDER_EVERY_MONTHS = 12  # at most one reminder per service in this period
ERROR_REPORT_TEXT_MAX_LENGTH = 2000


def months_before(months, today=None):
    """``today`` minus ``months`` months, the day clamped to the end of a shorter month."""
    today = today or timezone.localdate()
    year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
    month += 1
    return datetime.date(year, month, min(today.day, calendar.monthrange(year, month)[1]))


def network_coordinator_addresses(service, on=None):
    """E-mail addresses of the active coordinators of the networks ``service`` belongs to today."""
    from django.contrib.auth import get_user_model

    networks = (
        ConventionMembership.objects.in_force(on).filter(service=service).values("convention__network_id")
    )
    return sorted(
        get_user_model()
        .objects.filter(is_active=True, coordinated_networks__in=networks)
        .values_list("email", flat=True)
        .distinct()
    )


def services_due_for_listing_reminder(today=None):
    """Active services with an address, not verified for LISTING_REMINDER_AFTER_MONTHS months (never
    verified: created that long ago), and not reminded in the last LISTING_REMINDER_EVERY_MONTHS."""
    today = today or timezone.localdate()
    cutoff = months_before(LISTING_REMINDER_AFTER_MONTHS, today)
    reminded = ListingReminder.objects.filter(
        service=models.OuterRef("pk"), sent_on__gt=months_before(LISTING_REMINDER_EVERY_MONTHS, today)
    )
    return (
        Service.objects.active()
        .exclude(email="")
        .filter(Q(verified_on__lte=cutoff) | Q(verified_on__isnull=True, created_at__date__lte=cutoff))
        .exclude(models.Exists(reminded))
    )


class ListingReminder(models.Model):
    """A yearly "is your listing still right?" e-mail sent to a service: makes the command idempotent."""

    service = models.ForeignKey(
        Service, verbose_name="service", on_delete=models.CASCADE, related_name="listing_reminders"
    )
    email = models.EmailField("envoyé à")
    sent_on = models.DateField("envoyé le", default=datetime.date.today)

    class Meta:
        verbose_name = "rappel de mise à jour de fiche"
        verbose_name_plural = "rappels de mise à jour de fiche"
        ordering = ["-sent_on", "-pk"]
        indexes = [models.Index(fields=["service", "sent_on"], name="listing_reminder_service_idx")]

    def __str__(self):
        return f"{self.service_id} · {self.sent_on}"


class ErrorReportQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status=ErrorReportStatus.OPEN)

    def open_for_service(self, limit=20):
        """The open reports a service sees above its listing form, newest first (a list, one query)."""
        return list(self.open().order_by("-created_at", "-pk")[:limit])

    def visible_to(self, user):
        """Administrators: all. Coordinators: reports on the services of their networks (today). Others: none."""
        if user.is_superuser:
            return self
        if not (user.is_authenticated and user.is_coordinator):
            return self.none()
        members = ConventionMembership.objects.in_force().filter(convention__network__coordinators=user)
        return self.filter(service__in=members.values("service_id"))


class ErrorReport(models.Model):
    """What a worker says is wrong on a service's listing, for the service and its networks' coordinators."""

    service = models.ForeignKey(
        Service, verbose_name="service", on_delete=models.CASCADE, related_name="error_reports"
    )
    category = models.CharField("catégorie", max_length=20, choices=ErrorReportCategory)
    text = models.TextField("ce qui est inexact")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="signalé par",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField("signalé le", default=timezone.now)
    status = models.CharField(
        "statut", max_length=10, choices=ErrorReportStatus, default=ErrorReportStatus.OPEN
    )
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="clos par",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    closed_at = models.DateTimeField("clos le", null=True, blank=True)

    objects = ErrorReportQuerySet.as_manager()

    class Meta:
        verbose_name = "signalement d'erreur"
        verbose_name_plural = "signalements d'erreur"
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="error_report_status_idx"),
            models.Index(fields=["service", "status"], name="error_report_service_idx"),
        ]
        constraints = [
            choices_check("category", ErrorReportCategory, "error_report_category_valid"),
            choices_check("status", ErrorReportStatus, "error_report_status_valid"),
            models.CheckConstraint(
                condition=Q(status=ErrorReportStatus.OPEN, closed_at__isnull=True)
                | Q(status=ErrorReportStatus.CLOSED, closed_at__isnull=False),
                name="error_report_closed_has_date",
            ),
        ]

    def __str__(self):
        return f"{self.get_category_display()} · {self.service.name}"


# --- Spreadsheet imports (admin) ---------------------------------------------------------------


class SpreadsheetImportQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Administrators see every import; a coordinator sees their own."""
        if user.is_superuser:
            return self
        if not (user.is_authenticated and user.is_coordinator):
            return self.none()
        return self.filter(created_by=user)


class SpreadsheetImport(models.Model):
    """One uploaded spreadsheet (CSV or XLSX) of organisations and services: analysed (a dry run, writing
    nothing), then imported once its author confirms. Long files run in the task queue
    (``partners.tasks``); ``rows_done`` / ``rows_total`` feed the progress bar."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="déposé par", on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("déposé le", default=timezone.now)
    file_name = models.CharField("fichier", max_length=255)
    # The file itself, until the import is done: the worker may run on another machine.
    content = models.BinaryField("contenu", editable=False)
    status = models.CharField(
        "statut", max_length=10, choices=SpreadsheetImportStatus, default=SpreadsheetImportStatus.PENDING
    )
    rows_total = models.PositiveIntegerField("lignes", default=0)
    rows_done = models.PositiveIntegerField("lignes traitées", default=0)
    # partners.spreadsheets.SheetReport.as_dict(): counts per kind, row errors, warnings, file error.
    report = models.JSONField("rapport", default=dict, blank=True)
    analysed_at = models.DateTimeField("analysé le", null=True, blank=True)
    imported_at = models.DateTimeField("importé le", null=True, blank=True)
    # Last sign of life of the work (queued, batch analysed, write started): a worker that died leaves a
    # running status behind, and this tells the page to offer a restart instead of a bar that never moves.
    progress_at = models.DateTimeField("dernier signe d'activité", null=True, blank=True)

    # The write phase is one transaction and shows no progress outside it: leave it ample time.
    STALLED_AFTER = datetime.timedelta(minutes=20)

    objects = SpreadsheetImportQuerySet.as_manager()

    class Meta:
        verbose_name = "import de tableur"
        verbose_name_plural = "imports de tableurs"
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["created_by", "-created_at"], name="spreadsheet_import_author_idx")]
        constraints = [
            choices_check("status", SpreadsheetImportStatus, "spreadsheet_import_status_valid"),
            models.CheckConstraint(
                condition=Q(rows_done__lte=models.F("rows_total")), name="spreadsheet_import_progress_range"
            ),
        ]

    def __str__(self):
        return f"{self.file_name} ({self.created_at:%d/%m/%Y %H:%M})"

    @property
    def is_running(self):
        return self.status in {
            SpreadsheetImportStatus.PENDING,
            SpreadsheetImportStatus.ANALYSING,
            SpreadsheetImportStatus.IMPORTING,
        }

    @property
    def percent(self):
        return int(100 * self.rows_done / self.rows_total) if self.rows_total else 0

    @property
    def last_activity(self):
        return self.progress_at or self.created_at

    @property
    def is_stalled(self):
        """Running, but nothing moved for ``STALLED_AFTER``: its worker stopped (or none is running)."""
        return self.is_running and self.last_activity < timezone.now() - self.STALLED_AFTER
