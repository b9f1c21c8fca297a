from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from django.core.exceptions import BadRequest, PermissionDenied, ValidationError
from django.db import models
from django.db.models import Count, Q
from django.forms.models import BaseInlineFormSet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from import_export.admin import ExportMixin
from import_export.formats.base_formats import CSV, XLSX
from import_export.forms import ExportForm
from rules.contrib.admin import ObjectPermissionsModelAdminMixin
from simple_history.admin import SimpleHistoryAdmin

from . import spreadsheets
from .enums import ErrorReportStatus
from .fields import IdChoiceField, IdMultipleChoiceField, parse_id
from .models import (
    AccessMode,
    Commune,
    Convention,
    ConventionMembership,
    Domain,
    ErrorReport,
    Fee,
    Language,
    Network,
    Organisation,
    Postcode,
    Public,
    SearchSynonym,
    Service,
    ServiceType,
    SpreadsheetImport,
)
from .services import error_report_set_status, error_reports_close

admin.site.site_header = "Réseau — administration"
admin.site.site_title = "Réseau"
admin.site.index_title = "Annuaire, réseaux et conventions"


class RejectNulAdminMixin:
    """A NUL character in a filter or search term is a 400: PostgreSQL refuses it (a 500 otherwise)."""

    def changelist_view(self, request, extra_context=None):
        if any("\x00" in key or "\x00" in value for key, values in request.GET.lists() for value in values):
            raise BadRequest("Paramètre de recherche invalide.")
        return super().changelist_view(request, extra_context=extra_context)

    def get_search_results(self, request, queryset, search_term):
        if "\x00" in search_term:  # also the autocomplete of the convention's member picker
            raise BadRequest("Terme de recherche invalide.")
        return super().get_search_results(request, queryset, search_term)


class SafeAutocompleteSelect(AutocompleteSelect):
    """Re-rendering a form with a posted id that cannot exist asks the database nothing about it."""

    def optgroups(self, name, value, attr=None):
        return super().optgroups(name, [v for v in value if parse_id(v) is not None], attr)


class SafeAutocompleteSelectMultiple(AutocompleteSelectMultiple):
    def optgroups(self, name, value, attr=None):
        return super().optgroups(name, [v for v in value if parse_id(v) is not None], attr)


class SafeIdFieldsAdminMixin:
    """Foreign keys and many-to-many fields check posted ids before the database: an id beyond 64
    bits is a French "choix invalide" next to the field, not an OverflowError (SQLite) or a DataError."""

    @staticmethod
    def _integer_keyed(db_field):
        return isinstance(db_field.related_model._meta.pk, models.AutoField)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if self._integer_keyed(db_field):
            kwargs.setdefault("form_class", IdChoiceField)
            if db_field.name in self.get_autocomplete_fields(request):
                kwargs.setdefault(
                    "widget", SafeAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using"))
                )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if self._integer_keyed(db_field):
            kwargs.setdefault("form_class", IdMultipleChoiceField)
            if db_field.name in self.get_autocomplete_fields(request):
                kwargs.setdefault(
                    "widget",
                    SafeAutocompleteSelectMultiple(db_field, self.admin_site, using=kwargs.get("using")),
                )
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class LargeTableAdminMixin:
    """Changelists over up to 150 000 rows: no exact total count, related rows fetched in the same query."""

    show_full_result_count = False
    list_per_page = 50


class ScopedHistoryAdminMixin:
    """django-simple-history's history and revert views, allowed exactly like the change view.

    simple-history checks permissions on the *historical version*: a convention since moved to another
    network would still open (and revert) for the coordinators of its old network. Here the current
    object decides: viewing its history needs the view permission on it, submitting a revert needs the
    change permission on it. Objects that no longer exist have no history page but for administrators.
    """

    def _current_object(self, request, object_id):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            if not request.user.is_superuser:
                raise Http404
            try:  # an administrator may read the history of a deleted object; a malformed id is a 404
                self.model._meta.pk.to_python(unquote(object_id))
            except ValidationError:
                raise Http404 from None
        return obj

    def history_view(self, request, object_id, extra_context=None):
        obj = self._current_object(request, object_id)
        if obj is not None and not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        return super().history_view(request, object_id, extra_context=extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if not (version_id.isdigit() and len(version_id) <= 18):  # history ids are 64-bit integers
            raise Http404
        obj = self._current_object(request, object_id)
        if obj is not None:
            allowed = (
                self.has_change_permission(request, obj)
                if request.method == "POST"
                else self.has_view_or_change_permission(request, obj)
            )
            if not allowed:
                raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context=extra_context)

    def revert_disabled(self, request, obj=None):
        return super().revert_disabled(request, obj) or not self.has_change_permission(request, obj)


