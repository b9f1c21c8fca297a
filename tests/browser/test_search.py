import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.factories import (
    CommuneFactory,
    ConventionFactory,
    DomainFactory,
    MembershipFactory,
    ServiceFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def directory():
    worker = UserFactory(worker=True, worker__name="CCAS de Rennes — accueil")
    convention = ConventionFactory(title="Convention précarité Rennes")
    MembershipFactory(convention=convention, service=worker.service)
    food = DomainFactory(code="alimentation", label="Aide alimentaire")
    partner = ServiceFactory(name="Épicerie solidaire du Blosne", domains=[food])
    MembershipFactory(convention=convention, service=partner)
    outsider = ServiceFactory(name="Épicerie sociale de Cleunay", domains=[food])
    ServiceFactory(name="Point conseil budget")
    CommuneFactory(
        insee_code="35238",
        name="Rennes",
        latitude=48.1119,
        longitude=-1.6809,
        population=220000,
        postcodes=["35000"],
    )
    return worker, partner, outsider


def test_worker_types_and_sees_results_update_with_badges(
    page, login, directory, assert_accessible, assert_fits_width
):
    worker, partner, outsider = directory
    login(page, worker)
    page.get_by_role("link", name="Rechercher").click()

    page.wait_for_load_state()  # htmx loaded (deferred scripts run before the load event)
    page.evaluate(
        "window.snapshots = 0;"
        "document.body.addEventListener('htmx:beforeHistorySave', () => { window.snapshots += 1; })"
    )
    page.get_by_label("Mots-clés").press_sequentially("epicer", delay=40)

    results = page.locator("#resultats")
    expect(results.get_by_text("2 services trouvés")).to_be_visible()
    expect(page).to_have_url(re.compile(r"q=epicer"))  # the URL follows, without a page load
    # The results have no CSS transition to wait for: htmx shows them without its 20 ms settle delay.
    assert page.evaluate("htmx.config.defaultSettleDelay") == 0
    # Nor does it copy the whole page before each swap, for a history cache it does not keep.
    assert page.evaluate("window.snapshots") == 0
    partner_card = results.get_by_role("listitem").filter(has_text=partner.name)
    expect(partner_card.get_by_text("Partenaire conventionné")).to_be_visible()
    expect(partner_card.get_by_text("Convention précarité Rennes")).to_be_visible()
    expect(
        results.get_by_role("listitem").filter(has_text=outsider.name).get_by_text("Hors convention")
    ).to_be_visible()

    page.get_by_label("Partenaires de mes conventions uniquement").check()
    expect(results.get_by_text("1 service trouvé")).to_be_visible()
    expect(page).to_have_url(re.compile(r"partenaires=on"))
    assert_accessible(page)
    assert_fits_width(page)

    page.go_back()  # the back button restores the previous results
    expect(page.locator("#resultats").get_by_text("2 services trouvés")).to_be_visible()


def test_worker_without_javascript_uses_the_plain_form(browser, live_server, directory):
    worker, partner, _ = directory
    context = browser.new_context(java_script_enabled=False, base_url=live_server.url)
    page = context.new_page()
    page.goto(reverse("login"))
    page.get_by_label("Adresse électronique").fill(worker.email)
    page.get_by_label("Mot de passe").fill("mot-de-passe-de-test-2026")
    page.get_by_role("button", name="Se connecter").click()
    page.goto(reverse("partners:search"))

    page.get_by_label("Mots-clés").fill("blosne")
    page.get_by_role("button", name="Rechercher").click()

    expect(page.get_by_text("1 service trouvé")).to_be_visible()
    expect(page.get_by_role("link", name=partner.name)).to_be_visible()
    context.close()


def test_worker_opens_a_service_detail_from_the_results(
    page, login, directory, assert_accessible, assert_fits_width
):
    worker, partner, _ = directory
    login(page, worker)
    page.goto(reverse("partners:search") + "?q=blosne&lieu=35000&rayon=20")

    page.get_by_role("link", name=partner.name).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(partner.name)
    expect(page.get_by_text("Partenaire conventionné")).to_be_visible()
    assert_accessible(page)
    assert_fits_width(page)


def test_place_field_suggests_communes(page, login, directory):
    worker, _, _ = directory
    login(page, worker)
    page.goto(reverse("partners:search"))

    page.get_by_label("Lieu (code postal ou commune)").press_sequentially("renn", delay=40)

    expect(page.locator("#communes-suggestions option")).to_have_attribute("value", "Rennes (35)")
