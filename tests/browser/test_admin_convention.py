"""The admin convention page, with its member inlines, in a real browser: axe-clean, members who left apart."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from partners.models import ConventionMembership
from tests.factories import ConventionFactory, CoordinatorFactory, MembershipFactory, NetworkFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_coordinator_edits_a_convention_whose_member_inlines_pass_axe(page, login, assert_admin_accessible):
    network = NetworkFactory(name="Réseau précarité")
    coordinator = CoordinatorFactory(networks=[network])
    convention = ConventionFactory(network=network, title="Convention précarité")
    today = timezone.localdate()
    for name in ("Épicerie solidaire", "Mission locale", "CCAS de Rennes"):
        MembershipFactory(convention=convention, service__name=name)
    MembershipFactory(
        convention=convention,
        service__name="Ancienne permanence",
        joined_on=today - datetime.timedelta(days=700),
        left_on=today - datetime.timedelta(days=30),
    )

    login(page, coordinator)
    page.goto(reverse("admin:partners_convention_change", args=[convention.pk]))

    expect(page.get_by_role("heading", name="Membres actuels")).to_be_visible()
    expect(page.get_by_role("heading", name="Anciens membres")).to_be_visible()
    former = page.locator("#memberships-2-group")
    expect(former.get_by_role("link", name=re.compile("Ancienne permanence"))).to_be_visible()
    expect(former.locator("input:not([type=hidden]), select, textarea")).to_have_count(0)  # read-only
    current = page.locator("#memberships-group")
    expect(current.get_by_text(re.compile("Ancienne permanence"))).to_have_count(0)
    expect(current.get_by_label("Sorti le — membre « Mission locale »")).to_be_editable()
    assert_admin_accessible(page)

    # A member leaves: saved, and listed with the former members on the next visit.
    current.get_by_label("Sorti le — membre « Mission locale »").fill(today.strftime("%d/%m/%Y"))
    page.get_by_role("button", name="Enregistrer et continuer les modifications").click()
    expect(page.locator(".messagelist")).to_contain_text("modifié")
    former = page.locator("#memberships-2-group")
    expect(former.get_by_role("link", name=re.compile("Mission locale"))).to_be_visible()
    assert ConventionMembership.objects.get(service__name="Mission locale").left_on == today
    assert_admin_accessible(page)
