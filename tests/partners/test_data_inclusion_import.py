"""manage.py import_data_inclusion: sample files of the national schema, awkward as real ones are."""

import datetime
import json
import shutil
from io import StringIO
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, connections
from django.test.utils import CaptureQueriesContext

from partners import data_inclusion
from partners.data_inclusion import DataInclusionFileError, import_data_inclusion
from partners.enums import CapacityStatus, ReferralMode
from partners.management.commands.import_data_inclusion import Command as ImportCommand
from partners.management.commands.import_data_inclusion import TerminalProgress
from partners.models import AccessMode, Domain, Language, Organisation, Service
from partners.referentials import load_referentials
from partners.search import SearchParams, search_services
from tests.factories import CommuneFactory, MembershipFactory, ServiceFactory
from tests.partners.domain_ids import domain_ids_out_of_step

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data" / "data_inclusion"
STRUCTURES, SERVICES, MIXED = DATA / "structures.json", DATA / "services_page.json", DATA / "mixed.json"


@pytest.fixture(autouse=True)
def prerequisites():
    load_referentials()
    CommuneFactory(
        insee_code="35238", name="Rennes", latitude=48.1119, longitude=-1.6809, postcodes=["35000"]
    )
    CommuneFactory(
        insee_code="35051", name="Cesson-Sévigné", latitude=48.1213, longitude=-1.6030, postcodes=["35510"]
    )


def run(*paths, **options):
    out = StringIO()
    call_command("import_data_inclusion", *[str(p) for p in paths], stdout=out, **options)
    return out.getvalue()


