import datetime
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from reseau.links.models import LinkPurpose
from reseau.links.services import link_create
from tests.factories import (
    CaseFactory,
    CommuneFactory,
    DomainFactory,
    ReferralFactory,
    ServiceFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LINK = re.compile(r"https?://\S+(/reponse/[A-Za-z0-9_-]+/)")


def test_a_service_without_an_account_refuses_from_the_e_mailed_link(
    browser, live_server, login, assert_accessible, assert_fits_width
):
    commune = CommuneFactory(insee_code="35238", name="Rennes", latitude=48.11, longitude=-1.68)
    need = DomainFactory(code="aide-alimentaire", label="Aide alimentaire")
    worker = UserFactory(worker=True)
    ServiceFactory(name="Épicerie sans compte", email="epicerie@exemple.fr", domains=[need])
    case = CaseFactory(service=worker.service, reference="S-LIEN-1", needs=[need], commune=commune)
    mail.outbox.clear()

    sender = browser.new_context(base_url=live_server.url)
    page = sender.new_page()
    login(page, worker)
    page.goto(reverse("referrals:case_routing", args=[case.pk]))
    proposal = page.locator("form.proposal").filter(has_text="Épicerie sans compte").first
    proposal.get_by_role("button", name="Orienter vers les services cochés").click()
    page.get_by_label("Message pour le service (facultatif)").fill("Disponible le matin.")
    page.get_by_role("button", name="Envoyer 1 orientation").click()
    expect(page.get_by_text("1 orientation envoyée.")).to_be_visible()

    (message,) = [m for m in mail.outbox if m.to == ["epicerie@exemple.fr"]]
    path = LINK.search(message.body).group(1)

    receiver = browser.new_context(base_url=live_server.url)  # no login, no account
    answer = receiver.new_page()
    answer.goto(path)
    expect(answer.get_by_role("heading", level=1)).to_contain_text("S-LIEN-1")
    expect(answer.get_by_text("Disponible le matin.")).to_be_visible()
    assert_accessible(answer)
    assert_fits_width(answer)
    answer.get_by_label("Motif du refus").select_option("full")
    answer.get_by_role("button", name="Refuser l'orientation").click()
    expect(answer.get_by_role("status")).to_contain_text("l'orientation est refusée")
    expect(answer.get_by_role("button", name="Accepter l'orientation")).to_have_count(0)
    assert_accessible(answer)

    # The same link cannot answer again, even by replaying the form.
    replay = answer.request.post(path + "accepter/", form={"status": "sent"}, fail_on_status_code=False)
    assert replay.status == 403 or replay.status == 409  # no CSRF token: 403; with one: 409

    page.goto(reverse("referrals:case_detail", args=[case.pk]))
    expect(page.get_by_text("Refusée").first).to_be_visible()
    expect(page.get_by_text("Plus de place disponible")).to_be_visible()
    sender.close()
    receiver.close()


def test_expired_and_unknown_link_pages_are_accessible_on_a_phone(
    browser, live_server, assert_accessible, assert_fits_width
):
    referral = ReferralFactory(to="sent")
    _, token = link_create(
        purpose=LinkPurpose.REFERRAL_ANSWER,
        service=referral.service,
        referral=referral,
        email="accueil@exemple.fr",
        now=timezone.now() - datetime.timedelta(days=8),
    )
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()

    page.goto(reverse("referrals:answer_link", args=[token]))
    expect(page.get_by_role("heading", level=1)).to_have_text("Ce lien a expiré")
    assert_accessible(page)
    assert_fits_width(page)
    page.get_by_role("button", name="M'envoyer un nouveau lien").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nouveau lien envoyé")
    expect(page.get_by_text("accueil@exemple.fr")).to_have_count(0)
    assert_accessible(page)
    assert_fits_width(page)

    page.goto("/reponse/" + "A" * 43 + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ce lien n'est pas valide")
    assert_accessible(page)
    assert_fits_width(page)
    context.close()
