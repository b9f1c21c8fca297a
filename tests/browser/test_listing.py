"""Issue 10: a service keeps its own listing (account or personal link) and workers report errors.
Every new page passes axe-core and fits a 390 px wide phone."""

import datetime
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from partners.models import ErrorReport, Service
from reseau.links.models import LinkPurpose
from reseau.links.services import link_create
from tests.factories import ErrorReportFactory, ServiceFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LINK = re.compile(r"https?://\S+(/fiche/[A-Za-z0-9_-]+/)")


def check_page(page, assert_accessible, assert_fits_width):
    assert_accessible(page)
    assert_fits_width(page)


def expected_status(page, console_errors, status):
    """The browser logs a page answered with an error status: expected here, and only that one."""
    page.evaluate("0")  # a round trip: console messages in flight are received
    console_errors[:] = [e for e in console_errors if f"status of {status} " not in e]


def test_staff_update_their_listing_from_their_account(
    page, login, assert_accessible, assert_fits_width, console_errors
):
    service = ServiceFactory(name="Halte de nuit", phone="02 99 00 00 00", email="halte@exemple.fr")
    staff = UserFactory(service=service)
    login(page, staff)

    page.goto(reverse("partners:service_detail", args=[service.pk]))
    page.get_by_role("link", name="Mettre à jour la fiche de mon service").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Halte de nuit")
    check_page(page, assert_accessible, assert_fits_width)

    page.get_by_label("Disponibilité actuelle").select_option("full")
    page.get_by_label("Téléphone").fill("n'importe quoi")
    page.get_by_role("button", name="Enregistrer la fiche").click()
    # The error next to its field, and in the summary that takes the focus.
    expect(page.locator("#id_phone_error")).to_contain_text("Numéro de téléphone invalide")
    expect(page.locator(".error-summary")).to_be_focused()
    expected_status(page, console_errors, 400)
    check_page(page, assert_accessible, assert_fits_width)

    page.get_by_label("Téléphone").fill("02 99 11 22 33")
    page.get_by_role("button", name="Enregistrer la fiche").click()
    expect(page.get_by_role("status")).to_contain_text("la fiche est à jour")
    service.refresh_from_db()
    assert (service.capacity_status, service.phone) == ("full", "02 99 11 22 33")
    assert service.history.latest("history_date").history_user == staff


def test_a_service_without_an_account_updates_its_listing_from_the_e_mailed_link(
    browser, live_server, login, assert_accessible, assert_fits_width
):
    service = ServiceFactory(name="Épicerie sans compte", email="epicerie@exemple.fr", verified_on=None)
    worker = UserFactory(worker=True)
    ErrorReportFactory(service=service, category="opening_hours", text="Fermé le lundi matin.")
    mail.outbox.clear()

    asking = browser.new_context(base_url=live_server.url)
    page = asking.new_page()
    login(page, worker)
    page.goto(reverse("partners:service_detail", args=[service.pk]))
    check_page(page, assert_accessible, assert_fits_width)
    page.get_by_role("button", name="Recevoir un lien pour mettre à jour cette fiche").click()
    expect(page.get_by_role("status")).to_contain_text("vient d'être envoyé")
    assert "/fiche/" not in page.content()

    (message,) = [m for m in mail.outbox if m.to == ["epicerie@exemple.fr"]]
    path = LINK.search(message.body).group(1)
    receiver = browser.new_context(base_url=live_server.url)  # no login, no account
    listing = receiver.new_page()
    listing.goto(path)
    expect(listing.get_by_role("heading", level=1)).to_contain_text("Épicerie sans compte")
    expect(listing.get_by_text("Fermé le lundi matin.")).to_be_visible()
    check_page(listing, assert_accessible, assert_fits_width)
    listing.get_by_label("Horaires d'ouverture").fill("Mardi et jeudi, 14 h – 18 h")
    listing.get_by_role("button", name="Enregistrer la fiche").click()
    expect(listing.get_by_role("status")).to_contain_text("la fiche est à jour")
    listing.get_by_role("button", name="Confirmer que la fiche est à jour").click()
    expect(listing.get_by_role("status")).to_contain_text("confirmée à jour")
    check_page(listing, assert_accessible, assert_fits_width)

    service.refresh_from_db()
    assert service.opening_hours == "Mardi et jeudi, 14 h – 18 h"
    assert service.verified_on == timezone.localdate()
    assert service.history.latest("history_date").history_change_reason.endswith(
        "par lien envoyé à epicerie@exemple.fr"
    )
    asking.close()
    receiver.close()


def test_expired_and_unknown_link_pages(page, assert_accessible, assert_fits_width, console_errors):
    service = ServiceFactory(name="Service au lien expiré", email="expire@exemple.fr")
    _, token = link_create(
        purpose=LinkPurpose.SERVICE_LISTING,
        service=service,
        email="expire@exemple.fr",
        now=timezone.now() - datetime.timedelta(days=30),
    )
    mail.outbox.clear()

    page.goto(reverse("partners:listing_link", args=[token]))
    expect(page.get_by_role("heading", level=1)).to_have_text("Ce lien a expiré")
    expected_status(page, console_errors, 410)
    check_page(page, assert_accessible, assert_fits_width)
    page.get_by_role("button", name="M'envoyer un nouveau lien").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nouveau lien envoyé")
    check_page(page, assert_accessible, assert_fits_width)
    assert [m.to for m in mail.outbox] == [["expire@exemple.fr"]]

    page.goto(reverse("partners:listing_link", args=["A" * 43]))
    expect(page.get_by_role("heading", level=1)).to_have_text("Ce lien n'est pas valide")
    expected_status(page, console_errors, 404)
    check_page(page, assert_accessible, assert_fits_width)


def test_a_worker_reports_an_error_on_a_service(
    page, login, assert_accessible, assert_fits_width, console_errors
):
    service = ServiceFactory(name="Accueil de jour", email="accueil@exemple.fr")
    login(page, UserFactory(worker=True))

    page.goto(reverse("partners:service_detail", args=[service.pk]))
    page.get_by_role("link", name="Signaler une erreur").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Accueil de jour")
    check_page(page, assert_accessible, assert_fits_width)

    page.get_by_role("button", name="Envoyer le signalement").click()
    expect(page.locator("#id_category_error")).to_have_text("Choisissez ce qui est inexact.")
    expect(page.locator(".error-summary")).to_be_focused()
    expected_status(page, console_errors, 400)
    check_page(page, assert_accessible, assert_fits_width)
    assert ErrorReport.objects.count() == 0

    page.get_by_label("Qu'est-ce qui est inexact ?").select_option("opening_hours")
    page.get_by_label("Précisez").fill("Fermé le mardi depuis septembre.")
    page.get_by_role("button", name="Envoyer le signalement").click()
    expect(page.get_by_role("status")).to_contain_text("l'erreur est signalée")
    assert ErrorReport.objects.get().service == Service.objects.get(pk=service.pk)