# --- Reference lists --------------------------------------------------------------------------


class ReferentialAdmin(
    SafeIdFieldsAdminMixin, RejectNulAdminMixin, ObjectPermissionsModelAdminMixin, admin.ModelAdmin
):
    list_display = ["label", "code", "is_national", "is_active"]
    list_filter = ["is_active", "is_national"]
    search_fields = ["label", "code"]
    prepopulated_fields = {"code": ["label"]}

    def get_readonly_fields(self, request, obj=None):
        # National entries keep their schema code so national data can flow in and out.
        if obj is not None and obj.is_national:
            return ["code", "is_national"]
        return ["is_national"]

    def get_prepopulated_fields(self, request, obj=None):
        # A read-only code is not in the form: prepopulating it would crash the change page.
        readonly = self.get_readonly_fields(request, obj)
        return {
            field: sources for field, sources in self.prepopulated_fields.items() if field not in readonly
        }


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
class CommuneAdmin(
    RejectNulAdminMixin, LargeTableAdminMixin, ObjectPermissionsModelAdminMixin, admin.ModelAdmin
):
    list_display = ["name", "insee_code", "department", "population"]
    list_filter = ["department"]
    search_fields = ["search_name", "name", "=insee_code", "=postcodes__code"]
    readonly_fields = ["search_name"]
    inlines = [PostcodeInline]


# --- Directory --------------------------------------------------------------------------------


class EditableFilter(admin.SimpleListFilter):
    """Coordinators change only part of the directory (``editable_by``): let them list that part."""

    title = "modification"
    parameter_name = "modifiable"

    def lookups(self, request, model_admin):
        return [("oui", "Modifiable par moi"), ("non", "En lecture seule")]

    def queryset(self, request, queryset):
        editable = queryset.model.objects.editable_by(request.user).values("pk")
        if self.value() == "oui":
            return queryset.filter(pk__in=editable)
        if self.value() == "non":
            return queryset.exclude(pk__in=editable)
        return queryset


class SpreadsheetExportMixin(ExportMixin):
    """Export of the filtered changelist as CSV or XLSX, in the columns the spreadsheet import reads
    (``partners.spreadsheets``): export then re-import finds every row unchanged."""

    import_export_change_list_template = "admin/partners/directory_change_list.html"
    export_form_class = ExportForm  # every column, or the file would not import back
    export_formats = [CSV, XLSX]
    to_encoding = "utf-8-sig"  # a BOM, so that spreadsheet programs read the accents right
    export_related = ()
    export_prefetch = ()

    def get_export_queryset(self, request):
        return (
            super()
            .get_export_queryset(request)
            .select_related(*self.export_related)
            .prefetch_related(*self.export_prefetch)
            .order_by("pk")
        )


class DirectoryAdmin(
    SpreadsheetExportMixin,
    SafeIdFieldsAdminMixin,
    RejectNulAdminMixin,
    LargeTableAdminMixin,
    ScopedHistoryAdminMixin,
    ObjectPermissionsModelAdminMixin,
    SimpleHistoryAdmin,
):
    """Organisations and services: large tables, history, ids checked, scoped by ``editable_by``."""


@admin.register(Organisation)
class OrganisationAdmin(DirectoryAdmin):
    resource_classes = [spreadsheets.OrganisationResource]
    list_display = ["name", "legal_kind", "siret", "website"]
    list_filter = ["legal_kind", EditableFilter]
    search_fields = ["name", "=siret", "=bce_number"]


