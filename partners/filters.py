"""The directory search form: django-filter parses and validates the querystring."""

import copy
import re
from functools import cached_property

import django_filters
from django import forms
from django.http import QueryDict
from django.template.loader import render_to_string

from . import widgets
from .checkboxes import checkboxes, domain_groups
from .communes import pinned_commune, unknown_place_message
from .communes import resolve_place as place_resolution
from .enums import DEFAULT_RADIUS_KM, SEARCH_RADII_KM, SearchOrder
from .models import AccessMode, Commune, Domain, Language, Public
from .reference_lists import ReferenceChoiceFilter, ReferenceMultipleChoiceFilter, SnapshotCache

RADIUS_MESSAGE = (
    "Rayon invalide : choisissez "
    + ", ".join(f"{km}" for km in SEARCH_RADII_KM[:-1])
    + f" ou {SEARCH_RADII_KM[-1]} km."
)
ORDER_MESSAGE = (
    "Tri inconnu : choisissez "
    + ", ".join(label.lower() for label in SearchOrder.labels[:-1])
    + f" ou {SearchOrder.labels[-1].lower()}."
)


INSEE_CODE = re.compile(r"[0-9][0-9AB][0-9]{3}")
INSEE_MESSAGE = "Commune inconnue : choisissez l'une des communes proposées ou saisissez un lieu."


def resolve_place(text, near=None):
    """(commune, homonyms) for a place as typed: see partners.communes.resolve_place."""
    resolution = place_resolution(text, near=near)
    return resolution.commune, resolution.others


class DefaultedChoiceField(forms.TypedChoiceField):
    """A choice whose default is both shown and used when the request sends none.

    A bound form shows what the request sent: a select left out of the querystring showed its first
    option (5 km) while the search used another default (20 km).
    """

    def bound_data(self, data, initial):
        return initial if data in self.empty_values else data


class DefaultedChoiceFilter(django_filters.TypedChoiceFilter):
    field_class = DefaultedChoiceField

    def __init__(self, *args, default, **kwargs):
        super().__init__(*args, initial=default, empty_value=default, **kwargs)


# The "Plus de filtres" block with none of its filters set, per snapshot of the reference lists.
_MORE_FILTERS_UNSET = SnapshotCache()


class ServiceSearchForm(forms.Form):
    # The filters of the "Plus de filtres" block (partners/_search_more_filters.html).
    MORE_FILTERS = ("thematiques", "publics", "accueil", "langue")

    def more_filters_set(self) -> bool:
        """Whether one of the "Plus de filtres" is set: the block then opens, and is this search's own."""
        return any(self[name].value() for name in self.MORE_FILTERS)

    def more_filters_html(self):
        """The "Plus de filtres" block. Most searches set none of its filters: the block is then the same
        for all of them (the choices of the reference lists, nothing ticked or selected, folded), and is
        rendered once per snapshot of the lists (~0.7 ms a search page: a select and three pickers)."""

        def render():
            return render_to_string("partners/_search_more_filters.html", {"form": self})

        return render() if self.more_filters_set() else _MORE_FILTERS_UNSET.get(None, render)

    def domain_groups(self):
        return domain_groups(self["thematiques"], all_label="Toute la catégorie")

    def public_boxes(self):
        return checkboxes(self["publics"])

    def access_mode_boxes(self):
        return checkboxes(self["accueil"])

    near = None  # the worker's point (partners.communes.worker_point), set by ServiceSearchFilter

    def clean_insee(self):
        """A candidate link's commune (``insee``): read as sent, so that a newline is no code."""
        raw = self.data.get("insee")
        if raw is None:
            return ""
        if not INSEE_CODE.fullmatch(raw):
            raise forms.ValidationError(INSEE_MESSAGE, code="invalid")
        return raw

    def clean(self):
        cleaned = super().clean()
        place, insee = cleaned.get("lieu"), cleaned.get("insee")
        cleaned.update(commune=None, other_communes=[], place_candidates=[])
        pinned = pinned_commune(place, insee) if place and insee else None
        if insee and pinned is None and not Commune.objects.filter(pk=insee, latitude__isnull=False).exists():
            self.add_error("insee", INSEE_MESSAGE)
        elif pinned is not None:
            cleaned["commune"] = pinned
        elif place:
            # A stale ``insee`` (the worker typed another place since) is left aside.
            resolution = place_resolution(place, near=self.near)
            if resolution.commune is None and not resolution.candidates:
                self.add_error("lieu", unknown_place_message(place, []))
            cleaned["commune"], cleaned["other_communes"] = resolution.commune, resolution.others
            cleaned["place_candidates"] = resolution.candidates
        return cleaned