def write(tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
    return path


def found(text):
    return set(search_services(SearchParams(text=text)).queryset.values_list("source_id", flat=True))


def snapshot():
    return {
        "organisations": sorted(
            Organisation.objects.values_list("source", "source_id", "name", "siret", "website")
        ),
        "services": sorted(
            Service.objects.values_list(
                "source",
                "source_id",
                "organisation__source_id",
                "name",
                "description",
                "commune_id",
                "address",
                "postcode",
                "latitude",
                "longitude",
                "opening_hours",
                "phone",
                "email",
                "website",
                "referral_mode",
                "referral_details",
                "verified_on",
                "is_active",
            )
        ),
        "domains": sorted(Service.domains.through.objects.values_list("service__source_id", "domain__code")),
        "publics": sorted(Service.publics.through.objects.values_list("service__source_id", "public__code")),
    }


def test_coordinator_imports_structures_and_api_pages_of_services():
    output = run(STRUCTURES, SERVICES)

    ccas = Organisation.objects.get(source="dora", source_id="dora--ccas-rennes")
    assert ccas.name == "CCAS de Rennes"
    assert ccas.siret == "21350238800017"  # a float in the file
    assert ccas.website == "https://www.rennes.example.org/ccas"
    long_name = Organisation.objects.get(source_id="dora--adais").name
    assert long_name.endswith("🤝") and len(long_name) > 140

    food = Service.objects.get(source="dora", source_id="dora--svc-alim")
    assert food.organisation == ccas
    assert food.name == "Épicerie solidaire 🛒 — aide alimentaire d'urgence"
    assert "\r" not in food.description and food.description.startswith("## Aide alimentaire 🥕\n\n")
    assert {d.code for d in food.domains.all()} == {
        "equipement-et-alimentation--alimentation",
        "difficultes-financieres--prevenir-une-degradation-de-la-situation-financiere",
    }
    assert {p.code for p in food.publics.all()} == {"familles", "personnes-en-situation-durgence"}
    assert [t.code for t in food.service_types.all()] == ["aide-materielle"]
    assert [f.code for f in food.fees.all()] == ["gratuit"]
    assert [m.code for m in food.access_modes.all()] == ["en-presentiel"]
    assert (food.commune_id, food.postcode, food.latitude, food.longitude) == (
        "35238",
        "35000",
        48.1101,
        -1.6902,
    )
    assert food.address == "3 rue de Brest, Bâtiment B"
    assert food.opening_hours == "Tu 14:00-18:00"
    assert (food.phone, food.email) == ("02 99 00 00 01", "epicerie@rennes.example.org")
    assert food.website == "https://www.rennes.example.org/orienter"
    assert food.referral_mode == ReferralMode.FORM
    assert food.referral_details == (
        "Fiche de liaison à remplir.\nRéponse sous 48 h.\n\nConditions d'accès : Sur orientation\n\n"
        "Contact : Camille Martin"
    )
    assert food.verified_on == datetime.date(2025, 9, 1)
    assert food.is_active

    # An INSEE code we do not know (a Paris arrondissement): the commune of the postcode, and its centre.
    listening = Service.objects.get(source_id="dora--svc-ecoute")
    assert (listening.commune_id, listening.latitude, listening.longitude) == ("35051", 48.1213, -1.6030)
    assert listening.referral_mode == ReferralMode.EMAIL
    assert {m.code for m in listening.access_modes.all()} == {"en-presentiel", "a-distance"}
    assert len(listening.name) > 120

    # Found by search at once: the index follows the import.
    assert found("ecoute jeunes") == {"dora--svc-ecoute"}
    assert "Structures : 2 créée(s), 0 mise(s) à jour, 0 inchangée(s), 2 rejetée(s)." in output
    assert "Services : 2 créé(s), 0 mis à jour, 0 inchangé(s), 0 désactivé(s), 5 rejeté(s)." in output


def test_each_rejected_record_is_reported_in_french_with_its_id_and_the_good_ones_go_in():
    report = import_data_inclusion([STRUCTURES, SERVICES])
    reasons = {rejection.source_id: rejection.reason for rejection in report.rejections}
    assert reasons == {
        "dora--bad-postcode": "code_postal : « 750121 » n'est pas un code postal valide (5 chiffres)",
        "dora--no-name": "champ obligatoire manquant : nom",
        "dora--svc-unknown-code": "thematiques : code inconnu « numerique--savoir-voler »",
        "dora--svc-bad-email": "courriel : « pas une adresse » n'est pas une adresse électronique valide",
        "dora--svc-no-description": "champ obligatoire manquant : description",
        "dora--svc-orphan": "sa structure « dora--bad-postcode » a été rejetée",
        "dora--svc-bad-postcode": "code_postal : « 750121 » n'est pas un code postal valide (5 chiffres)",
    }
    assert {r.kind for r in report.rejections if r.source_id.startswith("dora--svc")} == {"service"}
    assert Service.objects.count() == 2
    assert not Organisation.objects.filter(source_id__in=["dora--bad-postcode", "dora--no-name"]).exists()
    output = run(STRUCTURES, SERVICES)
    assert (
        f"service dora--svc-bad-email ({SERVICES}) rejeté·e : courriel : « pas une adresse » n'est pas une "
        "adresse électronique valide" in output
    )


def test_a_service_may_come_before_its_structure_in_a_mixed_file_with_crlf():
    report = import_data_inclusion([MIXED])
    service = Service.objects.get(source="soliguide", source_id="soliguide--s1")
    assert service.organisation.source_id == "soliguide--o1"
    assert service.commune_id == "35238"  # no INSEE code: the postcode's
    assert (report.structures["created"], report.services["created"], report.rejections) == (1, 1, [])


def test_reimport_changes_nothing_and_counts_unchanged():
    run(STRUCTURES, SERVICES, MIXED)
    before = snapshot()
    output = run(STRUCTURES, SERVICES, MIXED)
    assert snapshot() == before
    assert "Structures : 0 créée(s), 0 mise(s) à jour, 3 inchangée(s), 2 rejetée(s)." in output
    assert "Services : 0 créé(s), 0 mis à jour, 3 inchangé(s), 0 désactivé(s), 5 rejeté(s)." in output


def test_reimport_updates_what_changed_and_keeps_local_fields(tmp_path):
    run(STRUCTURES, SERVICES)
    food = Service.objects.get(source_id="dora--svc-alim")
    # Local work of the network: capacity, a local access mode, a language, a local thématique.
    local_domain = Domain.objects.create(
        code="local-maraude", label="Maraude", parent=food.domains.first().parent
    )
    food.capacity_status = CapacityStatus.FULL
    food.capacity_updated_on = datetime.date(2025, 11, 3)
    food.intervention_radius_km = 25
    food.save()
    food.intervention_communes.add("35051")
    membership = MembershipFactory(service=food)
    food.access_modes.add(AccessMode.objects.get(code="a-domicile"))
    food.languages.add(Language.objects.get(code="ar"))
    food.domains.add(local_domain)

    services = json.loads(SERVICES.read_text())
    record = next(item for item in services["items"] if item["id"] == "dora--svc-alim")
    record.update(
        nom="Épicerie solidaire",
        thematiques=["equipement-et-alimentation--alimentation"],
        date_maj="2025-10-02",
    )
    structures = json.loads(STRUCTURES.read_text())
    structures[0]["nom"] = "CCAS de la Ville de Rennes"
    output = run(write(tmp_path, "structures.json", structures), write(tmp_path, "services.json", services))

    assert "Structures : 0 créée(s), 1 mise(s) à jour, 1 inchangée(s)" in output
    assert "Services : 0 créé(s), 1 mis à jour, 1 inchangé(s)" in output
    food.refresh_from_db()
    assert food.name == "Épicerie solidaire"
    assert food.verified_on == datetime.date(2025, 10, 2)
    assert (food.capacity_status, food.capacity_updated_on) == (
        CapacityStatus.FULL,
        datetime.date(2025, 11, 3),
    )
    assert food.intervention_radius_km == 25
    assert [commune.pk for commune in food.intervention_communes.all()] == ["35051"]
    assert list(food.memberships.all()) == [membership]
    assert {d.code for d in food.domains.all()} == {
        "equipement-et-alimentation--alimentation",
        "local-maraude",
    }
    assert {m.code for m in food.access_modes.all()} == {"en-presentiel", "a-domicile"}
    assert [language.code for language in food.languages.all()] == ["ar"]
    assert Organisation.objects.get(source_id="dora--ccas-rennes").name == "CCAS de la Ville de Rennes"
    assert Service.objects.filter(source="dora").count() == 2
    # The search index follows the new names, the organisation's included, and routing's copy of the
    # thématiques follows them (PostgreSQL).
    assert found("ville de rennes epicerie") == {"dora--svc-alim"}
    assert domain_ids_out_of_step() == {}


def test_deactivate_missing_deactivates_only_absent_services_of_that_source(tmp_path):
    run(STRUCTURES, SERVICES, MIXED)
    local = ServiceFactory()
    services = json.loads(SERVICES.read_text())
    services["items"] = [item for item in services["items"] if item["id"] != "dora--svc-ecoute"]
    output = run(STRUCTURES, write(tmp_path, "services.json", services), deactivate_missing="dora")

    assert "1 désactivé(s)" in output
    listening = Service.objects.get(source_id="dora--svc-ecoute")  # never deleted
    assert not listening.is_active
    assert Service.objects.get(source_id="dora--svc-alim").is_active
    assert Service.objects.get(source_id="soliguide--s1").is_active  # another source
    local.refresh_from_db()
    assert local.is_active

    # Back in the file: active again.
    output = run(STRUCTURES, SERVICES, deactivate_missing="dora")
    assert "Services : 0 créé(s), 1 mis à jour, 1 inchangé(s), 0 désactivé(s)" in output
    listening.refresh_from_db()
    assert listening.is_active


def test_a_rejected_service_still_present_in_the_file_is_not_deactivated(tmp_path):
    run(STRUCTURES, SERVICES)
    services = json.loads(SERVICES.read_text())
    record = next(item for item in services["items"] if item["id"] == "dora--svc-ecoute")
    record["courriel"] = "pas une adresse"
    run(STRUCTURES, write(tmp_path, "services.json", services), deactivate_missing="dora")
    assert Service.objects.get(source_id="dora--svc-ecoute").is_active


def test_deactivate_missing_with_a_source_absent_from_the_files_deactivates_nothing():
    run(STRUCTURES, SERVICES)
    output = run(MIXED, deactivate_missing="dora")
    assert (
        "Aucun service de la source « dora » dans les fichiers : aucun service n'a été désactivé." in output
    )
    assert Service.objects.filter(source="dora", is_active=True).count() == 2


def test_dry_run_reports_the_same_counts_and_writes_nothing(tmp_path):
    run(MIXED)
    before = snapshot()
    output = run(STRUCTURES, SERVICES, MIXED, dry_run=True, deactivate_missing="soliguide")
    assert snapshot() == before
    assert "Structures : 2 créée(s), 0 mise(s) à jour, 1 inchangée(s), 2 rejetée(s)." in output
    assert "Services : 2 créé(s), 0 mis à jour, 1 inchangé(s), 0 désactivé(s), 5 rejeté(s)." in output
    assert "Simulation (--dry-run) : rien n'a été enregistré." in output
    assert not found("epicerie")


def test_duplicate_ids_in_the_files_are_rejected_not_duplicated(tmp_path):
    output = run(MIXED, MIXED)
    assert output.count("identifiant en double dans les fichiers") == 2
    assert Service.objects.count() == Organisation.objects.count() == 1


def test_a_service_of_an_unknown_structure_is_rejected():
    report = import_data_inclusion([SERVICES])
    assert report.services["created"] == 0
    assert "structure « dora--ccas-rennes » inconnue (absente des fichiers et de l'annuaire)" in {
        r.reason for r in report.rejections
    }


def test_a_siret_already_held_by_another_organisation_is_left_out_with_a_note(tmp_path):
    structures = json.loads(STRUCTURES.read_text())[:2]
    structures[1]["siret"] = "21350238800017"  # same as the CCAS
    report = import_data_inclusion([write(tmp_path, "structures.json", structures)])
    assert report.structures["created"] == 2
    assert Organisation.objects.get(source_id="dora--adais").siret == ""
    assert report.warnings == [
        "dora--adais : SIRET 21350238800017 déjà porté par une autre organisation, non repris."
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "le fichier est vide"),
        (b"   \r\n", "le fichier est vide"),
        (b"source;id;nom\r\ndora;1;CCAS\r\n", "ce n'est pas un fichier JSON"),
        ('[{"source": "dora", "id": "1", "nom": "Café"}]'.encode("latin-1"), "n'est pas encodé en UTF-8"),
        (
            b'[{"source": "dora", "id": "dora--1", "nom": "CCAS", "date_maj": "2025-01-01"}, {"sou',
            "incomplet",
        ),
        (b'[{"source": "dora" "id": "1"}]', "JSON invalide"),
    ],
)
def test_an_unreadable_file_is_refused_in_french_before_anything_is_written(tmp_path, content, message):
    broken = write(tmp_path, "broken.json", content)
    with pytest.raises(CommandError) as error:
        run(STRUCTURES, MIXED, broken)  # good files first: still nothing written
    assert "Import annulé, rien n'a été enregistré." in str(error.value)
    assert message in str(error.value)
    assert not Organisation.objects.exists()


