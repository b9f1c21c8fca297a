"""Routing that leads somewhere, in a real browser: a 4-need case on a phone, keyboard only."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from partners.enums import CapacityStatus
from partners.models import Service
from referrals.models import Referral
from tests.factories import (
    CaseFactory,
    CommuneFactory,
    ConventionFactory,
    DomainFactory,
    MembershipFactory,
    PublicFactory,
    ReferralFactory,
    ServiceFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RENNES = (48.1119, -1.6809)
KM = 1 / 111.2
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def at(km):
    return {"latitude": RENNES[0] + km * KM, "longitude": RENNES[1]}


def tab_to(page, selector, limit=120):
    """Press Tab until the focused element matches ``selector`` (keyboard only, like a worker would)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(selector) => document.activeElement.matches(selector)", selector):
            return
    pytest.fail(f"Tab never reached {selector}")


@pytest.fixture
def four_needs():
    """A worker's case with four needs around Rennes: for each, a partner and five outside services."""
    rennes = CommuneFactory(insee_code="35238", name="Rennes", latitude=RENNES[0], longitude=RENNES[1])
    worker = UserFactory(worker=True)
    convention = ConventionFactory(title="Convention précarité Rennes")
    MembershipFactory(convention=convention, service=worker.service)
    families, young = (
        PublicFactory(code="familles", label="Familles"),
        PublicFactory(code="jeunes", label="Jeunes"),
    )
    labels = ["Aide alimentaire", "Surendettement", "Hébergement d'urgence", "Accès aux droits"]
    needs, partners = [], []
    for index, label in enumerate(labels):
        need = DomainFactory(code=f"besoin-{index}", label=label)
        needs.append(need)
        partner = ServiceFactory(
            name=f"{label} — partenaire",
            domains=[need],
            **at(30 + index),
            capacity_status=CapacityStatus.OPEN,
        )
        partner.publics.set([families])
        MembershipFactory(convention=convention, service=partner)
        partners.append(partner)
        for number in range(5):
            outside = ServiceFactory(
                name=f"{label} — service {number + 1}",
                domains=[need],
                **at(0.5 + number),
                capacity_status=[CapacityStatus.OPEN, CapacityStatus.WAITING_LIST, CapacityStatus.FULL][
                    number % 3
                ],
            )
            outside.publics.set([young, families][: 1 + number % 2])
    case = CaseFactory(
        service=worker.service, reference="S-QUATRE", commune=rennes, needs=needs, radius_km=50
    )
    return {"worker": worker, "case": case, "needs": needs, "partners": partners}


def test_a_four_need_case_fits_two_phone_screens_and_is_usable_by_keyboard_only(
    browser, live_server, login, assert_accessible, assert_fits_width, four_needs
):
    case, partners = four_needs["case"], four_needs["partners"]
    context = browser.new_context(base_url=live_server.url, viewport=PHONE)
    page = context.new_page()
    login(page, four_needs["worker"])
    page.goto(reverse("referrals:case_routing", args=[case.pk]))
    expect(page.get_by_role("heading", name="Meilleure proposition")).to_be_visible()
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height <= 2 * PHONE["height"], f"{height} px: more than two phone screens"
    assert_accessible(page)
    assert_fits_width(page)

    # Keyboard only: untick the partner for "Surendettement", open the alternatives for "Aide
    # alimentaire" and tick the nearest outside service, then send.
    tab_to(page, f"input#s{partners[1].pk}")
    page.keyboard.press("Space")
    tab_to(page, f"#besoin-{four_needs['needs'][0].pk} > summary")
    page.keyboard.press("Enter")
    nearest = page.get_by_role("checkbox", name="Aide alimentaire — service 1", exact=False).first
    expect(nearest).to_be_visible()
    tab_to(page, "input[type=checkbox][name=services]:not(:checked)[id^=a]")
    page.keyboard.press("Space")
    assert_accessible(page)  # with a need's alternatives open
    page.set_viewport_size(DESKTOP)
    assert_accessible(page)
    tab_to(page, ".routing-form > button[type=submit]")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Confirmer les orientations")
    send = page.get_by_role("button", name="Envoyer 4 orientations")
    expect(send).to_be_visible()
    assert_accessible(page)
    # Untick one service on the confirm page: the button follows.
    tab_to(page, f"input#envoyer-{partners[3].pk}")
    page.keyboard.press("Space")
    expect(page.get_by_role("button", name="Envoyer 3 orientations")).to_be_visible()
    # The outside service needs a reason (a partner covers that need).
    nearest_id = Service.objects.get(name="Aide alimentaire — service 1").pk
    tab_to(page, f"select#reason_{nearest_id}")
    page.locator(f"select#reason_{nearest_id}").select_option("closer")
    # Meanwhile a colleague sent the case to the "Hébergement" partner: the error sits next to it.
    ReferralFactory(case=case, service=partners[2], needs=[four_needs["needs"][2]], to="sent")
    tab_to(page, "button[data-count-label]")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("Rien n'a été envoyé")
    row = page.locator(f"#service-{partners[2].pk}")
    expect(row.locator(".field__error")).to_contain_text("déjà en cours vers ce service")
    assert_accessible(page)
    page.set_viewport_size(PHONE)
    assert_fits_width(page)
    # The partner unticked before stays unticked; untick the duplicate too and send the other two.
    expect(page.locator(f"#envoyer-{partners[3].pk}")).not_to_be_checked()
    tab_to(page, f"input#envoyer-{partners[2].pk}")
    page.keyboard.press("Space")
    tab_to(page, "button[data-count-label]")
    page.keyboard.press("Enter")
    expect(page.get_by_text("2 orientations envoyées.")).to_be_visible()
    sent = set(Referral.objects.filter(case=case).values_list("service__name", flat=True))
    assert sent == {partners[0].name, partners[2].name, "Aide alimentaire — service 1"}
    context.close()


