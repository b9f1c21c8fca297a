"""Places as workers type them: abbreviations, postcode or département with the name, partial and
ambiguous names, suggestions near the worker's service (issue 13)."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import AnonymousUser

from partners.communes import near_first, parse_place, resolve_place, suggest_communes, worker_point
from tests.factories import CommuneFactory, UserFactory

pytestmark = pytest.mark.django_db

RENNES = (48.1119, -1.6809)


@pytest.fixture
def communes():
    rows = [
        ("35238", "Rennes", "35", 222000, ["35000", "35200", "35700"], RENNES),
        ("35288", "Saint-Malo", "35", 47000, ["35400"], (48.649, -2.026)),
        ("44189", "Saint-Malo-de-Guersac", "44", 3200, ["44550"], (47.354, -2.177)),
        ("35278", "Saint-Grégoire", "35", 10000, ["35760"], (48.151, -1.686)),
        ("93066", "Saint-Denis", "93", 113000, ["93200", "93210"], (48.936, 2.357)),
        ("97411", "Saint-Denis", "974", 153000, ["97400", "97490"], (-20.882, 55.450)),
        ("11339", "Saint-Denis", "11", 500, ["11310"], (43.358, 2.210)),
        ("78520", "Rennemoulin", "78", 100, ["78590"], (48.834, 2.039)),
        ("2A004", "Ajaccio", "2A", 71000, ["20000", "20090"], (41.926, 8.737)),
    ]
    return {
        insee: CommuneFactory(
            insee_code=insee,
            name=name,
            department=department,
            population=population,
            postcodes=postcodes,
            latitude=point[0],
            longitude=point[1],
        )
        for insee, name, department, population, postcodes, point in rows
    }


@pytest.mark.parametrize(
    "text, expected",
    [
        ("St-Malo", "35288"),
        ("St Malo", "35288"),
        ("Saint Malo", "35288"),
        ("saint-malo", "35288"),
        ("ST-MALO", "35288"),
        ("Rennes 35000", "35238"),
        ("35000 Rennes", "35238"),
        ("35 Rennes", "35238"),
        ("Rennes 35", "35238"),
        ("Rennes (35)", "35238"),
        ("35700", "35238"),
        ("Saint-Denis 93", "93066"),
        ("Saint-Denis (93)", "93066"),
        ("974 Saint-Denis", "97411"),
        ("Saint-Denis 93210", "93066"),
        ("Ajaccio (2A)", "2A004"),
        ("2A Ajaccio", "2A004"),
    ],
)
def test_places_resolve_as_workers_type_them(communes, text, expected):
    resolution = resolve_place(text)
    assert resolution.commune is not None, text
    assert resolution.commune.pk == expected


PARIS = (48.857, 2.352)


def test_an_ambiguous_name_offers_its_homonyms_with_their_department(communes):
    resolution = resolve_place("Saint-Denis")
    assert resolution.commune is None
    assert [(c.name, c.department) for c in resolution.candidates] == [
        ("Saint-Denis", "974"),
        ("Saint-Denis", "93"),
        ("Saint-Denis", "11"),
    ]
    # Near Rennes, none is near: all offered, still by population.
    assert len(resolve_place("Saint-Denis", near=RENNES).candidates) == 3


def test_a_homonym_resolves_by_itself_when_only_it_is_near_the_worker(communes):
    resolution = resolve_place("Saint-Denis", near=PARIS)
    assert resolution.commune.pk == "93066"
    assert [c.department for c in resolution.others] == ["974", "11"]
    assert resolution.candidates == []


def test_two_homonyms_near_the_worker_are_both_offered_near_first(communes):
    CommuneFactory(
        insee_code="95999", name="Saint-Denis", department="95", population=200, latitude=49.0, longitude=2.3
    )
    resolution = resolve_place("Saint-Denis", near=PARIS)
    assert resolution.commune is None
    assert [c.department for c in resolution.candidates] == ["93", "95", "974", "11"]


def test_near_first_is_the_one_order_of_candidates_and_suggestions(communes):
    saints = [c for c in communes.values() if c.name.startswith("Saint")]
    # Saint-Malo is 65 km from Rennes: not near, ranked by its population.
    assert [c.pk for c in near_first(saints, RENNES)][:4] == ["35278", "97411", "93066", "35288"]
    assert [c.department for c in near_first(saints, None)][:2] == ["974", "93"]
    assert [c.pk for c in suggest_communes("saint", near=PARIS)] == [c.pk for c in near_first(saints, PARIS)]


def test_worker_point_is_the_service_else_its_commune(communes):
    worker = UserFactory(worker=True)
    worker.service.latitude, worker.service.longitude = RENNES
    assert worker_point(worker) == RENNES
    worker.service.latitude = worker.service.longitude = None
    worker.service.commune = communes["93066"]
    assert worker_point(worker) == (communes["93066"].latitude, communes["93066"].longitude)
    assert worker_point(UserFactory()) is None
    assert worker_point(AnonymousUser()) is None


def test_a_partial_name_offers_candidates_with_their_department(communes):
    resolution = resolve_place("Renn")
    assert resolution.commune is None
    assert [(c.name, c.department) for c in resolution.candidates] == [
        ("Rennes", "35"),
        ("Rennemoulin", "78"),
    ]
    assert [c.name for c in resolve_place("St-Mal").candidates] == ["Saint-Malo", "Saint-Malo-de-Guersac"]


def test_a_postcode_or_name_that_does_not_exist_resolves_to_nothing(communes):
    for text in ["99999", "Atlantide", "Rennes 44000", "Rennes (93)", "", "   "]:
        resolution = resolve_place(text)
        assert resolution.commune is None and resolution.candidates == [], text


def test_parse_place_takes_the_postcode_or_department_out_of_the_name():
    assert parse_place("Boulogne s/ Mer").name == "boulogne sur mer"
    assert parse_place("Ste-Foy-lès-Lyon").name == "sainte foy les lyon"
    assert (parse_place("35 Rennes").department, parse_place("Rennes 35000").postcode) == ("35", "35000")


def _choices(response):
    return [(choice.label, choice.url) for choice in response.context["place_choices"]]


def test_search_page_offers_the_candidates_of_a_partial_place(communes, client_for):
    response = client_for(UserFactory(worker=True)).get("/recherche/", {"lieu": "Renn"})
    content = response.content.decode()
    assert response.status_code == 200
    assert "Lieu inconnu" not in content
    assert [label for label, _ in _choices(response)] == ["Rennes (35)", "Rennemoulin (78)"]
    assert 'aria-labelledby="communes-possibles"' in content and ">Rennes (35)</a>" in content
    assert "services" not in response.context  # nothing searched until a commune is chosen


def test_search_page_offers_homonyms_as_links_keeping_the_other_filters(communes, client_for):
    client = client_for(UserFactory(worker=True))
    query = {"q": "hébergement", "lieu": "Saint-Denis", "rayon": "10", "disponibles": "on", "page": "2"}
    response = client.get("/recherche/", query)
    assert response.status_code == 200
    label, url = _choices(response)[1]
    assert label == "Saint-Denis (93)"
    params = parse_qs(urlsplit(url).query)
    assert params == {
        "q": ["hébergement"],
        "lieu": ["Saint-Denis (93)"],
        "rayon": ["10"],
        "disponibles": ["on"],
        "insee": ["93066"],
    }
    chosen = client.get(url)
    assert chosen.status_code == 200
    assert chosen.context["centre"].commune.pk == "93066" and chosen.context["params"].radius_km == 10
    assert chosen.context["params"].hide_full
    assert 'name="insee" value="93066"' in chosen.content.decode()  # kept by the form's next searches
    place_chip = next(chip for chip in chosen.context["active_filters"] if "Saint-Denis" in chip.label)
    assert "insee" not in place_chip.remove_url and "lieu" not in place_chip.remove_url


def test_candidates_come_in_the_htmx_fragment_too(communes, client_for):
    response = client_for(UserFactory(worker=True)).get(
        "/recherche/", {"lieu": "Saint-Denis"}, headers={"HX-Request": "true"}
    )
    content = response.content.decode()
    assert response.status_code == 200 and "<html" not in content
    assert "Saint-Denis (974)</a>" in content and "Précisez la commune : 3 communes possibles." in content


def test_search_page_resolves_a_homonym_near_the_worker(communes, client_for):
    worker = UserFactory(worker=True)
    worker.service.latitude, worker.service.longitude = PARIS
    worker.service.save()
    response = client_for(worker).get("/recherche/", {"lieu": "Saint-Denis"})
    assert response.context["centre"].commune.pk == "93066"
    assert [choice.label for choice in response.context["other_communes"]] == [
        "Saint-Denis (974)",
        "Saint-Denis (11)",
    ]
    assert 'aria-labelledby="autres-communes"' in response.content.decode()


def test_a_pinned_commune_is_left_aside_once_another_place_is_typed(communes, client_for):
    client = client_for(UserFactory(worker=True))
    response = client.get("/recherche/", {"lieu": "St-Malo", "insee": "93066"})
    assert response.status_code == 200 and response.context["centre"].commune.pk == "35288"
    partial = client.get("/recherche/", {"lieu": "Saint", "insee": "93066"})
    assert partial.status_code == 200 and partial.context["place_choices"]


@pytest.mark.parametrize("insee", ["", "abc", "99999", "9" * 40, "\n", "93066\n", "93\x0066"])
def test_a_bad_insee_is_a_french_400(communes, client_for, insee):
    response = client_for(UserFactory(worker=True)).get(
        "/recherche/", {"lieu": "Saint-Denis", "insee": insee}
    )
    assert response.status_code == 400
    if "\x00" not in insee:  # a NUL is refused before the form, with its own French page
        assert "Commune inconnue" in response.content.decode()
    assert 'name="insee"' not in response.content.decode()


def test_a_pinned_place_costs_one_query_as_a_typed_one(communes, client_for, django_assert_num_queries):
    client = client_for(UserFactory(worker=True))
    client.get("/recherche/", {"lieu": "St-Malo"})  # warm the session
    # The place's commune: one query, typed or pinned by a candidate link (no result here: no page or cards).
    with django_assert_num_queries(6) as typed:
        client.get("/recherche/", {"lieu": "St-Malo"})
    with django_assert_num_queries(len(typed)):
        client.get("/recherche/", {"lieu": "Saint-Malo (35)", "insee": "35288"})


def test_search_page_accepts_abbreviations_and_postcodes_with_the_name(communes, client_for):
    client = client_for(UserFactory(worker=True))
    for place in ["St-Malo", "St Malo", "Saint Malo", "Rennes 35000", "35 Rennes"]:
        response = client.get("/recherche/", {"lieu": place})
        assert response.status_code == 200, place
        assert response.context["centre"].commune.name in {"Saint-Malo", "Rennes"}


def test_suggestions_put_communes_near_the_worker_first_then_by_population(communes):
    assert [c.name for c in suggest_communes("saint")] == [
        "Saint-Denis",
        "Saint-Denis",
        "Saint-Malo",
        "Saint-Grégoire",
        "Saint-Malo-de-Guersac",
        "Saint-Denis",
    ]
    near_rennes = [(c.name, c.department) for c in suggest_communes("saint", near=RENNES)]
    assert near_rennes[0] == ("Saint-Grégoire", "35")
    assert near_rennes[1:3] == [("Saint-Denis", "974"), ("Saint-Denis", "93")]
    assert [c.name for c in suggest_communes("St-Ma")] == ["Saint-Malo", "Saint-Malo-de-Guersac"]
    assert [c.name for c in suggest_communes("3540")] == ["Saint-Malo"]


def test_suggestion_view_ranks_by_the_workers_service(communes, client_for):
    worker = UserFactory(worker=True)
    worker.service.latitude, worker.service.longitude = RENNES
    worker.service.save()
    content = client_for(worker).get("/annuaire/communes/", {"lieu": "saint"}).content.decode()
    assert content.index("Saint-Grégoire (35)") < content.index("Saint-Denis (974)")
    coordinator_view = (
        client_for(UserFactory()).get("/annuaire/communes/", {"lieu": "saint"}).content.decode()
    )
    assert coordinator_view.index("Saint-Denis (974)") < coordinator_view.index("Saint-Grégoire (35)")
