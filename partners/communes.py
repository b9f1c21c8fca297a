"""Load the vendored list of French communes (``data/communes_fr.csv.gz``) into Commune and Postcode.

The file is built by ``scripts/build_communes.py``; its columns are
``insee_code,name,department,population,postcodes,latitude,longitude`` (postcodes space-separated,
population and coordinates possibly empty).
"""

import csv
import gzip
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from .models import Commune, Postcode
from .text import normalize

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "communes_fr.csv.gz"
COLUMNS = ["insee_code", "name", "department", "population", "postcodes", "latitude", "longitude"]
UPDATED_FIELDS = ["name", "search_name", "department", "population", "latitude", "longitude"]
# Stay well under SQLite's limit of variables per statement for ``pk__in`` lists.
_DELETE_CHUNK = 900


def _optional(value, cast):
    value = value.strip()
    return cast(value) if value else None


def read_communes(path=DEFAULT_PATH):
    """Parse the file into ``({insee_code: values}, {(insee_code, postcode), ...})``.

    ``values`` is a tuple ordered as ``UPDATED_FIELDS``, ``search_name`` included.
    """
    communes, postcodes = {}, set()
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != COLUMNS:
            raise ValueError(f"{path}: expected columns {COLUMNS}, got {reader.fieldnames}")
        for line, row in enumerate(reader, start=2):
            code = row["insee_code"].strip()
            if code in communes:
                raise ValueError(f"{path}, line {line}: duplicate INSEE code {code}")
            name = row["name"].strip()
            communes[code] = (
                name,
                normalize(name),  # bulk operations bypass Commune.save(), which sets it
                row["department"].strip(),
                _optional(row["population"], int),
                _optional(row["latitude"], float),
                _optional(row["longitude"], float),
            )
            postcodes.update((code, postcode) for postcode in row["postcodes"].split())
    return communes, postcodes


@transaction.atomic
def load_communes(*, path=DEFAULT_PATH, batch_size=2000):
    """Create or update the communes of the file, and their postcodes, in one transaction.

    Idempotent: a second run changes nothing. Communes absent from the file are kept (services may
    point to them); the postcodes of the file's communes are made to match the file exactly.
    Returns counts: ``communes`` (in the file), ``created``, ``updated``, ``unchanged``,
    ``postcodes`` (in the file), ``postcodes_created``, ``postcodes_deleted``.
    """
    communes, postcodes = read_communes(path)

    existing = {
        row[0]: tuple(row[1:])
        for row in Commune.objects.order_by().values_list("insee_code", *UPDATED_FIELDS).iterator()
    }
    created = [code for code in communes if code not in existing]
    updated = [code for code, values in communes.items() if code in existing and existing[code] != values]
    # One upsert for both: safe even if another process created some of them meanwhile.
    Commune.objects.bulk_create(
        [
            Commune(insee_code=code, **dict(zip(UPDATED_FIELDS, communes[code], strict=True)))
            for code in created + updated
        ],
        batch_size=batch_size,
        update_conflicts=True,
        unique_fields=["insee_code"],
        update_fields=UPDATED_FIELDS,
    )

    stale_ids, present = [], set()
    for pk, commune_id, code in (
        Postcode.objects.order_by().values_list("pk", "commune_id", "code").iterator()
    ):
        if commune_id not in communes:
            continue  # a commune the file no longer lists: left alone
        if (commune_id, code) in postcodes:
            present.add((commune_id, code))
        else:
            stale_ids.append(pk)
    for start in range(0, len(stale_ids), _DELETE_CHUNK):
        Postcode.objects.filter(pk__in=stale_ids[start : start + _DELETE_CHUNK]).delete()
    missing = sorted(postcodes - present)
    Postcode.objects.bulk_create(
        [Postcode(commune_id=commune_id, code=code) for commune_id, code in missing],
        batch_size=batch_size,
    )

    return {
        "communes": len(communes),
        "created": len(created),
        "updated": len(updated),
        "unchanged": len(communes) - len(created) - len(updated),
        "postcodes": len(postcodes),
        "postcodes_created": len(missing),
        "postcodes_deleted": len(stale_ids),
    }


# --- What a worker types for a place ---------------------------------------------------------

# Abbreviations of commune names: "St-Malo", "Ste-Foy", "Boulogne s/ Mer".
_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes", "s": "sur"}
_POSTCODE = re.compile(r"^[0-9]{5}$")
_DEPARTMENT = re.compile(r"^(?:[0-9]{2}|2a|2b|97[0-9])$")
_NAME_WITH_DEPARTMENT = re.compile(r"^(?P<name>.+?)\s*\((?P<department>[0-9][0-9ABab][0-9]?)\)$")
CANDIDATES = 6


@dataclass(frozen=True)
class PlaceQuery:
    """A place as typed, taken apart: "Rennes 35000", "35 Rennes", "St-Malo", "Rennes (35)"."""

    name: str = ""  # search_name form, abbreviations spelled out
    postcode: str = ""
    department: str = ""


def parse_place(text: str) -> PlaceQuery:
    text = (text or "").strip()
    department = ""
    suggestion = _NAME_WITH_DEPARTMENT.match(text)
    if suggestion:  # the form of the suggestions: "Rennes (35)"
        text, department = suggestion["name"], suggestion["department"].upper()
    words, postcode = normalize(text).split(), ""
    if len(words) > 1 or (words and _POSTCODE.match(words[0])):
        for index in (0, -1):  # a postcode or a département before or after the name
            word = words[index] if words else ""
            if _POSTCODE.match(word) and not postcode:
                postcode = word
                words.pop(index)
            elif _DEPARTMENT.match(word) and not department and len(words) > 1:
                department = word.upper()
                words.pop(index)
    name = " ".join(
        _ABBREVIATIONS.get(word, word) if i or word != "s" else word for i, word in enumerate(words)
    )
    return PlaceQuery(name=name, postcode=postcode, department=department)


