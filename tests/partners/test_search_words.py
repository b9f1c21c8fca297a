"""The words workers use: acronyms and synonyms, plurals, typos — on both backends."""

import pytest
from django.db import connection

from partners.models import SearchSynonym
from partners.search import SearchParams, Term, query_terms, search_services
from partners.search_index import rebuild_search_index
from partners.synonyms import load_synonyms, read_seed, synonym_table
from partners.text import stem, stemmed
from tests.factories import DomainFactory, OrganisationFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def names(text):
    return sorted(service.name for service in search_services(SearchParams(text=text)).queryset)


@pytest.fixture
def shelters():
    housing = DomainFactory(code="logement-hebergement", label="Logement et hébergement")
    temporary = DomainFactory(
        code="logement-hebergement--hebergement-temporaire",
        label="Rechercher une solution d'hébergement temporaire",
        parent=housing,
    )
    return [
        ServiceFactory(
            name="Centre d'hébergement et de réinsertion sociale Les Tilleuls",
            organisation=OrganisationFactory(name="Association Saint-Benoît Labre"),
            description="Hébergement collectif et accompagnement vers le logement.",
            domains=[temporary],
        ),
        ServiceFactory(
            name="Hébergement d'insertion",
            organisation=OrganisationFactory(name="Fondation Abbé Pierre"),
            description="Le CHRS accueille des personnes seules.",
            domains=[temporary],
        ),
        ServiceFactory(name="Épicerie solidaire", description="Aide alimentaire pour les familles."),
    ]


def test_seed_has_at_least_80_entries_of_the_social_sector():
    terms = {term for term, _ in read_seed()}
    assert len(terms) >= 80
    for expected in ["CHRS", "CMP", "CADA", "PMI", "CSAPA", "SIAO", "FLE", "RSA", "femmes battues", "dettes"]:
        assert expected in terms
    for expected in ["surendettement", "SDF", "AAH", "CAF", "CCAS", "MDPH", "ASE", "PASS", "ELSA", "CHU"]:
        assert expected in terms
    assert {"ACT", "LHSS"} <= terms


def test_load_synonyms_is_idempotent_and_keeps_coordinators_edits():
    first = load_synonyms()
    assert first["created"] >= 80
    chrs = SearchSynonym.objects.get(key="chrs")
    chrs.equivalents = "hébergement de stabilisation"
    chrs.save()
    assert load_synonyms() == {"created": 0, "kept": first["created"]}
    assert SearchSynonym.objects.get(key="chrs").equivalents == "hébergement de stabilisation"


def test_an_acronym_finds_the_services_that_spell_it_out(shelters, synonyms):
    # One says "Centre d'hébergement et de réinsertion sociale", the other "CHRS" in its description.
    assert names("CHRS") == sorted(s.name for s in shelters[:2])
    assert names("chrs") == names("CHRS")


def test_without_the_synonym_table_the_acronym_finds_only_its_letters(shelters):
    assert names("CHRS") == ["Hébergement d'insertion"]


def test_a_phrase_of_the_table_expands_as_a_whole(synonyms):
    ServiceFactory(name="Écoute violences conjugales", description="Permanence pour les femmes.")
    ServiceFactory(name="Battues de chasse", description="Pas un service social.")
    assert names("femmes battues") == ["Écoute violences conjugales"]
    # Inflected forms of the term expand too (the table is looked up by stems).
    assert names("femme battue") == ["Écoute violences conjugales"]


def test_synonym_changes_apply_at_once_in_this_process(shelters):
    assert names("hebergement stabilisation") == []
    assert names("stabilisation") == []
    synonym = SearchSynonym.objects.create(term="Stabilisation", equivalents="réinsertion sociale")
    assert names("stabilisation") == ["Centre d'hébergement et de réinsertion sociale Les Tilleuls"]
    synonym.delete()
    assert names("stabilisation") == []


def test_the_table_is_read_once_then_served_from_memory(synonyms, django_assert_num_queries):
    with django_assert_num_queries(1):
        synonym_table()
    with django_assert_num_queries(0):
        table = synonym_table()
    assert (stem("chrs"),) in table


def test_query_terms_group_phrases_and_mark_the_last_incomplete_word():
    table = {("femm", "battu"): (("violences", "conjugales"),)}
    assert query_terms(["aide", "femmes", "battues"], table) == [
        Term((("aide",),)),
        Term((("femmes", "battues"), ("violences", "conjugales")), synonym=True),
    ]
    # Stop words are left out; the last word may still be being typed: also a prefix.
    assert query_terms(["hebergement", "de", "consult"], {}) == [
        Term((("hebergement",),)),
        Term((("consult",),), prefix=True),
    ]
    assert query_terms(["logements", "sociaux"], {}) == [
        Term((("logements",),)),
        Term((("sociaux",),), prefix=True),
    ]


def test_plurals_and_inflections_find_the_same_services():
    ServiceFactory(name="Accès au logement", description="Recherche de logement social.")
    ServiceFactory(name="Permanence budget", description="Aide en cas de dette ou de surendettement.")
    ServiceFactory(name="Point conseil", description="Conseil sur vos dettes et vos crédits.")
    assert names("logements") == names("logement") == ["Accès au logement"]
    assert names("dettes") == names("dette") == ["Permanence budget", "Point conseil"]


