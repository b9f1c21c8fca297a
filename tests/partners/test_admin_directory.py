"""The directory in the admin: administrators change everything; a coordinator changes the services (and
their organisations) of their networks' conventions, current or past members, and those they created;
the rest is read-only. Every change is kept in history with its author."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from partners.enums import CapacityStatus, LegalKind, ReferralMode
from partners.models import Organisation, Service
from tests.factories import (
    ConventionFactory,
    CoordinatorFactory,
    DomainFactory,
    MembershipFactory,
    NetworkFactory,
    ServiceFactory,
    UserFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.allow_unknown_template_variables]


@pytest.fixture
def network():
    return NetworkFactory(name="Réseau précarité")


@pytest.fixture
def coordinator(network):
    return CoordinatorFactory(networks=[network])


@pytest.fixture
def member(network):
    """A current member of one of the coordinator's conventions."""
    return MembershipFactory(
        convention=ConventionFactory(network=network), service__email="accueil@exemple.fr"
    ).service


@pytest.fixture
def former_member(network):
    today = timezone.localdate()
    return MembershipFactory(
        convention=ConventionFactory(network=network),
        joined_on=today - datetime.timedelta(days=400),
        left_on=today - datetime.timedelta(days=10),
    ).service


@pytest.fixture
def outsider():
    """A service of another network's convention."""
    return MembershipFactory(convention=ConventionFactory(), service__email="contact@ailleurs.fr").service


def service_form_data(service, **overrides):
    data = {
        "organisation": service.organisation_id,
        "name": service.name,
        "description": service.description,
        "is_active": "on" if service.is_active else "",
        "domains": [d.pk for d in service.domains.all()] or [DomainFactory().pk],
        "publics": [],
        "commune": "",
        "address": "",
        "postcode": "",
        "latitude": "",
        "longitude": "",
        "intervention_radius_km": "",
        "referral_mode": service.referral_mode,
        "referral_details": "",
        "phone": "",
        "email": service.email,
        "website": "",
        "capacity_status": service.capacity_status,
        "capacity_updated_on": service.capacity_updated_on.isoformat(),
        "verified_on": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value != ""}


def change_url(obj):
    return reverse(f"admin:partners_{obj._meta.model_name}_change", args=[obj.pk])


def test_coordinator_changes_a_current_member_and_the_change_is_kept_with_its_author(
    client_for, coordinator, member
):
    response = client_for(coordinator).post(
        change_url(member), service_form_data(member, email="nouveau@exemple.fr")
    )

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.email == "nouveau@exemple.fr"
    latest = member.history.latest()
    assert (latest.email, latest.history_user, latest.history_type) == (
        "nouveau@exemple.fr",
        coordinator,
        "~",
    )
    assert member.history.earliest().email == "accueil@exemple.fr"


def test_coordinator_changes_a_past_member(client_for, coordinator, former_member):
    response = client_for(coordinator).post(
        change_url(former_member), service_form_data(former_member, name="Renommé")
    )

    assert response.status_code == 302
    former_member.refresh_from_db()
    assert former_member.name == "Renommé"


@pytest.mark.parametrize("outside", ["another_network", "no_convention"])
def test_coordinator_sees_other_services_read_only_and_cannot_change_them(
    client_for, coordinator, outsider, outside
):
    service = outsider if outside == "another_network" else ServiceFactory(email="contact@ailleurs.fr")
    client = client_for(coordinator)

    page = client.get(change_url(service))
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert 'name="email"' not in page.content.decode()
    response = client.post(
        change_url(service), service_form_data(service, email="pirate@exemple.fr", is_active="")
    )

    assert response.status_code == 403
    service.refresh_from_db()
    assert (service.email, service.is_active) == ("contact@ailleurs.fr", True)
    assert service.history.count() == 1  # its creation only
    assert client.get(reverse("admin:partners_service_delete", args=[service.pk])).status_code == 403


def test_coordinator_changes_the_organisation_of_a_member_but_not_others(
    client_for, coordinator, member, outsider
):
    client = client_for(coordinator)
    data = {
        "name": "Nouveau nom",
        "legal_kind": LegalKind.ASSOCIATION,
        "siret": "",
        "bce_number": "",
        "website": "",
    }

    assert client.post(change_url(member.organisation), data).status_code == 302
    assert client.post(change_url(outsider.organisation), data).status_code == 403

    member.organisation.refresh_from_db()
    outsider.organisation.refresh_from_db()
    assert member.organisation.name == "Nouveau nom"
    assert outsider.organisation.name != "Nouveau nom"
    assert member.organisation.history.latest().history_user == coordinator


