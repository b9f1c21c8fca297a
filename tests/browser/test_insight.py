import pytest
from django.urls import reverse
from playwright.sync_api import expect

from referrals.insight_views import PAGES
from tests.insight.dataset import build_network_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1280, 390)


def check_both_widths(page, assert_accessible, assert_fits_width):
    """axe passes at 1280 and at 390 px wide, and nothing scrolls sideways on the phone."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        assert_accessible(page)
    assert_fits_width(page)
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})


def test_coordinator_opens_every_insight_page_with_its_chart(
    page, login, assert_accessible, assert_fits_width
):
    data = build_network_data()
    login(page, data.coordinator)

    page.get_by_role("link", name="Analyse du réseau Réseau N").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Analyse du réseau Réseau N")
    expect(page.get_by_text("37,5 %")).to_be_visible()
    check_both_widths(page, assert_accessible, assert_fits_width)

    for slug, insight_page in PAGES.items():
        page.get_by_role("navigation", name="Pages d'analyse du réseau").get_by_role(
            "link", name=insight_page.title, exact=True
        ).click()
        expect(page).to_have_url(reverse("insight:page", args=[data.network.pk, slug]))
        chart = page.locator(".insight-chart img")
        expect(chart).to_have_js_property("complete", True)
        assert chart.evaluate("img => img.naturalWidth") > 0, f"the chart of {slug} did not load"
        expect(page.locator(".card h2").first).to_be_visible()
        check_both_widths(page, assert_accessible, assert_fits_width)

    # Filters stay in the URL and the chart follows them.
    page.goto(reverse("insight:page", args=[data.network.pk, "hors-convention"]))
    page.get_by_label("Département").fill("35")
    page.get_by_role("button", name="Appliquer").click()
    expect(page).to_have_url(
        f"{reverse('insight:page', args=[data.network.pk, 'hors-convention'])}?du=&au=&departement=35&categorie="
    )
    expect(page.locator(".insight-chart img")).to_have_attribute(
        "src",
        f"{reverse('insight:chart', args=[data.network.pk, 'hors-convention'])}?du=&au=&departement=35&categorie=",
    )