class ServiceSearchFilter(django_filters.FilterSet):
    """Search parameters; the search itself is partners.search.search_services (see the view)."""

    q = django_filters.CharFilter(
        label="Mots-clés",
        method="noop",
        max_length=200,
        widget=widgets.TextInput(
            attrs={
                "type": "search",
                "placeholder": "ex. hébergement d'urgence, CHRS, dettes…",
                "autocomplete": "off",
            }
        ),
    )
    # Choices from the reference lists in memory (partners.reference_lists): no query to render or check.
    thematiques = ReferenceMultipleChoiceFilter(
        label="Thématiques",
        queryset=Domain.objects.active().select_related("parent"),
        method="noop",
        widget=forms.CheckboxSelectMultiple,
    )
    publics = ReferenceMultipleChoiceFilter(
        label="Publics", queryset=Public.objects.active(), method="noop", widget=forms.CheckboxSelectMultiple
    )
    lieu = django_filters.CharFilter(
        label="Lieu (code postal ou commune)",
        method="noop",
        max_length=100,
        # Rendered by templates/components/place_field.html.
    )
    # The commune picked among the candidates of an ambiguous or partial place (their links set it).
    insee = django_filters.CharFilter(label="Commune choisie", method="noop", widget=forms.HiddenInput)
    rayon = DefaultedChoiceFilter(
        label="Rayon",
        choices=[(km, f"{km} km") for km in SEARCH_RADII_KM],
        coerce=int,
        default=DEFAULT_RADIUS_KM,
        method="noop",
        widget=widgets.Select,
        error_messages={"invalid_choice": RADIUS_MESSAGE},
    )
    # No place typed: the search centres on the worker's service's commune, unless "partout" (anywhere).
    partout = django_filters.BooleanFilter(method="noop", widget=widgets.CheckboxInput)
    tri = DefaultedChoiceFilter(
        label="Trier par",
        choices=SearchOrder.choices,
        coerce=SearchOrder,
        default=SearchOrder.RELEVANCE,
        method="noop",
        widget=widgets.Select,
        error_messages={"invalid_choice": ORDER_MESSAGE},
    )
    accueil = ReferenceMultipleChoiceFilter(
        label="Mode d'accueil",
        queryset=AccessMode.objects.active(),
        method="noop",
        widget=forms.CheckboxSelectMultiple,
    )
    langue = ReferenceChoiceFilter(
        label="Langue parlée", queryset=Language.objects.active(), method="noop", empty_label="Toutes"
    )
    disponibles = django_filters.BooleanFilter(
        label="Masquer les services complets", method="noop", widget=widgets.CheckboxInput
    )
    partenaires = django_filters.BooleanFilter(
        label="Partenaires de mes conventions uniquement", method="noop", widget=widgets.CheckboxInput
    )

    class Meta:
        form = ServiceSearchForm

    _form_class = None

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None, near=None):
        # As django-filter's, without deep-copying every filter per request: the view only reads the
        # form; ``filters`` is copied on first use.
        self.is_bound = data is not None
        self.data = data or QueryDict()
        self.queryset = queryset if queryset is not None else self._meta.model._default_manager.all()
        self.request = request
        self.form_prefix = prefix
        self.form.near = near  # the worker's point: homonyms resolve near it (communes.resolve_place)

    @cached_property
    def filters(self):
        filters = copy.deepcopy(self.base_filters)
        for filter_ in filters.values():
            filter_.model, filter_.parent = self.queryset.model, self
        return filters

    def get_form_class(self):
        # Built once per process: django-filter builds a form class per request (its fields, then the
        # form metaclass). The fields read their choices from the reference lists at render and clean
        # time (partners.reference_lists), so a class built once stays current.
        cls = type(self)
        if cls.__dict__.get("_form_class") is None:
            cls._form_class = type(
                f"{cls.__name__}Form",
                (self._meta.form,),
                {name: filter_.field for name, filter_ in cls.base_filters.items()},
            )
        return cls._form_class

    def noop(self, queryset, name, value):
        # Filtering and ranking happen together in partners.search; this class parses and validates.
        return queryset
