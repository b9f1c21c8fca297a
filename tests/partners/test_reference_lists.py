"""Reference lists in process memory (partners.reference_lists): read once, seen changed everywhere."""

import uuid

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from partners.models import Domain, Public, ReferenceListsVersion
from partners.reference_lists import SnapshotCache, lists_changed, reference_lists
from partners.referentials import load_referentials
from referrals.forms import CaseForm
from tests.factories import DomainFactory, LanguageFactory, PublicFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/recherche/"
LIST_TABLES = ("partners_domain", "partners_public", "partners_accessmode", "partners_language")


@pytest.fixture
def client(client_for):
    return client_for(UserFactory(worker=True))


def list_queries(capture):
    return [q["sql"] for q in capture.captured_queries if any(table in q["sql"] for table in LIST_TABLES)]


def test_the_search_form_reads_no_list_once_they_are_in_memory(client):
    DomainFactory(label="Logement")
    PublicFactory(label="Jeunes")
    client.get(URL)
    with CaptureQueriesContext(connection) as capture:
        response = client.get(URL)
    assert "Logement" in response.content.decode()
    assert "Jeunes" in response.content.decode()
    assert list_queries(capture) == []
    # One primary-key read of the token instead: how every process sees a change.
    assert sum("partners_referencelistsversion" in q["sql"] for q in capture.captured_queries) == 1


def test_a_new_entry_is_offered_at_the_next_request(client):
    client.get(URL)
    PublicFactory(label="Personnes exilées")
    assert "Personnes exilées" in client.get(URL).content.decode()


def test_a_deactivated_entry_is_neither_offered_nor_accepted(client):
    public = PublicFactory(label="Public retiré")
    assert "Public retiré" in client.get(URL).content.decode()
    public.is_active = False
    public.save()

    assert "Public retiré" not in client.get(URL).content.decode()
    response = client.get(URL, {"publics": str(public.pk)})
    assert response.status_code == 400
    assert "Choix invalide" in response.content.decode()


def test_a_write_by_another_process_is_seen_through_the_token(client):
    """A bulk update sends no signal: another process's write only shows in the token it stored."""
    public = PublicFactory(label="Ancien libellé")
    client.get(URL)
    Public.objects.filter(pk=public.pk).update(label="Nouveau libellé")  # no signal, as elsewhere
    ReferenceListsVersion.objects.filter(pk=1).update(token=uuid.uuid4().hex)

    content = client.get(URL).content.decode()
    assert "Nouveau libellé" in content
    assert "Ancien libellé" not in content


def test_a_rolled_back_write_leaves_no_stale_list():
    with pytest.raises(RuntimeError), transaction.atomic():
        PublicFactory(label="Jamais enregistré")
        assert "Jamais enregistré" in {p.label for p in reference_lists().active(Public)}
        raise RuntimeError

    assert "Jamais enregistré" not in {p.label for p in reference_lists().active(Public)}


def test_without_a_token_row_the_lists_are_read_every_time():
    ReferenceListsVersion.objects.all().delete()  # a flushed database
    assert reference_lists().token is None
    PublicFactory(label="Recréé")  # the signal writes a token again
    assert "Recréé" in {p.label for p in reference_lists().active(Public)}
    assert ReferenceListsVersion.objects.get(pk=1).token


def test_loading_the_referentials_changes_the_token_only_when_something_changed():
    load_referentials()
    token = ReferenceListsVersion.objects.get(pk=1).token
    load_referentials()  # idempotent: nothing created or updated
    assert ReferenceListsVersion.objects.get(pk=1).token == token
    Domain.objects.filter(code="logement-hebergement").update(label="Renommé")  # bulk, no signal
    load_referentials()  # restores the national label, in bulk
    assert ReferenceListsVersion.objects.get(pk=1).token != token


def test_lists_changed_forgets_the_snapshot_of_this_process():
    before = reference_lists()
    lists_changed()
    assert reference_lists() is not before


