"""manage.py export_data_inclusion: the directory typed in Réseau, published in schema v1."""

import json
from io import StringIO
from pathlib import Path

import pytest
from data_inclusion.schema import v1 as schema
from django.core.management import call_command
from django.core.management.base import CommandError

from partners.data_inclusion import export_data_inclusion, import_data_inclusion
from partners.enums import ReferralMode
from partners.models import AccessMode, Domain, Fee, Organisation, Public, Service
from partners.referentials import load_referentials
from tests.factories import CommuneFactory, OrganisationFactory, ServiceFactory
from tests.partners.test_demo import create_communes

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data" / "data_inclusion"


def read(directory):
    return (
        json.loads((directory / "structures.json").read_text(encoding="utf-8")),
        json.loads((directory / "services.json").read_text(encoding="utf-8")),
    )


def test_the_whole_demo_exports_and_every_record_validates(tmp_path):
    load_referentials()
    create_communes()
    call_command("load_demo", stdout=StringIO())
    out = StringIO()
    call_command("export_data_inclusion", str(tmp_path), stdout=out)

    structures, services = read(tmp_path)
    for record in structures:
        schema.Structure.model_validate(record, context={"ignore_warnings": False})
    for record in services:
        schema.Service.model_validate(record, context={"ignore_warnings": False})
    assert len(structures) == Organisation.objects.count()
    assert len(services) == Service.objects.filter(is_active=True).count()
    assert {record["source"] for record in structures + services} == {"reseau"}
    structure_ids = {record["id"] for record in structures}
    assert len(structure_ids) == len(structures)
    assert {record["structure_id"] for record in services} <= structure_ids
    # The demo's thématiques and places travel with their national codes.
    assert all(record["thematiques"] for record in services)
    assert all(record["code_insee"] and record["latitude"] for record in services)
    assert f"{len(structures)} structure(s) et {len(services)} service(s) exporté(s)." in out.getvalue()
    # The demo's addresses end in .test, a reserved domain the schema refuses: left out and said.
    assert "service(s) exporté(s) sans « courriel », valeur refusée par le schéma." in out.getvalue()


def test_a_service_is_exported_with_our_ids_and_national_codes(tmp_path):
    load_referentials()
    commune = CommuneFactory(insee_code="35238", name="Rennes")
    organisation = OrganisationFactory(name="CCAS de Rennes", siret="21350238800017")
    service = ServiceFactory(
        organisation=organisation,
        name="Aide alimentaire",
        description="Colis\r\nalimentaires.",
        commune=commune,
        postcode="35000",
        phone="02 99 00 00 00",
        email="ccas@rennes.example.org",
        website="https://rennes.example.org/orienter",
        referral_mode=ReferralMode.FORM,
        referral_details="Fiche de liaison.",
        opening_hours="Mo-Fr 09:00-12:00",
    )
    service.domains.add(
        Domain.objects.get(code="equipement-et-alimentation--alimentation"),
        Domain.objects.get(code="equipement-et-alimentation"),  # a catégorie: not a schema thématique
    )
    service.publics.add(*Public.objects.filter(code__in=["tous-publics", "familles"]))
    service.access_modes.add(*AccessMode.objects.filter(code__in=["en-presentiel", "a-domicile"]))
    service.fees.add(*Fee.objects.filter(code__in=["gratuit", "payant"]))
    service.intervention_communes.add(commune)
    ServiceFactory(organisation=organisation, is_active=False)

    report = export_data_inclusion(tmp_path)
    structures, services = read(tmp_path)

    assert (report.structures, report.services, report.skipped) == (1, 1, [])
    assert structures[0]["id"] == f"reseau--{organisation.pk}"
    assert structures[0]["siret"] == "21350238800017"
    [record] = services
    assert record["id"] == f"reseau--{service.pk}"
    assert record["structure_id"] == f"reseau--{organisation.pk}"
    assert record["description"] == "Colis\nalimentaires."
    assert record["thematiques"] == ["equipement-et-alimentation--alimentation"]
    assert record["publics"] == ["familles"]  # "tous-publics" never with others
    assert record["modes_accueil"] == ["en-presentiel"]  # "à domicile" is a local addition
    assert record["frais"] == "payant"
    assert record["modes_mobilisation"] == ["utiliser-lien-mobilisation"]
    assert record["lien_mobilisation"] == "https://rennes.example.org/orienter"
    assert record["zone_eligibilite"] == ["35238"]
    assert (record["code_insee"], record["commune"], record["code_postal"]) == ("35238", "Rennes", "35000")
    assert record["date_maj"] == service.verified_on.isoformat()
    assert "courriel" in record and "telephone" in record


def test_imported_records_stay_with_their_source_and_a_short_description_gets_one(tmp_path):
    load_referentials()
    CommuneFactory(insee_code="35238", name="Rennes", postcodes=["35000"])
    import_data_inclusion([DATA / "mixed.json"])
    imported = Service.objects.get(source="soliguide")
    local = ServiceFactory(organisation=imported.organisation, name="Vestiaire", description="")

    export_data_inclusion(tmp_path)
    structures, services = read(tmp_path)
    assert [record["id"] for record in services] == [f"reseau--{local.pk}"]
    assert [record["id"] for record in structures] == [f"reseau--{imported.organisation_id}"]
    assert services[0]["description"] == f"Service « Vestiaire » de {imported.organisation.name}."


def test_a_record_the_schema_refuses_is_left_out_with_a_french_reason(tmp_path):
    organisation = OrganisationFactory(name="AB")  # the schema wants 3 characters at least
    ServiceFactory(organisation=organisation)
    report = export_data_inclusion(tmp_path)
    structures, services = read(tmp_path)
    assert structures == services == []
    assert report.skipped == [
        f"structure reseau--{organisation.pk} : nom : trop court (3 caractères au moins)",
        f"service reseau--{organisation.services.get().pk} : sa structure reseau--{organisation.pk} a été écartée",
    ]


def test_an_unwritable_directory_is_a_french_error(tmp_path):
    blocker = tmp_path / "fichier"
    blocker.write_text("")
    with pytest.raises(CommandError, match="Export impossible"):
        call_command("export_data_inclusion", str(blocker / "sous-dossier"), stdout=StringIO())
