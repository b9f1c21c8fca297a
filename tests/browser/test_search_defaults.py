"""Search on a phone and with the keyboard only (issue 13): the first result on the first screen,
removable chips, the sort choice, tap targets of at least 24 × 24 px, and search → service → refer
without a mouse, the focus visible at every step."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from referrals.models import Referral
from tests.browser.conftest import PHONE_HEIGHT, PHONE_WIDTH
from tests.factories import (
    CaseFactory,
    CommuneFactory,
    ConventionFactory,
    DomainFactory,
    MembershipFactory,
    ServiceFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RENNES = (48.1119, -1.6809)
KM_PER_DEGREE = 111.2
MIN_TARGET_PX = 24

# Every control a finger may aim at; a checkbox is aimed at through its label.
TARGETS_SMALLER_THAN = """(minimum) => {
    const controls = document.querySelectorAll(
        "a[href], button, input:not([type=hidden]), select, textarea, summary");
    const small = [];
    for (const control of controls) {
        const target = ["checkbox", "radio"].includes(control.type) ? control.closest("label") || control : control;
        if (target.getClientRects().length === 0) continue;  // not rendered (a folded <details>)
        const box = target.getBoundingClientRect();
        if (box.width < minimum || box.height < minimum) {
            small.push(`${target.tagName.toLowerCase()} "${target.textContent.trim().slice(0, 40)}": `
                + `${Math.round(box.width)} × ${Math.round(box.height)} px`);
        }
    }
    return small;
}"""

FOCUS_IS_VISIBLE = """() => {
    const element = document.activeElement;
    const style = getComputedStyle(element);
    return element.matches(":focus-visible") && style.outlineStyle !== "none"
        && parseFloat(style.outlineWidth) >= 2;
}"""


def north_of_rennes(km):
    return {"latitude": RENNES[0] + km / KM_PER_DEGREE, "longitude": RENNES[1]}


@pytest.fixture
def directory():
    """A worker of a CCAS in Rennes, a partner 3 km away, an outside service 8 km away, one 40 km away."""
    rennes = CommuneFactory(
        insee_code="35238",
        name="Rennes",
        latitude=RENNES[0],
        longitude=RENNES[1],
        population=220000,
        postcodes=["35000"],
    )
    worker = UserFactory(worker=True, service__name="CCAS de Rennes — accueil", service__commune=rennes)
    convention = ConventionFactory(title="Convention précarité Rennes")
    MembershipFactory(convention=convention, service=worker.service)
    food = DomainFactory(code="alimentation", label="Aide alimentaire")
    partner = ServiceFactory(
        name="Épicerie solidaire du Blosne", domains=[food], phone="02 99 11 22 33", **north_of_rennes(3)
    )
    MembershipFactory(convention=convention, service=partner)
    ServiceFactory(
        name="Épicerie sociale de Cleunay", domains=[food], phone="02 99 44 55 66", **north_of_rennes(8)
    )
    ServiceFactory(
        name="Épicerie de Saint-Malo", domains=[food], phone="02 99 77 88 99", **north_of_rennes(40)
    )
    case = CaseFactory(service=worker.service, commune=rennes, reference="S-2026-014", needs=[food])
    return worker, partner, case


def test_phone_first_result_on_the_first_screen_with_distance_and_tap_to_call(
    page, login, directory, assert_accessible, assert_fits_width
):
    worker, partner, _ = directory
    page.set_viewport_size({"width": PHONE_WIDTH, "height": PHONE_HEIGHT})
    login(page, worker)
    page.goto(reverse("partners:search") + "?q=epicerie&tri=distance")

    filters = page.locator("details[data-open-when-wide]")
    expect(filters).not_to_have_attribute("open", re.compile(".*"))  # folded on a phone
    first = page.locator("ol.results > li").first
    expect(first).to_contain_text(partner.name)
    for part in (
        first.get_by_role("heading"),
        first.locator(".distance"),
        first.get_by_role("link", name=re.compile("^Appeler")),
    ):
        box = part.bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE_HEIGHT, f"{part} is below the first screen"
    expect(first.locator(".distance")).to_have_text("à 3,0 km")
    expect(first.get_by_role("link", name="Appeler le 02 99 11 22 33")).to_have_attribute(
        "href", "tel:0299112233"
    )
    expect(page.locator("ol.results > li")).to_have_count(2)  # 20 km around the worker's service
    assert page.evaluate(TARGETS_SMALLER_THAN, MIN_TARGET_PX) == []
    assert_accessible(page)
    assert_fits_width(page)

    filters.get_by_text("Filtres et tri").click()  # unfolded on demand, still tappable and accessible
    assert page.evaluate(TARGETS_SMALLER_THAN, MIN_TARGET_PX) == []
    assert_accessible(page)


def test_chips_remove_their_filter_and_the_sort_stays_in_the_url(
    page, login, directory, assert_accessible, assert_fits_width
):
    worker, partner, _ = directory
    login(page, worker)  # 1280 px wide: the filters start unfolded
    page.goto(reverse("partners:search"))
    expect(page.locator("details[data-open-when-wide]")).to_have_attribute("open", "")
    expect(page.get_by_label("Rayon")).to_have_value("20")

    page.get_by_label("Mots-clés").press_sequentially("epicerie", delay=30)
    results = page.locator("#resultats")
    expect(page).to_have_url(re.compile(r"q=epicerie&"))
    expect(results.get_by_text("2 services trouvés")).to_be_visible()
    expect(page.locator("#annonce-resultats")).to_have_text(re.compile("^2 services trouvés"))

    page.get_by_label("Trier par").select_option("distance")
    expect(page).to_have_url(re.compile(r"tri=distance"))
    expect(results.locator("ol.results > li").first).to_contain_text(partner.name)
    expect(results).to_contain_text("triés par distance")

    home_chip = results.get_by_role("link", name=re.compile(r"À moins de 20 km de Rennes \(votre service\)"))
    home_chip.click()
    expect(page).to_have_url(re.compile(r"partout=1"))
    expect(page).to_have_url(re.compile(r"tri=distance"))
    expect(results.get_by_text("3 services trouvés")).to_be_visible()
    expect(results).to_contain_text("ne peuvent pas être triés par distance")  # no place, no distance
    page.set_viewport_size({"width": PHONE_WIDTH, "height": PHONE_HEIGHT})
    assert page.evaluate(TARGETS_SMALLER_THAN, MIN_TARGET_PX) == []  # the way back around the service too
    assert_accessible(page)

    page.get_by_label("Mots-clés").press("End")
    page.get_by_label("Mots-clés").press_sequentially(" malo", delay=30)  # "partout" is kept while typing
    expect(results.get_by_text("1 service trouvé")).to_be_visible()
    expect(page).to_have_url(re.compile(r"partout=1"))

    results.get_by_role("link", name=re.compile("Mots : « epicerie malo »")).click()
    expect(page.get_by_label("Mots-clés")).to_have_value("")
    results.get_by_role("link", name="Chercher autour de votre service (Rennes)").click()
    expect(page).not_to_have_url(re.compile(r"partout"))
    assert_accessible(page)
    assert_fits_width(page)


def _tab_to(page, locator, limit=80):
    """Press Tab until ``locator`` has the focus; then its focus ring must show."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if locator.evaluate("element => element === document.activeElement"):
            assert page.evaluate(FOCUS_IS_VISIBLE), f"no visible focus on {locator}"
            return
    pytest.fail(f"{locator} never got the focus in {limit} tabs")


def test_keyboard_only_from_search_to_a_sent_referral(page, login, directory, assert_accessible):
    worker, partner, case = directory
    login(page, worker)
    page.goto(reverse("partners:search"))

    _tab_to(page, page.get_by_label("Mots-clés"))
    page.keyboard.type("blosne")
    page.keyboard.press("Enter")
    expect(page.locator("#resultats").get_by_text("1 service trouvé")).to_be_visible()

    _tab_to(page, page.get_by_role("link", name=partner.name))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(partner.name)
    assert_accessible(page)

    _tab_to(page, page.get_by_role("button", name=f"Orienter la situation {case.reference}"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirmer les orientations")
    expect(page.get_by_text("Partenaire conventionné")).to_be_visible()

    _tab_to(page, page.get_by_label("Message pour le service (facultatif)"))
    page.keyboard.type("Famille de quatre personnes, sans ressources ce mois-ci.")
    _tab_to(page, page.get_by_role("button", name="Envoyer 1 orientation"))
    page.keyboard.press("Enter")
    expect(page.get_by_text("1 orientation envoyée.")).to_be_visible()
    assert_accessible(page)

    referral = Referral.objects.get()
    assert (referral.case_id, referral.service_id) == (case.pk, partner.pk)
