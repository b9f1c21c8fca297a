"""The directory search form: django-filter parses and validates the querystring."""

import re

import django_filters
from django import forms

from .checkboxes import checkboxes, domain_groups
from .models import AccessMode, Commune, Domain, Language, Public
from .reference_lists import ReferenceChoiceFilter, ReferenceMultipleChoiceFilter

RADIUS_CHOICES = [(5, "5 km"), (10, "10 km"), (20, "20 km"), (50, "50 km")]
DEFAULT_RADIUS_KM = 20
_NAME_WITH_DEPARTMENT = re.compile(r"^(?P<name>.+?)\s*\((?P<department>[0-9][0-9AB][0-9]?)\)$")


def resolve_place(text):
    """The commune meant by a postcode ("35000"), a name ("rennes") or a suggestion ("Rennes (35)").

    Homonyms ("Saint-Denis") resolve to the most populous one; returns (commune, other_candidates).
    """
    text = (text or "").strip()
    match = _NAME_WITH_DEPARTMENT.match(text)
    candidates = Commune.objects.matching_place(match["name"] if match else text)
    if match:
        candidates = candidates.filter(department=match["department"])
    candidates = list(candidates.filter(latitude__isnull=False).order_by("-population", "insee_code")[:6])
    if not candidates:
        return None, []
    return candidates[0], candidates[1:]


class ServiceSearchForm(forms.Form):
    def domain_groups(self):
        return domain_groups(self["thematiques"])

    def public_boxes(self):
        return checkboxes(self["publics"])

    def access_mode_boxes(self):
        return checkboxes(self["accueil"])

    def clean(self):
        cleaned = super().clean()
        place = cleaned.get("lieu")
        cleaned["commune"], cleaned["other_communes"] = None, []
        if place:
            commune, others = resolve_place(place)
            if commune is None:
                self.add_error(
                    "lieu",
                    f"Lieu inconnu : « {place} ». Saisissez un code postal (ex. 35000) ou un nom de commune.",
                )
            cleaned["commune"], cleaned["other_communes"] = commune, others
        return cleaned


class ServiceSearchFilter(django_filters.FilterSet):
    """Search parameters; the search itself is partners.search.search_services (see the view)."""

    q = django_filters.CharFilter(
        label="Mots-clés",
        method="noop",
        max_length=200,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": "ex. hébergement d'urgence, CPAS, dettes…",
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
    rayon = django_filters.TypedChoiceFilter(
        label="Rayon", choices=RADIUS_CHOICES, coerce=int, method="noop", empty_value=None
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
        label="Masquer les services complets", method="noop", widget=forms.CheckboxInput
    )
    partenaires = django_filters.BooleanFilter(
        label="Partenaires de mes conventions uniquement", method="noop", widget=forms.CheckboxInput
    )

    class Meta:
        form = ServiceSearchForm

    def noop(self, queryset, name, value):
        # Filtering and ranking happen together in partners.search; this class parses and validates.
        return queryset
