import pytest
from playwright.sync_api import expect

from reseau.accounts.enums import NotificationFrequency
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_worker_chooses_a_daily_summary_on_an_accessible_page(
    page, login, assert_accessible, assert_fits_width
):
    worker = UserFactory(worker=True)
    login(page, worker)

    page.get_by_role("link", name="Mes courriels").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes courriels de suivi")
    assert_accessible(page)
    assert_fits_width(page)

    page.get_by_label("Un récapitulatif par jour").check()
    page.get_by_role("button", name="Enregistrer").click()

    expect(page.get_by_role("status")).to_contain_text("préférences de courriel sont enregistrées")
    expect(page.get_by_label("Un récapitulatif par jour")).to_be_checked()
    worker.refresh_from_db()
    assert worker.notification_frequency == NotificationFrequency.DAILY
