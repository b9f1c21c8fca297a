"""SQLite's search plans at national scale (issue 14): the indexes exist, and the planner reads them.

Without statistics (nothing runs ANALYZE on an embedded database), SQLite's plan depends on the
schema and the SQL only, not on the rows: these small directories get the plans of 150 000 services.
"""

import datetime
import importlib

import pytest
from django.db import connection

from partners import search
from partners.enums import SearchOrder
from partners.search import SearchParams, search_services
from tests.factories import DomainFactory, ServiceFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite-only plans"),
]

RENNES = (48.1119, -1.6809)
migration = importlib.import_module("partners.migrations.0016_sqlite_search_indexes")


def plan(queryset) -> list[str]:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return [row[-1] for row in cursor.fetchall()]


@pytest.fixture
def directory():
    health = DomainFactory(code="sante", label="Santé")
    housing = DomainFactory(code="logement", label="Logement")
    for number in range(6):  # unverified ones (NULL) come last, as on PostgreSQL
        verified_on = datetime.date(2026, 1 + number % 3, 1) if number % 4 else None
        ServiceFactory(name=f"Consultation {number % 2}", domains=[health], verified_on=verified_on)
    ServiceFactory(name="Accueil de nuit", domains=[housing], latitude=RENNES[0], longitude=RENNES[1])
    return {"health": health, "housing": housing}


def test_the_search_indexes_exist():
    # A table rebuild (SQLite's AlterField) recreates only the indexes the model declares: it once
    # dropped the freshness index of migration 0004 without a word.
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        indexes = {row[0] for row in cursor.fetchall()}
    assert set(migration.SQLITE_INDEXES) <= indexes
    assert "service_active_freshness_idx" in indexes


def test_a_filter_reads_its_through_table_from_the_index_alone(directory):
    steps = plan(search_services(SearchParams(domain_ids=(directory["health"].pk,))).queryset[:20])
    assert "SEARCH U0 USING COVERING INDEX service_domains_domain_service_sqlite (domain_id=?)" in steps


def test_few_matches_are_looked_up_by_id(directory):
    steps = plan(search_services(SearchParams(domain_ids=(directory["health"].pk,))).queryset[:20])
    assert steps[0] == "SEARCH partners_service USING INTEGER PRIMARY KEY (rowid=?)", steps


@pytest.mark.parametrize(
    "params",
    [
        {"domain_ids": "health"},  # filters only
        {"text": "consultation", "order": SearchOrder.FRESHNESS},  # words, unranked
        {},  # nothing: the whole directory
    ],
)
def test_a_page_of_many_matches_reads_the_freshness_index_in_order(directory, monkeypatch, params):
    monkeypatch.setattr(search, "ORDER_SCAN_MIN_MATCHES", 3)
    params = {key: (directory[value].pk,) if key == "domain_ids" else value for key, value in params.items()}
    outcome = search_services(SearchParams(**params))
    assert not outcome.ranked
    steps = plan(outcome.queryset[:20])
    assert steps[0] == "SCAN partners_service USING INDEX service_active_freshness_idx", steps
    assert not [step for step in steps if "TEMP B-TREE" in step], steps  # no sort of every match


def test_a_place_starts_from_its_bounding_box(directory):
    outcome = search_services(
        SearchParams(
            domain_ids=(directory["housing"].pk,), latitude=RENNES[0], longitude=RENNES[1], radius_km=20
        )
    )
    steps = plan(outcome.queryset[:20])
    assert steps[0].startswith("SEARCH partners_service USING INDEX service_active_coordinates_idx"), steps
    assert [service.name for service in outcome.queryset] == ["Accueil de nuit"]


def test_the_partners_list_starts_before_a_broad_filter(directory):
    partner = ServiceFactory(name="Partenaire", domains=[directory["health"]])
    outcome = search_services(
        SearchParams(domain_ids=(directory["health"].pk,), partner_ids=frozenset({partner.pk}))
    )
    steps = plan(outcome.queryset[:20])
    assert steps[0] == "SEARCH partners_service USING INTEGER PRIMARY KEY (rowid=?)", steps
    assert "LIST SUBQUERY 1" in steps  # the thématique is checked, not looked up
    assert [service.name for service in outcome.queryset] == ["Partenaire"]


@pytest.mark.parametrize(
    "params",
    [
        {"domain_ids": "health"},
        {"text": "consultation", "order": SearchOrder.FRESHNESS},
        {"text": "accueil", "latitude": RENNES[0], "longitude": RENNES[1], "radius_km": 20},
        {"domain_ids": "health", "hide_full": True},
    ],
)
def test_the_plan_changes_no_result_nor_order(directory, monkeypatch, params):
    params = {key: (directory[value].pk,) if key == "domain_ids" else value for key, value in params.items()}
    monkeypatch.setattr(search, "ORDER_SCAN_MIN_MATCHES", 10**9)
    by_lookup = [service.pk for service in search_services(SearchParams(**params)).queryset]
    monkeypatch.setattr(search, "ORDER_SCAN_MIN_MATCHES", 1)
    by_scan = [service.pk for service in search_services(SearchParams(**params)).queryset]
    assert by_scan == by_lookup and by_lookup
