from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from rules.contrib.admin import ObjectPermissionsModelAdminMixin
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    AccessMode,
    Commune,
    Convention,
    ConventionMembership,
    Domain,
    Fee,
    Language,
    Network,
    Organisation,
    Postcode,
    Public,
    Service,
    ServiceType,
)

admin.site.site_header = "Réseau — administration"
admin.site.site_title = "Réseau"
admin.site.index_title = "Annuaire, réseaux et conventions"


class LargeTableAdminMixin:
    """Changelists over up to 150 000 rows: no exact total count, related rows fetched in the same query."""

    show_full_result_count = False
    list_per_page = 50


# --- Reference lists --------------------------------------------------------------------------


class ReferentialAdmin(ObjectPermissionsModelAdminMixin, admin.ModelAdmin):
    list_display = ["label", "code", "is_national", "is_active"]
    list_filter = ["is_active", "is_national"]
    search_fields = ["label", "code"]
    prepopulated_fields = {"code": ["label"]}

    def get_readonly_fields(self, request, obj=None):
        # National entries keep their schema code so national data can flow in and out.
        if obj is not None and obj.is_national:
            return ["code", "is_national"]
        return ["is_national"]


@admin.register(Domain)
class DomainAdmin(ReferentialAdmin):
    list_display = ["label", "parent", "code", "is_national", "is_active"]
    list_filter = ["is_active", "is_national", ("parent", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["parent"]
    search_fields = ["label", "code", "parent__label"]


for _model in (Public, AccessMode, Fee, ServiceType, Language):
    admin.site.register(_model, ReferentialAdmin)


class PostcodeInline(admin.TabularInline):
    model = Postcode
    extra = 0


@admin.register(Commune)
class CommuneAdmin(LargeTableAdminMixin, ObjectPermissionsModelAdminMixin, admin.ModelAdmin):
    list_display = ["name", "insee_code", "department", "population"]
    list_filter = ["department"]
    search_fields = ["search_name", "name", "=insee_code", "=postcodes__code"]
    readonly_fields = ["search_name"]
    inlines = [PostcodeInline]


# --- Directory --------------------------------------------------------------------------------


@admin.register(Organisation)
class OrganisationAdmin(LargeTableAdminMixin, ObjectPermissionsModelAdminMixin, admin.ModelAdmin):
    list_display = ["name", "legal_kind", "siret", "website"]
    list_filter = ["legal_kind"]
    search_fields = ["name", "=siret", "=bce_number"]


class StaleFilter(admin.SimpleListFilter):
    title = "fraîcheur"
    parameter_name = "fraicheur"

    def lookups(self, request, model_admin):
        return [("a_jour", "Vérifié depuis moins de 12 mois"), ("perime", "À revérifier")]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        limit = today.replace(year=today.year - 1)
        if self.value() == "a_jour":
            return queryset.filter(verified_on__gt=limit)
        if self.value() == "perime":
            return queryset.filter(Q(verified_on__lte=limit) | Q(verified_on__isnull=True))
        return queryset


class ServiceNetworkFilter(admin.SimpleListFilter):
    title = "réseau"
    parameter_name = "reseau"

    def lookups(self, request, model_admin):
        return [(str(n.pk), n.name) for n in Network.objects.only("pk", "name")]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(memberships__convention__network_id=self.value()).distinct()
        return queryset


@admin.register(Service)
class ServiceAdmin(LargeTableAdminMixin, ObjectPermissionsModelAdminMixin, admin.ModelAdmin):
    list_display = ["name", "organisation", "commune", "capacity_status", "verified_on", "is_active"]
    list_filter = ["capacity_status", "referral_mode", "is_active", StaleFilter, ServiceNetworkFilter]
    list_select_related = ["organisation", "commune"]
    search_fields = ["name", "organisation__name", "commune__name", "=postcode"]
    autocomplete_fields = ["organisation", "commune", "domains", "publics", "intervention_communes"]
    fieldsets = (
        (None, {"fields": ("organisation", "name", "description", "is_active")}),
        ("Thématiques et publics", {"fields": ("domains", "publics", "service_types", "fees")}),
        (
            "Lieu",
            {
                "fields": (
                    "commune",
                    "address",
                    "postcode",
                    ("latitude", "longitude"),
                    "intervention_radius_km",
                    "intervention_communes",
                )
            },
        ),
        ("Accueil", {"fields": ("access_modes", "languages", "opening_hours")}),
        ("Orienter", {"fields": ("referral_mode", "referral_details", "phone", "email", "website")}),
        ("Disponibilité et fraîcheur", {"fields": ("capacity_status", "capacity_updated_on", "verified_on")}),
    )

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name in {"service_types", "fees", "access_modes", "languages"}:
            kwargs["widget"] = forms.CheckboxSelectMultiple
        return super().formfield_for_manytomany(db_field, request, **kwargs)


# --- Networks and conventions -----------------------------------------------------------------


class NetworkScopedAdminMixin(ObjectPermissionsModelAdminMixin):
    """Lists only the rows of the user's networks; a direct URL to another network's row is a 403.

    The changelist is scoped by ``get_queryset``; ``get_object`` looks in every network so that the
    permission check (rules predicates) answers 403 rather than the admin's silent redirect.
    """

    def get_queryset(self, request):
        return super().get_queryset(request).coordinated_by(request.user)

    def get_object(self, request, object_id, from_field=None):
        field = self.model._meta.get_field(from_field) if from_field else self.model._meta.pk
        try:
            return self.model._default_manager.get(**{field.name: field.to_python(object_id)})
        except (self.model.DoesNotExist, ValidationError, ValueError):
            return None


@admin.register(Network)
class NetworkAdmin(NetworkScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "territory", "convention_count", "insight_link"]
    search_fields = ["name", "territory"]
    filter_horizontal = ["coordinators"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(convention_count=Count("conventions"))

    def get_readonly_fields(self, request, obj=None):
        # Only administrators decide who coordinates a network.
        return ["insight_link"] if request.user.is_superuser else ["coordinators", "insight_link"]

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    @admin.display(description="conventions", ordering="convention_count")
    def convention_count(self, obj):
        return obj.convention_count

    @admin.display(description="analyse")
    def insight_link(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        return format_html('<a href="{}">Analyse du réseau</a>', reverse("insight:index", args=[obj.pk]))


class ValidityFilter(admin.SimpleListFilter):
    title = "validité"
    parameter_name = "validite"

    def lookups(self, request, model_admin):
        return [("en_vigueur", "En vigueur aujourd'hui"), ("a_venir", "À venir"), ("expiree", "Expirée")]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "en_vigueur":
            return queryset.active_on(today)
        if self.value() == "a_venir":
            return queryset.filter(valid_from__gt=today)
        if self.value() == "expiree":
            return queryset.filter(valid_until__lt=today)
        return queryset


class ConventionMembershipInline(ObjectPermissionsModelAdminMixin, admin.TabularInline):
    model = ConventionMembership
    extra = 1
    autocomplete_fields = ["service"]
    fields = ["service", "role", "joined_on", "left_on"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("service__organisation")


@admin.register(Convention)
class ConventionAdmin(NetworkScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ["title", "network", "status", "valid_from", "valid_until", "member_count"]
    list_filter = [("network", admin.RelatedOnlyFieldListFilter), "status", ValidityFilter]
    list_select_related = ["network"]
    search_fields = ["title", "network__name"]
    autocomplete_fields = ["scope_domains"]
    date_hierarchy = "valid_from"
    inlines = [ConventionMembershipInline]
    fields = [
        "network",
        "title",
        "status",
        "signed_on",
        "valid_from",
        "valid_until",
        "scope_domains",
        "document_url",
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(member_count=Count("memberships", filter=Q(memberships__left_on__isnull=True)))
        )

    @admin.display(description="membres actuels", ordering="member_count")
    def member_count(self, obj):
        return obj.member_count

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "network":
            # A coordinator can only file a convention under one of their own networks.
            kwargs["queryset"] = Network.objects.coordinated_by(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_add_permission(self, request):
        return request.user.is_superuser or request.user.is_coordinator


@admin.register(ConventionMembership)
class ConventionMembershipAdmin(NetworkScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ["service", "convention", "role", "joined_on", "left_on"]
    list_filter = [("convention__network", admin.RelatedOnlyFieldListFilter), "role"]
    list_select_related = ["service__organisation", "convention"]
    search_fields = ["service__name", "service__organisation__name", "convention__title"]
    autocomplete_fields = ["service", "convention"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "convention":
            kwargs["queryset"] = Convention.objects.coordinated_by(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_add_permission(self, request):
        return request.user.is_superuser or request.user.is_coordinator