def test_a_missing_file_is_refused_in_french(tmp_path):
    with pytest.raises(CommandError, match="fichier illisible"):
        run(tmp_path / "absent.json")


def test_a_bom_and_records_that_are_not_objects(tmp_path):
    path = write(tmp_path, "bom.json", b"\xef\xbb\xbf" + MIXED.read_bytes()[:-1] + b', "texte", 3\r\n]')
    report = import_data_inclusion([path])
    assert report.services["created"] == 1
    assert [r.reason for r in report.rejections] == [
        "enregistrement illisible (un objet JSON est attendu)"
    ] * 2


def test_awkward_values_are_reported_in_french(tmp_path):
    base = {"source": "dora", "date_maj": "2025-01-01", "nom": "Structure"}
    structures = [
        {**base, "id": "future", "date_maj": "2099-01-01"},
        {**base, "id": "bad-date", "date_maj": "14/03/2025"},
        {**base, "id": "decimal-siret", "siret": 1234.5},
        {**base, "id": "short", "nom": "AB"},
        {**base, "id": "url", "site_web": "pas un lien"},
        {**base, "id": "lat", "latitude": "nord"},
    ]
    report = import_data_inclusion([write(tmp_path, "structures.json", structures)])
    assert {r.source_id: r.reason for r in report.rejections} == {
        "future": "date_maj : La date de dernière modification ne peut pas être dans le futur.",
        "bad-date": "date_maj : « 14/03/2025 » n'est pas une date valide (AAAA-MM-JJ)",
        "decimal-siret": "siret : « 1234.5 » n'est pas un SIRET valide (14 chiffres)",
        "short": "nom : trop court (3 caractères au moins)",
        "url": "site_web : « pas un lien » n'est pas une adresse web valide",
        "lat": "latitude : valeur invalide « nord »",
    }


