"""PostgreSQL's copy of each service's thématique ids (``partners_service.domain_ids``, migration 0020),
which routing reads instead of the link table: in step with it after every write path.

The import paths (spreadsheets, data·inclusion), the demo loader and the listing edit by link are
checked in their own tests (``domain_ids_out_of_step``)."""

import importlib
import re

import pytest
from django.db import connection
from django.urls import reverse

from partners.search_index import rebuild_search_index
from partners.signals import search_index_paused
from tests.factories import DomainFactory, ServiceFactory, UserFactory
from tests.partners.domain_ids import domain_ids_out_of_step
from tests.referrals.routing_statement import candidate_statement

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL-only column"),
]

migration = importlib.import_module("partners.migrations.0020_service_domain_ids_pg")


def domain_ids(service):
    with connection.cursor() as cursor:
        cursor.execute("SELECT domain_ids FROM partners_service WHERE id = %s", [service.pk])
        return cursor.fetchone()[0]


def test_a_new_service_has_its_thematiques_in_order():
    first, second = DomainFactory(), DomainFactory()
    service = ServiceFactory(domains=[second, first])
    bare = ServiceFactory()

    assert domain_ids(service) == sorted([first.pk, second.pk])
    assert domain_ids(bare) == []
    assert domain_ids_out_of_step() == {}


def test_the_array_follows_the_thematiques_of_a_service():
    food, health, housing = DomainFactory(), DomainFactory(), DomainFactory()
    service = ServiceFactory(domains=[food])

    service.domains.add(health)
    assert domain_ids(service) == sorted([food.pk, health.pk])
    service.domains.remove(food)
    assert domain_ids(service) == [health.pk]
    service.domains.set([housing, food])
    assert domain_ids(service) == sorted([housing.pk, food.pk])
    service.domains.clear()
    assert domain_ids(service) == []
    assert domain_ids_out_of_step() == {}


def test_a_bulk_write_is_caught_up_by_a_rebuild():
    food = DomainFactory()
    service = ServiceFactory()
    with search_index_paused():
        service.domains.add(food)
    assert domain_ids_out_of_step() == {service.pk: ([], [food.pk])}

    rebuild_search_index()

    assert domain_ids_out_of_step() == {}


def _admin_form_data(response):
    """The change page's own values, as the browser would post them back."""
    adminform = response.context["adminform"].form
    data = {}
    for name in adminform.fields:
        value = adminform[name].value()
        if value is None:
            continue
        if isinstance(value, list | tuple):
            data[name] = [str(item) for item in value]
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        else:
            data[name] = str(value)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for form in [formset.management_form, *formset.forms]:
            for name in form.fields:
                value = form[name].value()
                if value not in (None, False):
                    data[form.add_prefix(name)] = "on" if value is True else str(value)
    return data


def test_an_admin_edit_of_the_thematiques_updates_the_array(client_for):
    food, health = DomainFactory(), DomainFactory()
    service = ServiceFactory(domains=[food])
    client = client_for(UserFactory(admin=True))
    url = reverse("admin:partners_service_change", args=[service.pk])
    data = _admin_form_data(client.get(url))
    data["domains"] = [str(health.pk)]

    response = client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    assert list(service.domains.values_list("pk", flat=True)) == [health.pk]
    assert domain_ids(service) == [health.pk]


def test_the_routing_query_reads_the_box_index_alone_not_the_link_table():
    sql = candidate_statement()
    with connection.cursor() as cursor:
        # A few rows, in a transaction (no VACUUM, so no page is known all-visible): any read costs the
        # same. Reads of the table are refused, so that only an index holding every column the query
        # names can serve it: an index-only scan is the plan, or the refused one (Seq Scan) is.
        refused = ["enable_seqscan", "enable_bitmapscan", "enable_indexscan"]
        for setting in refused:
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
        for setting in refused:
            cursor.execute(f"RESET {setting}")
    assert "partners_service_domains" not in plan, plan
    assert re.search(rf"Index Only Scan using {migration.INDEX} on partners_service\b", plan), plan
    assert "Aggregate" not in plan, plan


def test_the_migration_fills_the_array_of_the_services_already_there():
    food, health = DomainFactory(), DomainFactory()
    service, bare = ServiceFactory(domains=[health, food]), ServiceFactory()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no ALTER TABLE with pending foreign key checks
    with connection.schema_editor() as editor:
        migration.drop(None, editor)
        migration.create(None, editor)

    assert (domain_ids(service), domain_ids(bare)) == (sorted([food.pk, health.pk]), [])
    assert domain_ids_out_of_step() == {}
