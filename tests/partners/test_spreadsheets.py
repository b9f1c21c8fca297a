"""Spreadsheet import and export of organisations and services in the admin (issue 12)."""

import csv
import datetime
import html
import io
import re
from pathlib import Path

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from partners import spreadsheets
from partners.enums import SpreadsheetImportStatus
from partners.models import Domain, Organisation, Public, Service, SpreadsheetImport
from partners.referentials import load_referentials
from partners.spreadsheets import SERVICE_COLUMNS, STRUCTURE_COLUMNS, analyse, apply
from tests.factories import (
    CommuneFactory,
    ConventionFactory,
    CoordinatorFactory,
    MembershipFactory,
    OrganisationFactory,
    ServiceFactory,
    UserFactory,
)
from tests.partners.domain_ids import domain_ids_out_of_step

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data" / "spreadsheets"
THEME = "logement-hebergement--rechercher-une-solution-dhebergement-temporaire"


@pytest.fixture(autouse=True)
def prerequisites():
    load_referentials()
    CommuneFactory(
        insee_code="35238", name="Rennes", latitude=48.1119, longitude=-1.6809, postcodes=["35000"]
    )


@pytest.fixture
def admin_user():
    return UserFactory(admin=True)


def xlsx(sheets):
    """An XLSX file: {sheet title: [header, *rows]}."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        worksheet = workbook.create_sheet(title)
        for row in rows:
            worksheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def csv_bytes(rows, delimiter=";", encoding="utf-8"):
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(rows)
    return out.getvalue().encode(encoding)


def structure(n, **values):
    return {"source": "tab", "id": f"tab--s{n}", "nom": f"Structure {n}", "date_maj": "2026-10-01", **values}


def service(n, structure_n=1, **values):
    return {
        "source": "tab",
        "structure_id": f"tab--s{structure_n}",
        "id": f"tab--v{n}",
        "nom": f"Service numéro {n}",
        "description": "Accompagnement vers l'hébergement.",
        "date_maj": "2026-10-01",
        "thematiques": THEME,
        "publics": "familles, jeunes",
        "code_insee": "35238",
        **values,
    }


def table(records):
    header = list(dict.fromkeys(key for record in records for key in record))
    return [header] + [[record.get(key, "") for key in header] for record in records]


def run(content, user, write=True):
    report, plan = analyse(content, user)
    if write and plan is not None:
        apply(plan)
    return report


# --- Import ------------------------------------------------------------------------------------


def test_sample_csv_files_import_with_awkward_text(admin_user):
    report = run((DATA / "structures.csv").read_bytes(), admin_user)
    assert report.counts["structure"]["created"] == 2, report.errors
    report = run((DATA / "services.csv").read_bytes(), admin_user)
    assert not report.errors
    assert dict(report.counts["service"]) == {"created": 2, "ignored": 1}
    day = Service.objects.get(source_id="cd35--accueil-jour")
    assert day.description.startswith("## Accueil de jour\n\n- douches 🚿\n")  # CRLF → LF, emoji kept
    assert "\r" not in day.description
    assert day.name.startswith("Accueil de jour, douches")
    assert day.organisation.name == "Association « Le Relais » 🏠"
    assert day.commune_id == "35238" and day.latitude == pytest.approx(48.1119)
    assert set(day.domains.values_list("code", flat=True)) == {
        THEME,
        "logement-hebergement--sinformer-sur-les-demarches-liees-a-lacces-au-logement",
    }
    assert day.website == "https://relais.example.org/orienter" and day.email == "accueil@relais.example.org"
    food = Service.objects.get(source_id="cd35--ccas-aide")
    assert food.commune_id == "35238"  # by its postcode
    assert set(food.publics.values_list("code", flat=True)) == {"familles", "seniors"}
    # Imported again: every row unchanged.
    report = run((DATA / "services.csv").read_bytes(), admin_user)
    assert dict(report.counts["service"]) == {"unchanged": 2, "ignored": 1}


def test_validator_workbook_with_two_sheets(admin_user):
    content = xlsx(
        {
            "Lisez-moi": [["Ce classeur suit le schéma data·inclusion"]],
            "Structures": table([structure(1), {**structure(9), "source": "__ignore__"}]),
            "Services": table([service(1), service(2, nom="Deuxième service")]),
        }
    )
    report = run(content, admin_user)
    assert report.counts["structure"]["created"] == 1 and report.counts["structure"]["ignored"] == 1
    assert report.counts["service"]["created"] == 2, report.errors
    assert Service.objects.get(source_id="tab--v2").organisation.source_id == "tab--s1"


def test_dry_run_writes_nothing(admin_user):
    content = xlsx({"Structures": table([structure(1)]), "Services": table([service(1)])})
    counts_before = (Organisation.objects.count(), Service.objects.count())
    report, plan = analyse(content, admin_user)
    assert report.counts["structure"]["created"] == 1 and report.counts["service"]["created"] == 1
    assert (Organisation.objects.count(), Service.objects.count()) == counts_before


def test_import_is_atomic_a_failure_midway_leaves_nothing(admin_user, monkeypatch):
    content = xlsx({"Structures": table([structure(1)]), "Services": table([service(n) for n in range(5)])})
    report, plan = analyse(content, admin_user)
    calls = []
    original = spreadsheets._write_relations

    def fail_on_second_batch(*args):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("panne au milieu")
        return original(*args)

    monkeypatch.setattr(spreadsheets, "_write_relations", fail_on_second_batch)
    with pytest.raises(RuntimeError):
        apply(plan, batch_size=2)
    assert not Organisation.objects.filter(source="tab").exists()
    assert not Service.objects.filter(source="tab").exists()


def test_updates_count_only_what_changed(admin_user):
    run(xlsx({"Structures": table([structure(1)]), "Services": table([service(1), service(2)])}), admin_user)
    report = run(
        xlsx(
            {
                "Structures": table([structure(1)]),
                "Services": table([service(1, nom="Nom changé"), service(2)]),
            }
        ),
        admin_user,
    )
    assert dict(report.counts["service"]) == {"updated": 1, "unchanged": 1}
    assert Service.objects.get(source_id="tab--v1").name == "Nom changé"
    # A history entry in the importer's name.
    assert Service.history.filter(source_id="tab--v1", history_type="~", history_user=admin_user).exists()


def test_imported_thematiques_reach_routings_copy_of_them(admin_user):
    other = "logement-hebergement--sinformer-sur-les-demarches-liees-a-lacces-au-logement"
    run(xlsx({"Structures": table([structure(1)]), "Services": table([service(1), service(2)])}), admin_user)
    assert domain_ids_out_of_step() == {}
    report = run(
        xlsx(
            {
                "Structures": table([structure(1)]),
                "Services": table([service(1, thematiques=other), service(2)]),
            }
        ),
        admin_user,
    )
    assert dict(report.counts["service"]) == {"updated": 1, "unchanged": 1}
    assert list(Service.objects.get(source_id="tab--v1").domains.values_list("code", flat=True)) == [other]
    assert domain_ids_out_of_step() == {}


# --- Scope --------------------------------------------------------------------------------------


@pytest.fixture
def scope():
    """Coordinator of a network whose convention has service ``own``; ``other`` is in no convention."""
    coordinator = CoordinatorFactory()
    convention = ConventionFactory()
    convention.network.coordinators.add(coordinator)
    own = ServiceFactory(name="Mon service", source="tab", source_id="tab--own")
    own.organisation.source, own.organisation.source_id = "tab", "tab--own-org"
    own.organisation.save()
    MembershipFactory(convention=convention, service=own)
    other = ServiceFactory(name="Service d'un autre réseau", source="tab", source_id="tab--other")
    return coordinator, own, other


def test_coordinator_cannot_overwrite_services_outside_their_networks(scope):
    coordinator, own, other = scope
    rows = [
        service(1, structure_id=f"{own.organisation.source_id}", id="tab--own", nom="Mon service renommé"),
        service(2, structure_id=f"{own.organisation.source_id}", id="tab--other", nom="Détourné"),
    ]
    report = run(csv_bytes(table(rows)), coordinator)
    assert report.counts["service"]["updated"] == 1 and report.counts["service"]["rejected"] == 1
    sheet, line, column, message = report.errors[0]
    assert (line, column) == (3, "id") and "hors de vos réseaux" in message
    other.refresh_from_db()
    assert other.name == "Service d'un autre réseau"
    own.refresh_from_db()
    assert own.name == "Mon service renommé"


def test_coordinator_cannot_overwrite_organisations_outside_their_networks(scope):
    coordinator, own, other = scope
    outside = OrganisationFactory(name="Ailleurs", source="tab", source_id="tab--ailleurs")
    report = run(csv_bytes(table([{**structure(1), "id": "tab--ailleurs", "nom": "Détournée"}])), coordinator)
    assert report.counts["structure"]["rejected"] == 1
    outside.refresh_from_db()
    assert outside.name == "Ailleurs"


def test_coordinator_owns_what_they_import(scope):
    coordinator, own, other = scope
    run(xlsx({"Structures": table([structure(1)]), "Services": table([service(1)])}), coordinator)
    created = Service.objects.get(source_id="tab--v1")
    assert Service.objects.editable_by(coordinator).filter(pk=created.pk).exists()
    assert Organisation.objects.editable_by(coordinator).filter(pk=created.organisation_id).exists()
    # ...and may change it by a second import.
    report = run(csv_bytes(table([service(1, nom="Renommé par moi")])), coordinator)
    assert report.counts["service"]["updated"] == 1


def test_unchanged_rows_outside_scope_are_not_errors(scope):
    """A coordinator re-importing an export of the whole directory: others' rows unchanged, no error."""
    coordinator, own, other = scope
    queryset = Service.objects.filter(pk=other.pk)
    content = export_csv(queryset)
    report = run(content, coordinator)
    assert report.counts["service"]["unchanged"] == 1 and not report.errors, report.errors


