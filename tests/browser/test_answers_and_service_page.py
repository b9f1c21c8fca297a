"""Answers at a glance, the service page for a phone call, and the words and details, in a real browser:
each page axe-clean at 1280 and 390 px wide."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from referrals.models import Referral
from reseau.accounts.models import User
from tests.factories import (
    CaseFactory,
    CommuneFactory,
    DomainFactory,
    ReferralFactory,
    ServiceFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def check_both_widths(page, assert_accessible, assert_fits_width):
    page.set_viewport_size(DESKTOP)
    assert_accessible(page)
    page.set_viewport_size(PHONE)
    assert_accessible(page)
    assert_fits_width(page)
    page.set_viewport_size(DESKTOP)


def test_home_shows_answers_waiting_and_expiring_referrals(page, login, assert_accessible, assert_fits_width):
    need = DomainFactory(label="Hébergement d'urgence")
    worker = UserFactory(worker=True)
    User.objects.filter(pk=worker.pk).update(last_seen_at=timezone.now() - datetime.timedelta(days=1))
    shelter = ServiceFactory(name="CHRS L'Escale", domains=[need])
    ReferralFactory(
        case=CaseFactory(service=worker.service, reference="S-REFUS"),
        service=shelter,
        needs=[need],
        to="refused",
    )
    waiting = ReferralFactory(
        case=CaseFactory(reference="S-A-REPONDRE"), service=worker.service, needs=[need], to="sent"
    )
    Referral.objects.filter(pk=waiting.pk).update(sent_at=timezone.now() - datetime.timedelta(days=28))

    login(page, worker)
    answers = page.get_by_role("region", name=re.compile("Réponses reçues depuis votre dernière visite"))
    expect(answers.get_by_text("CHRS L'Escale")).to_be_visible()
    expect(answers.get_by_text("Refusée")).to_be_visible()
    expect(
        page.get_by_role("region", name=re.compile("en attente de réponse")).get_by_text("S-A-REPONDRE")
    ).to_be_visible()
    expect(
        page.get_by_role("region", name=re.compile("Expirent dans les 3 jours")).get_by_text("S-A-REPONDRE")
    ).to_be_visible()
    expect(page.get_by_role("link", name="Orientations reçues 1 en attente de réponse")).to_be_visible()
    check_both_widths(page, assert_accessible, assert_fits_width)


def test_case_list_badges_are_readable_on_a_phone(page, login, assert_accessible, assert_fits_width):
    worker = UserFactory(worker=True)
    case = CaseFactory(service=worker.service, reference="S-SUIVI")
    ReferralFactory(case=case, service=ServiceFactory(name="Foyer Soleil"), to="accepted")
    ReferralFactory(case=case, service=ServiceFactory(name="Épicerie du Blosne"), to="under_review")
    login(page, worker)
    page.set_viewport_size(PHONE)
    page.goto(reverse("referrals:case_list"))
    row = page.get_by_role("row", name=re.compile("S-SUIVI"))
    expect(row.get_by_text("Orientations :")).to_be_visible()
    expect(row.get_by_text("Créée le")).to_be_visible()
    expect(row.get_by_text("Acceptée")).to_be_visible()
    expect(row.get_by_text("En cours d'étude")).to_be_visible()
    check_both_widths(page, assert_accessible, assert_fits_width)
    # On a wide screen the header row says it once: the cell labels are hidden.
    expect(row.get_by_text("Orientations :")).to_be_hidden()


def test_service_page_contact_first_refer_from_it_and_print(
    page, login, assert_accessible, assert_fits_width
):
    worker = UserFactory(worker=True)
    CaseFactory(service=worker.service, reference="S-POUR-ESCALE")
    service = ServiceFactory(
        name="CHRS L'Escale",
        phone="02 99 12 34 56",
        email="accueil@escale.fr",
        address="3 rue des Lilas",
        postcode="35000",
        commune=CommuneFactory(insee_code="35238", name="Rennes"),
        opening_hours="Mo-Fr 09:00-12:00,14:00-17:00",
        referral_details="Fiche de liaison : https://escale.fr/orienter",
        domains=[DomainFactory()],
    )
    login(page, worker)
    page.goto(reverse("partners:search") + "?q=escale")
    page.get_by_role("link", name="CHRS L'Escale").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("CHRS L'Escale")
    expect(page.get_by_role("link", name="02 99 12 34 56")).to_have_attribute("href", "tel:0299123456")
    expect(page.get_by_role("link", name=re.compile("Itinéraire sur OpenStreetMap"))).to_be_visible()
    expect(page.get_by_text("Du lundi au vendredi")).to_be_visible()
    expect(page.get_by_text(re.compile("(Ouvert|Fermé) maintenant"))).to_be_visible()
    expect(page.get_by_role("link", name="https://escale.fr/orienter")).to_be_visible()
    expect(page.get_by_role("link", name="← Retour aux résultats")).to_have_attribute(
        "href", "/recherche/?q=escale"
    )
    check_both_widths(page, assert_accessible, assert_fits_width)

    # On paper: no navigation, no forms, the contact block first.
    page.emulate_media(media="print")
    expect(page.get_by_role("navigation", name="Menu principal")).to_be_hidden()
    expect(page.get_by_role("heading", name="Orienter vers ce service")).to_be_hidden()
    contact_top = page.get_by_role("heading", name="Contacter le service").bounding_box()["y"]
    title_top = page.get_by_role("heading", level=1).bounding_box()["y"]
    assert contact_top < title_top
    expect(page.locator(".contact__name")).to_have_text("CHRS L'Escale — " + service.organisation.name)
    page.emulate_media(media="screen")
    expect(page.locator(".contact__name")).to_be_hidden()

    # Refer from here: the usual review step opens with this service.
    page.get_by_role("button", name="Orienter la situation S-POUR-ESCALE").click()
    expect(page.get_by_text("CHRS L'Escale").first).to_be_visible()
    expect(page).to_have_url(re.compile(r"/situations/\d+/orienter/"))


def test_a_failed_submit_moves_focus_to_the_error_summary(
    page, login, console_errors, assert_accessible, assert_fits_width
):
    worker = UserFactory(worker=True)
    login(page, worker)
    page.goto(reverse("partners:listing_edit"))
    page.get_by_label("Courriel").fill("pas-une-adresse")
    page.get_by_role("button", name="Enregistrer la fiche").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("1 erreur à corriger")
    # The refused form is a 400, which the browser logs: expected here.
    console_errors[:] = [error for error in console_errors if "status of 400" not in error]
    email = page.get_by_label("Courriel")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_accessible_description(re.compile("adresse", re.IGNORECASE))
    check_both_widths(page, assert_accessible, assert_fits_width)
    # Keyboard: the summary's link leads to the field.
    page.keyboard.press("Tab")
    expect(summary.get_by_role("link")).to_be_focused()


def test_the_search_live_region_announces_the_count_not_the_cards(page, login):
    worker = UserFactory(worker=True)
    need = DomainFactory(label="Aide alimentaire")
    for number in range(3):
        ServiceFactory(name=f"Épicerie solidaire {number}", domains=[need])
    login(page, worker)
    page.goto(reverse("partners:search"))
    page.get_by_label("Mots-clés").press_sequentially("epicerie", delay=40)
    expect(page.locator("#resultats").get_by_text("3 services trouvés")).to_be_visible()
    live = page.locator("[role=status], [aria-live]")
    expect(live).to_have_count(1)
    expect(live).to_have_text(re.compile("^3 services trouvés"))
    expect(page.locator("#resultats")).not_to_have_attribute("aria-live", re.compile(".*"))


def test_keyboard_only_from_the_service_page_to_the_referral_review(page, login):
    worker = UserFactory(worker=True)
    CaseFactory(service=worker.service, reference="S-CLAVIER")
    service = ServiceFactory(name="Point conseil budget", phone="02 99 00 00 00", domains=[DomainFactory()])
    login(page, worker)
    page.goto(reverse("partners:service_detail", args=[service.pk]))
    target = page.get_by_role("button", name="Orienter la situation S-CLAVIER")
    for _ in range(40):  # Tab through the page as a keyboard user does, until the button has the focus
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            break
    expect(target).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/situations/\d+/orienter/"))
    expect(page.get_by_text("Point conseil budget").first).to_be_visible()