def test_long_links_and_phone_lists_are_trimmed_not_refused(tmp_path):
    run(STRUCTURES)
    service = {
        "source": "dora", "id": "svc", "structure_id": "dora--ccas-rennes", "nom": "Accueil",
        "description": "Accueil social.", "date_maj": "2025-01-01",
        "lien_mobilisation": "https://www.example.org/" + "a" * 250,
        "telephone": "02 99 00 00 00 / 06 00 00 00 00 / 07 00 00 00 00",
        "latitude": 148.0, "longitude": 2.0, "code_insee": "35238",
    }  # fmt: skip
    report = import_data_inclusion([write(tmp_path, "services.json", [service])])
    imported = Service.objects.get(source_id="svc")
    assert (imported.website, imported.phone) == ("", "02 99 00 00 00")
    assert (imported.latitude, imported.longitude) == (48.1119, -1.6809)  # out of range: the commune's
    assert report.warnings == ["svc : lien de mobilisation de plus de 200 caractères non repris."]


def test_a_batch_the_database_refuses_is_retried_record_by_record(monkeypatch):
    real = data_inclusion._import_services

    def refusing(batch, report, *args):
        if any(service.id == "dora--svc-ecoute" for _, service, _ in batch):
            report.services["created"] += len(batch)  # counted before the failure: must not stay
            raise DatabaseError("valeur refusée")
        return real(batch, report, *args)

    monkeypatch.setattr(data_inclusion, "_import_services", refusing)
    report = import_data_inclusion([STRUCTURES, SERVICES])
    assert report.services["created"] == 1
    assert "refusé par la base de données (valeur refusée)" in {r.reason for r in report.rejections}
    assert list(Service.objects.values_list("source_id", flat=True)) == ["dora--svc-alim"]


