from io import StringIO

import pytest
from django.core.management import call_command

from partners.models import AccessMode, Domain, Fee, Language, Public, ServiceType
from partners.referentials import load_referentials
from tests.factories import DomainFactory

pytestmark = pytest.mark.django_db

HOUSING = "logement-hebergement"
TEMPORARY_HOUSING = "logement-hebergement--rechercher-une-solution-dhebergement-temporaire"


def test_loader_creates_the_national_lists():
    counts = load_referentials()

    categories = Domain.objects.filter(parent__isnull=True)
    thematiques = Domain.objects.filter(parent__isnull=False).select_related("parent")
    assert categories.count() == 16
    assert thematiques.count() == 69
    assert counts["Domain"] == {"created": 85, "updated": 0}
    for thematique in thematiques:
        assert thematique.parent.code == thematique.code.split("--")[0]
        assert thematique.parent.parent_id is None
    assert Public.objects.count() == 14
    assert Fee.objects.count() == 2
    assert ServiceType.objects.count() == 6
    assert Domain.objects.filter(is_national=True, is_active=True).count() == 85
    assert (
        Domain.objects.get(code=TEMPORARY_HOUSING).label == "Rechercher une solution d’hébergement temporaire"
    )


def test_loader_seeds_local_additions():
    load_referentials()

    assert set(AccessMode.objects.filter(is_national=True).values_list("code", flat=True)) == {
        "a-distance",
        "en-presentiel",
    }
    home = AccessMode.objects.get(code="a-domicile")
    assert (home.label, home.is_national) == ("À domicile", False)
    languages = dict(Language.objects.values_list("code", "label"))
    assert len(languages) >= 15
    assert languages["fr"] == "Français"
    assert languages["lsf"] == "Langue des signes française"
    assert not Language.objects.filter(is_national=True).exists()


def test_loader_is_idempotent():
    load_referentials()
    before = {
        model: model.objects.count() for model in (Domain, Public, AccessMode, Fee, ServiceType, Language)
    }

    counts = load_referentials()

    assert all(count == {"created": 0, "updated": 0} for count in counts.values())
    assert before == {
        model: model.objects.count() for model in (Domain, Public, AccessMode, Fee, ServiceType, Language)
    }


def test_local_domain_added_by_a_coordinator_survives_a_rerun():
    load_referentials()
    housing = Domain.objects.get(code=HOUSING)
    local = DomainFactory(
        code="logement-hebergement--habitat-indigne", label="Habitat indigne", parent=housing
    )

    load_referentials()

    local.refresh_from_db()
    assert (local.label, local.parent, local.is_national, local.is_active) == (
        "Habitat indigne",
        housing,
        False,
        True,
    )


def test_local_row_using_a_national_code_is_left_untouched():
    DomainFactory(code=HOUSING, label="Logement (local)", is_national=False)

    load_referentials()

    row = Domain.objects.get(code=HOUSING)
    assert (row.label, row.is_national) == ("Logement (local)", False)
    assert Domain.objects.get(code=TEMPORARY_HOUSING).parent == row


def test_national_label_edited_locally_is_restored():
    load_referentials()
    Domain.objects.filter(code=TEMPORARY_HOUSING).update(label="Hébergement d'urgence", description="Local")
    Public.objects.filter(code="jeunes").update(label="Jeunes 16-25 ans")
    other_category = Domain.objects.get(code="sante")
    Domain.objects.filter(code=TEMPORARY_HOUSING).update(parent=other_category)

    counts = load_referentials()

    row = Domain.objects.get(code=TEMPORARY_HOUSING)
    assert (row.label, row.description, row.parent.code) == (
        "Rechercher une solution d’hébergement temporaire",
        "",
        HOUSING,
    )
    assert Public.objects.get(code="jeunes").label == "Jeunes"
    assert counts["Domain"] == {"created": 0, "updated": 1}
    assert counts["Public"] == {"created": 0, "updated": 1}


def test_national_entry_deactivated_by_a_coordinator_stays_deactivated():
    load_referentials()
    Domain.objects.filter(code=TEMPORARY_HOUSING).update(is_active=False)
    Public.objects.filter(code="etudiants").update(is_active=False)

    load_referentials()

    assert not Domain.objects.get(code=TEMPORARY_HOUSING).is_active
    assert not Public.objects.get(code="etudiants").is_active
    assert Domain.objects.filter(is_active=False).count() == 1


def test_local_additions_are_never_overwritten():
    load_referentials()
    Language.objects.filter(code="fa").update(label="Dari / farsi", is_active=False)
    AccessMode.objects.filter(code="a-domicile").update(label="Visite à domicile")

    load_referentials()

    assert Language.objects.filter(code="fa").values_list("label", "is_active").get() == (
        "Dari / farsi",
        False,
    )
    assert AccessMode.objects.get(code="a-domicile").label == "Visite à domicile"


def test_loader_never_deletes_anything():
    load_referentials()
    DomainFactory(code="ancien-domaine-national", label="Ancien", is_national=True)

    load_referentials()

    assert Domain.objects.filter(code="ancien-domaine-national").exists()


def test_command_reports_counts():
    out = StringIO()
    call_command("load_referentials", stdout=out)

    assert "thématiques et catégories : 85 créé(s), 0 mis à jour" in out.getvalue()
    assert Domain.objects.count() == 85
