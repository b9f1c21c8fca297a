"""Keeps the full-text index of the directory in step with the data.

One interface, two backends: on PostgreSQL the stored ``Service.search_vector`` (weighted: names A,
thématiques B, description C) and the ``SearchWord`` vocabulary used for typo correction; on SQLite
the FTS5 table ``partners_service_fts``. Called on every write (see partners.signals), after imports,
and by ``manage.py rebuild_search_index``.
"""

from collections.abc import Iterable

from django.db import connection, transaction

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
# Rows whose vector is already right are not rewritten: a full rebuild after an import would
# otherwise leave a dead copy of every row behind (37 % table bloat measured by make bench).
_PG_UPDATE = f"""
    UPDATE partners_service AS s SET search_vector = {_PG_VECTOR}
    FROM partners_organisation AS o
    WHERE o.id = s.organisation_id AND s.search_vector IS DISTINCT FROM ({_PG_VECTOR})
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
    ON CONFLICT (word) DO UPDATE SET document_count = GREATEST(partners_searchword.document_count, EXCLUDED.document_count)
"""

_SQLITE_INSERT = f"""
    INSERT INTO partners_service_fts (rowid, name, organisation, domains, description)
    SELECT s.id, s.name, o.name,
           coalesce(({_DOMAIN_LABELS_SQL.format(concat="group_concat(d.label || ' ' || coalesce(p.label, ''), ' ')")}), ''),
           s.description
    FROM partners_service s JOIN partners_organisation o ON o.id = s.organisation_id
"""


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
                cursor.execute(f"{_PG_UPDATE} AND s.id IN ({placeholders})", batch)
                # New words join the vocabulary at once; a full refresh also drops words that are gone.
                id_list = ", ".join(
                    str(pk) for pk in batch
                )  # integers only: safe to inline in ts_stat's query
                documents = _PG_VOCABULARY_DOCUMENTS.format(where=f" WHERE s.id IN ({id_list})")
                cursor.execute(_PG_VOCABULARY_INSERT, [documents])
            else:
                cursor.execute(f"DELETE FROM partners_service_fts WHERE rowid IN ({placeholders})", batch)
                cursor.execute(f"{_SQLITE_INSERT} WHERE s.id IN ({placeholders})", batch)


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
            cursor.execute(_PG_UPDATE)
            refresh_vocabulary()
        else:
            cursor.execute("DELETE FROM partners_service_fts")
            cursor.execute(_SQLITE_INSERT)


def refresh_vocabulary() -> None:
    """Rebuild the typo-correction vocabulary from scratch (PostgreSQL only)."""
    if connection.vendor != "postgresql":
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM partners_searchword")
        cursor.execute(_PG_VOCABULARY_INSERT, [_PG_VOCABULARY_DOCUMENTS.format(where="")])
