"""SQLite's routing plan at national scale (issue 14): from the bounding box, read from one index.

Without statistics, SQLite's plan depends on the schema and the SQL only: this small directory gets
the plan of 150 000 services.
"""

import importlib

import pytest
from django.db import connection

from tests.referrals.routing_statement import candidate_statement

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite-only plan"),
]

migration = importlib.import_module("partners.migrations.0019_sqlite_routing_box_index")


def test_the_routing_index_exists():
    # A table rebuild (SQLite's AlterField) recreates only the indexes the model declares.
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        assert migration.NAME in {row[0] for row in cursor.fetchall()}


def test_routing_starts_from_the_box_and_reads_no_service_row():
    sql = candidate_statement()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        steps = [row[-1] for row in cursor.fetchall()]
    reads = [step for step in steps if step.startswith(("SEARCH", "SCAN partners"))]
    # The services of the box first (not every service of the thématiques in France), then their
    # thématiques, both from an index alone.
    assert reads[0].startswith(f"SEARCH partners_service USING COVERING INDEX {migration.NAME} "), steps
    assert reads[1].startswith("SEARCH partners_service_domains USING COVERING INDEX"), steps
    assert len(reads) == 2, steps