def _many_services(tmp_path, count, name):
    services = [
        {
            "source": "bench", "id": f"bench--{index}", "structure_id": "bench--o", "nom": f"Service {index}",
            "description": "Accompagnement vers l'emploi.", "date_maj": "2025-01-01", "code_postal": "35000",
            "thematiques": ["trouver-un-emploi--maintien-dans-lemploi"], "publics": ["jeunes"],
            "modes_accueil": ["en-presentiel"], "frais": "gratuit", "type": "accompagnement",
        }
        for index in range(count)
    ]  # fmt: skip
    structure = {"source": "bench", "id": "bench--o", "nom": "Mission locale", "date_maj": "2025-01-01"}
    return write(tmp_path, name, [structure, *services])


def _queries(path, batch_size):
    with CaptureQueriesContext(connection) as context:
        import_data_inclusion([path], batch_size=batch_size)
    return len(context.captured_queries)


def _clear():
    Service.objects.all().delete()
    Organisation.objects.all().delete()


def test_queries_grow_with_batches_not_with_rows(tmp_path):
    ten, twenty = _many_services(tmp_path, 10, "ten.json"), _many_services(tmp_path, 20, "twenty.json")
    one_batch_of_10 = _queries(ten, batch_size=10)
    _clear()
    one_batch_of_20 = _queries(twenty, batch_size=20)
    _clear()
    two_batches_of_10 = _queries(twenty, batch_size=10)
    assert one_batch_of_20 == one_batch_of_10  # rows in a batch add no query
    assert 0 < two_batches_of_10 - one_batch_of_10 < 25  # a batch costs a fixed number of queries
    # Re-import with no change: reads, no write, and still per batch.
    unchanged_20 = _queries(twenty, batch_size=20)
    assert unchanged_20 < one_batch_of_20
    _queries(ten, batch_size=10)
    assert _queries(ten, batch_size=10) == unchanged_20


