"""The search page: filters, badges, pagination, bad input, query counts, htmx fragments."""

import pytest
from django.urls import reverse

from partners.enums import CapacityStatus
from tests.factories import (
    CommuneFactory,
    ConventionFactory,
    DomainFactory,
    MembershipFactory,
    OrganisationFactory,
    ServiceFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

RENNES = (48.1119, -1.6809)
URL = "/recherche/"


@pytest.fixture
def rennes():
    return CommuneFactory(
        insee_code="35238",
        name="Rennes",
        latitude=RENNES[0],
        longitude=RENNES[1],
        population=220000,
        postcodes=["35000", "35200"],
    )


@pytest.fixture
def worker():
    return UserFactory(worker=True)


@pytest.fixture
def partner(worker):
    convention = ConventionFactory(title="Convention précarité")
    MembershipFactory(convention=convention, service=worker.service)
    service = ServiceFactory(
        name="Épicerie solidaire partenaire", organisation=OrganisationFactory(name="Asso Partage")
    )
    MembershipFactory(convention=convention, service=service)
    return service


@pytest.fixture
def outsider():
    return ServiceFactory(name="Épicerie solidaire indépendante")


def get(client, **params):
    return client.get(URL, params)


def test_search_url_is_recherche():
    assert reverse("partners:search") == URL


def test_empty_form_invites_to_search(client_for, worker):
    response = client_for(worker).get(URL)
    assert response.status_code == 200
    assert "Saisissez des mots-clés" in response.content.decode()


def test_member_worker_sees_partner_badge_with_convention_name(client_for, worker, partner, outsider):
    response = get(client_for(worker), q="epicerie solidaire")
    assert response.status_code == 200
    badges = {card["name"]: card["conventions"] for card in response.context["cards"]}
    assert badges == {partner.name: "Convention précarité", outsider.name: ""}
    content = response.content.decode()
    assert (
        "Partenaire conventionné" in content
        and "Convention précarité" in content
        and "Hors convention" in content
    )


def test_partners_only_filter_for_a_member_worker(client_for, worker, partner, outsider):
    response = get(client_for(worker), q="epicerie", partenaires="on")
    assert [s.name for s in response.context["services"]] == [partner.name]


def test_partners_only_filter_for_a_worker_of_a_non_member_service(client_for, partner, outsider):
    lonely = UserFactory(worker=True)
    response = get(client_for(lonely), q="epicerie", partenaires="on")
    assert response.status_code == 200
    assert response.context["services"] == []
    assert "Aucun service ne correspond" in response.content.decode()
    everything = get(client_for(lonely), q="epicerie")
    assert {s.name for s in everything.context["services"]} == {partner.name, outsider.name}
    assert "Partenaire conventionné" not in everything.content.decode()


def test_place_by_postcode_or_name_with_radius(client_for, worker, rennes):
    ServiceFactory._meta.model.objects.filter(pk=worker.service_id).update(latitude=None, longitude=None)
    ServiceFactory(name="Au centre", latitude=RENNES[0], longitude=RENNES[1])
    ServiceFactory(name="À 25 km", latitude=RENNES[0] + 0.2248, longitude=RENNES[1])
    client = client_for(worker)

    at_50 = get(client, lieu="35000", rayon="50")
    at_20 = get(client, lieu="rennes", rayon="20")
    suggested = get(client, lieu="Rennes (35)", rayon="50")

    assert [s.name for s in at_50.context["services"]] == ["Au centre", "À 25 km"]
    assert [s.name for s in at_20.context["services"]] == ["Au centre"]
    assert [s.name for s in suggested.context["services"]] == ["Au centre", "À 25 km"]
    assert "25.0 km" in at_50.content.decode() or "25,0 km" in at_50.content.decode()


def test_hide_full_services(client_for, worker):
    ServiceFactory(name="Accueil ouvert")
    ServiceFactory(name="Accueil complet", capacity_status=CapacityStatus.FULL)
    names = [s.name for s in get(client_for(worker), q="accueil", disponibles="on").context["services"]]
    assert names == ["Accueil ouvert"]


def test_category_covers_its_thematiques(client_for, worker):
    housing = DomainFactory(code="logement", label="Logement")
    shelter = DomainFactory(code="hebergement", label="Hébergement", parent=housing)
    health = DomainFactory(code="sante", label="Santé")
    ServiceFactory(name="Abri de nuit", domains=[shelter])
    ServiceFactory(name="Centre de santé", domains=[health])
    names = [s.name for s in get(client_for(worker), thematiques=[housing.pk]).context["services"]]
    assert names == ["Abri de nuit"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"lieu": "99999"}, "Lieu inconnu"),
        ({"lieu": "Atlantide"}, "Lieu inconnu"),
        ({"lieu": "35000", "rayon": "1000"}, "Rayon"),
        ({"q": "x", "thematiques": "abc"}, "Thématiques"),
        ({"q": "x" * 300}, "Mots-clés"),
    ],
)
def test_invalid_input_gets_a_french_message_and_400(client_for, worker, rennes, params, message):
    response = get(client_for(worker), **params)
    assert response.status_code == 400
    assert message in response.content.decode()


