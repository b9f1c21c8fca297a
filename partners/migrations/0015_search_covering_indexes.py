"""PostgreSQL covering indexes for the search around a place (measured with scripts/bench_search.py).

- Active services' coordinates, covering every column a results page lists (LISTED_FIELDS of
  partners.search: id, name, organisation, commune, capacity, freshness): a search by place without
  words reads the bounding box, the distance and the page from the index alone, no table row.
  (service_active_coordinates_idx, declared on the model for both backends, covers fewer columns.)
- The thématique and public link tables by (value, service): "these thématiques" is read from the
  index alone, instead of the link rows Django's (service, value) and (value) indexes point to.

PostgreSQL only (INCLUDE, index-only scans); the ``_pg`` suffix keeps the names apart from the
SQLite-only indexes of other migrations.
"""

from django.db import migrations

POSTGRESQL_INDEXES = {
    "service_active_coordinates_listed_pg": "partners_service (latitude, longitude) "
    "INCLUDE (id, name, organisation_id, commune_id, capacity_status, verified_on) WHERE is_active",
    "service_domains_domain_service_pg": "partners_service_domains (domain_id, service_id)",
    "service_publics_public_service_pg": "partners_service_publics (public_id, service_id)",
}


def create_indexes(apps, schema_editor, indexes=POSTGRESQL_INDEXES):
    """Also migration 0018's (``indexes``): one way to add PostgreSQL-only indexes."""
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, definition in indexes.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")


def drop_indexes(apps, schema_editor, indexes=POSTGRESQL_INDEXES):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in indexes:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("partners", "0014_spreadsheetimport_progress_at")]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