def test_progress_is_reported_per_phase_and_drawn_on_a_terminal(tmp_path):
    calls = []
    import_data_inclusion([_many_services(tmp_path, 250, "many.json")], progress=lambda *a: calls.append(a))
    phases = list(dict.fromkeys(phase for phase, _, _ in calls))
    assert phases == ["lecture many.json", "structures many.json", "services many.json"]
    size = (tmp_path / "many.json").stat().st_size
    assert calls[-1] == ("services many.json", size, size)
    assert len(calls) >= 4

    screen = StringIO()
    bar = TerminalProgress(screen, interval=0)
    bar("services services.json", 50, 100)
    bar("services " + "x" * 40 + ".json", 100, 100)
    bar("services " + "x" * 40 + ".json", 100, 100)  # already drawn complete: not again
    assert screen.getvalue() == (
        "\rservices services.json" + " " * 14 + " [###############...............]  50%"
        "\rservices " + "x" * 26 + "… [##############################] 100%\n"
    )


def test_the_command_writes_nothing_on_a_terminal_less_run_but_the_report(tmp_path):
    target = tmp_path / "copy.json"
    shutil.copy(MIXED, target)
    output = run(target)
    assert output.splitlines() == [
        "Structures : 1 créée(s), 0 mise(s) à jour, 0 inchangée(s), 0 rejetée(s).",
        "Services : 1 créé(s), 0 mis à jour, 0 inchangé(s), 0 désactivé(s), 0 rejeté(s).",
    ]


@pytest.mark.parametrize("content", [[], {"total": 0, "page": 1}, {"items": []}])
def test_a_file_without_records_is_said_and_the_others_import(tmp_path, content):
    nothing = write(tmp_path, "rien.json", content)
    output = run(nothing, MIXED)
    assert (
        f"Remarque : {nothing} : aucun enregistrement trouvé (une liste d'enregistrements ou une page "
        '{"items": [...]} est attendue).' in output
    )
    assert Service.objects.count() == 1


def test_import_refuses_a_broken_file_before_reading_the_others(tmp_path):
    with pytest.raises(DataInclusionFileError):
        import_data_inclusion([MIXED, write(tmp_path, "empty.json", b"")])
    assert not Service.objects.exists()


def test_a_service_without_hours_shows_its_structures_and_follows_them(tmp_path):
    run(STRUCTURES)  # the CCAS is open "Mo-Fr 09:00-12:00"
    service = {
        "source": "dora", "id": "dora--svc-domiciliation", "structure_id": "dora--ccas-rennes",
        "nom": "Domiciliation", "description": "Élection de domicile.", "date_maj": "2025-05-05",
        "code_insee": "35238",
    }  # fmt: skip
    with_hours = {**service, "id": "dora--svc-own-hours", "horaires_accueil": "We 09:00-12:00"}
    services = write(tmp_path, "services.json", [service, with_hours])
    run(services)
    assert dict(Service.objects.values_list("source_id", "opening_hours")) == {
        "dora--svc-domiciliation": "Mo-Fr 09:00-12:00",
        "dora--svc-own-hours": "We 09:00-12:00",
    }
    assert Organisation.objects.get(source_id="dora--ccas-rennes").opening_hours == "Mo-Fr 09:00-12:00"

    # The structure's hours change: its service without hours follows, even imported on its own later.
    structures = json.loads(STRUCTURES.read_text())
    structures[0]["horaires_accueil"] = "Mo-Fr 08:30-17:00"
    run(write(tmp_path, "structures.json", structures))
    output = run(services)
    assert "Services : 0 créé(s), 1 mis à jour, 1 inchangé(s)" in output
    assert Service.objects.get(source_id="dora--svc-domiciliation").opening_hours == "Mo-Fr 08:30-17:00"
    assert Service.objects.get(source_id="dora--svc-own-hours").opening_hours == "We 09:00-12:00"


