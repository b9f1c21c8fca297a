"""The embedded default's connection settings (issue 14: search at 150 000 services on SQLite)."""

import pytest
from django.conf import settings
from django.db import connection
from django.db.backends.sqlite3.base import DatabaseWrapper

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite-only settings")


def test_a_new_connection_gets_the_read_speed_pragmas(tmp_path, django_db_blocker):
    # A file database (the test database lives in memory, where WAL and mmap do not apply).
    wrapper = DatabaseWrapper(
        {**connection.settings_dict, "NAME": str(tmp_path / "reseau.sqlite3")}, "pragmas"
    )
    try:
        with django_db_blocker.unblock(), wrapper.cursor() as cursor:
            values = {}
            for pragma in ("journal_mode", "mmap_size", "cache_size", "temp_store"):
                cursor.execute(f"PRAGMA {pragma}")
                values[pragma] = cursor.fetchone()[0]
    finally:
        wrapper.close()
    assert values == {"journal_mode": "wal", "mmap_size": 268435456, "cache_size": -65536, "temp_store": 2}
    assert wrapper.transaction_mode == "IMMEDIATE"  # kept: writers queue instead of failing


def test_connections_persist_across_requests():
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] > 0
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True
