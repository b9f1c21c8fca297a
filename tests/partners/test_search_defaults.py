"""Search defaults that say what they do (issue 13): the radius shown is the radius used, a search
without a place centres on the worker's service's commune, every active filter is a removable chip,
a sort choice kept in the URL; each card shows its distance and a tap-to-call link."""

import datetime
import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from partners.enums import DEFAULT_RADIUS_KM, SEARCH_RADII_KM
from referrals.models import Case
from tests.factories import CommuneFactory, DomainFactory, LanguageFactory, ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/recherche/"
RENNES = (48.1119, -1.6809)
KM_PER_DEGREE = 111.2


def north_of_rennes(km):
    return {"latitude": RENNES[0] + km / KM_PER_DEGREE, "longitude": RENNES[1]}


@pytest.fixture
def rennes():
    return CommuneFactory(
        insee_code="35238", name="Rennes", latitude=RENNES[0], longitude=RENNES[1], postcodes=["35000"]
    )


@pytest.fixture
def worker(rennes):
    """A worker whose service is in Rennes: their searches without a place centre there."""
    return UserFactory(worker=True, service__commune=rennes)


@pytest.fixture
def client(client_for, worker):
    return client_for(worker)


@pytest.fixture
def around():
    """Services 1, 15 and 35 km north of Rennes, saying "accompagnement budgétaire"."""
    return {
        km: ServiceFactory(
            name=f"Budget à {km} km", description="Accompagnement budgétaire", **north_of_rennes(km)
        )
        for km in (1, 15, 35)
    }


def names(response):
    return [service.name for service in response.context["services"]]


def chips(response):
    return {chip.label: chip.remove_url for chip in response.context["active_filters"]}


def query_of(url):
    return parse_qs(urlsplit(unescape(url)).query)


# --- The radius shown is the radius used --------------------------------------------------------------


def test_one_default_radius_for_search_and_cases():
    assert DEFAULT_RADIUS_KM in SEARCH_RADII_KM
    assert Case._meta.get_field("radius_km").default == DEFAULT_RADIUS_KM


@pytest.mark.parametrize("query", [{}, {"q": "budget"}, {"q": "budget", "lieu": "35000"}])
def test_the_form_shows_the_default_radius_when_none_is_sent(client, query):
    content = client.get(URL, query).content.decode()
    select = re.search(r'<select name="rayon".*?</select>', content, re.S).group(0)
    assert re.findall(r'<option value="(\d+)" selected>', select) == [str(DEFAULT_RADIUS_KM)]


def test_the_search_uses_the_radius_it_shows(client, around):
    shown = client.get(URL, {"q": "budget", "lieu": "35000"})
    assert shown.context["params"].radius_km == DEFAULT_RADIUS_KM
    assert set(names(shown)) == {"Budget à 1 km", "Budget à 15 km"}
    assert chips(shown).keys() >= {"À moins de 20 km de Rennes"}
    wider = client.get(URL, {"q": "budget", "lieu": "35000", "rayon": "50"})
    assert set(names(wider)) == {"Budget à 1 km", "Budget à 15 km", "Budget à 35 km"}


# --- Without a place: the worker's service's commune ---------------------------------------------------


def test_without_a_place_results_centre_on_the_workers_service_commune(client, around):
    response = client.get(URL, {"q": "budget", "tri": "distance"})
    assert names(response) == ["Budget à 1 km", "Budget à 15 km"]
    assert [round(s.distance_km) for s in response.context["services"]] == [1, 15]
    content = response.content.decode()
    assert "À moins de 20 km de Rennes (votre service)" in content
    assert "à 15,0 km" in content


def test_removing_the_home_chip_searches_everywhere_and_offers_the_way_back(client, around):
    first = client.get(URL, {"q": "budget", "rayon": "10"})
    remove = chips(first)["À moins de 10 km de Rennes (votre service)"]
    assert query_of(remove) == {"q": ["budget"], "partout": ["1"]}

    everywhere = client.get(unescape(remove))
    assert set(names(everywhere)) == {"Budget à 1 km", "Budget à 15 km", "Budget à 35 km"}
    assert everywhere.context["centre"] is None
    content = everywhere.content.decode()
    assert '<input type="hidden" name="partout" value="1">' in content  # kept while typing
    assert "Chercher autour de votre service (Rennes)" in content
    assert query_of(everywhere.context["home_url"]) == {"q": ["budget"]}