def _command_line(*arguments):
    """The command as a shell runs it: (exit code, stdout, stderr)."""
    out, err = StringIO(), StringIO()
    command = ImportCommand(stdout=out, stderr=err)
    # run_from_argv closes every connection when done: not the test's own (PostgreSQL would lose it).
    with mock.patch.object(connections, "close_all"):
        try:
            command.run_from_argv(["manage.py", "import_data_inclusion", *map(str, arguments)])
        except SystemExit as exit:
            return exit.code, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "le fichier est vide"),
        (b"\xef\xbb\xbf", "le fichier est vide"),
        (b"nom;code_postal\r\nCCAS;35000\r\n", "ce n'est pas un fichier JSON"),
        ('[{"nom": "Café"}]'.encode("latin-1"), "le fichier n'est pas encodé en UTF-8"),
    ],
)
def test_an_unusable_file_exits_non_zero_with_a_french_message_and_no_traceback(tmp_path, content, message):
    code, out, err = _command_line(STRUCTURES, write(tmp_path, "broken.json", content))
    assert code == 1
    assert (
        f"CommandError: Import annulé, rien n'a été enregistré. {tmp_path / 'broken.json'} : {message}" in err
    )
    assert "Traceback" not in err + out
    assert not Organisation.objects.exists()


def test_a_file_whose_every_record_is_refused_exits_non_zero_after_listing_them(tmp_path):
    records = [
        {"source": "dora", "id": "a", "nom": "CCAS", "date_maj": "2025-01-01", "code_postal": "750121"},
        {"source": "dora", "id": "b", "nom": "Mairie", "date_maj": "2025-01-01", "siret": 1234.5},
        {"source": "dora", "id": "c", "structure_id": "a", "nom": "Accueil", "date_maj": "2025-01-01",
         "description": "Accueil.", "courriel": "pas une adresse"},
    ]  # fmt: skip
    code, out, err = _command_line(write(tmp_path, "refused.json", records))
    assert code == 1
    assert "structure a (" in out and "« 750121 » n'est pas un code postal valide" in out
    assert "« pas une adresse » n'est pas une adresse électronique valide" in out
    assert "CommandError: Aucun enregistrement n'a pu être importé (3 rejeté(s))." in err
    assert "Traceback" not in err + out
    assert not Organisation.objects.exists() and not Service.objects.exists()


def test_a_good_file_exits_zero_with_its_summary(tmp_path):
    code, out, err = _command_line(STRUCTURES, SERVICES)
    assert (code, err) == (0, "")
    assert "Services : 2 créé(s)" in out


# One batch of structures and one of services, whatever their number of records. (On SQLite, Django
# splits an INSERT every 999 parameters, ~38 services: the sizes below stay within one statement.)
# 29 since the search index keeps its typo vocabulary (SearchWord) on SQLite too: per batch, not per row.
# PostgreSQL also refreshes each table's statistics at the start of its pass (two ANALYZE statements).
# 30 since an import bumps the partnerships' version token (services may be (de)activated in bulk).
QUERIES_PER_IMPORT = 30 + (2 if connection.vendor == "postgresql" else 0)


@pytest.mark.parametrize("count", [3, 30])
def test_an_import_costs_the_same_queries_for_3_or_30_services(
    tmp_path, count, django_assert_max_num_queries
):
    path = _many_services(tmp_path, count, "services.json")
    with django_assert_max_num_queries(QUERIES_PER_IMPORT):
        report = import_data_inclusion([path])
    assert report.services["created"] == count
    with django_assert_max_num_queries(QUERIES_PER_IMPORT):
        report = import_data_inclusion([path])
    assert report.services["unchanged"] == count


