import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.factories import ConventionFactory, MembershipFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_anonymous_gets_an_accessible_login_page_that_fits_a_phone(
    page, assert_accessible, assert_fits_width
):
    page.goto(reverse("login"))

    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")
    expect(page.get_by_label("Adresse électronique")).to_be_focused()
    # The stylesheet is served and allowed by the CSP: the header has its colour.
    expect(page.get_by_role("banner")).to_have_css("background-color", "rgb(29, 63, 143)")
    assert_accessible(page)
    assert_fits_width(page)


def test_worker_logs_in_and_sees_partner_services_on_the_home_page(
    page, login, assert_accessible, assert_fits_width
):
    worker = UserFactory(worker=True, first_name="Camille")
    convention = ConventionFactory(title="Convention insertion Rennes")
    MembershipFactory(convention=convention, service=worker.service)
    partner = MembershipFactory(convention=convention, service__name="Épicerie solidaire").service

    login(page, worker)

    expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour Camille")
    partners = page.get_by_role("region", name="Partenaires conventionnés")
    expect(partners.get_by_role("link", name=partner.name)).to_be_visible()
    expect(partners.get_by_role("listitem")).to_have_count(1)
    expect(page.get_by_role("link", name="Accueil")).to_have_attribute("aria-current", "page")
    assert_accessible(page)
    assert_fits_width(page)


def test_worker_with_a_wrong_password_sees_the_error_on_the_login_page(page, assert_accessible):
    worker = UserFactory(worker=True)
    page.goto(reverse("login"))

    page.get_by_label("Adresse électronique").fill(worker.email)
    page.get_by_label("Mot de passe").fill("pas-le-bon-mot-de-passe")
    page.get_by_role("button", name="Se connecter").click()

    expect(page).to_have_url(reverse("login"))
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Connexion impossible : 1 erreur à corriger")
    expect(alert).to_contain_text("Adresse électronique ou mot de passe incorrect.")
    expect(alert).to_be_focused()
    expect(page.get_by_label("Adresse électronique")).to_have_value(worker.email)
    expect(page.get_by_label("Mot de passe")).to_have_value("")
    assert_accessible(page)


def test_anonymous_visiting_home_is_redirected_to_the_login_page(page):
    page.goto(reverse("home"))

    expect(page).to_have_url(f"{reverse('login')}?next=/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")


def test_anonymous_page_refuses_an_injected_inline_script(page, console_errors):
    """The strict CSP holds in the browser, and the harness sees its violations in the console."""
    page.goto(reverse("login"))

    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "document.body.dataset.injected = 'yes'";
            document.body.append(script);
        }"""
    )

    expect(page.locator("body")).not_to_have_attribute("data-injected", "yes")
    page.evaluate("0")  # receive the console message
    assert any("Content Security Policy" in error for error in console_errors), console_errors
    console_errors.clear()  # expected here; any other page's violation fails its test
