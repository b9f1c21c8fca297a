"""Database-specific search structures.

PostgreSQL: unaccent + pg_trgm extensions, the ``french_unaccent`` text-search configuration
(unaccent chained before the French stemmer, as data·inclusion does), a GIN index on the stored
vector and a trigram index on the vocabulary. SQLite: an FTS5 table with accent folding.
"""

from django.db import migrations

POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """
    DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'french_unaccent') THEN
        CREATE TEXT SEARCH CONFIGURATION french_unaccent (COPY = french);
        ALTER TEXT SEARCH CONFIGURATION french_unaccent
          ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem;
      END IF;
    END $$
    """,
    "CREATE INDEX IF NOT EXISTS service_search_vector_gin ON partners_service USING gin (search_vector)",
    "CREATE INDEX IF NOT EXISTS searchword_word_trgm ON partners_searchword USING gin (word gin_trgm_ops)",
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS searchword_word_trgm",
    "DROP INDEX IF EXISTS service_search_vector_gin",
]

SQLITE_FORWARD = [
    """
    CREATE VIRTUAL TABLE IF NOT EXISTS partners_service_fts USING fts5(
        name, organisation, domains, description,
        tokenize = 'unicode61 remove_diacritics 2'
    )
    """,
]
SQLITE_BACKWARD = ["DROP TABLE IF EXISTS partners_service_fts"]


def run(statements_by_vendor):
    def operation(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return operation


class Migration(migrations.Migration):
    dependencies = [("partners", "0002_search")]

    operations = [
        migrations.RunPython(
            run({"postgresql": POSTGRES_FORWARD, "sqlite": SQLITE_FORWARD}),
            run({"postgresql": POSTGRES_BACKWARD, "sqlite": SQLITE_BACKWARD}),
        ),
    ]
