"""Places as workers type them: abbreviations, postcode or département with the name, partial and
ambiguous names, suggestions near the worker's service (issue 13)."""

import pytest

from partners.communes import parse_place, resolve_place, suggest_communes
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


def test_an_ambiguous_name_resolves_to_the_most_populous_and_lists_the_others(communes):
    resolution = resolve_place("Saint-Denis")
    assert resolution.commune.pk == "97411"
    assert [(c.name, c.department) for c in resolution.others] == [
        ("Saint-Denis", "93"),
        ("Saint-Denis", "11"),
    ]


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


def test_search_page_offers_the_candidates_of_a_partial_place(communes, client_for):
    response = client_for(UserFactory(worker=True)).get("/recherche/", {"lieu": "Renn"})
    content = response.content.decode()
    assert response.status_code == 400
    assert "Lieu inconnu" not in content
    assert "Rennes (35)" in content and "Rennemoulin (78)" in content


def test_search_page_accepts_abbreviations_and_postcodes_with_the_name(communes, client_for):
    client = client_for(UserFactory(worker=True))
    for place in ["St-Malo", "Rennes 35000", "35 Rennes"]:
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
