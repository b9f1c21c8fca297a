"""PostgreSQL: the access-mode and language link tables by (value, service), as 0015 did for thématiques
and publics: "accueil à distance" and "parle arabe" are read from the index alone (index-only scans)
instead of visiting the link rows that Django's (value) index points to. Measured with
scripts/bench_search.py, "à distance + arabe" in the whole country: its count 27.7 -> 9.2 ms.
(SQLite has the same indexes since 0016.)
"""

import importlib
from functools import partial

from django.db import migrations

# Added and dropped as migration 0015 adds and drops its own.
covering = importlib.import_module("partners.migrations.0015_search_covering_indexes")

POSTGRESQL_INDEXES = {
    "service_access_modes_mode_service_pg": "partners_service_access_modes (accessmode_id, service_id)",
    "service_languages_language_service_pg": "partners_service_languages (language_id, service_id)",
}


class Migration(migrations.Migration):
    dependencies = [("partners", "0017_partnerships_version")]

    operations = [
        migrations.RunPython(
            partial(covering.create_indexes, indexes=POSTGRESQL_INDEXES),
            partial(covering.drop_indexes, indexes=POSTGRESQL_INDEXES),
        )
    ]
