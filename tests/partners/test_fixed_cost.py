"""What every page pays: the partnerships and the reference lists come from the process's memory, both
checked against their version tokens in one query; every write that changes the partnerships is seen
at the next request."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from partners.enums import ConventionStatus
from partners.models import Convention, ConventionMembership, Organisation
from partners.partnerships import partnerships_changed
from tests.factories import (
    CaseFactory,
    ConventionFactory,
    DomainFactory,
    MembershipFactory,
    NetworkFactory,
    OrganisationFactory,
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


def _queries(client, url):
    with CaptureQueriesContext(connection) as capture:
        response = client.get(url)
    assert response.status_code == 200, url
    return [q["sql"] for q in capture.captured_queries]


def test_partnerships_are_read_from_memory_once_loaded(client_for, worker):
    client = client_for(worker)
    for url in pages(worker):
        client.get(url)  # warm the session, the reference lists and the partnerships
        queries = _queries(client, url)
        assert not [sql for sql in queries if "partners_conventionmembership" in sql], url
        # Both version tokens (reference lists, partnerships) in one query.
        assert len([sql for sql in queries if "partners_referencelistsversion" in sql]) == 1, url


def test_a_new_partnership_day_loads_the_partnerships_again(client_for, worker, monkeypatch):
    client = client_for(worker)
    client.get(reverse("home"))
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    monkeypatch.setattr("partners.partnerships.timezone.localdate", lambda: tomorrow)
    assert [sql for sql in _queries(client, reverse("home")) if "partners_conventionmembership" in sql]


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


# --- Every write that changes the partnerships is seen at the next request ----------------------------


def partner_names(client):
    return {service.name for service in client.get(reverse("home")).context["partners"]}


@pytest.fixture
def warm(client_for, worker):
    """The worker's client, its partnerships in memory."""
    client = client_for(worker)
    assert partner_names(client) == {"Épicerie solidaire", "Restaurant social"}
    return client


def test_a_new_membership_is_seen(warm, worker):
    convention = worker.service.memberships.get().convention
    MembershipFactory(convention=convention, service=ServiceFactory(name="Vestiaire"))
    assert "Vestiaire" in partner_names(warm)


def test_a_membership_changed_or_deleted_is_seen(warm):
    grocery = ConventionMembership.objects.get(service__name="Épicerie solidaire")
    grocery.left_on = timezone.localdate()
    grocery.save()
    assert partner_names(warm) == {"Restaurant social"}
    ConventionMembership.objects.get(service__name="Restaurant social").delete()
    assert partner_names(warm) == set()


def test_members_added_through_the_convention_are_seen(warm, worker):
    convention = worker.service.memberships.get().convention
    convention.members.add(
        ServiceFactory(name="Vestiaire"), through_defaults={"joined_on": timezone.localdate()}
    )
    assert "Vestiaire" in partner_names(warm)


def test_a_convention_changed_or_deleted_is_seen(warm, worker):
    convention = worker.service.memberships.get().convention
    convention.status = ConventionStatus.DRAFT
    convention.save()
    assert partner_names(warm) == set()
    convention.status = ConventionStatus.ACTIVE
    convention.save()
    assert partner_names(warm) == {"Épicerie solidaire", "Restaurant social"}
    Convention.objects.filter(pk=convention.pk).delete()
    assert partner_names(warm) == set()


def test_a_renamed_network_is_seen(warm, worker):
    network = worker.service.memberships.get().convention.network
    network.name = "Réseau solidarité Rennes"
    network.save()
    assert "réseau Réseau solidarité Rennes" in warm.get(reverse("home")).content.decode()


def test_a_service_deactivated_or_reactivated_is_seen(warm):
    grocery = ConventionMembership.objects.get(service__name="Épicerie solidaire").service
    grocery.is_active = False
    grocery.save()
    assert partner_names(warm) == {"Restaurant social"}
    grocery.is_active = True
    grocery.save()
    assert partner_names(warm) == {"Épicerie solidaire", "Restaurant social"}


def test_a_partner_renamed_or_moved_to_another_organisation_is_seen(warm):
    grocery = ConventionMembership.objects.get(service__name="Épicerie solidaire").service
    grocery.name = "Épicerie sociale"
    grocery.save()
    assert partner_names(warm) == {"Épicerie sociale", "Restaurant social"}
    grocery.organisation = OrganisationFactory(name="Banque alimentaire d'Ille-et-Vilaine")
    grocery.save()
    assert 'Épicerie sociale</a> <span class="muted">— Banque alimentaire d&#x27;Ille-et-Vilaine' in (
        warm.get(reverse("home")).content.decode()
    )


def test_a_renamed_organisation_is_seen_for_partners_and_the_service_itself(warm, worker):
    grocery = ConventionMembership.objects.get(service__name="Épicerie solidaire").service
    for organisation, name in (
        (grocery.organisation, "Secours solidaire"),
        (worker.service.organisation, "CCAS"),
    ):
        organisation = Organisation.objects.get(pk=organisation.pk)
        organisation.name = name
        organisation.save()
    content = warm.get(reverse("home")).content.decode()
    assert 'Épicerie solidaire</a> <span class="muted">— Secours solidaire' in content
    assert f"{worker.service.name}</a> — CCAS" in content


def test_saving_an_organisation_without_renaming_it_keeps_the_partnerships_in_memory(warm, worker):
    organisation = Organisation.objects.get(pk=worker.service.organisation_id)
    organisation.website = "https://example.org"
    organisation.save()
    assert not [sql for sql in _queries(warm, reverse("home")) if "partners_conventionmembership" in sql]


def test_saving_a_service_without_deactivating_it_keeps_the_partnerships_in_memory(warm):
    grocery = ConventionMembership.objects.get(service__name="Épicerie solidaire").service
    grocery.description = "Produits frais"
    grocery.save()
    assert not [sql for sql in _queries(warm, reverse("home")) if "partners_conventionmembership" in sql]


def test_a_bulk_update_is_seen_once_partnerships_changed_is_called(warm):
    ConventionMembership.objects.filter(service__name="Épicerie solidaire").update(
        left_on=timezone.localdate()
    )
    assert len(partner_names(warm)) == 2  # a bulk write sends no signal: still in memory
    partnerships_changed()
    assert partner_names(warm) == {"Restaurant social"}


def test_a_rolled_back_write_leaves_no_stale_partnerships(warm, worker, django_capture_on_commit_callbacks):
    from django.db import transaction

    convention = worker.service.memberships.get().convention
    with pytest.raises(RuntimeError), transaction.atomic():
        MembershipFactory(convention=convention, service=ServiceFactory(name="Vestiaire"))
        assert "Vestiaire" in partner_names(warm)
        raise RuntimeError
    assert partner_names(warm) == {"Épicerie solidaire", "Restaurant social"}


def test_another_network_is_not_shown(warm):
    MembershipFactory(
        convention=ConventionFactory(network=NetworkFactory()), service=ServiceFactory(name="Ailleurs")
    )
    assert "Ailleurs" not in partner_names(warm)
