"""Directory search: one function, two backends (PostgreSQL full text, SQLite FTS5).

``search_services(params)`` filters the directory (thématiques, publics, place and radius, access
mode, language, capacity, official partners), matches the words accent- and case-insensitively,
and ranks by text relevance, then distance, then freshness. Both backends stem French words
(PostgreSQL's french_unaccent; on SQLite the same Snowball stemmer in Python, partners.text), expand
the words and acronyms of the synonym table (partners.synonyms: "CHRS" also finds "centre
d'hébergement et de réinsertion sociale"), and correct words that match nothing against the
directory's own vocabulary (pg_trgm on PostgreSQL, a trigram FTS5 table on SQLite), then search again.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import BooleanField, DateField, F, FloatField, Func, Q, QuerySet, Value
from django.db.models.expressions import RawSQL

from .enums import CapacityStatus, SearchOrder
from .models import Service
from .synonyms import SynonymTable, synonym_table
from .text import STOPWORDS, normalize, stem

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
    page_rows: list | None = None  # the requested page's services, when counted in the same statement

    @property
    def capped(self) -> bool:
        """More matches than were counted: the count is "more than RESULT_CAP"."""
        return self.count >= RESULT_CAP

    @property
    def corrected_text(self) -> str:
        return " ".join(self.corrections.get(word, word) for word in self.words)


class GreatCircleKm(Func):
    """Great-circle (haversine) distance in km from a fixed point to a row's coordinates, as one node.

    Built from Django's function classes (Radians, Sin, Power…), the same formula was a tree of some
    25 expressions that every annotate, filter and order_by copied and resolved again: ~1.5 ms of
    Python per search page, more than the statement's own planning. The SQL is the one that tree
    compiled to, operation for operation (the same floats on both backends; SQLite's math functions
    are SQLite's own or Django's, under the same names).
    """

    output_field = FloatField()

    def __init__(self, latitude: float, longitude: float, prefix: str = ""):
        super().__init__(F(f"{prefix}latitude"), F(f"{prefix}longitude"))
        self.origin = (latitude, longitude)

    def as_sql(self, compiler, connection, **extra_context):
        (lat, lat_params), (lon, lon_params) = (
            compiler.compile(expression) for expression in self.get_source_expressions()
        )
        latitude, longitude = self.origin
        sql = (
            f"(%s * ASIN(SQRT((POWER(SIN((RADIANS(({lat} - %s)) / %s)), %s) + "
            f"((%s * COS(RADIANS({lat}))) * POWER(SIN((RADIANS(({lon} - %s)) / %s)), %s))))))"
        )
        params = (
            2 * EARTH_RADIUS_KM,
            *lat_params,
            latitude,
            2,
            2,
            math.cos(math.radians(latitude)),
            *lat_params,
            *lon_params,
            longitude,
            2,
            2,
        )
        return sql, params


def distance_expression(latitude: float, longitude: float, prefix: str = ""):
    """Great-circle (haversine) distance in km from a point, as a database expression (both backends).

    ``prefix`` reaches the coordinates through a relation (``"service__"`` from a through table).
    """
    return GreatCircleKm(latitude, longitude, prefix)


def bounding_box_limits(
    latitude: float, longitude: float, radius_km: float
) -> tuple[float, float, float, float]:
    """The lat/lon rectangle around the circle: (south, north, west, east)."""
    dlat = radius_km / KM_PER_DEGREE_LATITUDE
    dlon = radius_km / (KM_PER_DEGREE_LATITUDE * max(math.cos(math.radians(latitude)), 0.01))
    return latitude - dlat, latitude + dlat, longitude - dlon, longitude + dlon


def bounding_box(latitude: float, longitude: float, radius_km: float, prefix: str = "") -> Q:
    """A cheap, indexed pre-filter: the lat/lon rectangle around the circle."""
    south, north, west, east = bounding_box_limits(latitude, longitude, radius_km)
    return Q(
        **{
            f"{prefix}latitude__gte": south,
            f"{prefix}latitude__lte": north,
            f"{prefix}longitude__gte": west,
            f"{prefix}longitude__lte": east,
        }
    )


def _filtered(params: SearchParams, *, probe_only: bool = False) -> QuerySet:
    """The active services that pass the filters. ``probe_only`` (SQLite): see _sqlite_probe_only."""
    queryset = Service.objects.active()
    among = "pk__in"
    if probe_only:
        # id + 0 is no column: SQLite cannot look the ids of the IN lists up by primary key, so it reads
        # another index (freshness or coordinates) and checks each row against the lists instead.
        queryset, among = queryset.alias(id_probe=F("pk") + 0), "id_probe__in"
    # Several values of one list: any of them (a service for "jeunes" or "familles").
    through = (
        (Service.domains.through, "domain_id", params.domain_ids),
        (Service.publics.through, "public_id", params.public_ids),
        (Service.access_modes.through, "accessmode_id", params.access_mode_ids),
        (Service.languages.through, "language_id", params.language_ids),
    )
    for model, column, ids in through:
        if ids:
            services = model.objects.filter(**{f"{column}__in": ids}).values("service_id")
            queryset = queryset.filter(**{among: services})
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


@dataclass(frozen=True)
class Term:
    """One thing the worker typed: a word, or a phrase of the synonym table with its equivalents.

    Matches a service that contains every word of one of ``alternatives`` (by its stem); ``prefix``
    (the last word, perhaps still being typed) also matches the stems that start with it as typed:
    "epicer" finds "épicerie" (stem "epiceri"), "consult" "consultation", while "logements" (stem
    "log") does not find "logiciel" nor "formation" "information", as a prefix of the stem would.
    """

    alternatives: tuple[tuple[str, ...], ...]
    prefix: bool = False
    synonym: bool = False


def query_terms(words: list[str], synonyms: SynonymTable | None = None) -> list[Term]:
    """The terms of a search: stop words out, the longest phrases the synonym table knows grouped."""
    synonyms = synonym_table() if synonyms is None else synonyms
    content = [word for word in words if word not in STOPWORDS]
    stems = [stem(word) for word in content]
    longest = max((len(key) for key in synonyms), default=0)
    terms, position = [], 0
    while position < len(content):
        for size in range(min(longest, len(content) - position), 0, -1):
            alternatives = synonyms.get(tuple(stems[position : position + size]))
            if alternatives:
                typed = tuple(content[position : position + size])
                terms.append(Term((typed, *(a for a in alternatives if a != typed)), synonym=True))
                position += size
                break
        else:
            word = content[position]
            last = position == len(content) - 1
            terms.append(Term(((word,),), prefix=last))
            position += 1
    return terms


def _lexeme(word: str, prefix: bool, *, postgresql: bool) -> str:
    """One word of the query over the stemmed index: its stem, or (prefix) its stem or any stem
    starting with the word as typed."""
    if postgresql:
        return f"('{stem(word)}' | '{word}':*)" if prefix else f"'{stem(word)}'"
    return f'("{stem(word)}" OR "{word}"*)' if prefix else f'"{stem(word)}"'


def _expression(terms: list[Term], *, postgresql: bool) -> str:
    """The boolean query, the same on both backends: a tsquery (PostgreSQL) or an FTS5 MATCH (SQLite).

    Words are stemmed here, in Python, with the stemmer of PostgreSQL's french_unaccent (a test
    compares them): the tsquery is given as lexemes (``::tsquery``, no second stemming)."""
    and_, or_ = (" & ", " | ") if postgresql else (" AND ", " OR ")
    return and_.join(
        "("
        + or_.join(
            "(" + and_.join(_lexeme(word, term.prefix, postgresql=postgresql) for word in words) + ")"
            for words in term.alternatives
        )
        + ")"
        for term in terms
    )


def _match(queryset: QuerySet, terms: list[Term], *, probe_only: bool = False) -> QuerySet:
    """Only the services whose text matches every term. ``probe_only``: as ``queryset`` was filtered
    (see _filtered)."""
    if connection.vendor == "postgresql":
        matches = RawSQL(
            "partners_service.search_vector @@ %s::tsquery",
            (_expression(terms, postgresql=True),),
            output_field=BooleanField(),
        )
        return queryset.filter(matches)
    matching_ids = RawSQL(
        "SELECT rowid FROM partners_service_fts WHERE partners_service_fts MATCH %s",
        (_expression(terms, postgresql=False),),
    )
    # Filtered with probe_only (_sqlite_probe_only): the full-text matches are checked, not looked up.
    among = "id_probe__in" if probe_only else "pk__in"
    return queryset.filter(**{among: matching_ids})


def _postgresql_rank(terms: list[Term]) -> tuple[str, tuple]:
    """The text relevance of a row of partners_service (higher is better), as SQL and its parameters."""
    return (
        "ts_rank_cd('{0.1, 0.2, 0.6, 1.0}', partners_service.search_vector, %s::tsquery, 1)",
        (_expression(terms, postgresql=True),),
    )


def _match_and_rank(queryset: QuerySet, terms: list[Term]) -> QuerySet:
    """Only the services whose text contains every word, with their text relevance as ``rank``
    (higher is better), on both backends."""
    if connection.vendor == "postgresql":
        return _match(queryset, terms).annotate(
            rank=RawSQL(*_postgresql_rank(terms), output_field=FloatField())
        )
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
        params=[_expression(terms, postgresql=False)],
    )


def _correctable_words(terms: list[Term]) -> list[str]:
    return [
        term.alternatives[0][0]
        for term in terms
        if not term.synonym and len(term.alternatives[0][0]) >= MIN_CORRECTABLE_LENGTH
    ]


def _unmatched_words(terms: list[Term]) -> list[str]:
    """Words that match no service at all, even as a prefix: the candidates for correction (SQLite;
    PostgreSQL checks them in its one correction statement, _postgresql_corrections)."""
    unmatched = []
    with connection.cursor() as cursor:
        for word in _correctable_words(terms):
            cursor.execute(
                "SELECT EXISTS (SELECT 1 FROM partners_service_fts WHERE partners_service_fts MATCH %s)",
                [f'"{stem(word)}"*'],
            )
            if not cursor.fetchone()[0]:
                unmatched.append(word)
    return unmatched


def _trigrams(word: str) -> set[str]:
    padded = f"  {word} "  # as pg_trgm pads a word
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def trigram_similarity(a: str, b: str) -> float:
    """pg_trgm's similarity(a, b) for single words: shared trigrams over all trigrams."""
    first, second = _trigrams(a), _trigrams(b)
    return len(first & second) / len(first | second)


