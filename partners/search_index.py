"""Keeps the full-text index of the directory in step with the data.

One interface, two backends: on PostgreSQL the stored ``Service.search_vector`` (weighted: names A,
thématiques B, description C), the service's thématique ids ``domain_ids`` that routing reads, and
the ``SearchWord`` vocabulary used for typo correction; on SQLite
the FTS5 table ``partners_service_fts`` of stemmed text (``partners.text.stemmed``, the Snowball
French stemmer PostgreSQL uses, registered as the SQL function ``reseau_stemmed``) and the same
``SearchWord`` vocabulary, searched through the trigram FTS5 table ``partners_searchword_trigram``.
Called on every write (see partners.signals), after imports,
and by ``manage.py rebuild_search_index``.
"""

from collections import Counter
from collections.abc import Iterable

from django.db import connection, transaction

from .text import normalize, stemmed

BATCH_SIZE = 500

_DOMAIN_LABELS_SQL = """
    SELECT {concat}
    FROM partners_service_domains sd
    JOIN partners_domain d ON d.id = sd.domain_id
    LEFT JOIN partners_domain p ON p.id = d.parent_id
    WHERE sd.service_id = s.id
"""

_PG_VECTOR = f"""
    setweight(to_tsvector('french_unaccent', coalesce(s.name, '') || ' ' || coalesce(o.name, '')), 'A')
    || setweight(to_tsvector('french_unaccent', coalesce(({_DOMAIN_LABELS_SQL.format(concat="string_agg(d.label || ' ' || coalesce(p.label, ''), ' ')")}), '')), 'B')
    || setweight(to_tsvector('french_unaccent', coalesce(s.description, '')), 'C')
"""
# Each service's thématique ids, in order (PostgreSQL: the column ``domain_ids``, migration 0020): what
# routing reads instead of the link table (referrals.routing_data). Kept here, in step with the vector
# that also reads the service's thématiques, so that every path that re-indexes a service refreshes both.
_PG_DOMAIN_IDS = """
    ARRAY(SELECT sd.domain_id FROM partners_service_domains sd WHERE sd.service_id = s.id ORDER BY sd.domain_id)
"""
# Rows whose vector is already right are not rewritten: a full rebuild after an import would
# otherwise leave a dead copy of every row behind (37 % table bloat measured by make bench).
# Each vector is computed once (MATERIALIZED: inlined, the planner would compute it for the SET and
# again for the comparison; the vectors were most of an import's server time). {where}: "" or
# "WHERE s.id IN (…)", on the services read.
_PG_UPDATE = f"""
    WITH vectors AS MATERIALIZED (
        SELECT s.id, {_PG_VECTOR} AS vector, {_PG_DOMAIN_IDS} AS domain_ids
        FROM partners_service AS s JOIN partners_organisation AS o ON o.id = s.organisation_id{{where}}
    )
    UPDATE partners_service AS s SET search_vector = vectors.vector, domain_ids = vectors.domain_ids
    FROM vectors
    WHERE s.id = vectors.id
        AND (s.search_vector IS DISTINCT FROM vectors.vector OR s.domain_ids IS DISTINCT FROM vectors.domain_ids)
"""

# Unstemmed, accent-free words of the directory: what typo correction proposes.
_PG_VOCABULARY_DOCUMENTS = (
    "SELECT to_tsvector('simple', unaccent(coalesce(s.name, '') || ' ' || coalesce(o.name, '') || ' ' "
    "|| coalesce(s.description, ''))) FROM partners_service s "
    "JOIN partners_organisation o ON o.id = s.organisation_id{where} "
    "UNION ALL SELECT to_tsvector('simple', unaccent(label)) FROM partners_domain"
)
_PG_VOCABULARY_INSERT = """
    INSERT INTO partners_searchword (word, document_count)
    SELECT word, ndoc FROM ts_stat(%s) WHERE length(word) BETWEEN 3 AND 100 AND word !~ '^[0-9]+$'
    ON CONFLICT (word) DO UPDATE SET document_count = EXCLUDED.document_count
    WHERE partners_searchword.document_count < EXCLUDED.document_count
"""