@dataclass
class PlaceResolution:
    commune: "Commune | None" = None
    others: list = field(default_factory=list)  # homonyms of the commune resolved near the worker
    # Nothing resolved: the communes the text may mean (homonyms, or names starting with it).
    candidates: list = field(default_factory=list)


# "Near the worker's service": a homonym within this distance of it is the one meant, and suggestions
# list the communes within it first.
NEAR_KM = 40
# No commune name is shared by more than 12 communes (2024): all homonyms are offered.
HOMONYMS = 30


def worker_point(user) -> tuple[float, float] | None:
    """(latitude, longitude) of the worker's service, else of its commune; None without either.

    No query for the signed-in user: the auth backend loads the service and its commune with them.
    """
    service = user.service if getattr(user, "service_id", None) else None
    if service is None:
        return None
    if service.latitude is not None and service.longitude is not None:
        return (service.latitude, service.longitude)
    commune = user.service_commune
    return (commune.latitude, commune.longitude) if commune is not None else None


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (latitude, longitude) points, as partners.search computes it."""
    from .search import EARTH_RADIUS_KM

    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(h, 1.0)))


def is_near(commune, point) -> bool:
    return point is not None and distance_km((commune.latitude, commune.longitude), point) <= NEAR_KM


def near_first(communes, point) -> list:
    """The order of place candidates and suggestions: communes within NEAR_KM of ``point`` (the
    worker's service, see worker_point) first, then the most populous; name and code break ties."""
    return sorted(
        communes, key=lambda c: (not is_near(c, point), -(c.population or 0), c.search_name, c.insee_code)
    )


def _ranked(queryset, point, limit) -> list:
    """The first ``limit`` communes of ``queryset`` by near_first: the most populous ones, plus those
    near ``point`` (a second, indexed query), which a national order would leave out."""
    from .search import bounding_box, distance_expression

    ordered = queryset.order_by("-population", "search_name", "insee_code")
    pool = {c.pk: c for c in ordered[:limit]}
    if point is not None:
        near = (
            ordered.filter(bounding_box(point[0], point[1], NEAR_KM))
            .annotate(distance_km=distance_expression(point[0], point[1]))
            .filter(distance_km__lte=NEAR_KM)
        )
        pool.update((c.pk, c) for c in near[:limit])
    return near_first(pool.values(), point)[:limit]


def resolve_place(text: str, near: tuple[float, float] | None = None) -> PlaceResolution:
    """The commune meant by a postcode ("35000"), a name ("rennes", "St-Malo"), both ("Rennes 35000",
    "35 Rennes") or a suggestion ("Rennes (35)"); ``near`` is the worker's point (worker_point).

    A name shared by several communes ("Saint-Denis") resolves only if exactly one of them is within
    NEAR_KM of the worker, otherwise they are the candidates; a partial name ("Renn") resolves to
    nothing but lists the communes it may mean. Candidates come with their département.
    """
    query = parse_place(text)
    located = Commune.objects.filter(latitude__isnull=False)
    exact = list(located.matching(query).order_by("-population", "insee_code")[:HOMONYMS])
    if len(exact) == 1 or (exact and not query.name):
        # A postcode alone covers neighbouring communes (one delivery area): the most populous will do.
        return PlaceResolution(commune=exact[0], others=exact[1:])
    if exact:
        nearby = [commune for commune in exact if is_near(commune, near)]
        if len(nearby) == 1:
            return PlaceResolution(commune=nearby[0], others=[c for c in exact if c is not nearby[0]])
        return PlaceResolution(candidates=near_first(exact, near))
    if len(query.name) < 2:
        return PlaceResolution()
    return PlaceResolution(candidates=_ranked(located.matching(query, prefix=True), near, CANDIDATES))


def pinned_commune(text: str, insee_code: str):
    """The commune a candidate link pins (``insee``), if the place typed still names it (the link writes
    it « Saint-Denis (93) »), else None: the worker typed another place since. One query."""
    located = Commune.objects.filter(latitude__isnull=False, pk=insee_code)
    return located.matching(parse_place(text)).first()


def unknown_place_message(place, candidates):
    """A partial or unknown place: the communes it may mean, with their département, else how to write it."""
    if candidates:
        names = ", ".join(f"{commune.name} ({commune.department})" for commune in candidates)
        return f"« {place} » : précisez la commune. Peut-être : {names}."
    return f"Lieu inconnu : « {place} ». Saisissez un code postal (ex. 35000) ou un nom de commune."


SUGGESTIONS = 10


def suggest_communes(text: str, near: tuple[float, float] | None = None) -> list:
    """Communes for the place field's suggestions: names starting with the text ("St-Ma" too) or
    postcodes starting with its digits, ordered by near_first. Two queries with ``near``, one without."""
    text = (text or "").strip()
    if len(text) < 2:
        return []
    located = Commune.objects.filter(latitude__isnull=False)
    if text.isdigit():
        located = located.filter(pk__in=Postcode.objects.filter(code__startswith=text).values("commune_id"))
    else:
        query = parse_place(text)
        if len(query.name) < 2:
            return []
        located = located.matching(query, prefix=True)
    return _ranked(located, near, SUGGESTIONS)
