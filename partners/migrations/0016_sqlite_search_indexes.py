"""SQLite only: the indexes the search's plans need on the embedded default (issue 14).

- ``service_active_freshness_idx`` (migration 0004) again: on SQLite, a later AlterField/AddField
  on ``partners_service`` rebuilt the table (SQLite cannot alter a column), and the rebuild only
  recreates the indexes the model declares: this raw-SQL one was silently gone, so every unranked
  search sorted all its matches instead of reading the first page in index order.
  ``tests/partners/test_sqlite_search_plans.py`` fails if a rebuild drops it again.
- The M2M filters (thématiques, publics, modes d'accueil, langues) read ``(value_id, service_id)``
  from the index alone; Django's own index on ``value_id`` holds the through row's id, not the
  service's, and each match cost a lookup in the table.

PostgreSQL has its own (``_pg``) indexes; nothing here runs there.
"""

from django.db import migrations

SQLITE_INDEXES = {
    # name: (table, columns [, WHERE])
    "service_active_freshness_idx": ("partners_service", "verified_on DESC, name, id", "is_active"),
    "service_domains_domain_service_sqlite": ("partners_service_domains", "domain_id, service_id", ""),
    "service_publics_public_service_sqlite": ("partners_service_publics", "public_id, service_id", ""),
    "service_access_modes_mode_service_sqlite": (
        "partners_service_access_modes",
        "accessmode_id, service_id",
        "",
    ),
    "service_languages_language_service_sqlite": (
        "partners_service_languages",
        "language_id, service_id",
        "",
    ),
}


def create_indexes(apps, schema_editor, indexes=SQLITE_INDEXES):
    """Also migration 0019's (``indexes``): one way to add SQLite-only indexes."""
    if schema_editor.connection.vendor != "sqlite":
        return
    for name, (table, columns, condition) in indexes.items():
        where = f" WHERE {condition}" if condition else ""
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns}){where}")


def drop_indexes(apps, schema_editor, indexes=SQLITE_INDEXES):
    if schema_editor.connection.vendor != "sqlite":
        return
    for name in indexes:
        if name != "service_active_freshness_idx":  # migration 0004's: it drops it itself
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("partners", "0015_search_covering_indexes")]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