def test_a_place_typed_wins_over_the_home_commune_and_removing_it_searches_everywhere(client, around):
    CommuneFactory(
        insee_code="35288", name="Saint-Malo", latitude=48.6493, longitude=-2.0257, postcodes=["35400"]
    )
    response = client.get(URL, {"q": "budget", "lieu": "35400", "partout": "1"})
    assert names(response) == []
    assert query_of(chips(response)["À moins de 20 km de Saint-Malo"]) == {"q": ["budget"], "partout": ["1"]}


def test_a_worker_whose_service_has_no_commune_searches_everywhere(client_for, around):
    lonely = UserFactory(worker=True)
    response = client_for(lonely).get(URL, {"q": "budget"})
    assert len(names(response)) == 3
    assert not any("moins de" in label for label in chips(response))
    assert response.context["home_url"] == ""


# --- Every active filter is a removable chip ------------------------------------------------------------


def test_every_chip_links_to_the_same_search_without_its_filter(client, around):
    food, housing = DomainFactory(label="Alimentation"), DomainFactory(label="Logement")
    french = LanguageFactory(label="Français")
    query = {
        "q": "budget",
        "thematiques": [food.pk, housing.pk],
        "langue": french.pk,
        "disponibles": "on",
        "partenaires": "on",
        "tri": "distance",
        "page": "1",
    }
    found = chips(client.get(URL, query))
    assert set(found) == {
        "Mots : « budget »",
        "À moins de 20 km de Rennes (votre service)",
        "Thématique : Alimentation",
        "Thématique : Logement",
        "Langue : Français",
        "Sans les services complets",
        "Partenaires conventionnés uniquement",
    }
    kept = {"tri": ["distance"], "q": ["budget"], "disponibles": ["on"], "partenaires": ["on"]}
    assert query_of(found["Thématique : Alimentation"]) == {
        **kept,
        "thematiques": [str(housing.pk)],
        "langue": [str(french.pk)],
    }
    assert "q" not in query_of(found["Mots : « budget »"])
    assert "langue" not in query_of(found["Langue : Français"])
    assert "disponibles" not in query_of(found["Sans les services complets"])
    assert "partenaires" not in query_of(found["Partenaires conventionnés uniquement"])
    assert all("page" not in query_of(url) for url in found.values())

    after = chips(client.get(unescape(found["Thématique : Alimentation"])))
    assert "Thématique : Alimentation" not in after and "Thématique : Logement" in after


def test_chips_are_links_in_the_page(client, around):
    content = client.get(URL, {"q": "budget", "disponibles": "on"}).content.decode()
    assert re.search(r'<a class="chip" href="/recherche/\?q=budget">Sans les services complets', content)


# --- Sort: pertinence, distance, fraîcheur -----------------------------------------------------------


@pytest.fixture
def ranked_services():
    """Near but weak on the words, far but strong, and one verified long ago."""
    today = timezone.localdate()
    ServiceFactory(
        name="Accueil de jour",
        description="Un accueil qui parle aussi de budget.",
        verified_on=today - datetime.timedelta(days=200),
        **north_of_rennes(2),
    )
    ServiceFactory(
        name="Budget budget", description="Budget, budget, budget.", verified_on=today, **north_of_rennes(10)
    )
    ServiceFactory(
        name="Point conseil budget",
        description="Budget.",
        verified_on=today - datetime.timedelta(days=30),
        **north_of_rennes(5),
    )


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("distance", ["Accueil de jour", "Point conseil budget", "Budget budget"]),
        ("fraicheur", ["Budget budget", "Point conseil budget", "Accueil de jour"]),
    ],
)
def test_sort_choice_kept_in_the_url(client, ranked_services, order, expected):
    response = client.get(URL, {"q": "budget", "tri": order})
    assert names(response) == expected
    assert f'<option value="{order}" selected>' in response.content.decode()
    assert f"tri={order}" in response.content.decode()  # in the chips' links too


def test_default_sort_is_relevance(client, ranked_services):
    response = client.get(URL, {"q": "budget"})
    assert names(response)[-1] == "Accueil de jour"  # the weakest match, although the nearest
    assert "triés par pertinence" in response.content.decode()


