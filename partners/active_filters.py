"""The search's active filters as chips, each with the link to the same search without it."""

from dataclasses import dataclass

from django.urls import reverse

from .enums import DEFAULT_RADIUS_KM
from .fields import parse_id


@dataclass(frozen=True)
class FilterChip:
    label: str
    remove_url: str


@dataclass(frozen=True)
class PlaceChoice:
    """A commune an ambiguous or partial place may mean, and the same search pinned to it."""

    label: str
    url: str


@dataclass(frozen=True)
class SearchCentre:
    """Where a search is centred: the place typed, or the worker's service's commune by default."""

    commune: object  # partners.models.Commune
    radius_km: int
    is_default: bool

    @property
    def label(self) -> str:
        where = f"{self.commune.name} (votre service)" if self.is_default else self.commune.name
        return f"À moins de {self.radius_km} km de {where}"


def search_centre(data, home_commune) -> SearchCentre | None:
    """The place typed (``data`` is the search form's cleaned data), else ``home_commune`` (the
    worker's service's commune) unless the worker asked for no place (``partout``), else None."""
    if data.get("commune"):
        return SearchCentre(data["commune"], data.get("rayon") or DEFAULT_RADIUS_KM, is_default=False)
    if home_commune is not None and not data.get("partout"):
        return SearchCentre(home_commune, data.get("rayon") or DEFAULT_RADIUS_KM, is_default=True)
    return None


def search_url(query, drop=(), keep_values=None, **add) -> str:
    """/recherche/ with ``query`` (a QueryDict) less the ``drop`` parameters and the page, plus ``add``.

    ``keep_values`` = (name, predicate) keeps only the values of a multi-valued parameter that pass.
    """
    params = query.copy()
    for name in ("page", *drop):
        params.pop(name, None)
    if keep_values:
        name, keep = keep_values
        params.setlist(name, [value for value in params.getlist(name) if keep(value)])
    for name, value in add.items():
        params[name] = value
    encoded = params.urlencode()
    return reverse("partners:search") + (f"?{encoded}" if encoded else "")


def place_choices(query, communes) -> list[PlaceChoice]:
    """Links « Saint-Denis (93) »: the same search (``query``, other filters kept), the place written
    as the suggestions write it and pinned by its INSEE code (homonyms may share a département)."""
    choices = []
    for commune in communes:
        label = f"{commune.name} ({commune.department})"
        choices.append(PlaceChoice(label, search_url(query, lieu=label, insee=commune.insee_code)))
    return choices


def _without_id(query, name, pk) -> str:
    return search_url(query, keep_values=(name, lambda value: parse_id(value) != pk))


def active_filters(query, data, centre: SearchCentre | None, home_commune) -> list[FilterChip]:
    """One chip per filter in force, the place included when it is the worker's default.

    ``home_commune`` is where the worker's searches centre without a place: removing a place then
    asks for no place at all (``partout``), otherwise the default would come back.
    """
    chips = []
    if data.get("q"):
        chips.append(FilterChip(f"Mots : « {data['q']} »", search_url(query, drop=["q"])))
    if centre is not None:
        anywhere = {"partout": "1"} if home_commune is not None else {}
        chips.append(FilterChip(centre.label, search_url(query, drop=["lieu", "insee", "rayon"], **anywhere)))
    for domain in data.get("thematiques") or []:
        chips.append(FilterChip(f"Thématique : {domain.label}", _without_id(query, "thematiques", domain.pk)))
    for public in data.get("publics") or []:
        chips.append(FilterChip(f"Public : {public.label}", _without_id(query, "publics", public.pk)))
    for mode in data.get("accueil") or []:
        chips.append(FilterChip(f"Accueil : {mode.label}", _without_id(query, "accueil", mode.pk)))
    if data.get("langue"):
        chips.append(FilterChip(f"Langue : {data['langue'].label}", search_url(query, drop=["langue"])))
    if data.get("disponibles"):
        chips.append(FilterChip("Sans les services complets", search_url(query, drop=["disponibles"])))
    if data.get("partenaires"):
        chips.append(
            FilterChip("Partenaires conventionnés uniquement", search_url(query, drop=["partenaires"]))
        )
    return chips