def test_worker_picks_a_service_from_an_honest_note(
    browser, live_server, login, assert_accessible, assert_fits_width
):
    CommuneFactory(
        insee_code="35238", name="Rennes", latitude=RENNES[0], longitude=RENNES[1], postcodes=["35000"]
    )
    food = DomainFactory(code="aide-alimentaire", label="Aide alimentaire")
    worker = UserFactory(worker=True)
    convention = ConventionFactory()
    MembershipFactory(convention=convention, service=worker.service)
    partner = ServiceFactory(name="Épicerie partenaire", domains=[food], **at(66))
    MembershipFactory(convention=convention, service=partner)
    ServiceFactory(name="Épicerie voisine", domains=[food], **at(0.5))
    case = CaseFactory(service=worker.service, commune__insee_code="35238", needs=[food], radius_km=100)

    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP)
    page = context.new_page()
    login(page, worker)
    page.goto(reverse("referrals:case_routing", args=[case.pk]))
    note = page.locator(".routing-note").first
    expect(note).to_contain_text("Hors convention mais plus proche : 0,5 km contre 66 km")
    expect(note.get_by_role("link", name="Fiche du service Épicerie voisine")).to_be_visible()
    assert_accessible(page)
    assert_fits_width(page)

    # Keyboard only: untick the partner, tick the note's service, send; the reason is asked.
    tab_to(page, f"input#s{partner.pk}")
    page.keyboard.press("Space")
    tab_to(page, ".routing-note input[type=checkbox]")
    page.keyboard.press("Space")
    tab_to(page, ".routing-form > button[type=submit]")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Envoyer 1 orientation").click()
    expect(page.get_by_role("alert")).to_contain_text("indiquez le motif")
    page.get_by_label("Motif", exact=False).first.select_option("closer")
    page.get_by_role("button", name="Envoyer 1 orientation").click()
    expect(page.get_by_text("1 orientation envoyée.")).to_be_visible()
    referral = Referral.objects.get()
    assert (referral.service.name, referral.off_convention_reason) == ("Épicerie voisine", "closer")
    context.close()


def test_after_a_refusal_the_worker_finds_another_service_for_that_need(
    browser, live_server, login, assert_accessible, assert_fits_width
):
    rennes = CommuneFactory(insee_code="35238", name="Rennes", latitude=RENNES[0], longitude=RENNES[1])
    food, debts = DomainFactory(label="Aide alimentaire"), DomainFactory(label="Surendettement")
    worker = UserFactory(worker=True)
    first = ServiceFactory(name="Épicerie du centre", domains=[food], **at(1))
    second = ServiceFactory(name="Épicerie du nord", domains=[food], **at(4))
    ServiceFactory(name="Point conseil budget", domains=[debts], **at(2))
    case = CaseFactory(service=worker.service, reference="S-REFUS", commune=rennes, needs=[food, debts])
    refused = ReferralFactory(case=case, service=first, needs=[food], to="refused")
    Referral.objects.filter(pk=refused.pk).update(
        answered_at=timezone.make_aware(datetime.datetime(2026, 6, 3, 10, 0))
    )

    context = browser.new_context(base_url=live_server.url, viewport=PHONE)
    page = context.new_page()
    login(page, worker)
    page.goto(reverse("referrals:case_detail", args=[case.pk]))
    link = page.get_by_role("link", name="Trouver un autre service pour ce besoin")
    assert_accessible(page)
    assert_fits_width(page)
    link.focus()
    page.keyboard.press("Enter")

    expect(page.locator(".routing-focus")).to_contain_text("Aide alimentaire")
    best = page.locator(".proposal__row")
    expect(best).to_have_count(1)
    expect(best.first).to_contain_text(second.name)
    expect(page.get_by_role("checkbox", name=second.name, exact=False).first).to_be_checked()
    page.locator(f"#besoin-{food.pk} > summary").click()
    expect(page.get_by_text("A refusé le 3 juin 2026")).to_be_visible()
    assert_accessible(page)
    assert_fits_width(page)
    context.close()
