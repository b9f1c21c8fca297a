"""SQLite searches like PostgreSQL: the FTS5 index is rebuilt with stemmed text (the Snowball French
stemmer, ``reseau_stemmed``), and the directory's vocabulary gets a trigram FTS5 table for typo
correction (PostgreSQL has pg_trgm). Nothing changes on PostgreSQL."""

from django.db import migrations

SQLITE_FORWARD = [
    """
    CREATE VIRTUAL TABLE IF NOT EXISTS partners_searchword_trigram USING fts5(word, tokenize = 'trigram')
    """,
    """
    CREATE TRIGGER IF NOT EXISTS partners_searchword_trigram_insert AFTER INSERT ON partners_searchword
    BEGIN INSERT INTO partners_searchword_trigram (word) VALUES (new.word); END
    """,
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS partners_searchword_trigram_insert",
    "DROP TABLE IF EXISTS partners_searchword_trigram",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for statement in SQLITE_FORWARD:
        schema_editor.execute(statement)
    from partners.search_index import rebuild_search_index

    rebuild_search_index()  # stemmed text and the vocabulary, for the rows already there


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for statement in SQLITE_BACKWARD:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("partners", "0010_search_synonyms")]

    operations = [migrations.RunPython(forward, backward)]
