import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_worker_on_an_unknown_address_gets_an_accessible_404_page_with_a_way_back(
    page, login, console_errors, assert_accessible, assert_fits_width
):
    login(page, UserFactory(worker=True))

    response = page.goto("/cette-page-n-existe-pas/")

    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page introuvable")
    page.evaluate("0")  # receive chromium's console message about the 404 itself: expected here
    expected = [error for error in console_errors if "status of 404" in error]
    assert len(expected) == 1, console_errors
    console_errors.remove(expected[0])
    assert_accessible(page)
    assert_fits_width(page)
    page.get_by_role("main").get_by_role("link", name="Retour à l'accueil").click()
    expect(page).to_have_url(reverse("home"))


def test_worker_opening_the_logout_address_logs_out_with_the_button(
    page, login, assert_accessible, assert_fits_width
):
    login(page, UserFactory(worker=True))

    page.goto(reverse("logout"))

    expect(page.get_by_role("heading", level=1)).to_have_text("Déconnexion")
    assert_accessible(page)
    assert_fits_width(page)
    page.get_by_role("main").get_by_role("button", name="Se déconnecter").click()
    expect(page).to_have_url(reverse("login"))
    page.goto(reverse("home"))
    expect(page).to_have_url(f"{reverse('login')}?next=/")