# SQLite: the vocabulary words sharing the most (and rarest) trigrams with the typed word, by bm25;
# the closest of these by pg_trgm's similarity, computed in Python.
SQLITE_CANDIDATES = 50


def _sqlite_closest(cursor, word: str) -> str | None:
    grams = sorted({word[i : i + 3] for i in range(len(word) - 2)})
    cursor.execute(
        "SELECT w.word, w.document_count FROM partners_searchword_trigram t "
        "JOIN partners_searchword w ON w.word = t.word "
        "WHERE partners_searchword_trigram MATCH %s ORDER BY t.rank LIMIT %s",
        [" OR ".join(f'"{gram}"' for gram in grams), SQLITE_CANDIDATES],
    )
    scored = [
        (trigram_similarity(word, candidate), count, candidate) for candidate, count in cursor.fetchall()
    ]
    scored = [row for row in scored if row[0] >= MIN_SIMILARITY]
    if not scored:
        return None
    return min(scored, key=lambda row: (-row[0], -row[1], row[2]))[2]


# PostgreSQL: every correctable word in one statement. A word that matches no service, even as a
# prefix, gets the closest word of the vocabulary. The % operator uses the trigram GIN index with the
# threshold of pg_trgm.similarity_threshold; set_config(..., true) lasts until the end of the
# transaction, which in autocommit is this statement: the threshold is set and used in one transaction.
# It is set in an uncorrelated subquery of a constant condition, which PostgreSQL runs once, before
# reading any row (an InitPlan under a one-time filter). similarity() >= MIN_SIMILARITY repeats the
# rule so that the answer never depends on that order, only the index's work does. (similarity()
# alone cannot use the index: 35-66 ms on the bench's 21 000 words, against 0.3-1 ms.)
POSTGRESQL_CORRECTIONS = """
SELECT typed.word, (
    SELECT vocabulary.word FROM partners_searchword vocabulary
    WHERE vocabulary.word %% typed.word AND similarity(vocabulary.word, typed.word) >= %s
    ORDER BY similarity(vocabulary.word, typed.word) DESC, vocabulary.document_count DESC, vocabulary.word
    LIMIT 1
)
FROM unnest(%s::text[], %s::text[]) AS typed(word, prefix_query)
WHERE (SELECT set_config('pg_trgm.similarity_threshold', %s, true)) IS NOT NULL
AND NOT EXISTS (
    SELECT 1 FROM partners_service
    WHERE search_vector @@ to_tsquery('french_unaccent', typed.prefix_query)
)
"""


