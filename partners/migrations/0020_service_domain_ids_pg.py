"""PostgreSQL only: each service's thématique ids as an array, for routing (referrals.routing_data).

``partners_service.domain_ids`` (bigint[], not a model field) copies the service's rows of the link
table ``partners_service_domains``; ``partners.search_index`` keeps it in step with them, with the
search vector, on every write path (see partners.signals) and after bulk imports. The routing query
then reads the services of its bounding box from ``service_active_box_routing_pg`` alone: no join
with the 84 000 link rows of five thématiques, no aggregate by service (scripts/bench_search.py,
Paris 50 km, 12 500 candidates: the query ~55 -> ~33 ms, best runs).

SQLite keeps the join (referrals.routing_data): it has no arrays, and its index 0019 already serves it.
"""

from django.db import migrations

INDEX = "service_active_box_routing_pg"

# The rows already there, as partners.search_index._PG_DOMAIN_IDS computes them afterwards.
_CREATE = [
    "ALTER TABLE partners_service ADD COLUMN IF NOT EXISTS domain_ids bigint[] NOT NULL DEFAULT '{}'",
    """UPDATE partners_service AS s SET domain_ids = ARRAY(
        SELECT sd.domain_id FROM partners_service_domains AS sd WHERE sd.service_id = s.id ORDER BY sd.domain_id
    ) WHERE EXISTS (SELECT 1 FROM partners_service_domains AS sd WHERE sd.service_id = s.id)""",
    f"CREATE INDEX IF NOT EXISTS {INDEX} ON partners_service (latitude, longitude) "
    "INCLUDE (id, capacity_status, verified_on, domain_ids) WHERE is_active",
]
_DROP = [f"DROP INDEX IF EXISTS {INDEX}", "ALTER TABLE partners_service DROP COLUMN IF EXISTS domain_ids"]


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in _CREATE:
            schema_editor.execute(statement)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in _DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("partners", "0019_sqlite_routing_box_index")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
