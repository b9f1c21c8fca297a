"""PostgreSQL: the access-mode and language link tables by (value, service), as 0015 did for thématiques
and publics: "accueil à distance" and "parle arabe" are read from the index alone (index-only scans)
instead of visiting the link rows that Django's (value) index points to. Measured with
scripts/bench_search.py, "à distance + arabe" in the whole country: its count 27.7 -> 9.2 ms.
(SQLite has the same indexes since 0016.)
"""

from django.db import migrations

POSTGRESQL_INDEXES = {
    "service_access_modes_mode_service_pg": "partners_service_access_modes (accessmode_id, service_id)",
    "service_languages_language_service_pg": "partners_service_languages (language_id, service_id)",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, definition in POSTGRESQL_INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in POSTGRESQL_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("partners", "0017_partnerships_version")]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