class StaleFilter(admin.SimpleListFilter):
    """PRODUCT.md's staleness, as ``Service.objects.stale()`` / ``fresh()`` compute it."""

    title = "fraîcheur"
    parameter_name = "fraicheur"

    def lookups(self, request, model_admin):
        months = settings.STALE_AFTER_MONTHS
        return [
            ("a_jour", f"Vérifié depuis moins de {months} mois"),
            ("perime", f"À revérifier (non vérifié depuis {months} mois ou plus)"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "a_jour":
            return queryset.fresh()
        if self.value() == "perime":
            return queryset.stale()
        return queryset


class ServiceNetworkFilter(admin.SimpleListFilter):
    """Services that are or were members of a convention of one of the user's networks."""

    title = "réseau"
    parameter_name = "reseau"

    def lookups(self, request, model_admin):
        networks = Network.objects.coordinated_by(request.user).only("pk", "name")
        return [(str(network.pk), network.name) for network in networks]

    def queryset(self, request, queryset):
        # Only a value offered by lookups() filters: anything else ("abc", a 30-digit number, another
        # network's id) is ignored, never passed to the database.
        if self.value() in {value for value, _ in self.lookup_choices}:
            members = ConventionMembership.objects.filter(convention__network_id=int(self.value()))
            return queryset.filter(pk__in=members.values("service_id"))
        return queryset


@admin.register(Service)
class ServiceAdmin(DirectoryAdmin):
    resource_classes = [spreadsheets.ServiceResource]
    export_related = ["organisation", "commune"]
    export_prefetch = ["domains", "publics", "access_modes", "service_types", "fees"]
    list_display = ["name", "organisation", "commune", "capacity_status", "verified_on", "is_active"]
    list_filter = [
        "capacity_status",
        "referral_mode",
        "is_active",
        StaleFilter,
        ServiceNetworkFilter,
        EditableFilter,
    ]
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
class NetworkAdmin(SafeIdFieldsAdminMixin, RejectNulAdminMixin, NetworkScopedAdminMixin, admin.ModelAdmin):
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


class PreloadedAutocompleteSelect(SafeAutocompleteSelect):
    """The member picker, rendering a row's current service from the row itself.

    Django's autocomplete widget loads its selected option with one query per row; the inline's rows
    already hold their service (select_related), set here by the formset as ``preloaded``.
    """

    preloaded = None

    def optgroups(self, name, value, attr=None):
        obj = self.preloaded
        selected = {str(v) for v in value if str(v) not in self.choices.field.empty_values}
        if obj is None or selected != {str(obj.pk)}:
            return super().optgroups(name, value, attr)
        options = [] if self.is_required else [self.create_option(name, "", "", False, 0)]
        label = self.choices.field.label_from_instance(obj)
        options.append(self.create_option(name, obj.pk, label, selected, len(options)))
        return [(None, options, 0)]


class MembershipInlineFormSet(BaseInlineFormSet):
    """Each field of a member row gets an accessible name ("Sorti le — membre « Mission locale »").

    A tabular inline shows the labels as column headers only, which assistive technologies do not
    tie to the inputs; the convention's change form template hands these names on to select2.
    """

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if form.instance.pk and form.instance.service_id:
            row = f"membre « {form.instance.service.name} »"
        elif index is None:  # the empty form that "Ajouter un autre" copies
            row = "nouveau membre"
        else:
            row = f"nouveau membre {index + 1 - self.initial_form_count()}"
        for name, field in form.fields.items():
            label = "Supprimer" if name == "DELETE" else field.label
            field.widget.attrs["aria-label"] = f"{label} — {row}"
        picker = getattr(form.fields["service"].widget, "widget", form.fields["service"].widget)
        if isinstance(picker, PreloadedAutocompleteSelect) and form.instance.service_id:
            picker.preloaded = form.instance.service


def current_memberships_filter():
    today = timezone.localdate()
    return Q(left_on__isnull=True) | Q(left_on__gt=today)


class ConventionMembershipInline(
    SafeIdFieldsAdminMixin, ObjectPermissionsModelAdminMixin, admin.TabularInline
):
    """Current (and future) members: editable."""

    model = ConventionMembership
    formset = MembershipInlineFormSet
    extra = 1
    autocomplete_fields = ["service"]
    fields = ["service", "role", "joined_on", "left_on"]
    verbose_name = "membre actuel"
    verbose_name_plural = "membres actuels"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(current_memberships_filter())
            .select_related("convention", "service__organisation")
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "service":
            kwargs["widget"] = PreloadedAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class FormerMembershipInline(ObjectPermissionsModelAdminMixin, admin.TabularInline):
    """Members who left (left_on today or earlier): shown apart, read-only; their history stays."""

    model = ConventionMembership
    extra = 0
    fields = ["service", "role", "joined_on", "left_on"]
    readonly_fields = fields
    verbose_name = "ancien membre"
    verbose_name_plural = "anciens membres"
    can_delete = False
    show_change_link = False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .exclude(current_memberships_filter())
            .select_related("convention", "service__organisation")
        )

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Convention)
class ConventionAdmin(
    SafeIdFieldsAdminMixin,
    RejectNulAdminMixin,
    ScopedHistoryAdminMixin,
    NetworkScopedAdminMixin,
    SimpleHistoryAdmin,
):
    list_display = ["title", "network", "status", "valid_from", "valid_until", "member_count"]
    list_filter = [("network", admin.RelatedOnlyFieldListFilter), "status", ValidityFilter]
    list_select_related = ["network"]
    search_fields = ["title", "network__name"]
    autocomplete_fields = ["scope_domains"]
    date_hierarchy = "valid_from"
    inlines = [ConventionMembershipInline, FormerMembershipInline]
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
            .order_by("-valid_from", "title", "pk")  # an aggregate drops Meta.ordering: pages stay stable
        )

    def changelist_view(self, request, extra_context=None):
        # The date hierarchy turns its parameters into a date and crashes (OverflowError, a 500) on a
        # 20-digit year: a parameter that is not a plausible year, month or day is ignored.
        bounds = {"year": 9999, "month": 12, "day": 31}
        prefix = f"{self.date_hierarchy}__"
        bad = [
            key
            for key, value in request.GET.items()
            if key.startswith(prefix)
            and key.removeprefix(prefix) in bounds
            and not (
                value.isascii() and value.isdigit() and 1 <= int(value) <= bounds[key.removeprefix(prefix)]
            )
        ]
        if bad:
            request.GET = request.GET.copy()
            for key in bad:
                del request.GET[key]
        return super().changelist_view(request, extra_context=extra_context)

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
class ConventionMembershipAdmin(
    SafeIdFieldsAdminMixin,
    RejectNulAdminMixin,
    ScopedHistoryAdminMixin,
    NetworkScopedAdminMixin,
    SimpleHistoryAdmin,
):
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


