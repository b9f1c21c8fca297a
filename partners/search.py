"""Directory search: one function, two backends (PostgreSQL full text, SQLite FTS5).

``search_services(params)`` filters the directory (thématiques, publics, place and radius, access
mode, language, capacity, official partners), matches the words accent- and case-insensitively,
and ranks by text relevance, then distance, then freshness. On PostgreSQL, words that match
nothing are corrected against the directory's own vocabulary (pg_trgm), then the search runs again.
"""

import math
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import BooleanField, ExpressionWrapper, F, FloatField, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import ASin, Cos, Power, Radians, Sin, Sqrt

from .enums import CapacityStatus, SearchOrder
from .models import Service
from .text import normalize

EARTH_RADIUS_KM = 6371.0
KM_PER_DEGREE_LATITUDE = 111.2
MAX_WORDS = 12
MIN_CORRECTABLE_LENGTH = 4
# Trigram similarity under which a "correction" is more likely another word than a typo.
MIN_SIMILARITY = 0.35
# Counting and ranking stop here. Ranking 5 000 matches costs ~8 ms on PostgreSQL, all 87 000 services
# saying "accompagnement" ~70 ms (make bench); past the cap, matches come by distance then freshness,
# read in index order, and the page says so and invites the worker to narrow the search.
RESULT_CAP = 5000
# What a results page shows; the rest of the row (description, vector…) is for the detail page.
LISTED_FIELDS = ("id", "name", "organisation_id", "commune_id", "capacity_status", "verified_on")


@dataclass(frozen=True)
class SearchParams:
    text: str = ""
    domain_ids: tuple[int, ...] = ()
    public_ids: tuple[int, ...] = ()
    latitude: float | None = None
    longitude: float | None = None
    radius_km: float | None = None
    access_mode_ids: tuple[int, ...] = ()
    language_ids: tuple[int, ...] = ()
    hide_full: bool = False
    partner_ids: frozenset[int] | None = None  # "partners of my conventions only": the allowed ids
    order: SearchOrder = SearchOrder.RELEVANCE  # distance needs a place (has_place); else as relevance

    @property
    def words(self) -> list[str]:
        # Single letters (the d of "d'urgence") carry no meaning and would match everything as prefixes.
        return [word for word in normalize(self.text).split() if len(word) > 1][:MAX_WORDS]

    @property
    def has_place(self) -> bool:
        return self.latitude is not None and self.longitude is not None and bool(self.radius_km)


@dataclass
class SearchOutcome:
    queryset: QuerySet
    count: int  # at most RESULT_CAP
    words: list[str] = field(default_factory=list)
    corrections: dict[str, str] = field(default_factory=dict)  # typed word -> word searched instead
    ranked: bool = False  # ordered by text relevance first (words given, and not too many matches)

    @property
    def capped(self) -> bool:
        """More matches than were counted: the count is "more than RESULT_CAP"."""
        return self.count >= RESULT_CAP

    @property
    def corrected_text(self) -> str:
        return " ".join(self.corrections.get(word, word) for word in self.words)


def distance_expression(latitude: float, longitude: float, prefix: str = ""):
    """Great-circle (haversine) distance in km from a point, as a database expression (both backends).

    ``prefix`` reaches the coordinates through a relation (``"service__"`` from a through table).
    """
    lat, lon = F(f"{prefix}latitude"), F(f"{prefix}longitude")
    dlat = Radians(lat - Value(latitude)) / 2
    dlon = Radians(lon - Value(longitude)) / 2
    a = Power(Sin(dlat), 2) + Value(math.cos(math.radians(latitude))) * Cos(Radians(lat)) * Power(
        Sin(dlon), 2
    )
    return ExpressionWrapper(Value(2 * EARTH_RADIUS_KM) * ASin(Sqrt(a)), output_field=FloatField())