def _postgresql_corrections(words: list[str]) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            POSTGRESQL_CORRECTIONS,
            [MIN_SIMILARITY, words, [f"'{word}':*" for word in words], str(MIN_SIMILARITY)],
        )
        return {word: closest for word, closest in cursor.fetchall() if closest and closest != word}


def _corrections(terms: list[Term]) -> dict[str, str]:
    """Each word that matches no service, mapped to the closest word of the vocabulary."""
    if connection.vendor == "postgresql":
        words = _correctable_words(terms)
        return _postgresql_corrections(words) if words else {}
    corrections = {}
    unmatched = _unmatched_words(terms)
    if unmatched:
        with connection.cursor() as cursor:
            for word in unmatched:
                closest = _sqlite_closest(cursor, word)
                if closest and closest != word:
                    corrections[word] = closest
    return corrections


def _ordering(params: SearchParams, ranked: bool) -> list[tuple[str, bool]]:
    """The results' order, as (column, descending) pairs: relevance (when ranked), then distance and
    freshness (or the other way round), then name and id. Never-verified services come last."""
    by_distance = [("distance_km", False)] if params.has_place else []
    by_freshness = [("verified_on", True)]
    main = (
        (by_freshness + by_distance)
        if params.order == SearchOrder.FRESHNESS
        else (by_distance + by_freshness)
    )
    return ([("rank", True)] if ranked else []) + main + [("name", False), ("id", False)]