# --- Export and round trip -----------------------------------------------------------------------


def export_csv(queryset):
    return spreadsheets.ServiceResource().export(queryset=queryset).csv.encode("utf-8")


def test_round_trip_export_then_import_is_unchanged(admin_user):
    domain = Domain.objects.get(code=THEME)
    local_public = Public.objects.create(
        code="local-gens-du-voyage", label="Gens du voyage", is_national=False
    )
    first = ServiceFactory(
        name="Accueil « Été » 🌞",
        description="Ligne 1\r\nLigne 2",
        postcode="35000",
        commune_id="35238",
        email="contact@exemple.fr",
        website="https://exemple.fr",
        phone="02 99 00 00 00",
        opening_hours="Mo-Fr 09:00-12:00",
        domains=[domain],
    )
    first.publics.add(Public.objects.get(code="familles"), local_public)
    ServiceFactory(is_active=False, verified_on=None, description="", domains=[domain])
    imported = ServiceFactory(source="cd35", source_id="cd35--x", domains=[domain])
    imported.organisation.siret = "13003013300016"
    imported.organisation.save()
    services = Service.objects.all()
    for kind, content in [
        ("structures", spreadsheets.OrganisationResource().export(queryset=Organisation.objects.all()).csv),
        ("services", spreadsheets.ServiceResource().export(queryset=services).csv),
    ]:
        report = run(content.encode("utf-8"), admin_user, write=False)
        assert not report.errors, (kind, report.errors)
        counts = report.counts["structure" if kind == "structures" else "service"]
        assert dict(counts) == {"unchanged": 3}, (kind, counts)