def bounding_box(latitude: float, longitude: float, radius_km: float, prefix: str = "") -> Q:
    """A cheap, indexed pre-filter: the lat/lon rectangle around the circle."""
    dlat = radius_km / KM_PER_DEGREE_LATITUDE
    dlon = radius_km / (KM_PER_DEGREE_LATITUDE * max(math.cos(math.radians(latitude)), 0.01))
    return Q(
        **{
            f"{prefix}latitude__gte": latitude - dlat,
            f"{prefix}latitude__lte": latitude + dlat,
            f"{prefix}longitude__gte": longitude - dlon,
            f"{prefix}longitude__lte": longitude + dlon,
        }
    )


def _filtered(params: SearchParams) -> QuerySet:
    queryset = Service.objects.active()
    # Several values of one list: any of them (a service for "jeunes" or "familles").
    if params.domain_ids:
        queryset = queryset.filter(
            pk__in=Service.domains.through.objects.filter(domain_id__in=params.domain_ids).values(
                "service_id"
            )
        )
    if params.public_ids:
        queryset = queryset.filter(
            pk__in=Service.publics.through.objects.filter(public_id__in=params.public_ids).values(
                "service_id"
            )
        )
    if params.access_mode_ids:
        queryset = queryset.filter(
            pk__in=Service.access_modes.through.objects.filter(
                accessmode_id__in=params.access_mode_ids
            ).values("service_id")
        )
    if params.language_ids:
        queryset = queryset.filter(
            pk__in=Service.languages.through.objects.filter(language_id__in=params.language_ids).values(
                "service_id"
            )
        )
    if params.hide_full:
        queryset = queryset.exclude(capacity_status=CapacityStatus.FULL)
    if params.partner_ids is not None:
        queryset = queryset.filter(pk__in=params.partner_ids)
    if params.has_place:
        queryset = queryset.filter(bounding_box(params.latitude, params.longitude, params.radius_km))
        queryset = queryset.annotate(
            distance_km=distance_expression(params.latitude, params.longitude)
        ).filter(distance_km__lte=params.radius_km)
    return queryset


# --- Text matching, per backend -----------------------------------------------------------------


def _postgres_tsquery(words: list[str]) -> str:
    # Every word must match; the last one as a prefix, so results follow the user as they type.
    return " & ".join([f"'{word}'" for word in words[:-1]] + [f"'{words[-1]}':*"])


def _sqlite_match_expression(words: list[str]) -> str:
    return " AND ".join(f'"{word}"*' for word in words)


def _match(queryset: QuerySet, words: list[str]) -> QuerySet:
    """Only the services whose text contains every word (the last as a prefix)."""
    if connection.vendor == "postgresql":
        matches = RawSQL(
            "partners_service.search_vector @@ to_tsquery('french_unaccent', %s)",
            (_postgres_tsquery(words),),
            output_field=BooleanField(),
        )
        return queryset.filter(matches)
    matching_ids = RawSQL(
        "SELECT rowid FROM partners_service_fts WHERE partners_service_fts MATCH %s",
        (_sqlite_match_expression(words),),
    )
    return queryset.filter(pk__in=matching_ids)


def _match_and_rank(queryset: QuerySet, words: list[str]) -> QuerySet:
    """Only the services whose text contains every word, with their text relevance as ``rank``
    (higher is better), on both backends."""
    if connection.vendor == "postgresql":
        rank = RawSQL(
            "ts_rank_cd('{0.1, 0.2, 0.6, 1.0}', partners_service.search_vector, "
            "to_tsquery('french_unaccent', %s), 1)",
            (_postgres_tsquery(words),),
            output_field=FloatField(),
        )
        return _match(queryset, words).annotate(rank=rank)
    # bm25 is lower-is-better: negated. Column weights: name 10, organisation 8, thématiques 4,
    # description 1. bm25() reads statistics of the whole match (how many rows contain each word),
    # gathered once per FTS5 cursor: the FTS5 table must be joined and drive the query. As a
    # subquery per service (or an inner loop of the join), each row started a new full-text search:
    # cost in the square of the matches (4.7 s for 1 000 of 10 000 services, make bench). The unary
    # + keeps the FTS5 table from looking rows up by rowid, so SQLite cannot put it in the inner loop;
    # services are then read by primary key. The ORM has no join to a table without a model: extra().
    return queryset.extra(
        select={"rank": "-bm25(partners_service_fts, 10.0, 8.0, 4.0, 1.0)"},
        tables=["partners_service_fts"],
        where=[
            "partners_service_fts MATCH %s",
            "partners_service.id = +partners_service_fts.rowid",
        ],
        params=[_sqlite_match_expression(words)],
    )