def test_coordinator_adds_a_service_then_completes_it_before_it_joins_a_convention(client_for, coordinator):
    """Add is kept: the author of a new service (and organisation) may change it afterwards."""
    client = client_for(coordinator)
    domain = DomainFactory()
    response = client.post(
        reverse("admin:partners_organisation_add"),
        {"name": "Association nouvelle", "legal_kind": LegalKind.ASSOCIATION},
    )
    assert response.status_code == 302
    organisation = Organisation.objects.get(name="Association nouvelle")
    data = {
        "organisation": organisation.pk,
        "name": "Permanence nouvelle",
        "is_active": "on",
        "domains": [domain.pk],
        "referral_mode": ReferralMode.PHONE,
        "capacity_status": CapacityStatus.OPEN,
        "capacity_updated_on": "2026-01-01",
    }
    assert client.post(reverse("admin:partners_service_add"), data).status_code == 302
    service = Service.objects.get(name="Permanence nouvelle")

    response = client.post(change_url(service), {**data, "email": "permanence@exemple.fr"})

    assert response.status_code == 302
    service.refresh_from_db()
    assert service.email == "permanence@exemple.fr"
    assert service.history.earliest().history_user == coordinator
    assert (
        client.post(
            change_url(organisation), {"name": "Renommée", "legal_kind": LegalKind.ASSOCIATION}
        ).status_code
        == 302
    )
    # Another coordinator did not create it and has no convention with it: read-only for them.
    other = CoordinatorFactory(networks=[NetworkFactory()])
    assert client_for(other).post(change_url(service), {**data, "email": "x@exemple.fr"}).status_code == 403


def test_editable_by_is_the_one_rule(coordinator, member, former_member, outsider):
    lone = ServiceFactory()
    administrator = UserFactory(admin=True)

    assert set(Service.objects.editable_by(coordinator)) == {member, former_member}
    assert set(Organisation.objects.editable_by(coordinator)) == {
        member.organisation,
        former_member.organisation,
    }
    assert set(Service.objects.editable_by(administrator)) == {member, former_member, outsider, lone}
    assert not Service.objects.editable_by(UserFactory(is_staff=True)).exists()
    assert not Service.objects.editable_by(UserFactory(worker=True)).exists()


def test_administrator_changes_any_service(client_for, outsider):
    response = client_for(UserFactory(admin=True)).post(
        change_url(outsider), service_form_data(outsider, email="admin@exemple.fr")
    )

    assert response.status_code == 302
    outsider.refresh_from_db()
    assert outsider.email == "admin@exemple.fr"


def test_coordinator_cannot_revert_a_read_only_service_through_its_history(client_for, coordinator, outsider):
    first = outsider.history.earliest()
    outsider.email = "correct@ailleurs.fr"
    outsider.save()
    client = client_for(coordinator)
    url = reverse("admin:partners_service_simple_history", args=[outsider.pk, first.history_id])

    assert client.get(reverse("admin:partners_service_history", args=[outsider.pk])).status_code == 200
    page = client.get(url)
    assert page.status_code == 200
    assert page.context["revert_disabled"] is True
    response = client.post(url, service_form_data(outsider, email="contact@ailleurs.fr"))

    assert response.status_code == 403
    outsider.refresh_from_db()
    assert outsider.email == "correct@ailleurs.fr"


def test_coordinator_reverts_a_member_through_its_history(client_for, coordinator, member):
    first = member.history.earliest()
    member.email = "erreur@exemple.fr"
    member.save()
    url = reverse("admin:partners_service_simple_history", args=[member.pk, first.history_id])

    response = client_for(coordinator).post(url, service_form_data(member, email="accueil@exemple.fr"))

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.email == "accueil@exemple.fr"


def test_editable_filter_lists_what_the_coordinator_may_change(client_for, coordinator, member, outsider):
    url = reverse("admin:partners_service_changelist")
    client = client_for(coordinator)

    assert list(client.get(url, {"modifiable": "oui"}).context["cl"].result_list) == [member]
    assert list(client.get(url, {"modifiable": "non"}).context["cl"].result_list) == [outsider]


def test_service_changelist_query_count_does_not_grow(
    client_for, coordinator, network, django_assert_max_num_queries
):
    client = client_for(coordinator)
    convention = ConventionFactory(network=network)
    for _ in range(3):
        MembershipFactory(convention=convention)
    url = reverse("admin:partners_service_changelist")
    with django_assert_max_num_queries(30) as few:
        assert client.get(url, {"modifiable": "oui", "reseau": network.pk}).status_code == 200
    for _ in range(20):
        MembershipFactory(convention=convention)
        ServiceFactory()
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url, {"modifiable": "oui", "reseau": network.pk})
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)
