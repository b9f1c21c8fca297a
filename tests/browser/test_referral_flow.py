import pytest
from django.urls import reverse
from playwright.sync_api import expect

from partners.models import Service
from tests.factories import (
    CaseFactory,
    CommuneFactory,
    ConventionFactory,
    DomainFactory,
    MembershipFactory,
    ReferralFactory,
    ServiceFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_worker_refers_off_convention_with_a_reason_and_receiver_accepts(
    browser, live_server, login, assert_accessible, assert_fits_width
):
    CommuneFactory(
        insee_code="35238", name="Rennes", latitude=48.1119, longitude=-1.6809, postcodes=["35000"]
    )
    food = DomainFactory(code="aide-alimentaire", label="Aide alimentaire")
    worker = UserFactory(worker=True)
    Service.objects.filter(pk=worker.service_id).update(latitude=None, longitude=None)
    convention = ConventionFactory()
    MembershipFactory(convention=convention, service=worker.service)
    partner = ServiceFactory(name="Épicerie partenaire", domains=[food], latitude=48.25, longitude=-1.6809)
    MembershipFactory(convention=convention, service=partner)
    outside = ServiceFactory(name="Épicerie voisine", domains=[food], latitude=48.1119, longitude=-1.6809)
    receiver = UserFactory(service=outside)

    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    login(page, worker)
    page.goto(reverse("referrals:case_create"))
    page.locator(f"input[name=needs][value='{food.pk}']").evaluate(
        "e => { e.closest('details') && (e.closest('details').open = true) }"
    )
    page.locator(f"input[name=needs][value='{food.pk}']").check()
    page.get_by_label("Lieu de vie (code postal ou commune)").fill("35000")
    page.get_by_role("button", name="Enregistrer et voir les propositions").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Propositions d'orientation")
    expect(page.get_by_text("Hors convention mais plus proche").first).to_be_visible()
    assert_accessible(page)
    assert_fits_width(page)

    # The partner comes ticked; the worker prefers the closer service the note names.
    page.get_by_role("checkbox", name="Épicerie partenaire", exact=False).uncheck()
    page.locator(".routing-note").get_by_role("checkbox", name="Épicerie voisine", exact=False).check()
    page.get_by_role("button", name="Orienter vers les services cochés").click()
    page.get_by_role("button", name="Envoyer 1 orientation").click()
    expect(page.get_by_role("alert")).to_contain_text("indiquez le motif")
    page.get_by_label("Motif", exact=False).first.select_option("closer")
    page.get_by_role("button", name="Envoyer 1 orientation").click()
    expect(page.get_by_text("1 orientation envoyée.")).to_be_visible()
    assert_accessible(page)
    context.close()

    other = browser.new_context(base_url=live_server.url)
    page = other.new_page()
    login(page, receiver)
    page.goto(reverse("referrals:inbox"))
    page.locator("table a").first.click()
    page.get_by_role("button", name="Accepter l'orientation").click()
    expect(page.get_by_text("Orientation acceptée")).to_be_visible()
    assert_accessible(page)
    other.close()


def test_inbox_case_list_and_answer_on_the_case_are_accessible_on_a_phone(
    browser, live_server, login, assert_accessible, assert_fits_width
):
    need = DomainFactory(code="dettes", label="Surendettement")
    sender = UserFactory(worker=True)
    receiving = ServiceFactory(name="Point conseil budget", domains=[need])
    receiver = UserFactory(service=receiving)
    waiting = CaseFactory(service=sender.service, reference="S-2026-ATTENTE", needs=[need])
    answered = CaseFactory(service=sender.service, reference="S-2026-REPONDUE", needs=[need])
    ReferralFactory(case=waiting, service=receiving, needs=[need], to="sent", sender=sender)
    ReferralFactory(case=answered, service=receiving, needs=[need], to="refused", sender=sender)

    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    login(page, receiver)
    page.goto(reverse("referrals:inbox"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_text("S-2026-ATTENTE")).to_be_visible()
    assert_accessible(page)
    assert_fits_width(page)
    context.close()

    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    login(page, sender)
    page.goto(reverse("referrals:case_list"))
    expect(page.get_by_text("S-2026-REPONDUE")).to_be_visible()
    assert_accessible(page)
    assert_fits_width(page)
    page.get_by_role("link", name="S-2026-REPONDUE").click()
    expect(page.get_by_text("Refusée").first).to_be_visible()
    assert_accessible(page)
    assert_fits_width(page)
    context.close()