_SQLITE_DOMAIN_LABELS = _DOMAIN_LABELS_SQL.format(
    concat="group_concat(d.label || ' ' || coalesce(p.label, ''), ' ')"
)
_SQLITE_INSERT = f"""
    INSERT INTO partners_service_fts (rowid, name, organisation, domains, description)
    SELECT s.id, reseau_stemmed(s.name), reseau_stemmed(o.name),
           reseau_stemmed(({_SQLITE_DOMAIN_LABELS})), reseau_stemmed(s.description)
    FROM partners_service s JOIN partners_organisation o ON o.id = s.organisation_id
"""
# The vocabulary (SQLite): the same words as PostgreSQL's ts_stat, counted in Python.
_SQLITE_TEXTS = """
    SELECT coalesce(s.name, '') || ' ' || coalesce(o.name, '') || ' ' || coalesce(s.description, '')
    FROM partners_service s JOIN partners_organisation o ON o.id = s.organisation_id
"""
_SQLITE_VOCABULARY_UPSERT = """
    INSERT INTO partners_searchword (word, document_count) VALUES (%s, %s)
    ON CONFLICT (word) DO UPDATE SET document_count = max(document_count, excluded.document_count)
"""
MIN_WORD_LENGTH, MAX_WORD_LENGTH = 3, 100


def register_sqlite_functions(sender=None, connection=None, **kwargs):
    """``reseau_stemmed(text)`` on every new SQLite connection (connection_created signal)."""
    if connection is not None and connection.vendor == "sqlite":
        connection.connection.create_function("reseau_stemmed", 1, stemmed, deterministic=True)


def _document_words(text: str) -> set[str]:
    return {
        word
        for word in normalize(text).split()
        if MIN_WORD_LENGTH <= len(word) <= MAX_WORD_LENGTH and not word.isdigit()
    }


def _sqlite_vocabulary_add(cursor, where: str = "", params=()) -> None:
    counts = Counter()
    cursor.execute(_SQLITE_TEXTS + where, params)
    for (text,) in cursor.fetchall():
        counts.update(_document_words(text))
    if where == "":  # the whole directory: the thématiques' own words too, as on PostgreSQL
        cursor.execute("SELECT label FROM partners_domain")
        for (label,) in cursor.fetchall():
            counts.update(_document_words(label))
    cursor.executemany(_SQLITE_VOCABULARY_UPSERT, sorted(counts.items()))


def _batches(ids: list[int]):
    for start in range(0, len(ids), BATCH_SIZE):
        yield ids[start : start + BATCH_SIZE]


def index_services(service_ids: Iterable[int]) -> None:
    """Re-index these services (after a write to them, their organisation or their thématiques)."""
    ids = sorted({int(pk) for pk in service_ids})
    if not ids:
        return
    with transaction.atomic(), connection.cursor() as cursor:
        for batch in _batches(ids):
            placeholders = ", ".join(["%s"] * len(batch))
            if connection.vendor == "postgresql":
                cursor.execute(_PG_UPDATE.format(where=f" WHERE s.id IN ({placeholders})"), batch)
                # New words join the vocabulary at once; a full refresh also drops words that are gone.
                id_list = ", ".join(
                    str(pk) for pk in batch
                )  # integers only: safe to inline in ts_stat's query
                documents = _PG_VOCABULARY_DOCUMENTS.format(where=f" WHERE s.id IN ({id_list})")
                cursor.execute(_PG_VOCABULARY_INSERT, [documents])
            else:
                cursor.execute(f"DELETE FROM partners_service_fts WHERE rowid IN ({placeholders})", batch)
                cursor.execute(f"{_SQLITE_INSERT} WHERE s.id IN ({placeholders})", batch)
                _sqlite_vocabulary_add(cursor, f" WHERE s.id IN ({placeholders})", batch)


def unindex_services(service_ids: Iterable[int]) -> None:
    ids = sorted({int(pk) for pk in service_ids})
    if ids and connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            for batch in _batches(ids):
                placeholders = ", ".join(["%s"] * len(batch))
                cursor.execute(f"DELETE FROM partners_service_fts WHERE rowid IN ({placeholders})", batch)


@transaction.atomic
def rebuild_search_index() -> None:
    """Re-index the whole directory and rebuild the vocabulary (after imports, or to repair)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_PG_UPDATE.format(where=""))
            refresh_vocabulary()
        else:
            cursor.execute("DELETE FROM partners_service_fts")
            cursor.execute(_SQLITE_INSERT)
            refresh_vocabulary()


def refresh_vocabulary() -> None:
    """Rebuild the typo-correction vocabulary from scratch."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM partners_searchword")
        if connection.vendor == "sqlite":
            cursor.execute("DELETE FROM partners_searchword_trigram")
        if connection.vendor == "postgresql":
            cursor.execute(_PG_VOCABULARY_INSERT, [_PG_VOCABULARY_DOCUMENTS.format(where="")])
        else:
            _sqlite_vocabulary_add(cursor)