def _unmatched_words(words: list[str]) -> list[str]:
    """Words that match no service at all (PostgreSQL): the candidates for correction."""
    unmatched = []
    with connection.cursor() as cursor:
        for word in words:
            if len(word) < MIN_CORRECTABLE_LENGTH:
                continue
            cursor.execute(
                "SELECT EXISTS (SELECT 1 FROM partners_service "
                "WHERE search_vector @@ to_tsquery('french_unaccent', %s))",
                [f"'{word}':*"],
            )
            if not cursor.fetchone()[0]:
                unmatched.append(word)
    return unmatched


def _corrections(words: list[str]) -> dict[str, str]:
    """Each word that matches no service, mapped to the closest word of the vocabulary (PostgreSQL)."""
    unmatched = _unmatched_words(words)
    if not unmatched:
        return {}
    corrections = {}
    # The % operator uses the trigram GIN index, with the threshold of pg_trgm.similarity_threshold.
    # set_config(..., true) lasts until the end of the transaction: in autocommit, that is the end of
    # its own statement, and the look-ups would run with pg_trgm's default (0.3). Hence one
    # transaction, for every word. (similarity(word, %s) >= 0.35 needs no setting but cannot use the
    # index: 35-66 ms on the bench's 21 000 words, against 0.3-1 ms.)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('pg_trgm.similarity_threshold', %s, true)", [str(MIN_SIMILARITY)])
        for word in unmatched:
            cursor.execute(
                "SELECT word FROM partners_searchword WHERE word %% %s "
                "ORDER BY similarity(word, %s) DESC, document_count DESC, word LIMIT 1",
                [word, word],
            )
            row = cursor.fetchone()
            if row and row[0] != word:
                corrections[word] = row[0]
    return corrections


def _order(queryset: QuerySet, params: SearchParams, ranked: bool) -> QuerySet:
    ordering = []
    if ranked:
        ordering.append("-rank")  # a string: on SQLite, rank is an extra() column, which F() cannot see
    by_distance = [F("distance_km").asc()] if params.has_place else []
    by_freshness = [F("verified_on").desc(nulls_last=True)]
    if params.order == SearchOrder.FRESHNESS:
        ordering += by_freshness + by_distance
    else:
        ordering += by_distance + by_freshness
    # Without rank or place, this is service_active_freshness_idx's order (migration 0004).
    return queryset.order_by(*ordering, "name", "pk")


def _capped_count(queryset: QuerySet) -> int:
    """How many services match, counting no further than RESULT_CAP (a LIMITed subquery)."""
    return queryset.order_by()[:RESULT_CAP].count()


def search_services(params: SearchParams) -> SearchOutcome:
    """The matching services, ordered, and how many there are; the queryset is lazy (paginate it)."""
    words = params.words
    queryset = _filtered(params).only(*LISTED_FIELDS)
    if not words:
        return SearchOutcome(_order(queryset, params, ranked=False), count=_capped_count(queryset))

    matched = _match(queryset, words)
    count = _capped_count(matched)
    corrections, searched = {}, words
    if count == 0 and connection.vendor == "postgresql":
        corrections = _corrections(words)
        if corrections:
            searched = [corrections.get(word, word) for word in words]
            matched = _match(queryset, searched)
            count = _capped_count(matched)
    # Ranking is the costly part: only when the worker sorts by relevance and the matches are few enough.
    ranked = count < RESULT_CAP and params.order == SearchOrder.RELEVANCE
    if ranked:
        matched = _match_and_rank(queryset, searched)
    return SearchOutcome(
        _order(matched, params, ranked=ranked),
        count=count,
        words=words,
        corrections=corrections,
        ranked=ranked,
    )
