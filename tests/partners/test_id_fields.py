"""Ids from a request: anything that cannot be an id is an invalid choice (French, 400), never a 500."""

import pytest
from django import forms

from partners.fields import IdChoiceField, IdMultipleChoiceField, parse_id
from partners.models import Domain
from tests.factories import DomainFactory, PublicFactory, UserFactory

BAD_IDS = ["99999999999999999999999", "9223372036854775808", "-1", "0", "1e5", "abc", " 1", "1.0", "٣"]


@pytest.mark.parametrize("value", BAD_IDS)
def test_parse_id_refuses_what_cannot_be_an_id(value):
    assert parse_id(value) is None


@pytest.mark.parametrize(("value", "expected"), [("1", 1), ("9223372036854775807", 2**63 - 1), (42, 42)])
def test_parse_id_reads_ids(value, expected):
    assert parse_id(value) == expected


class PickForm(forms.Form):
    one = IdChoiceField(queryset=Domain.objects.all(), required=False)
    many = IdMultipleChoiceField(queryset=Domain.objects.all(), required=False)


@pytest.mark.django_db
@pytest.mark.parametrize("value", BAD_IDS)
def test_id_fields_say_choix_invalide(value):
    form = PickForm({"one": value, "many": [value]})
    assert not form.is_valid()
    assert form.errors["one"][0].startswith("Choix invalide")
    assert form.errors["many"][0].startswith("Choix invalide")


@pytest.mark.django_db
def test_id_fields_accept_existing_ids():
    domain = DomainFactory()
    form = PickForm({"one": str(domain.pk), "many": [str(domain.pk)]})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["one"] == domain and list(form.cleaned_data["many"]) == [domain]


@pytest.mark.django_db
@pytest.mark.parametrize("param", ["thematiques", "publics", "accueil", "langue"])
@pytest.mark.parametrize("value", ["99999999999999999999999", "-1", "1e5", "abc"])
def test_search_filters_with_impossible_ids_are_a_french_400(client_for, param, value):
    DomainFactory(), PublicFactory()
    response = client_for(UserFactory(worker=True)).get("/recherche/", {param: value})
    assert response.status_code == 400
    assert "Choix invalide" in response.content.decode()
