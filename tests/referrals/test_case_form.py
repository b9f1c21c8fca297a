"""The case form: references (characters, uniqueness whatever the case), radius, needs and publics."""

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from referrals.models import Case
from tests.factories import (
    CaseFactory,
    CommuneFactory,
    DomainFactory,
    PublicFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


# --- The case form ---------------------------------------------------------------------------------


@pytest.fixture
def form_data():
    need = DomainFactory()
    CommuneFactory(postcodes=["35000"], latitude=48.1, longitude=-1.6)
    return {"reference": "S-1", "needs": [need.pk], "place": "35000", "radius_km": 20}


@pytest.fixture
def worker():
    return UserFactory(worker=True)


@pytest.mark.parametrize(
    "reference", ["S-1\nBcc: x@y.fr", "S-1\r\nX", "a\tb", "S_1", "S/1", "<b>", "S.1", "a;b", "😀"]
)
def test_a_reference_with_other_characters_is_a_400(client_for, worker, form_data, reference):
    response = client_for(worker).post(
        reverse("referrals:case_create"), {**form_data, "reference": reference}
    )
    assert response.status_code == 400
    assert "Référence invalide" in response.content.decode()
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    ("typed", "stored"), [("  Dossier été-12  ", "Dossier été-12"), ("ŒUVRE 3", "ŒUVRE 3")]
)
def test_a_reference_keeps_accents_and_loses_surrounding_spaces(client_for, worker, form_data, typed, stored):
    response = client_for(worker).post(reverse("referrals:case_create"), {**form_data, "reference": typed})
    assert response.status_code == 302
    assert Case.objects.get().reference == stored


@pytest.mark.parametrize("reference", ["S-1\nX", " S-1", "S-1 ", "S_1", ""])
def test_the_database_refuses_a_bad_reference(reference):
    case = CaseFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Case.objects.filter(pk=case.pk).update(reference=reference)


@pytest.mark.parametrize("second", ["dup-1", "DUP-1", "Dup-1"])
def test_a_duplicate_reference_in_the_service_is_a_400(client_for, worker, form_data, second):
    CaseFactory(service=worker.service, reference="dup-1")
    response = client_for(worker).post(reverse("referrals:case_create"), {**form_data, "reference": second})
    assert response.status_code == 400
    assert "déjà une situation avec cette référence" in response.content.decode()
    assert Case.objects.count() == 1


def test_the_same_reference_in_another_service_is_fine(client_for, worker, form_data):
    CaseFactory(reference="dup-1")
    assert (
        client_for(worker)
        .post(reverse("referrals:case_create"), form_data | {"reference": "DUP-1"})
        .status_code
        == 302
    )


def test_editing_a_case_keeps_its_own_reference(client_for, worker, form_data):
    case = CaseFactory(service=worker.service, reference="S-1")
    response = client_for(worker).post(reverse("referrals:case_update", args=[case.pk]), form_data)
    assert response.status_code == 302


def test_the_database_refuses_a_duplicate_reference_whatever_its_case():
    case = CaseFactory(reference="dup-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        CaseFactory(service=case.service, reference="DUP-1")


def test_a_duplicate_created_meanwhile_is_a_409_and_nothing_is_half_saved(
    client_for, worker, form_data, monkeypatch
):
    """Two colleagues save the same reference at once: the form check passed for both."""
    from referrals.forms import CaseForm

    def clean_reference_without_check(form):
        return form.cleaned_data["reference"].strip()

    monkeypatch.setattr(CaseForm, "clean_reference", clean_reference_without_check)
    CaseFactory(service=worker.service, reference="DUP-1")
    response = client_for(worker).post(reverse("referrals:case_create"), form_data | {"reference": "dup-1"})
    assert response.status_code == 409
    assert "déjà une situation avec cette référence" in response.content.decode()
    assert Case.objects.count() == 1
    assert not Case.needs.through.objects.exclude(case__reference="DUP-1").exists()


@pytest.mark.parametrize("radius", ["7", "0", "-5", "200", "1000", "99999999999999999999999", "abc", "1e5"])
def test_a_radius_outside_the_choices_is_a_400(client_for, worker, form_data, radius):
    response = client_for(worker).post(reverse("referrals:case_create"), {**form_data, "radius_km": radius})
    assert response.status_code == 400
    assert "Rayon invalide" in response.content.decode()
    assert not Case.objects.exists()


def test_the_database_refuses_a_radius_outside_the_choices():
    case = CaseFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Case.objects.filter(pk=case.pk).update(radius_km=7)


@pytest.mark.parametrize("value", ["99999999999999999999999", "-1", "1e5", "abc", "0"])
@pytest.mark.parametrize("field", ["needs", "publics"])
def test_impossible_ids_in_needs_and_publics_are_a_french_400(client_for, worker, form_data, field, value):
    PublicFactory()
    response = client_for(worker).post(reverse("referrals:case_create"), {**form_data, field: [value]})
    assert response.status_code == 400
    assert "Choix invalide" in response.content.decode()
    assert not Case.objects.exists()


@pytest.mark.parametrize("rayon", ["7", "0", "200", "99999999999999999999999", "abc", "1e5", "-20"])
def test_a_routing_radius_outside_the_choices_is_a_400_next_to_the_field(client_for, rayon):
    case = CaseFactory(needs=[DomainFactory()])
    client = client_for(UserFactory(service=case.service))
    response = client.get(reverse("referrals:case_routing", args=[case.pk]), {"rayon": rayon})
    content = response.content.decode()
    assert response.status_code == 400
    assert "Rayon invalide" in content and 'name="rayon"' in content


# --- The case's place: homonyms resolve near the worker's service, as on the search page -------------


def test_a_homonym_resolves_to_the_one_near_the_worker_and_is_ambiguous_elsewhere(client_for, form_data):
    need = form_data["needs"]
    near_paris = CommuneFactory(
        insee_code="93066", name="Saint-Denis", department="93", latitude=48.936, longitude=2.357
    )
    CommuneFactory(
        insee_code="97411", name="Saint-Denis", department="974", latitude=-20.882, longitude=55.45
    )
    paris_worker = UserFactory(worker=True, service__latitude=48.857, service__longitude=2.343)
    response = client_for(paris_worker).post(
        reverse("referrals:case_create"), {**form_data, "needs": need, "place": "Saint-Denis"}
    )
    assert response.status_code == 302
    assert Case.objects.get().commune == near_paris

    far_worker = UserFactory(worker=True, service__latitude=43.6, service__longitude=1.44)  # Toulouse
    response = client_for(far_worker).post(
        reverse("referrals:case_create"), {**form_data, "reference": "S-2", "place": "Saint-Denis"}
    )
    assert response.status_code == 400
    assert "Saint-Denis (974)" in response.content.decode()
    assert Case.objects.count() == 1