@pytest.mark.parametrize(("page", "message"), [("abc", "Numéro de page invalide"), ("999", "Cette page n")])
def test_garbage_page_number_gets_a_french_message(client_for, worker, page, message):
    ServiceFactory(name="Accueil")
    response = get(client_for(worker), q="accueil", page=page)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_twenty_results_a_page_and_filters_kept_in_page_links(client_for, worker):
    ServiceFactory.create_batch(45, description="Aide alimentaire")
    client = client_for(worker)
    first = get(client, q="alimentaire", disponibles="on")
    third = get(client, q="alimentaire", disponibles="on", page="3")
    assert len(first.context["services"]) == 20
    assert first.context["page"].paginator.count == 45
    assert len(third.context["services"]) == 5
    assert "q=alimentaire&amp;disponibles=on&amp;page=2" in first.content.decode()


@pytest.mark.parametrize("count", [1, 20])
def test_query_count_does_not_depend_on_the_number_of_results(
    client_for, worker, partner, count, django_assert_num_queries
):
    ServiceFactory.create_batch(
        count, description="Aide alimentaire", domains=[DomainFactory(), DomainFactory()]
    )
    client = client_for(worker)
    get(client, q="alimentaire")  # warm the session
    # session, user, both version tokens (the partnerships and the form's choices are in memory), count,
    # page, the cards' details with their thématiques, and the navigation's count of referrals waiting
    # for the worker's service
    with django_assert_num_queries(7):
        response = get(client, q="alimentaire")
    assert len(response.context["services"]) == count


def test_htmx_request_gets_only_the_results_fragment(client_for, worker):
    ServiceFactory(name="Accueil de jour")
    response = client_for(worker).get(URL, {"q": "accueil"}, headers={"HX-Request": "true"})
    content = response.content.decode()
    assert "Accueil de jour" in content
    assert "<html" not in content
    assert response["Vary"] and "HX-Request" in response["Vary"]


def test_history_restore_gets_the_full_page(client_for, worker):
    response = client_for(worker).get(
        URL, {"q": "accueil"}, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in response.content.decode()


def test_commune_suggestions_by_prefix_and_postcode(client_for, worker, rennes):
    CommuneFactory(
        insee_code="35001",
        name="Acigné",
        latitude=48.13,
        longitude=-1.53,
        population=7000,
        postcodes=["35690"],
    )
    client = client_for(worker)
    assert 'value="Rennes (35)"' in client.get("/annuaire/communes/", {"lieu": "ren"}).content.decode()
    assert 'value="Acigné (35)"' in client.get("/annuaire/communes/", {"lieu": "acigne"}).content.decode()
    assert 'value="Rennes (35)"' in client.get("/annuaire/communes/", {"lieu": "352"}).content.decode()


def test_stale_services_are_flagged_in_results(client_for, worker):
    ServiceFactory(name="Accueil ancien", stale=True)
    assert "À revérifier" in get(client_for(worker), q="accueil").content.decode()


def test_ticked_filters_stay_ticked_and_their_group_opens(client_for, worker):
    housing = DomainFactory(code="logement", label="Logement")
    shelter = DomainFactory(code="hebergement", label="Hébergement", parent=housing)
    DomainFactory(code="sante", label="Santé")
    content = get(client_for(worker), thematiques=[shelter.pk]).content.decode()

    ticked = f'name="thematiques" value="{shelter.pk}" id="id_thematiques_'
    assert ticked in content
    box = content[content.index(ticked) :].split(">", 1)[0]
    assert box.endswith(" checked")
    assert content.count(" checked>") == 1  # only the ticked thématique, not its catégorie
    assert '<details class="domain-group" open><summary>Logement</summary>' in content
    assert '<details class="domain-group"><summary>Santé</summary>' in content


def test_too_many_matches_says_more_than_and_how_they_are_sorted(client_for, worker, monkeypatch):
    from partners import search

    monkeypatch.setattr(search, "RESULT_CAP", 2)
    for side in ["nord", "sud", "est"]:
        ServiceFactory(name=f"Accueil {side}")
    content = get(client_for(worker), q="accueil").content.decode()
    assert "<strong>Plus de 2</strong> services trouvés" in content
    assert "Trop de services contiennent ces mots pour les classer par pertinence" in content

    content = get(client_for(worker), q="accueil nord").content.decode()
    assert "<strong>1</strong> service trouvé" in content and "Trop de services" not in content


def test_ranked_results_keep_their_order_across_pages(client_for, worker):
    ServiceFactory.create_batch(24, description="Aide alimentaire et colis.")
    ServiceFactory(name="Banque alimentaire", description="Distribution de colis.")
    client = client_for(worker)
    first = get(client, q="alimentaire")
    second = get(client, q="alimentaire", page="2")
    names = [s.name for s in first.context["services"]] + [s.name for s in second.context["services"]]
    assert names[0] == "Banque alimentaire"  # in its name: above the 24 that say it in their description
    assert len(names) == len(set(names)) == 25
