"""The words workers use, in a real browser: an acronym, place variants (issue 13)."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from partners.synonyms import load_synonyms
from tests.factories import CommuneFactory, DomainFactory, ServiceFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SAINT_MALO = (48.649, -2.026)


@pytest.fixture
def directory():
    load_synonyms()  # transactional tests start from empty tables: the seed, as load_referentials writes it
    worker = UserFactory(worker=True)
    shelter = DomainFactory(code="hebergement", label="Rechercher une solution d'hébergement temporaire")
    chrs = ServiceFactory(
        name="Centre d'hébergement et de réinsertion sociale Le Goéland",
        domains=[shelter],
        latitude=SAINT_MALO[0],
        longitude=SAINT_MALO[1],
    )
    ServiceFactory(name="Atelier vélo", description="Réparation de vélos.")
    CommuneFactory(
        insee_code="35288",
        name="Saint-Malo",
        department="35",
        latitude=SAINT_MALO[0],
        longitude=SAINT_MALO[1],
        population=47000,
        postcodes=["35400"],
    )
    CommuneFactory(
        insee_code="35238",
        name="Rennes",
        latitude=48.1119,
        longitude=-1.6809,
        population=220000,
        postcodes=["35000"],
    )
    return worker, chrs


def test_worker_finds_a_chrs_by_its_acronym_near_st_malo(page, login, directory, assert_accessible):
    worker, chrs = directory
    login(page, worker)
    page.goto(reverse("partners:search"))

    page.get_by_label("Mots-clés").fill("CHRS")
    page.get_by_label("Lieu (code postal ou commune)").fill("St-Malo")
    page.get_by_label("Lieu (code postal ou commune)").press("Enter")

    results = page.locator("#resultats")
    expect(results.get_by_role("link", name=chrs.name)).to_be_visible()
    expect(results.get_by_text("Atelier vélo")).to_have_count(0)
    assert_accessible(page)


def test_a_partial_place_offers_its_candidates(page, login, directory, assert_accessible):
    worker, _ = directory
    login(page, worker)
    page.goto(reverse("partners:search") + "?lieu=Renn")

    choices = page.get_by_role("region", name="Précisez la commune")
    expect(choices.get_by_role("link", name="Rennes (35)")).to_be_visible()
    expect(page.get_by_text("Lieu inconnu")).to_have_count(0)
    assert_accessible(page)


def test_worker_picks_one_of_homonyms_and_gets_results_centred_there(
    page, login, directory, assert_accessible
):
    worker, _ = directory
    for insee, department, point in [("93066", "93", (48.936, 2.357)), ("97411", "974", (-20.882, 55.450))]:
        CommuneFactory(
            insee_code=insee,
            name="Saint-Denis",
            department=department,
            population=100000,
            latitude=point[0],
            longitude=point[1],
        )
    ServiceFactory(name="Accueil de jour de la Plaine", latitude=48.92, longitude=2.36)
    ServiceFactory(name="Accueil de jour de La Réunion", latitude=-20.88, longitude=55.45)
    login(page, worker)
    page.goto(reverse("partners:search"))

    page.get_by_label("Mots-clés").fill("accueil")
    page.get_by_label("Lieu (code postal ou commune)").fill("Saint-Denis")
    page.get_by_label("Lieu (code postal ou commune)").press("Enter")
    choices = page.get_by_role("region", name="Précisez la commune")
    expect(choices.get_by_role("link")).to_have_count(2)
    assert_accessible(page)

    choices.get_by_role("link", name="Saint-Denis (93)").click()
    results = page.locator("#resultats")
    expect(results.get_by_role("link", name="Accueil de jour de la Plaine")).to_be_visible()
    expect(results.get_by_text("Accueil de jour de La Réunion")).to_have_count(0)
    expect(results.get_by_role("link", name="À moins de 20 km de Saint-Denis")).to_be_visible()
    expect(page).to_have_url(re.compile(r"q=accueil.*insee=93066"))
    expect(page.get_by_label("Lieu (code postal ou commune)")).to_have_value("Saint-Denis (93)")
