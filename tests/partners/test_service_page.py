"""The service page for a phone call: contact first, hours, directions, refer from here, back to results."""

import pytest
from django.urls import reverse

from referrals.models import Case
from tests.factories import (
    CaseFactory,
    CommuneFactory,
    DomainFactory,
    OrganisationFactory,
    ServiceFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker():
    return UserFactory(worker=True)


@pytest.fixture
def target():
    return ServiceFactory(
        name="Accueil de jour Horizon",
        phone="02 99 12 34 56",
        email="accueil@horizon.fr",
        address="3 rue des Lilas",
        postcode="35000",
        commune=CommuneFactory(insee_code="35238", name="Rennes"),
        opening_hours="Mo-Fr 09:00-12:00,14:00-17:00",
        referral_details="Formulaire : https://horizon.fr/orienter",
        domains=[DomainFactory()],
    )


def page(client, service, **headers):
    response = client.get(reverse("partners:service_detail", args=[service.pk]), headers=headers)
    assert response.status_code == 200
    return response.content.decode()


def test_contact_comes_before_the_presentation(client_for, worker, target):
    content = page(client_for(worker), target)
    assert content.index("Contacter le service") < content.index("Présentation")
    assert content.index('href="tel:0299123456"') < content.index("Présentation")
    assert 'href="mailto:accueil@horizon.fr"' in content


def test_directions_on_openstreetmap_to_the_services_point(client_for, worker, target):
    content = page(client_for(worker), target)
    assert "https://www.openstreetmap.org/directions?to=48.11%2C-1.68" in content


def test_directions_by_address_when_the_service_has_no_point(client_for, worker, target):
    target.latitude = target.longitude = None
    target.save()
    content = page(client_for(worker), target)
    assert "https://www.openstreetmap.org/search?query=3%20rue%20des%20Lilas%2C%2035000%20Rennes" in content


def test_how_to_refer_links_are_clickable(client_for, worker, target):
    assert '<a href="https://horizon.fr/orienter"' in page(client_for(worker), target)


def test_hours_in_osm_format_are_shown_in_french_with_a_status(client_for, worker, target):
    content = page(client_for(worker), target)
    assert "Du lundi au vendredi" in content
    assert "9 h – 12 h, 14 h – 17 h" in content
    assert "maintenant" in content  # "Ouvert maintenant" or "Fermé maintenant", by the clock


def test_hours_in_free_text_are_shown_as_typed(client_for, worker, target):
    target.opening_hours = "Le mardi matin, sur rendez-vous"
    target.save()
    content = page(client_for(worker), target)
    assert "Le mardi matin, sur rendez-vous" in content
    assert "maintenant" not in content


def test_back_to_the_results_keeps_the_search(client_for, worker, target):
    content = page(
        client_for(worker), target, Referer="http://testserver/recherche/?q=accueil+de+jour&rayon=10"
    )
    assert 'href="/recherche/?q=accueil+de+jour&amp;rayon=10"' in content
    assert "Retour aux résultats" in content


@pytest.mark.parametrize(
    "referer",
    ["https://ailleurs.example/recherche/?q=x", "http://testserver/situations/", "javascript:alert(1)", ""],
)
def test_back_link_never_leaves_our_search(client_for, worker, target, referer):
    content = page(client_for(worker), target, Referer=referer)
    assert "Retour aux résultats" not in content
    assert "Rechercher un service" in content


def test_refer_from_the_service_page_to_an_open_case(client_for, worker, target):
    case = CaseFactory(service=worker.service, reference="S-OUVERTE")
    CaseFactory(service=worker.service, reference="S-CLOSE", closed=True)
    CaseFactory(reference="S-AUTRE-SERVICE")
    content = page(client_for(worker), target)
    assert "Orienter vers ce service" in content
    assert f'action="{reverse("referrals:case_refer", args=[case.pk])}"' in content
    assert f'name="services" value="{target.pk}"' in content
    assert "S-OUVERTE" in content
    assert "S-CLOSE" not in content and "S-AUTRE-SERVICE" not in content
    # The form opens the usual review step, with this service.
    response = client_for(worker).post(
        reverse("referrals:case_refer", args=[case.pk]), {"services": str(target.pk)}
    )
    assert response.status_code == 200
    assert target.name in response.content.decode()


def test_no_refer_block_on_ones_own_service_page(client_for, worker):
    assert "Orienter vers ce service" not in page(client_for(worker), worker.service)


def test_a_case_created_for_a_service_comes_back_to_its_page(client_for, worker, target):
    need = DomainFactory()
    CommuneFactory(insee_code="35238", name="Rennes")
    response = client_for(worker).post(
        reverse("referrals:case_create") + f"?vers={target.pk}",
        {"reference": "S-POUR-HORIZON", "needs": [need.pk], "place": "Rennes", "radius_km": 20},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == reverse("partners:service_detail", args=[target.pk]) + "#orienter"
    assert "S-POUR-HORIZON" in page(client_for(worker), target)


@pytest.mark.parametrize("bad", ["abc", "-1", "999999"])
def test_a_bad_target_falls_back_to_the_usual_routing(client_for, worker, bad):
    need = DomainFactory()
    CommuneFactory(insee_code="35238", name="Rennes")
    response = client_for(worker).post(
        reverse("referrals:case_create") + f"?vers={bad}",
        {"reference": "S-SANS-CIBLE", "needs": [need.pk], "place": "Rennes", "radius_km": 20},
    )
    case = Case.objects.get(reference="S-SANS-CIBLE")
    assert response["Location"] == reverse("referrals:case_routing", args=[case.pk])


def test_french_services_are_never_called_by_belgian_names(client_for, worker):
    french = ServiceFactory(
        organisation=OrganisationFactory(legal_kind="social_action_centre", siret="12345678901234")
    )
    belgian = ServiceFactory(
        organisation=OrganisationFactory(legal_kind="social_action_centre", bce_number="0123456789")
    )
    association = ServiceFactory(organisation=OrganisationFactory(legal_kind="association"))
    client = client_for(worker)
    assert "CCAS / CIAS" in page(client, french) and "CPAS" not in page(client, french)
    assert "CPAS" in page(client, belgian) and "CCAS" not in page(client, belgian)
    assert "ASBL" not in page(client, association)


def test_service_page_query_count(client_for, worker, target, django_assert_max_num_queries):
    CaseFactory.create_batch(3, service=worker.service)
    client = client_for(worker)
    page(client, target)  # the partnerships in memory
    # session, user, service, 6 prefetches, version tokens (the shared conventions are in memory), open
    # cases, the navigation's waiting count
    with django_assert_max_num_queries(12):
        page(client, target)