def test_an_unchanged_record_is_not_read_again_and_compare_all_restores_hand_edited_owned_fields():
    run(STRUCTURES, SERVICES)
    food = Service.objects.get(source_id="dora--svc-alim")
    food.phone = "06 11 11 11 11"  # a field the import owns, edited by hand
    food.save()

    output = run(STRUCTURES, SERVICES)  # the source did not change: the record is skipped by its digest
    assert "Services : 0 créé(s), 0 mis à jour, 2 inchangé(s)" in output
    food.refresh_from_db()
    assert food.phone == "06 11 11 11 11"

    output = run(STRUCTURES, SERVICES, compare_all=True)
    assert "Services : 0 créé(s), 1 mis à jour, 1 inchangé(s)" in output
    food.refresh_from_db()
    assert food.phone == "02 99 00 00 01"


def test_a_record_is_compared_again_when_its_digest_was_lost(tmp_path):
    run(STRUCTURES, SERVICES)
    Service.objects.update(import_digest="")  # e.g. rows imported before digests existed
    before = snapshot()
    output = run(STRUCTURES, SERVICES)
    assert "Services : 0 créé(s), 0 mis à jour, 2 inchangé(s)" in output
    assert snapshot() == before
    assert "" not in set(Service.objects.values_list("import_digest", flat=True))  # written back


@pytest.mark.skipif(connection.vendor != "postgresql", reason="statistics are PostgreSQL's planner input")
def test_postgresql_refreshes_table_statistics_at_each_pass_and_while_a_pass_grows(tmp_path, monkeypatch):
    """Without fresh statistics PostgreSQL reads every row of a source for each batch's key look-up."""
    monkeypatch.setattr(data_inclusion, "ANALYZE_EVERY_BATCHES", 2)
    path = _many_services(tmp_path, 6, "services.json")
    with CaptureQueriesContext(connection) as context:
        import_data_inclusion([path], batch_size=2)
    analyzed = [query["sql"] for query in context.captured_queries if query["sql"].startswith("ANALYZE")]
    # organisations: at the start of their pass (one batch); services: at the start, then after their
    # second full batch of 2 (three in all)
    assert analyzed[0] == 'ANALYZE "partners_organisation"'
    # (with the thématiques' link table, read by the search vectors of each batch)
    assert analyzed.count('ANALYZE "partners_service", "partners_service_domains"') == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the stored search vector is PostgreSQL's")
def test_postgresql_search_vectors_written_by_an_import_are_those_of_a_full_rebuild(tmp_path):
    from partners.search_index import rebuild_search_index

    def vectors():
        with connection.cursor() as cursor:
            cursor.execute("SELECT source_id, search_vector::text FROM partners_service ORDER BY source_id")
            return dict(cursor.fetchall())

    import_data_inclusion([STRUCTURES, SERVICES])
    imported = vectors()
    assert imported and all(imported.values())
    # The import's name (A), thématique (B) and description (C) words, stemmed, with their positions.
    assert "'ecout':2A" in imported["dora--svc-ecoute"]
    Service.objects.update(search_vector=None)  # a bulk update: no signal re-indexes
    rebuild_search_index()
    assert vectors() == imported
    assert found("ecoute jeunes") == {"dora--svc-ecoute"}


def test_a_member_deactivated_by_the_import_is_no_longer_a_partner(tmp_path):
    from tests.factories import partner_ids_seen_by

    run(STRUCTURES, SERVICES)
    listening = Service.objects.get(source_id="dora--svc-ecoute")
    worker = MembershipFactory(service=ServiceFactory()).service
    MembershipFactory(convention=worker.memberships.get().convention, service=listening)

    assert partner_ids_seen_by(worker.pk) == {listening.pk}
    services = json.loads(SERVICES.read_text())
    services["items"] = [item for item in services["items"] if item["id"] != "dora--svc-ecoute"]
    run(STRUCTURES, write(tmp_path, "services.json", services), deactivate_missing="dora")
    assert partner_ids_seen_by(worker.pk) == set()
    run(STRUCTURES, SERVICES)  # back in the file: active again (a bulk update)
    assert partner_ids_seen_by(worker.pk) == {listening.pk}
