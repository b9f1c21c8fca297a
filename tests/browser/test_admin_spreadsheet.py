"""The spreadsheet import in a real browser: upload, dry run, confirm; the progress page follows a running
import through its static script (strict CSP) and reloads when it ends. Axe-clean."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from partners.models import Organisation, SpreadsheetImport
from partners.referentials import load_referentials
from tests.factories import ConventionFactory, CoordinatorFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_coordinator_imports_a_spreadsheet_after_its_dry_run(page, login, assert_admin_accessible, tmp_path):
    load_referentials()
    coordinator = CoordinatorFactory()
    ConventionFactory().network.coordinators.add(coordinator)
    path = tmp_path / "structures.csv"
    path.write_text(
        "source;id;nom;date_maj;siret\ntab;tab--1;Épicerie solidaire 🍎;2026-10-01;13003013300016\n"
        "tab;tab--2;Mission locale;2026-10-01;1234\n",
        encoding="utf-8",
    )
    login(page, coordinator)
    page.goto(reverse("admin:partners_organisation_changelist"))
    page.get_by_role("link", name="Importer un tableur").click()
    assert_admin_accessible(page)
    page.get_by_label("Fichier CSV ou XLSX").set_input_files(str(path))
    page.get_by_role("button", name="Analyser le fichier").click()

    expect(page.get_by_role("heading", name="Analyse (rien n'a été écrit)")).to_be_visible()
    expect(page.get_by_role("cell", name="siret", exact=True)).to_be_visible()
    assert not Organisation.objects.filter(source="tab").exists()
    assert_admin_accessible(page)
    page.get_by_role("button", name="Confirmer l'import").click()
    expect(page.get_by_role("heading", name="Résultat de l'import")).to_be_visible()
    assert list(Organisation.objects.filter(source="tab").values_list("name", flat=True)) == [
        "Épicerie solidaire 🍎"
    ]


def test_progress_page_follows_a_background_import(page, login, assert_admin_accessible):
    coordinator = CoordinatorFactory()
    ConventionFactory().network.coordinators.add(coordinator)
    job = SpreadsheetImport.objects.create(
        created_by=coordinator,
        file_name="departement.xlsx",
        content=b"x",
        status="analysing",
        rows_total=20000,
    )
    login(page, coordinator)
    page.goto(reverse("admin:partners_spreadsheetimport_change", args=[job.pk]))
    bar = page.get_by_role("progressbar")
    expect(bar).to_have_attribute("value", "0")
    assert_admin_accessible(page)
    SpreadsheetImport.objects.filter(pk=job.pk).update(rows_done=5000)
    expect(bar).to_have_attribute("value", "25")
    expect(page.get_by_role("status")).to_have_text("5000 ligne(s) sur 20000")
    SpreadsheetImport.objects.filter(pk=job.pk).update(status="ready", rows_done=20000, report={"counts": {}})
    expect(page.locator("#import-status")).to_have_text("Analysé : à confirmer")  # reloaded
    expect(bar).to_have_count(0)
