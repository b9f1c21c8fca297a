"""The words workers use, in a real browser: an acronym, place variants (issue 13)."""

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


def test_a_partial_place_offers_its_candidates(page, login, directory, assert_accessible, console_errors):
    worker, _ = directory
    login(page, worker)
    page.goto(reverse("partners:search") + "?lieu=Renn")

    expect(page.locator("#id_lieu_erreur")).to_contain_text("Peut-être : Rennes (35)")
    expect(page.get_by_text("Lieu inconnu")).to_have_count(0)
    assert_accessible(page)
    page.evaluate("0")  # the console message of the page load has arrived
    # The form's answer is a 400 with its message, which the browser reports: expected here.
    console_errors[:] = [error for error in console_errors if "status of 400" not in error]
