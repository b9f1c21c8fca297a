"""Few or many matches (issue 14): a page of many is read in the freshness index's order, a page of
few from the filters' lists, on both backends (search.ORDER_SCAN_MIN_MATCHES); either way the same
services in the same order."""

import datetime

import pytest
from django.db import connection

from partners import search
from partners.enums import SearchOrder
from partners.search import SearchParams, search_services
from tests.factories import DomainFactory, ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def health():
    health = DomainFactory(code="sante", label="Santé")
    for number in range(8):  # unverified ones (NULL) last, ties broken by name then id
        verified_on = datetime.date(2026, 1 + number % 3, 1) if number % 4 else None
        ServiceFactory(name=f"Consultation {number % 2}", domains=[health], verified_on=verified_on)
    ServiceFactory(name="Ailleurs", verified_on=datetime.date(2026, 6, 1))
    return health


@pytest.mark.parametrize(
    "params",
    [
        {"domain_ids": "health"},
        {"text": "consultation", "order": SearchOrder.FRESHNESS},
        {"domain_ids": "health", "hide_full": True},
    ],
)
def test_few_or_many_the_same_services_in_the_same_order(health, monkeypatch, params):
    params = SearchParams(
        **{key: (health.pk,) if value == "health" else value for key, value in params.items()}
    )
    monkeypatch.setattr(search, "ORDER_SCAN_MIN_MATCHES", 10**9)
    as_few = [service.pk for service in search_services(params).queryset]
    monkeypatch.setattr(search, "ORDER_SCAN_MIN_MATCHES", 1)
    as_many = [service.pk for service in search_services(params).queryset]
    assert as_few == as_many and len(as_few) >= 6


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plan")
@pytest.mark.parametrize(("threshold", "index_order"), [(10**9, False), (1, True)])
def test_postgresql_reads_few_matches_from_the_lists_and_many_in_index_order(
    health, monkeypatch, threshold, index_order
):
    monkeypatch.setattr(search, "ORDER_SCAN_MIN_MATCHES", threshold)
    sql, sql_params = (
        search_services(SearchParams(domain_ids=(health.pk,))).queryset[:20].query.sql_with_params()
    )
    with connection.cursor() as cursor:
        # A few rows, no statistics: make any plan that can avoid sorting look cheapest.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(f"EXPLAIN {sql}", sql_params)
        steps = "\n".join(row[0] for row in cursor.fetchall())
    # In index order, no sort; from the lists, every match sorted (the index cannot give that order).
    assert ("service_active_freshness_idx" in steps and "Sort" not in steps) == index_order, steps
