"""What every page pays: one partnership load per request, reference lists not read again."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import (
    CaseFactory,
    ConventionFactory,
    DomainFactory,
    MembershipFactory,
    ServiceFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

LIST_TABLES = ("partners_domain", "partners_public", "partners_accessmode", "partners_language")


@pytest.fixture
def worker():
    worker = UserFactory(worker=True)
    convention = ConventionFactory()
    MembershipFactory(convention=convention, service=worker.service)
    food = DomainFactory(label="Aide alimentaire")
    for name in ("Épicerie solidaire", "Restaurant social"):
        MembershipFactory(convention=convention, service=ServiceFactory(name=name, domains=[food]))
    worker.food = food
    return worker


def pages(worker):
    case = CaseFactory(service=worker.service, needs=[worker.food])
    partner = MembershipFactory._meta.model.objects.exclude(service=worker.service).first().service
    return [
        reverse("home"),
        reverse("partners:search") + "?q=epicerie",
        reverse("partners:search") + "?partenaires=on&thematiques=" + str(worker.food.pk),
        reverse("partners:service_detail", args=[partner.pk]),
        reverse("referrals:case_routing", args=[case.pk]),
    ]


def test_one_partnership_load_per_page(client_for, worker):
    client = client_for(worker)
    for url in pages(worker):
        client.get(url)  # warm the session and the reference lists
        with CaptureQueriesContext(connection) as capture:
            response = client.get(url)
        assert response.status_code == 200, url
        memberships = [q for q in capture.captured_queries if "partners_conventionmembership" in q["sql"]]
        assert len(memberships) == 1, url


def test_no_page_reads_a_reference_list_once_it_is_in_memory(client_for, worker):
    client = client_for(worker)
    for url in pages(worker):
        client.get(url)
        with CaptureQueriesContext(connection) as capture:
            client.get(url)
        # The thématiques or publics of what a page shows come through a link table (a JOIN); reading
        # a list itself joins nothing.
        lists = [
            q["sql"]
            for q in capture.captured_queries
            if any(f'FROM "{table}"' in q["sql"] for table in LIST_TABLES) and " JOIN " not in q["sql"]
        ]
        assert lists == [], url