def test_admin_export_of_filtered_changelist_round_trips(client_for, admin_user):
    domain = Domain.objects.get(code=THEME)
    ServiceFactory(name="Accueil Alpha", domains=[domain])
    ServiceFactory(name="Accueil Beta", domains=[domain])
    ServiceFactory(name="Autre chose", domains=[domain])
    client = client_for(admin_user)
    url = reverse("admin:partners_service_export") + "?q=Accueil"
    response = client.post(url, {"format": "1", "resource": "0"})  # XLSX
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    rows = list(workbook.active.iter_rows(values_only=True))
    assert list(rows[0]) == SERVICE_COLUMNS
    assert sorted(row[3] for row in rows[1:]) == ["Accueil Alpha", "Accueil Beta"]
    report = run(response.content, admin_user, write=False)
    assert dict(report.counts["service"]) == {"unchanged": 2}, report.errors
    response = client.post(url, {"format": "0", "resource": "0"})  # CSV, with a BOM for spreadsheet programs
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert dict(run(response.content, admin_user, write=False).counts["service"]) == {"unchanged": 2}


def test_organisation_export_columns(client_for, admin_user):
    OrganisationFactory(name="Org A")
    response = client_for(admin_user).post(
        reverse("admin:partners_organisation_export"), {"format": "0", "resource": "0"}
    )
    assert response.status_code == 200
    header = response.content.decode("utf-8-sig").splitlines()[0]
    assert header.split(",") == STRUCTURE_COLUMNS


