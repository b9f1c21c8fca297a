"""Indexes for the search's two cheap paths (measured by ``make bench``).

- Active services' coordinates, covering id and capacity (PostgreSQL INCLUDE): the bounding box
  is answered from the index alone.
- Active services in the search's unranked order (freshness, name, id): filter-only searches and
  very broad words read it in order and stop at the first page instead of sorting every match.
  SQLite has no NULLS LAST in an index, but sorts NULL first ascending, so DESC gives the same order.
"""

from django.db import migrations, models

FRESHNESS_INDEX = {
    "postgresql": 'CREATE INDEX IF NOT EXISTS service_active_freshness_idx ON partners_service '
    '(verified_on DESC NULLS LAST, name, id) WHERE is_active',
    "sqlite": "CREATE INDEX IF NOT EXISTS service_active_freshness_idx ON partners_service "
    "(verified_on DESC, name, id) WHERE is_active",
}


def create_freshness_index(apps, schema_editor):
    statement = FRESHNESS_INDEX.get(schema_editor.connection.vendor)
    if statement:
        schema_editor.execute(statement)


def drop_freshness_index(apps, schema_editor):
    schema_editor.execute("DROP INDEX IF EXISTS service_active_freshness_idx")


class Migration(migrations.Migration):
    dependencies = [("partners", "0003_search_backends")]

    operations = [
        migrations.RemoveIndex(model_name="service", name="service_coordinates_idx"),
        migrations.RemoveIndex(model_name="service", name="service_verified_on_idx"),
        migrations.AddIndex(
            model_name="service",
            index=models.Index(
                condition=models.Q(("is_active", True)),
                fields=["latitude", "longitude"],
                include=("id", "capacity_status"),
                name="service_active_coordinates_idx",
            ),
        ),
        migrations.RunPython(create_freshness_index, drop_freshness_index),
    ]
