import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import (
    ConventionFactory,
    CoordinatorFactory,
    MembershipFactory,
    NetworkFactory,
    ServiceFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def make_convention_with(worker_service, partner_count, **convention_kwargs):
    convention = ConventionFactory(**convention_kwargs)
    MembershipFactory(convention=convention, service=worker_service)
    partners = ServiceFactory.create_batch(partner_count)
    for partner in partners:
        MembershipFactory(convention=convention, service=partner)
    return convention, partners


def test_worker_sees_their_conventions_and_official_partners_on_home(client_for):
    worker = UserFactory(worker=True)
    convention, partners = make_convention_with(worker.service, 2, title="Convention précarité")
    outsider = ServiceFactory(name="Service hors convention")
    ended, _ = make_convention_with(worker.service, 1, ended=True, title="Ancienne convention")
    closed_down = ServiceFactory(name="Service fermé", is_active=False)
    MembershipFactory(convention=convention, service=closed_down)

    response = client_for(worker).get(reverse("home"))

    assert response.status_code == 200
    assert [row["convention"] for row in response.context["conventions"]] == [convention]
    assert {partner.pk for partner in response.context["partners"]} == {partner.pk for partner in partners}
    content = response.content.decode()
    assert "Convention précarité" in content
    assert "4 membres" in content  # current members, the worker's own service and the closed one included
    assert "Service fermé" not in content
    assert "Ancienne convention" not in content
    assert outsider.name not in content


def test_home_query_count_does_not_grow_with_partners(client_for, django_assert_num_queries):
    worker = UserFactory(worker=True)
    make_convention_with(worker.service, 1)
    client = client_for(worker)
    client.get(reverse("home"))  # warm the session

    # session, user (with their service), version tokens (the partnerships, with the partners' and the
    # service's organisation's names, are in memory), then what needs the worker: the counts of referrals
    # waiting and expiring (also the navigation's count; both zero here, so neither list is read), answers
    with django_assert_num_queries(5) as few:
        client.get(reverse("home"))
    few = len(few.captured_queries)
    make_convention_with(worker.service, 15)
    client.get(reverse("home"))  # the partnerships changed: read again once
    with django_assert_num_queries(few):
        response = client.get(reverse("home"))
    assert len(response.context["partners"]) == 16


def test_user_without_service_is_told_to_ask_for_one(client_for):
    response = client_for(UserFactory()).get(reverse("home"))

    assert "n'est rattaché à aucun service" in response.content.decode().replace("&#x27;", "'")


def test_coordinator_sees_their_networks_on_home(client_for):
    network = NetworkFactory(name="Réseau précarité Rennes")
    NetworkFactory(name="Réseau d'ailleurs")
    coordinator = CoordinatorFactory(networks=[network])

    content = client_for(coordinator).get(reverse("home")).content.decode()

    assert "Réseau précarité Rennes" in content
    assert "ailleurs" not in content


def test_service_detail_shows_the_partner_badge_to_a_member_worker(client_for):
    worker = UserFactory(worker=True)
    _, (partner,) = make_convention_with(worker.service, 1, title="Convention précarité")

    content = client_for(worker).get(reverse("partners:service_detail", args=[partner.pk])).content.decode()

    assert "Partenaire conventionné" in content
    assert "Convention précarité" in content


def test_service_detail_shows_outside_badge_to_a_non_member_worker(client_for):
    _, (partner,) = make_convention_with(ServiceFactory(), 1)
    outsider = UserFactory(worker=True)

    content = client_for(outsider).get(reverse("partners:service_detail", args=[partner.pk])).content.decode()

    assert "Hors convention" in content
    assert "Partenaire conventionné" not in content


def test_service_detail_flags_stale_entries(client_for):
    stale = ServiceFactory(verified_on=timezone.localdate() - datetime.timedelta(days=400))
    fresh = ServiceFactory()
    client = client_for(UserFactory(worker=True))

    assert "À revérifier" in client.get(reverse("partners:service_detail", args=[stale.pk])).content.decode()
    assert (
        "À revérifier" not in client.get(reverse("partners:service_detail", args=[fresh.pk])).content.decode()
    )


def test_service_detail_of_an_inactive_or_unknown_service_is_404(client_for):
    inactive = ServiceFactory(is_active=False)
    client = client_for(UserFactory(worker=True))

    assert client.get(reverse("partners:service_detail", args=[inactive.pk])).status_code == 404
    assert client.get("/annuaire/services/999999/").status_code == 404


def test_service_detail_query_count(client_for, django_assert_max_num_queries):
    worker = UserFactory(worker=True)
    _, (partner,) = make_convention_with(worker.service, 1)
    client = client_for(worker)
    client.get(reverse("partners:service_detail", args=[partner.pk]))  # the partnerships in memory
    # session, user, service, 6 prefetches (one per list), version tokens (the shared conventions are in
    # memory), the worker's open cases (to refer from the page), the navigation's waiting count
    with django_assert_max_num_queries(12):
        response = client.get(reverse("partners:service_detail", args=[partner.pk]))
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("verified_on", "today", "stale"),
    [
        (None, datetime.date(2026, 6, 1), True),
        (datetime.date(2025, 6, 2), datetime.date(2026, 6, 1), False),
        (datetime.date(2025, 6, 1), datetime.date(2026, 6, 1), True),
        (datetime.date(2026, 1, 1), datetime.date(2026, 6, 1), False),
    ],
)
def test_staleness_after_twelve_months(verified_on, today, stale):
    assert ServiceFactory.build(verified_on=verified_on).is_stale(today=today) is stale