def test_sort_by_distance_without_a_place_says_it_sorts_by_relevance(client, ranked_services):
    response = client.get(URL, {"q": "budget", "tri": "distance", "partout": "1"})
    assert response.status_code == 200
    assert names(response)[-1] == "Accueil de jour"
    assert "ne peuvent pas être triés par distance" in response.content.decode()


@pytest.mark.parametrize("value", ["prix", "DISTANCE", "x" * 500])
def test_unknown_sort_is_a_french_400(client, value):
    response = client.get(URL, {"q": "budget", "tri": value})
    assert response.status_code == 400
    assert "Tri inconnu : choisissez pertinence, distance ou fraîcheur." in response.content.decode()


# --- Cards: distance and tap-to-call -----------------------------------------------------------------


def test_each_card_shows_its_distance_and_a_tap_to_call_link(client):
    ServiceFactory(name="Budget conseil", phone="02 99 12 34 56", **north_of_rennes(3))
    ServiceFactory(name="Budget sans téléphone", phone="", **north_of_rennes(4))
    content = client.get(URL, {"q": "budget"}).content.decode()
    assert '<a class="service-card__phone" href="tel:0299123456">Appeler le 02 99 12 34 56</a>' in content
    assert content.count("service-card__phone") == 1
    assert "à 3,0 km" in content and "à 4,0 km" in content


# --- Live search, live region, query counts ---------------------------------------------------------------


def test_htmx_answer_updates_the_count_out_of_band(client, around):
    response = client.get(URL, {"q": "budget"}, headers={"HX-Request": "true"})
    content = response.content.decode()
    assert "<html" not in content
    status = re.search(r'<p id="annonce-resultats"[^>]*>(.*?)</p>', content, re.S)
    assert 'hx-swap-oob="innerHTML"' in status.group(0) and 'role="status"' in status.group(0)
    assert re.sub(r"<[^>]+>", "", status.group(1)) == "2 services trouvés"


def test_the_live_region_is_the_count_not_the_cards(client, around):
    content = client.get(URL, {"q": "budget"}).content.decode()
    assert "aria-live" not in content  # a role="status" paragraph with the count only
    assert re.search(r'<p id="annonce-resultats" class="visually-hidden" role="status">', content)
    assert '<div id="resultats" hx-history="false">' in content  # not a live region itself


@pytest.mark.parametrize("count", [1, 20])
def test_centring_on_the_home_commune_costs_no_query(client, count, django_assert_num_queries):
    ServiceFactory.create_batch(
        count,
        description="Aide alimentaire",
        phone="0299000000",
        domains=[DomainFactory()],
        **north_of_rennes(2),
    )
    client.get(URL, {"q": "alimentaire"})  # warm the session
    # session, user (with service and commune), both version tokens (the partnerships and the form's
    # choices are in memory), the page with its count (one statement, around a place), the cards'
    # details with their thématiques, the navigation's waiting count
    with django_assert_num_queries(6):
        response = client.get(URL, {"q": "alimentaire"})
    assert len(response.context["services"]) == count
    assert response.context["centre"].is_default


@pytest.mark.parametrize(("page", "message"), [("abc", "Numéro de page invalide"), ("0", "Cette page n")])
def test_pages_around_the_home_commune_come_with_their_count(client, page, message):
    # Around a place, a page and its count come in one statement: page 2 is the rest, a page past the
    # last still says how many pages there are.
    for tenth in range(10, 260, 10):  # 0.1 to 2.5 km: within the default radius
        ServiceFactory(
            name=f"Aide à {tenth:03d}", description="Aide alimentaire", **north_of_rennes(tenth / 100)
        )
    first = client.get(URL, {"q": "alimentaire", "tri": "distance"})
    second = client.get(URL, {"q": "alimentaire", "tri": "distance", "page": "2"})
    assert first.context["page"].paginator.count == second.context["page"].paginator.count == 25
    assert names(first) == [f"Aide à {tenth:03d}" for tenth in range(10, 210, 10)]
    assert names(second) == [f"Aide à {tenth:03d}" for tenth in range(210, 260, 10)]
    past = client.get(URL, {"q": "alimentaire", "page": "3"})
    assert past.status_code == 400 and "tiennent en 2 page(s)" in unescape(past.content.decode())
    wrong = client.get(URL, {"q": "alimentaire", "page": page})
    assert wrong.status_code == 400 and message in unescape(wrong.content.decode())