def test_a_snapshot_cache_builds_once_per_snapshot_and_key():
    cache, built = SnapshotCache(), []

    def build(value):
        return lambda: built.append(value) or f"html {value}"

    assert [cache.get("a", build("a")), cache.get("a", build("a2")), cache.get("b", build("b"))] == [
        "html a",
        "html a",
        "html b",
    ]
    lists_changed()  # a new snapshot: its values are built anew
    assert cache.get("a", build("a3")) == "html a3"
    ReferenceListsVersion.objects.all().delete()  # no token (a flushed database): nothing is kept
    assert [cache.get("a", build("a4")), cache.get("a", build("a5"))] == ["html a4", "html a5"]
    assert built == ["a", "b", "a3", "a4", "a5"]


def test_the_needs_rule_reads_the_catégories_from_memory():
    category = DomainFactory(label="Logement")
    thematique = DomainFactory(label="Hébergement", parent=category)
    inactive = DomainFactory(label="Ancienne", parent=category, is_active=False)
    reference_lists()
    with CaptureQueriesContext(connection) as capture:
        meeting = Domain.objects.meeting([category.pk])
    assert meeting == {
        category.pk: frozenset({category.pk}),
        thematique.pk: frozenset({category.pk}),
        inactive.pk: frozenset({category.pk}),  # services still offer it: the rule is not about choices
    }
    assert list_queries(capture) == []


def test_the_case_form_checks_ids_against_the_lists_in_memory():
    need = DomainFactory(label="Logement")
    public = PublicFactory(label="Jeunes")
    LanguageFactory()
    data = {
        "reference": "A-1",
        "needs": [str(need.pk)],
        "radius_km": "20",
        "place": "",
        "publics": [str(public.pk)],
    }
    form = CaseForm(data=data)
    form.is_valid()
    assert form.cleaned_data["needs"] == [need]
    assert form.cleaned_data["publics"] == [public]

    for bad in ("99999999999999999999999", "abc", str(need.pk + 1000)):
        form = CaseForm(data={**data, "needs": [bad]})
        assert not form.is_valid()
        assert "Choix invalide" in form.errors["needs"][0]


def test_the_unticked_picker_is_reused_and_a_ticked_one_is_not(client):
    housing = DomainFactory(label="Hébergement", parent=DomainFactory(label="Logement"))
    ticked = f'value="{housing.pk}" id="'

    def housing_box(content):
        start = content.index(ticked)
        return content[start : content.index(">", start)]

    assert "checked" not in housing_box(client.get(URL).content.decode())
    assert "checked" in housing_box(client.get(URL, {"thematiques": str(housing.pk)}).content.decode())
    assert "checked" not in housing_box(client.get(URL).content.decode())
    DomainFactory(label="Hébergement d'urgence", parent=housing.parent)  # a new snapshot, a new picker
    assert "Hébergement d&#x27;urgence" in client.get(URL).content.decode()


def test_the_more_filters_block_is_reused_while_none_of_its_filters_is_set(client, monkeypatch):
    from partners import filters

    public = PublicFactory(label="Jeunes")
    rendered = []
    real_render = filters.render_to_string

    def counting_render(template_name, context):
        rendered.append(template_name)
        return real_render(template_name, context)

    monkeypatch.setattr(filters, "render_to_string", counting_render)
    searched = {"q": "logement", "lieu": "", "langue": ""}  # what the form sends: empty fields
    first = client.get(URL, searched).content.decode()
    assert "Jeunes" in first and '<details class="filters filters--more">' in first
    assert client.get(URL, {"q": "dettes", "partenaires": "on"}).content.decode().count("Jeunes") == 1
    assert rendered == ["partners/_search_more_filters.html"]  # once for both searches

    # A filter of the block set: rendered for that search, its box ticked and the block open.
    ticked = client.get(URL, {**searched, "publics": str(public.pk)}).content.decode()
    assert f'value="{public.pk}" id="id_publics_0" checked>' in ticked
    assert '<details class="filters filters--more" open>' in ticked
    assert len(rendered) == 2
    assert f'value="{public.pk}" id="id_publics_0">' in client.get(URL, searched).content.decode()
    assert len(rendered) == 2

    PublicFactory(label="Seniors")  # a new snapshot of the lists: a new block
    assert "Seniors" in client.get(URL, searched).content.decode()
    assert len(rendered) == 3