# --- Queries per batch ----------------------------------------------------------------------------


def count_queries(callable_):
    with CaptureQueriesContext(connection) as context:
        callable_()
    return len(context.captured_queries)


@pytest.mark.parametrize("write", [False, True])
def test_queries_grow_per_batch_not_per_row(admin_user, write):
    def sheet(offset, n):
        return xlsx(
            {
                "Structures": table([structure(offset + i) for i in range(n)]),
                "Services": table([service(offset + i, structure_n=offset + i) for i in range(n)]),
            }
        )

    def step(content):
        report, plan = analyse(content, admin_user, batch_size=50)
        if write:
            apply(plan, batch_size=50)

    # Both within one batch (and under SQLite's 999 parameters per statement, which splits a bulk insert).
    small, large = sheet(0, 5), sheet(100, 25)
    assert count_queries(lambda: step(small)) == count_queries(lambda: step(large))


# --- Jobs: admin pages, progress, background ---------------------------------------------------


def upload(client, content, name="annuaire.xlsx"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        reverse("admin:partners_spreadsheetimport_add"), {"file": SimpleUploadedFile(name, content)}
    )


def test_admin_dry_run_then_confirm(client_for, admin_user):
    client = client_for(admin_user)
    content = xlsx(
        {
            "Structures": table([structure(1)]),
            "Services": table([service(1), service(2, code_postal="750121")]),
        }
    )
    response = upload(client, content)
    job = SpreadsheetImport.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{job.pk}/change/")
    assert job.status == SpreadsheetImportStatus.READY
    assert not Service.objects.filter(source="tab").exists()  # the dry run wrote nothing
    page = client.get(response["Location"])
    text = page.content.decode()
    assert "Analyse (rien n'a été écrit)" in text and 'value="Confirmer l\'import"' in text
    assert "<td>Services</td><td>3</td><td>code_postal</td>" in text and "750121" in text
    response = client.post(reverse("admin:partners_spreadsheetimport_confirm", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == SpreadsheetImportStatus.DONE and job.report["counts"]["service"]["created"] == 1
    assert Service.objects.filter(source="tab").count() == 1
    # Confirming twice imports nothing more.
    client.post(reverse("admin:partners_spreadsheetimport_confirm", args=[job.pk]))
    assert Service.objects.filter(source="tab").count() == 1


def test_long_file_runs_in_the_background_with_progress(
    client_for, admin_user, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(spreadsheets, "INLINE_MAX_ROWS", 3)
    seen = []
    original = spreadsheets.analyse

    def watched(content, user, *, progress=None, batch_size=spreadsheets.BATCH_SIZE):
        def record(done, total):
            progress(done, total)
            seen.append(SpreadsheetImport.objects.values_list("status", "rows_done", "rows_total").get())

        return original(content, user, progress=record, batch_size=2)

    monkeypatch.setattr(spreadsheets, "analyse", watched)
    client = client_for(admin_user)
    content = xlsx({"Structures": table([structure(1)]), "Services": table([service(n) for n in range(5)])})
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        upload(client, content)
    assert len(callbacks) == 1  # enqueued, run inline by the immediate backend of the tests
    job = SpreadsheetImport.objects.get()
    assert job.status == SpreadsheetImportStatus.READY
    assert ("analysing", 2, 6) in [tuple(s) for s in seen] or ("analysing", 1, 6) in [tuple(s) for s in seen]
    assert seen[-1][1:] == (6, 6)
    progress = client.get(reverse("admin:partners_spreadsheetimport_progress", args=[job.pk])).json()
    assert progress == {
        "status": "ready",
        "status_label": "Analysé : à confirmer",
        "rows_done": 6,
        "rows_total": 6,
        "percent": 100,
        "running": False,
        "stalled": False,
    }
    seen.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:partners_spreadsheetimport_confirm", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == SpreadsheetImportStatus.DONE and job.content == b""
    assert [s[0] for s in seen] == ["importing"] * len(seen) and seen
    assert Service.objects.filter(source="tab").count() == 5


def test_running_import_page_has_progress_bar_and_script(client_for, admin_user):
    job = SpreadsheetImport.objects.create(
        created_by=admin_user,
        file_name="gros.xlsx",
        content=b"x",
        status="analysing",
        rows_total=20000,
        rows_done=5000,
    )
    text = (
        client_for(admin_user)
        .get(reverse("admin:partners_spreadsheetimport_change", args=[job.pk]))
        .content.decode()
    )
    assert '<progress id="import-progress-bar" max="100" value="25">' in text
    assert "js/spreadsheet_import.js" in text and "<script>" not in text


def stalled(job, minutes=21):
    """Pretend the worker went silent ``minutes`` ago."""
    SpreadsheetImport.objects.filter(pk=job.pk).update(
        progress_at=timezone.now() - datetime.timedelta(minutes=minutes)
    )
    job.refresh_from_db()
    return job


def test_recent_running_import_is_not_stalled_and_cannot_be_restarted(client_for, admin_user):
    job = SpreadsheetImport.objects.create(
        created_by=admin_user, file_name="gros.xlsx", content=b"x", status="analysing", rows_total=10
    )
    stalled(job, minutes=19)
    assert job.is_running and not job.is_stalled
    client = client_for(admin_user)
    response = client.post(reverse("admin:partners_spreadsheetimport_restart", args=[job.pk]), follow=True)
    assert "Cet import n'est pas interrompu" in html.unescape(response.content.decode())
    job.refresh_from_db()
    assert job.status == "analysing"
    assert (
        client.get(reverse("admin:partners_spreadsheetimport_progress", args=[job.pk])).json()["stalled"]
        is False
    )


def test_stalled_analysis_is_offered_a_restart_that_runs_it_again(client_for, admin_user):
    client = client_for(admin_user)
    content = xlsx({"Structures": table([structure(1)]), "Services": table([service(1)])})
    job = stalled(
        SpreadsheetImport.objects.create(
            created_by=admin_user, file_name="annuaire.xlsx", content=content, status="analysing"
        )
    )
    page = html.unescape(
        client.get(reverse("admin:partners_spreadsheetimport_change", args=[job.pk])).content.decode()
    )
    assert "le traitement s'est arrêté" in page and "Relancer l'analyse" in page
    assert "js/spreadsheet_import.js" not in page  # no bar polling forever
    assert (
        client.get(reverse("admin:partners_spreadsheetimport_progress", args=[job.pk])).json()["stalled"]
        is True
    )

    response = client.post(reverse("admin:partners_spreadsheetimport_restart", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == SpreadsheetImportStatus.READY  # analysed again (inline: a short file)
    assert not job.is_stalled and job.report["counts"]["service"]["created"] == 1
    assert not Service.objects.filter(source="tab").exists()  # an analysis writes nothing


def test_stalled_import_restart_writes_once_and_twice_is_harmless(client_for, admin_user):
    client = client_for(admin_user)
    content = xlsx({"Structures": table([structure(1)]), "Services": table([service(n) for n in range(3)])})
    upload(client, content)
    job = SpreadsheetImport.objects.get()
    assert job.status == SpreadsheetImportStatus.READY
    SpreadsheetImport.objects.filter(pk=job.pk).update(status="importing")  # the worker died here
    stalled(job)
    page = html.unescape(
        client.get(reverse("admin:partners_spreadsheetimport_change", args=[job.pk])).content.decode()
    )
    assert "Relancer l'import" in page

    restart = reverse("admin:partners_spreadsheetimport_restart", args=[job.pk])
    assert client.get(restart).status_code == 405
    client.post(restart)
    job.refresh_from_db()
    assert job.status == SpreadsheetImportStatus.DONE
    assert Service.objects.filter(source="tab").count() == 3
    again = client.post(restart, follow=True)  # a second click on the stale page
    assert "Cet import n'est pas interrompu" in html.unescape(again.content.decode())
    assert Service.objects.filter(source="tab").count() == 3


def test_import_restart_is_refused_on_anothers_import(client_for, scope):
    coordinator, own, other = scope
    someone = CoordinatorFactory()
    ConventionFactory().network.coordinators.add(someone)
    theirs = stalled(
        SpreadsheetImport.objects.create(
            created_by=someone, file_name="a-eux.csv", content=b"", status="pending"
        )
    )
    assert theirs.is_stalled
    response = client_for(coordinator).post(
        reverse("admin:partners_spreadsheetimport_restart", args=[theirs.pk])
    )
    assert response.status_code == 403
    theirs.refresh_from_db()
    assert theirs.status == "pending" and theirs.is_stalled


def test_imports_are_scoped_to_their_author(client_for, scope):
    coordinator, own, other = scope
    someone = CoordinatorFactory()
    ConventionFactory().network.coordinators.add(someone)
    theirs = SpreadsheetImport.objects.create(created_by=someone, file_name="a-eux.csv", content=b"")
    mine = SpreadsheetImport.objects.create(created_by=coordinator, file_name="a-moi.csv", content=b"")
    client = client_for(coordinator)
    listing = client.get(reverse("admin:partners_spreadsheetimport_changelist")).content.decode()
    assert "a-moi.csv" in listing and "a-eux.csv" not in listing
    assert client.get(reverse("admin:partners_spreadsheetimport_change", args=[theirs.pk])).status_code == 403
    assert (
        client.get(reverse("admin:partners_spreadsheetimport_progress", args=[theirs.pk])).status_code == 403
    )
    assert (
        client.post(reverse("admin:partners_spreadsheetimport_confirm", args=[theirs.pk])).status_code == 403
    )
    assert client.get(reverse("admin:partners_spreadsheetimport_change", args=[mine.pk])).status_code == 200


def test_date_maj_empty_means_never_verified(admin_user):
    run(xlsx({"Structures": table([structure(1)]), "Services": table([service(1, date_maj="")])}), admin_user)
    assert Service.objects.get(source_id="tab--v1").verified_on is None


def test_today_is_a_valid_date(admin_user):
    today = datetime.date.today()
    workbook = xlsx({"Structures": table([structure(1, date_maj=today)]), "Services": table([service(1)])})
    assert run(workbook, admin_user).counts["structure"]["created"] == 1


# --- Bad input -----------------------------------------------------------------------------------

STRUCTURE_HEADER = ["source", "id", "nom", "date_maj"]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "Le fichier est vide."),
        (b"\xef\xbb\xbf\r\n  \n", "Le fichier est vide."),
        (b"%PDF-1.7\n\x00\x01\x02binary", "ni un CSV ni un classeur XLSX"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1old excel", "Ancien format Excel (XLS)"),
        (b"PK\x03\x04 cut short", "Classeur XLSX illisible"),
        (b"nom;ville\nAsso;Rennes\n", "colonne(s) obligatoire(s) manquante(s) : source, id"),
        (b"source;id;nom;nom\n", "colonne(s) en double : nom"),
        ("source;id\n".encode("utf-16"), "UTF-16"),
    ],
    ids=["empty", "blank", "pdf", "xls", "broken-zip", "missing-columns", "duplicate-columns", "utf16"],
)
def test_unreadable_files_are_refused_in_french_before_anything_is_stored(
    client_for, admin_user, content, message
):
    with pytest.raises(spreadsheets.SpreadsheetError, match=re.escape(message)):
        spreadsheets.check_file(content)
    response = upload(client_for(admin_user), content, name="fichier.csv")
    assert response.status_code == 400
    assert message in html.unescape(response.content.decode())
    assert not SpreadsheetImport.objects.exists()


def test_xlsx_without_the_required_columns_is_refused(admin_user):
    content = xlsx({"Services": [["source", "id", "nom"], ["a", "b", "c"]]})
    with pytest.raises(spreadsheets.SpreadsheetError, match="Services : colonne.*manquante.*structure_id"):
        spreadsheets.check_file(content)


def test_latin1_csv_is_read_with_a_warning(admin_user):
    content = csv_bytes(table([structure(1, nom="Hébergement d'été à Saint-Étienne")]), encoding="latin-1")
    report = run(content, admin_user)
    assert report.counts["structure"]["created"] == 1
    assert "Windows-1252 (Latin-1)" in report.warnings[0]
    assert Organisation.objects.get(source_id="tab--s1").name == "Hébergement d'été à Saint-Étienne"


def test_csv_with_a_bom_and_commas(admin_user):
    content = b"\xef\xbb\xbf" + csv_bytes(table([structure(1, nom="Été, hiver")]), delimiter=",")
    report = run(content, admin_user)
    assert report.counts["structure"]["created"] == 1 and not report.warnings
    assert Organisation.objects.get(source_id="tab--s1").name == "Été, hiver"


def errors_of(report):
    return [(line, column, message) for _, line, column, message in report.errors]


def test_row_errors_name_line_column_and_reason_and_good_rows_still_go_in(admin_user):
    content = xlsx(
        {
            "Structures": table(
                [
                    structure(1, siret=13003013300016.0),  # a SIRET a spreadsheet made a float: accepted
                    structure(2),
                    structure(2, nom="Doublon"),
                    structure(3, siret="1234"),
                ]
            ),
            "Services": table(
                [
                    service(1),
                    service(2, code_postal="750121"),
                    service(3, courriel="pas une adresse"),
                    service(4, thematiques="logement-hebergement--nimporte-quoi"),
                    service(5, structure_id="tab--inconnue"),
                    service(1, nom="Encore le premier"),
                    service(6, actif="peut-être"),
                ]
            ),
        }
    )
    report = run(content, admin_user)
    assert Organisation.objects.get(source_id="tab--s1").siret == "13003013300016"
    assert dict(report.counts["structure"]) == {"created": 2, "rejected": 2}
    assert dict(report.counts["service"]) == {"created": 1, "rejected": 6}
    errors = errors_of(report)
    assert (4, "id", "identifiant « tab--s2 » en double (déjà ligne 3)") in errors
    assert (5, "siret", "siret : « 1234 » n'est pas un SIRET valide (14 chiffres)") in errors
    assert (
        3,
        "code_postal",
        "code_postal : « 750121 » n'est pas un code postal valide (5 chiffres)",
    ) in errors
    assert (
        4,
        "courriel",
        "courriel : « pas une adresse » n'est pas une adresse électronique valide",
    ) in errors
    assert any(
        line == 5 and column == "thematiques" and "code inconnu" in message
        for line, column, message in errors
    )
    assert any(
        line == 6 and column == "structure_id" and "inconnue" in message for line, column, message in errors
    )
    assert (7, "id", "identifiant « tab--v1 » en double (déjà ligne 2)") in errors
    assert (8, "actif", "« peut-être » : oui ou non attendu") in errors
    assert list(Service.objects.filter(source="tab").values_list("source_id", flat=True)) == ["tab--v1"]


def test_local_code_unknown_to_reseau_is_rejected(admin_user):
    Domain.objects.filter(code=THEME).delete()  # a national code Réseau's referentials lack
    report = run(xlsx({"Structures": table([structure(1)]), "Services": table([service(1)])}), admin_user)
    assert report.counts["service"]["rejected"] == 1
    assert errors_of(report)[0][1] == "thematiques" and "absent des référentiels" in errors_of(report)[0][2]


def test_reserved_source_and_unknown_own_ids(admin_user):
    rows = [
        {**structure(1), "source": "reseau", "id": "nouvelle"},
        {**structure(2), "source": "reseau", "id": "reseau--999999"},
    ]
    report = run(csv_bytes(table(rows)), admin_user)
    assert report.counts["structure"]["rejected"] == 2
    assert "réservée aux lignes exportées" in errors_of(report)[0][2]
    assert "inconnue dans Réseau" in errors_of(report)[1][2]


def test_database_refusal_fails_the_job_and_writes_nothing(admin_user, monkeypatch):
    from django.db import IntegrityError

    job = SpreadsheetImport.objects.create(
        created_by=admin_user,
        file_name="a.xlsx",
        status="importing",
        content=xlsx({"Structures": table([structure(1)]), "Services": table([service(1)])}),
    )
    original = Service.objects.bulk_create

    def refuse(*args, **kwargs):
        raise IntegrityError("UNIQUE constraint failed")

    monkeypatch.setattr(Service.objects, "bulk_create", refuse)
    spreadsheets.spreadsheet_import_run(import_id=job.pk, write=True)
    monkeypatch.setattr(Service.objects, "bulk_create", original)
    job.refresh_from_db()
    assert job.status == SpreadsheetImportStatus.FAILED
    assert "rien n'a été écrit" in job.report["file_error"]
    assert not Organisation.objects.filter(source="tab").exists()


def test_long_xlsx_is_not_opened_by_the_request_and_its_header_is_checked_by_the_analysis(
    client_for, admin_user, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(spreadsheets, "INLINE_MAX_ROWS", 3)
    content = xlsx(
        {"Services": [["source", "id", "nom"]] + [["tab", f"tab--{n}", "Service"] for n in range(5)]}
    )
    assert spreadsheets.check_file(content) == 5  # from the sheet's <dimension>, openpyxl not involved
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client_for(admin_user), content)
    assert response.status_code == 302
    job = SpreadsheetImport.objects.get()
    assert job.status == SpreadsheetImportStatus.FAILED
    assert "colonne(s) obligatoire(s) manquante(s) : structure_id" in job.report["file_error"]
    page = client_for(admin_user).get(response["Location"]).content.decode()
    assert "structure_id" in page and "Confirmer" not in page


def test_the_whole_demo_exports_and_imports_back_unchanged(admin_user):
    from io import StringIO

    from django.core.management import call_command

    from tests.partners.test_demo import create_communes

    create_communes()
    call_command("load_demo", stdout=StringIO())
    organisations = spreadsheets.OrganisationResource().export(queryset=Organisation.objects.all())
    services = spreadsheets.ServiceResource().export(
        queryset=Service.objects.select_related("organisation", "commune").prefetch_related(
            "domains", "publics", "access_modes", "service_types", "fees"
        )
    )
    content = xlsx(
        {"Structures": [organisations.headers, *organisations], "Services": [services.headers, *services]}
    )
    report = run(content, admin_user, write=False)
    assert not report.errors, (report.errors[:3], report.counts)
    assert dict(report.counts["structure"]) == {"unchanged": Organisation.objects.count()}
    assert dict(report.counts["service"]) == {"unchanged": Service.objects.count()}


def test_a_member_deactivated_by_a_spreadsheet_is_no_longer_a_partner(admin_user):
    from tests.factories import MembershipFactory, ServiceFactory, partner_ids_seen_by

    run(xlsx({"Structures": table([structure(1)]), "Services": table([service(1)])}), admin_user)
    member = Service.objects.get(source_id="tab--v1")
    worker = MembershipFactory(service=ServiceFactory()).service
    MembershipFactory(convention=worker.memberships.get().convention, service=member)

    assert partner_ids_seen_by(worker.pk) == {member.pk}
    run(xlsx({"Structures": table([structure(1)]), "Services": table([service(1, actif="non")])}), admin_user)
    assert partner_ids_seen_by(worker.pk) == set()