def _order(queryset: QuerySet, params: SearchParams, ranked: bool, count: int | None = None) -> QuerySet:
    """``queryset`` in the results' order. ``count``: how many it holds, when known (see
    ORDER_SCAN_MIN_MATCHES)."""
    # PostgreSQL reads a page of few matches in the freshness index's order too, checking each service
    # against the filters: "à distance + arabe" (744 of 150 000) read 3 400 services and probed the
    # language list for each, 22 ms, where looking the matches up and sorting them took 12. An
    # expression that is not the index's (a date plus 0 days: the same date) leaves it the lists.
    freshness = F("verified_on")
    if connection.vendor == "postgresql" and count is not None and count < ORDER_SCAN_MIN_MATCHES:
        freshness = Func(
            freshness, Value(0), arg_joiner=" + ", template="(%(expressions)s)", output_field=DateField()
        )
    ordering = []
    for column, descending in _ordering(params, ranked):
        expression = freshness if column == "verified_on" else F(column)
        if column == "rank":
            ordering.append("-rank")  # a string: on SQLite, rank is an extra() column, which F() cannot see
        elif descending:
            ordering.append(expression.desc(nulls_last=True))
        else:
            ordering.append(expression.asc())
    # Without rank or place, this is service_active_freshness_idx's order (migration 0004).
    return queryset.order_by(*ordering)