def test_a_complete_word_does_not_match_as_the_prefix_of_another():
    ServiceFactory(name="Aide au logement")
    ServiceFactory(name="Logiciels libres")
    # "logements" stems to "log": as a prefix of its stem it would find "logiciels" too.
    assert names("logements") == ["Aide au logement"]
    assert names("log") == ["Aide au logement", "Logiciels libres"]


def test_a_word_being_typed_finds_the_words_it_begins():
    ServiceFactory(name="Épicerie solidaire")
    ServiceFactory(name="Consultation infirmière")
    # "epicer" stems to "epic", but it is how "épicerie" begins.
    for typed in ["epi", "epicer", "épicerie", "epiceries"]:
        assert names(typed) == ["Épicerie solidaire"], typed
    assert names("consult") == ["Consultation infirmière"]


def test_formation_does_not_find_information():
    ServiceFactory(name="Trouver sa formation", description="Formations qualifiantes.")
    ServiceFactory(name="Point information jeunesse", description="Information et orientation.")
    assert names("formation") == ["Trouver sa formation"]


def test_a_typo_is_corrected_from_the_directorys_vocabulary_on_both_databases():
    ServiceFactory(name="Accueil de nuit", description="Hébergement d'urgence pour hommes seuls.")
    ServiceFactory(name="Consultation infirmière", description="Soins gratuits.")
    rebuild_search_index()
    outcome = search_services(SearchParams(text="hébergment urgence"))
    assert [s.name for s in outcome.queryset] == ["Accueil de nuit"]
    assert outcome.corrections == {"hebergment": "hebergement"}
    assert search_services(SearchParams(text="infirmre")).corrections == {"infirmre": "infirmiere"}
    # Too far from any word: no guess.
    too_far = search_services(SearchParams(text="zqxwvy"))
    assert too_far.corrections == {} and too_far.count == 0


def test_new_words_join_the_vocabulary_as_services_are_written():
    rebuild_search_index()
    ServiceFactory(name="Bagagerie solidaire")
    assert search_services(SearchParams(text="bagagrie")).corrections == {"bagagrie": "bagagerie"}


def test_stop_words_alone_search_nothing_in_particular():
    ServiceFactory(name="Accueil de jour")
    outcome = search_services(SearchParams(text="de la"))
    assert outcome.count == 1 and not outcome.ranked


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite index stores stems")
def test_sqlite_index_stores_stemmed_words_like_postgresql():
    assert (
        stemmed("Logements sociaux pour les familles") == "log social le famill"
    )  # "les" is not a stop word of PostgreSQL either
    service = ServiceFactory(name="Logements sociaux", description="")
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM partners_service_fts WHERE rowid = %s", [service.pk])
        assert cursor.fetchone()[0] == "log social"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="compares with PostgreSQL's stemmer")
def test_python_stems_are_postgresqls_stems():
    words = "logements dettes hébergement formations réinsertion sociales femmes battues accompagnement"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT array_to_string(tsvector_to_array(to_tsvector('french_unaccent', %s)), ' ')", [words]
        )
        expected = sorted(cursor.fetchone()[0].split())
    assert sorted(set(stemmed(words).split())) == expected


def test_a_coordinator_adds_a_synonym_in_the_admin_and_searches_use_it_at_once(client_for):
    from tests.factories import CoordinatorFactory, NetworkFactory

    coordinator = CoordinatorFactory(networks=[NetworkFactory()])
    ServiceFactory(name="Halte de nuit du Blosne", description="Accueil de nuit.")
    ServiceFactory(name="Accueil de nuit", description="Douze lits.")
    assert names("abri nocturne") == []
    client = client_for(coordinator)
    response = client.post(
        "/admin/partners/searchsynonym/add/",
        {"term": "Abri nocturne", "equivalents": "accueil de nuit\nhalte de nuit"},
    )
    assert response.status_code == 302
    synonym = SearchSynonym.objects.get()
    assert (synonym.key, synonym.created_by) == ("abri nocturne", coordinator)
    assert names("abri nocturne") == ["Accueil de nuit", "Halte de nuit du Blosne"]


def test_a_synonym_needs_a_real_word_and_no_duplicate(client_for):
    from tests.factories import UserFactory

    SearchSynonym.objects.create(term="CHRS", equivalents="réinsertion sociale")
    client = client_for(UserFactory(admin=True))
    for term, message in [("de la", "mot vide"), ("C.H.R.S.", "existe déjà"), ("chrs", "existe déjà")]:
        response = client.post(
            "/admin/partners/searchsynonym/add/", {"term": term, "equivalents": "abri de nuit"}
        )
        assert response.status_code == 200 and message in response.content.decode(), term
    response = client.post("/admin/partners/searchsynonym/add/", {"term": "CMP", "equivalents": "  \n "})
    assert (
        "Ce champ est obligatoire" in response.content.decode() or "au moins un" in response.content.decode()
    )
    assert SearchSynonym.objects.count() == 1