# --- Error reports (issue 10) ------------------------------------------------------------------


class ErrorReportStatusFilter(admin.SimpleListFilter):
    """Open reports by default: what is left to do."""

    title = "statut"
    parameter_name = "statut"
    OPEN, CLOSED, ALL = "ouverts", "clos", "tous"

    def lookups(self, request, model_admin):
        return [(self.OPEN, "Ouverts"), (self.CLOSED, "Clos"), (self.ALL, "Tous")]

    def _current(self):
        return self.value() if self.value() in {self.OPEN, self.CLOSED, self.ALL} else self.OPEN

    def choices(self, changelist):
        for value, label in self.lookup_choices:
            yield {
                "selected": self._current() == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        if self._current() == self.OPEN:
            return queryset.open()
        if self._current() == self.CLOSED:
            return queryset.filter(status=ErrorReportStatus.CLOSED)
        return queryset


class CoordinatorSeesAdminMixin:
    """Administrators see every row; an active staff coordinator sees the module and the rows
    ``coordinator_sees`` lets through; only administrators delete."""

    def coordinator_sees(self, user, obj):
        raise NotImplementedError

    def _sees(self, request, obj):
        user = request.user
        if user.is_superuser:
            return True
        if not (user.is_active and user.is_staff and user.is_coordinator):
            return False
        return obj is None or self.coordinator_sees(user, obj)

    def has_module_permission(self, request):
        return self._sees(request, None)

    def has_view_permission(self, request, obj=None):
        return self._sees(request, obj)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(ErrorReport)
class ErrorReportAdmin(
    CoordinatorSeesAdminMixin, RejectNulAdminMixin, LargeTableAdminMixin, admin.ModelAdmin
):
    """Reports come from the service pages; administrators and the coordinators of the service's
    networks (``ErrorReport.objects.visible_to``) read and close them. Another network's report by
    direct URL is a 403; only administrators delete."""

    list_display = ["service", "category", "created_at", "status", "reporter"]
    list_filter = [ErrorReportStatusFilter, "category"]
    list_select_related = ["service__organisation", "reporter"]
    search_fields = ["service__name", "service__organisation__name", "text"]
    fields = ["service", "category", "text", "reporter", "created_at", "status", "closed_by", "closed_at"]
    readonly_fields = ["service", "category", "text", "reporter", "created_at", "closed_by", "closed_at"]
    actions = ["close_reports"]

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def get_object(self, request, object_id, from_field=None):
        # Looked up among all reports, so that one outside the user's networks is refused (403) by
        # the permission checks below rather than hidden behind the admin's silent redirect.
        pk = parse_id(object_id)
        if pk is None:
            return None
        return ErrorReport.objects.select_related("service__organisation").filter(pk=pk).first()

    def coordinator_sees(self, user, obj):
        return ErrorReport.objects.visible_to(user).filter(pk=obj.pk).exists()

    def has_change_permission(self, request, obj=None):
        return self._sees(request, obj)

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        error_report_set_status(report=obj, status=obj.status, by=request.user)

    @admin.action(description="Clore les signalements sélectionnés", permissions=["change"])
    def close_reports(self, request, queryset):
        closed = error_reports_close(reports=queryset, by=request.user)
        self.message_user(request, f"{closed} signalement(s) clos.")


# --- Spreadsheet imports (issue 12) -------------------------------------------------------------


class SpreadsheetUploadForm(forms.Form):
    MAX_BYTES = 30 * 1024 * 1024

    file = forms.FileField(
        label="Fichier CSV ou XLSX",
        error_messages={"empty": "Le fichier est vide.", "required": "Choisissez un fichier CSV ou XLSX."},
        help_text=(
            "Colonnes du schéma data·inclusion (source, id, nom…), une ligne d'en-tête ; un classeur peut "
            "porter une feuille « Structures » et une feuille « Services ». Rien n'est écrit avant votre "
            "confirmation."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise ValidationError("Fichier trop gros (30 Mo au plus) : découpez-le.")
        content = upload.read()
        try:  # format, encoding and header row, before anything is stored
            rows = spreadsheets.check_file(content)
        except spreadsheets.SpreadsheetError as error:
            raise ValidationError(str(error)) from None
        return upload.name, content, rows


@admin.register(SpreadsheetImport)
class SpreadsheetImportAdmin(
    CoordinatorSeesAdminMixin, RejectNulAdminMixin, LargeTableAdminMixin, admin.ModelAdmin
):
    """Upload a spreadsheet, read its dry run, confirm; the author and administrators see an import
    (``SpreadsheetImport.objects.visible_to``), another's by direct URL is a 403; nothing is edited by hand."""

    list_display = ["file_name", "created_at", "created_by", "status", "rows_total"]
    list_filter = ["status"]
    list_select_related = ["created_by"]
    search_fields = ["file_name"]
    add_form_template = "admin/partners/spreadsheetimport/add.html"
    status_template = "admin/partners/spreadsheetimport/status.html"

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user).defer("content")

    def get_object(self, request, object_id, from_field=None):
        pk = parse_id(object_id)
        if pk is None:
            return None
        return SpreadsheetImport.objects.defer("content").select_related("created_by").filter(pk=pk).first()

    def coordinator_sees(self, user, obj):
        return obj.created_by_id == user.pk

    def has_add_permission(self, request):
        return self._sees(request, None)

    def has_change_permission(self, request, obj=None):
        return False

    def get_urls(self):
        from django.urls import path

        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/progression/",
                self.admin_site.admin_view(self.progress_view),
                name="{}_{}_progress".format(*info),
            ),
            path(
                "<path:object_id>/confirmer/",
                self.admin_site.admin_view(self.confirm_view),
                name="{}_{}_confirm".format(*info),
            ),
            path(
                "<path:object_id>/relancer/",
                self.admin_site.admin_view(self.restart_view),
                name="{}_{}_restart".format(*info),
            ),
            *super().get_urls(),
        ]

    def _job(self, request, object_id):
        job = self.get_object(request, object_id)
        if job is None:
            raise Http404
        if not self.has_view_permission(request, job):
            raise PermissionDenied
        return job

    def add_view(self, request, form_url="", extra_context=None):
        from django.http import HttpResponseRedirect
        from django.template.response import TemplateResponse

        if not self.has_add_permission(request):
            raise PermissionDenied
        form = SpreadsheetUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            name, content, rows = form.cleaned_data["file"]
            job = spreadsheets.spreadsheet_import_create(
                user=request.user, file_name=name, content=content, rows=rows
            )
            return HttpResponseRedirect(reverse("admin:partners_spreadsheetimport_change", args=[job.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Importer un tableur",
            "form": form,
            "structure_columns": spreadsheets.STRUCTURE_COLUMNS,
            "service_columns": spreadsheets.SERVICE_COLUMNS,
        }
        return TemplateResponse(request, self.add_form_template, context, status=400 if form.errors else 200)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        from django.template.response import TemplateResponse

        job = self._job(request, object_id)
        if request.method != "GET":
            from django.http import HttpResponseNotAllowed

            return HttpResponseNotAllowed(["GET"])  # nothing is edited by hand: confirm has its own URL
        report = job.report or {}
        counts = report.get("counts", {})
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Import « {job.file_name} »",
            "original": job,
            "job": job,
            "report": report,
            "structure_counts": _all_counts(counts.get("structure", {})),
            "service_counts": _all_counts(counts.get("service", {})),
            "can_confirm": job.status == "ready"
            and request.user.pk == job.created_by_id
            and _to_write(report),
            "to_write": _to_write(report),
        }
        return TemplateResponse(request, self.status_template, context)

    def progress_view(self, request, object_id):
        from django.http import JsonResponse

        job = self._job(request, object_id)
        if request.method != "GET":
            from django.http import HttpResponseNotAllowed

            return HttpResponseNotAllowed(["GET"])
        return JsonResponse(
            {
                "status": job.status,
                "status_label": job.get_status_display(),
                "rows_done": job.rows_done,
                "rows_total": job.rows_total,
                "percent": job.percent,
                "running": job.is_running,
                "stalled": job.is_stalled,
            }
        )

    def confirm_view(self, request, object_id):
        from django.contrib import messages
        from django.http import HttpResponseNotAllowed, HttpResponseRedirect

        job = self._job(request, object_id)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if job.created_by_id != request.user.pk:
            raise PermissionDenied  # only the author confirms what they analysed
        if not spreadsheets.spreadsheet_import_confirm(job=job):
            messages.error(
                request, "Cet import n'attend pas de confirmation (déjà importé, en cours ou en échec)."
            )
        return HttpResponseRedirect(reverse("admin:partners_spreadsheetimport_change", args=[job.pk]))

    def restart_view(self, request, object_id):
        """Whoever sees a stalled import (its author, an administrator) may run it again."""
        from django.contrib import messages
        from django.http import HttpResponseNotAllowed, HttpResponseRedirect

        job = self._job(request, object_id)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if spreadsheets.spreadsheet_import_restart(job=job):
            messages.success(request, "L'import est relancé.")
        else:
            messages.error(
                request, "Cet import n'est pas interrompu : il avance, est terminé ou a déjà été relancé."
            )
        return HttpResponseRedirect(reverse("admin:partners_spreadsheetimport_change", args=[job.pk]))


def _to_write(report):
    counts = report.get("counts", {})
    return sum(
        counts.get(kind, {}).get(what, 0)
        for kind in ("structure", "service")
        for what in ("created", "updated")
    )


def _all_counts(counts):
    return {what: counts.get(what, 0) for what in ("created", "updated", "unchanged", "rejected", "ignored")}


# --- Search synonyms -------------------------------------------------------------------------


@admin.register(SearchSynonym)
class SearchSynonymAdmin(RejectNulAdminMixin, ObjectPermissionsModelAdminMixin, admin.ModelAdmin):
    """The words workers type and what the listings say instead. Coordinators read them all, add
    new ones and change or delete their own; the seeded list belongs to administrators."""

    list_display = ["term", "equivalents_shown", "created_by", "updated_at"]
    search_fields = ["term", "equivalents"]
    fields = ["term", "equivalents"]
    list_select_related = ["created_by"]

    @admin.display(description="équivalents")
    def equivalents_shown(self, obj):
        return " · ".join(obj.equivalent_list())

    def get_actions(self, request):
        # The bulk delete checks no object: others' synonyms would go with one's own.
        actions = super().get_actions(request)
        if not request.user.is_superuser:
            actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