def _page_and_count(
    matched: QuerySet,
    ranked_if_few: QuerySet | None,
    params: SearchParams,
    page: int,
    per_page: int,
    within: Callable[[float], QuerySet],
    terms: list[Term] | None = None,
) -> tuple[list[Service], int]:
    """One page of the matches and how many there are (at most RESULT_CAP), in one statement, or two
    past the cap. ``within(radius)``: ``matched`` in a smaller circle around the same place.

    With a place, the matches are read once: counted in the same pass (count(*) OVER ()), which spares
    a separate COUNT. The first RESULT_CAP matches found are taken, in no order, so that the database
    stops reading there; if they are all the matches, the page is ranked by relevance
    (``ranked_if_few``, with its ``rank`` column) or sorted as asked. Past the cap, the page comes by
    distance (as the capped search always did; or freshness first if asked, when the RESULT_CAP
    freshest are read, in order) but those first matches found are only a sample of them: the nth
    nearest of the sample (n = the page's last position) is no nearer than the nth nearest match, so
    the page is read again, exactly, within that distance — a small circle where matches are dense
    (around Paris, 50 km: 5 000 matches read instead of 13 600, then ~60).
    Returns no rows past the last page; the count is then counted apart (rare: a stale page link).
    On PostgreSQL the rank is computed outside the capped read, from ``terms``, and only when the
    matches are few: the capped read ranked 5 000 rows for nothing ("accompagnement, Paris 50 km":
    the statement ~40 -> ~31 ms on the bench copy), and ranking each of a few hundred matches by its
    id costs about what ranking it in the read did.
    """
    rank_later = connection.vendor == "postgresql" and ranked_if_few is not None
    # Sorted by freshness first, the capped page is the sample's: the freshest RESULT_CAP, read in order.
    nearest_first = _ordering(params, ranked=False)[0][0] == "distance_km"
    inner = matched if rank_later or ranked_if_few is None else ranked_if_few
    inner = inner.order_by() if nearest_first else _order(inner, params, ranked=False)
    try:
        sql, sql_params = inner[:RESULT_CAP].query.sql_with_params()
    except EmptyResultSet:  # a filter that nothing can meet (no partners at all): no statement
        return [], 0
    order = []
    for column, descending in _ordering(params, ranked=ranked_if_few is not None):
        if column == "rank" and rank_later:  # already null when capped (and computed once)
            order.append('"rank" DESC')
        elif column == "rank":  # relevance only when the matches were not capped
            order.append(f'CASE WHEN "full_count" < {RESULT_CAP} THEN "rank" END DESC')
        elif descending:  # NULLS LAST, in a syntax both backends read
            order.append(f'"{column}" IS NULL, "{column}" DESC')
        else:
            order.append(f'"{column}"')
    rank, rank_params = "", ()
    if rank_later:  # a scalar subquery under CASE: not run at all when the matches were capped
        rank_sql, rank_params = _postgresql_rank(terms)
        rank = (
            f', CASE WHEN "full_count" < {RESULT_CAP} THEN (SELECT {rank_sql} FROM partners_service '
            'WHERE partners_service.id = counted.id) END AS "rank"'
        )
    rows = list(
        Service.objects.raw(
            f"SELECT * FROM (SELECT counted.*{rank} FROM (SELECT matches.*, COUNT(*) OVER () AS full_count "
            f"FROM ({sql}) matches) counted) ranked ORDER BY {', '.join(order)} LIMIT %s OFFSET %s",
            (*rank_params, *sql_params, per_page, (page - 1) * per_page),
        )
    )
    if not rows:
        return rows, (_capped_count(matched) if page > 1 else 0)
    count = rows[0].full_count
    if count >= RESULT_CAP and nearest_first:
        # The circle padded by a thousandth (and a millimetre): the same rows however the bounding box
        # and the distance round at its edge; the ordering and the LIMIT keep the page exact.
        nearest = _order(within(rows[-1].distance_km * 1.001 + 1e-6), params, ranked=False)
        offset = (page - 1) * per_page
        rows = list(nearest[offset : offset + len(rows)])
    return rows, count


def _capped_count(queryset: QuerySet) -> int:
    """How many services match, counting no further than RESULT_CAP (a LIMITed subquery)."""
    return queryset.order_by()[:RESULT_CAP].count()


# From this many matches, an unranked page reads the services in the freshness index's order and
# checks each against the filters and words (the first page stops after ~20 x services / matches rows),
# rather than looking every match up and sorting them all (87 000 for "accompagnement" at 150 000
# services); under it, the other way round. Each backend's planner needs telling one of the two:
# SQLite always starts from the lists (see _sqlite_probe_only), PostgreSQL from the index (see _order).
ORDER_SCAN_MIN_MATCHES = 1000


def _sqlite_probe_only(params: SearchParams, count: int | None = None) -> bool:
    """Whether SQLite should check the IN lists (filters, full-text matches) row by row rather than
    start from them (``id IN (...)``: a primary key look-up per match, which its planner always
    prefers, then a sort of them all). The partners of the worker's conventions (a few dozen ids)
    start when given; else the bounding box of a place (coordinates index); else, past
    ORDER_SCAN_MIN_MATCHES (``count``, known once counted), the freshness index in order."""
    if connection.vendor != "sqlite":
        return False
    return (
        params.partner_ids is not None
        or params.has_place
        or (count is not None and count >= ORDER_SCAN_MIN_MATCHES)
    )


def search_services(params: SearchParams, page: int | None = None, per_page: int = 20) -> SearchOutcome:
    """The matching services, ordered, and how many there are; the queryset is lazy (paginate it).

    Given a ``page`` (from 1) and a place, the page's services come in the same statement as the count,
    as ``page_rows`` (see _page_and_count); the queryset is then only there to be sliced by a paginator.
    """
    words = params.words
    probe_only = _sqlite_probe_only(params)
    queryset = _filtered(params, probe_only=probe_only).only(*LISTED_FIELDS)
    terms = query_terms(words) if words else []
    # Past RESULT_CAP there is no page to read (the count stops there): counted apart, as without a place.
    one_statement = page is not None and params.has_place and (page - 1) * per_page < RESULT_CAP
    page_rows = None

    def within(radius_km: float) -> QuerySet:  # the same filters, in a smaller circle
        return _filtered(replace(params, radius_km=radius_km), probe_only=probe_only).only(*LISTED_FIELDS)

    if not terms:  # no words, or only stop words ("de la")
        if one_statement:
            page_rows, count = _page_and_count(queryset, None, params, page, per_page, within)
        else:
            count = _capped_count(queryset)
            if not probe_only and _sqlite_probe_only(params, count):
                queryset = _filtered(params, probe_only=True).only(*LISTED_FIELDS)
        return SearchOutcome(
            _order(queryset, params, ranked=False, count=count), count=count, words=words, page_rows=page_rows
        )

    def run(terms: list[Term]) -> tuple[QuerySet, QuerySet | None, list[Service] | None, int]:
        matched = _match(queryset, terms, probe_only=probe_only)
        if not one_statement:
            return matched, None, None, _capped_count(matched)
        rankable = _match_and_rank(queryset, terms) if params.order == SearchOrder.RELEVANCE else None

        def nearer(radius_km: float) -> QuerySet:
            return _match(within(radius_km), terms, probe_only=probe_only)

        return matched, rankable, *_page_and_count(matched, rankable, params, page, per_page, nearer, terms)

    matched, rankable, page_rows, count = run(terms)
    corrections = {}
    if count == 0:
        corrections = _corrections(terms)
        if corrections:
            terms = query_terms([corrections.get(word, word) for word in words])
            matched, rankable, page_rows, count = run(terms)
    # Ranking is the costly part: only when the worker sorts by relevance and the matches are few enough.
    ranked = count < RESULT_CAP and params.order == SearchOrder.RELEVANCE
    if ranked:
        matched = rankable if rankable is not None else _match_and_rank(queryset, terms)
    elif not probe_only and _sqlite_probe_only(params, count):
        matched = _match(_filtered(params, probe_only=True).only(*LISTED_FIELDS), terms, probe_only=True)
    return SearchOutcome(
        _order(matched, params, ranked=ranked, count=count),
        count=count,
        words=words,
        corrections=corrections,
        ranked=ranked,
        page_rows=page_rows,
    )
