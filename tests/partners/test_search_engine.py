"""The search function, on both backends (SQLite FTS5 by default, PostgreSQL full text with DATABASE_URL)."""

import math

import pytest
from django.db import connection

from partners.communes import distance_km
from partners.models import Service
from partners.search import SearchParams, distance_expression, search_services
from partners.search_index import rebuild_search_index
from tests.factories import (
    AccessModeFactory,
    DomainFactory,
    LanguageFactory,
    OrganisationFactory,
    ServiceFactory,
)

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL-only behaviour")
on_sqlite = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite-only behaviour")

RENNES = (48.1119, -1.6809)


def names(outcome):
    return [service.name for service in outcome.queryset]


@pytest.fixture
def directory():
    housing = DomainFactory(code="logement-hebergement", label="Logement et hébergement")
    emergency = DomainFactory(code="hebergement-urgence", label="Hébergement d'urgence", parent=housing)
    health = DomainFactory(code="sante", label="Santé")
    cpas = OrganisationFactory(name="CPAS de Liège")
    return {
        "shelter": ServiceFactory(
            name="Accueil de nuit",
            organisation=OrganisationFactory(name="Association Le Relais"),
            domains=[emergency],
        ),
        "cpas": ServiceFactory(name="Service social général", organisation=cpas, domains=[health]),
        "clinic": ServiceFactory(
            name="Consultation infirmière",
            description="Soins et hébergement temporaire possibles.",
            domains=[health],
        ),
    }


def test_words_match_accent_and_case_insensitively(directory):
    assert "Accueil de nuit" in names(search_services(SearchParams(text="hebergement")))
    assert "Accueil de nuit" in names(search_services(SearchParams(text="HÉBERGEMENT d'URGENCE")))
    assert names(search_services(SearchParams(text="cpas"))) == ["Service social général"]
    assert names(search_services(SearchParams(text="CPAS liège"))) == ["Service social général"]


def test_names_and_domains_rank_above_descriptions(directory):
    assert names(search_services(SearchParams(text="hébergement"))) == [
        "Accueil de nuit",
        "Consultation infirmière",
    ]


def test_last_word_matches_as_a_prefix_while_typing(directory):
    assert names(search_services(SearchParams(text="consult"))) == ["Consultation infirmière"]


def test_ranking_orders_by_relevance_then_distance_then_freshness():
    import datetime

    digital = DomainFactory(code="numerique", label="Numérique")
    jobs = DomainFactory(code="emploi", label="Emploi")
    organisation = OrganisationFactory(name="Maison des services")
    today = datetime.date.today()

    def service(name, domain, description="Aide aux démarches.", km_north=0, age_days=0):
        return ServiceFactory(
            name=name,
            organisation=organisation,
            description=description,
            domains=[domain],
            latitude=RENNES[0] + km_north / 111.2,
            longitude=RENNES[1],
            verified_on=today - datetime.timedelta(days=age_days),
        )

    # Created in the reverse of the expected order, so that neither insertion nor index order passes.
    in_description = service("Atelier", jobs, description="Aide au numérique.")
    in_domains_far = service("Atelier", digital, km_north=10)
    in_domains_old = service("Atelier", digital, age_days=300)
    in_domains_recent = service("Atelier", digital)
    in_name = service("Atelier numérique", jobs)
    expected = [in_name, in_domains_recent, in_domains_old, in_domains_far, in_description]

    outcome = search_services(
        SearchParams(text="numérique", latitude=RENNES[0], longitude=RENNES[1], radius_km=20)
    )
    assert outcome.ranked
    assert [service.pk for service in outcome.queryset] == [service.pk for service in expected]
    # The same ties without a place: freshness, then name and id.
    assert [s.pk for s in search_services(SearchParams(text="numerique")).queryset] == [
        in_name.pk,
        in_domains_far.pk,
        in_domains_recent.pk,
        in_domains_old.pk,
        in_description.pk,
    ]


@on_sqlite
def test_sqlite_ranking_runs_one_full_text_search_for_the_page(directory):
    # bm25() gathers the statistics of the whole match once per full-text cursor: a subquery per
    # service (or the full-text table in the inner loop) runs the search again for every match.
    outcome = search_services(SearchParams(text="hébergement", latitude=48.1, longitude=-1.7, radius_km=20))
    sql, sql_params = outcome.queryset[:20].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", sql_params)
        plan = [row[-1] for row in cursor.fetchall()]
    assert plan[0].startswith("SCAN partners_service_fts VIRTUAL TABLE"), plan
    assert not [step for step in plan if "SUBQUERY" in step or step.startswith("SEARCH partners_service_fts")]


def test_every_word_must_match(directory):
    assert names(search_services(SearchParams(text="cpas nuit"))) == []


def test_index_follows_writes(directory):
    shelter = directory["shelter"]
    shelter.name = "Halte de jour"
    shelter.save()
    assert names(search_services(SearchParams(text="halte"))) == ["Halte de jour"]
    shelter.organisation.name = "Fondation Abri"
    shelter.organisation.save()
    assert names(search_services(SearchParams(text="abri"))) == ["Halte de jour"]
    shelter.domains.clear()
    assert "Halte de jour" not in names(search_services(SearchParams(text="urgence")))
    shelter.delete()
    assert names(search_services(SearchParams(text="halte"))) == []


def test_rebuild_search_index_is_idempotent(directory):
    rebuild_search_index()
    rebuild_search_index()
    assert names(search_services(SearchParams(text="cpas"))) == ["Service social général"]


def test_radius_keeps_a_service_25_km_away_at_50_km_not_at_20(directory):
    # 0.2248 degrees of latitude north of Rennes is 25 km.
    far = ServiceFactory(name="Service à 25 km", latitude=RENNES[0] + 0.2248, longitude=RENNES[1])
    near = ServiceFactory(name="Service à Rennes", latitude=RENNES[0], longitude=RENNES[1])
    Service.objects.exclude(pk__in=[far.pk, near.pk]).update(latitude=None, longitude=None)

    at_50 = list(
        search_services(SearchParams(latitude=RENNES[0], longitude=RENNES[1], radius_km=50)).queryset
    )
    at_20 = list(
        search_services(SearchParams(latitude=RENNES[0], longitude=RENNES[1], radius_km=20)).queryset
    )

    assert [s.name for s in at_50] == ["Service à Rennes", "Service à 25 km"]
    assert at_50[1].distance_km == pytest.approx(25.0, abs=0.1)
    assert [s.name for s in at_20] == ["Service à Rennes"]


@pytest.mark.parametrize(
    ("origin", "point"),
    [
        (RENNES, (48.3367, -1.6809)),
        ((43.2965, 5.3698), (43.6047, 1.4442)),
        ((-21.1151, 55.5364), (-20.8821, 55.4504)),
    ],
)
def test_the_database_distance_is_the_haversine_of_the_directory(origin, point):
    """distance_expression (one SQL node) gives communes.distance_km, directly and through a relation."""
    service = ServiceFactory(latitude=point[0], longitude=point[1], domains=[DomainFactory()])
    expected = distance_km(origin, point)

    direct = Service.objects.annotate(d=distance_expression(*origin)).get(pk=service.pk).d
    through = (
        Service.domains.through.objects.filter(service=service)
        .annotate(d=distance_expression(*origin, prefix="service__"))
        .values_list("d", flat=True)
        .get()
    )

    assert direct == pytest.approx(expected, rel=1e-12)
    assert through == direct


@on_postgresql
def test_a_typo_is_corrected_from_the_directorys_vocabulary(directory):
    rebuild_search_index()
    outcome = search_services(SearchParams(text="hébergment urgence"))
    assert names(outcome)[0] == "Accueil de nuit"
    assert outcome.corrections == {"hebergment": "hebergement"}


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_typo_threshold_holds_outside_a_transaction():
    # Each statement commits on its own, as in production (no per-test transaction): a threshold set
    # with set_config(..., true) in its own statement would be gone, and pg_trgm's default 0.3 used.
    from partners.search import MIN_SIMILARITY

    ServiceFactory(name="Consultation infirmière", organisation=OrganisationFactory(name="Centre de santé"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT similarity('infirmiere', 'infrmire'), similarity('infirmiere', 'infirmre')")
        far, near = cursor.fetchone()
    assert 0.3 <= far < MIN_SIMILARITY <= near

    assert search_services(SearchParams(text="infirmre")).corrections == {"infirmre": "infirmiere"}
    too_far = search_services(SearchParams(text="infrmire"))
    assert too_far.corrections == {}
    assert names(too_far) == []


def test_past_the_cap_matches_are_counted_up_to_it_and_ordered_by_freshness(monkeypatch):
    import datetime

    from partners import search

    monkeypatch.setattr(search, "RESULT_CAP", 3)
    today = datetime.date.today()
    for age, name in [(300, "Accueil ancien"), (10, "Accueil récent"), (100, "Accueil moyen")]:
        ServiceFactory(name=name, verified_on=today - datetime.timedelta(days=age))
    ServiceFactory(name="Accueil jamais vérifié", verified_on=None)

    broad = search_services(SearchParams(text="accueil"))
    assert (broad.count, broad.capped, broad.ranked) == (3, True, False)
    assert names(broad) == ["Accueil récent", "Accueil moyen", "Accueil ancien", "Accueil jamais vérifié"]

    narrow = search_services(SearchParams(text="accueil récent"))
    assert (narrow.count, narrow.capped, narrow.ranked) == (1, False, True)
    filters_only = search_services(SearchParams())
    assert filters_only.capped and not filters_only.ranked


@on_postgresql
def test_page_queries_run_without_parallel_workers():
    # Measured by make bench: worker start-up cost more than it saved on short page queries.
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        assert cursor.fetchone()[0] == "0"


@on_postgresql
def test_rebuild_rewrites_only_the_services_whose_text_changed(directory):
    rebuild_search_index()

    def row_versions():
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, xmin::text FROM partners_service ORDER BY id")
            return dict(cursor.fetchall())

    before = row_versions()
    # A bulk update bypasses the signals: only a rebuild brings the index up to date.
    Service.objects.filter(pk=directory["clinic"].pk).update(name="Dispensaire")
    changed = row_versions()
    rebuild_search_index()
    after = row_versions()

    assert after[directory["clinic"].pk] != changed[directory["clinic"].pk]
    untouched = [directory["shelter"].pk, directory["cpas"].pk]
    assert [after[pk] for pk in untouched] == [before[pk] for pk in untouched]
    assert names(search_services(SearchParams(text="dispensaire"))) == ["Dispensaire"]


@on_postgresql
def test_a_typo_is_corrected_in_one_statement(directory):
    # Each word checked, then looked up in the vocabulary, with its threshold: one statement in all,
    # between the search that found nothing and the search with the corrected words.
    from django.test.utils import CaptureQueriesContext

    rebuild_search_index()
    search_services(SearchParams(text="urgence"))  # the synonym table, read once per process
    with CaptureQueriesContext(connection) as statements:
        outcome = search_services(SearchParams(text="hébergment urgence infirmre"))
    assert outcome.corrections == {"hebergment": "hebergement", "infirmre": "infirmiere"}
    vocabulary = [q["sql"] for q in statements.captured_queries if "partners_searchword" in q["sql"]]
    assert len(vocabulary) == 1 and "set_config('pg_trgm.similarity_threshold'" in vocabulary[0]
    assert len(statements) == 3  # nothing found, the corrections, found


def place_directory():
    """Seven services around Rennes: "accueil" in the names of some (more relevant), in the description
    of others, at various distances and dates of verification, one never verified."""
    import datetime

    today = datetime.date.today()
    rows = [
        ("Accueil de jour", "", 12, 40),
        ("Halte", "Accueil sans rendez-vous.", 1, 5),
        ("Accueil familles", "Accueil des familles.", 30, 400),
        ("Permanence", "Accueil et écoute.", 5, None),
        ("Point accueil", "", 5, 10),
        ("Bagagerie", "Accueil le matin.", 45, 100),
        ("Accueil de nuit", "", 2, 200),
    ]
    for name, description, km, age in rows:
        ServiceFactory(
            name=name,
            description=description,
            latitude=RENNES[0] + km / 111.2,
            longitude=RENNES[1],
            verified_on=None if age is None else today - datetime.timedelta(days=age),
        )


@pytest.mark.parametrize("order", ["pertinence", "fraicheur", "distance"])
@pytest.mark.parametrize(("text", "cap"), [("accueil", 100), ("accueil", 4), ("", 100), ("", 4)])
def test_a_page_around_a_place_comes_with_its_count_in_one_statement(monkeypatch, order, text, cap):
    """One statement for the page and its count; past the cap, by distance, a second one reads the page
    exactly in the smaller circle the first one's sample bounds (see _page_and_count)."""
    from django.test.utils import CaptureQueriesContext

    from partners import search
    from partners.enums import SearchOrder

    monkeypatch.setattr(search, "RESULT_CAP", cap)
    place_directory()
    params = SearchParams(
        text=text, latitude=RENNES[0], longitude=RENNES[1], radius_km=50, order=SearchOrder(order)
    )
    search_services(params)  # the synonym table, read once per process
    paginated = search_services(params)  # the queryset a paginator slices, counted apart
    per_page = 3
    for page in range(1, math.ceil(paginated.count / per_page) + 1):
        with CaptureQueriesContext(connection) as statements:
            outcome = search_services(params, page=page, per_page=per_page)
        assert len(statements) == (2 if paginated.capped and order != "fraicheur" else 1)
        assert (outcome.count, outcome.ranked) == (paginated.count, paginated.ranked)
        # What the paginator showed: a capped count ends the last page (rows past it are not shown).
        expected = paginated.queryset[(page - 1) * per_page : min(page * per_page, paginated.count)]
        assert [s.name for s in outcome.page_rows] == [s.name for s in expected]
        assert outcome.page_rows[0].distance_km == pytest.approx(expected[0].distance_km)
    # Ranked by relevance when not capped: the names saying "accueil" first; capped, by distance.
    if text and cap == 100 and order == "pertinence":
        assert paginated.ranked and outcome.count == 7
    if cap == 4:
        assert paginated.capped and not paginated.ranked


@on_postgresql
@pytest.mark.parametrize(("cap", "ranked_rows"), [(4, 0), (100, 7)])
def test_postgresql_ranks_the_matches_only_when_they_are_not_capped(monkeypatch, cap, ranked_rows):
    """The page's statement ranks no row past the cap: its rank subquery is never run."""
    from django.test.utils import CaptureQueriesContext

    from partners import search

    monkeypatch.setattr(search, "RESULT_CAP", cap)
    place_directory()
    params = SearchParams(text="accueil", latitude=RENNES[0], longitude=RENNES[1], radius_km=50)
    search_services(params)  # the synonym table, read once per process
    with CaptureQueriesContext(connection) as statements:
        search_services(params, page=1, per_page=3)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statements[0]["sql"])
        plan = cursor.fetchone()[0][0]["Plan"]

    def subplans(node):
        found = [node] if node.get("Subplan Name") else []
        return found + [sub for child in node.get("Plans", []) for sub in subplans(child)]

    (rank,) = subplans(plan)
    assert rank.get("Actual Loops", 0) == ranked_rows


def test_past_the_last_page_around_a_place_the_count_is_still_right():
    place_directory()
    params = SearchParams(text="accueil", latitude=RENNES[0], longitude=RENNES[1], radius_km=50)
    outcome = search_services(params, page=5, per_page=3)
    assert (outcome.page_rows, outcome.count) == ([], 7)
    nowhere = SearchParams(text="accueil", latitude=0.0, longitude=0.0, radius_km=5)
    assert (search_services(nowhere, page=1).page_rows, search_services(nowhere, page=1).count) == ([], 0)
    # Past the cap, no page can exist: counted apart (and no OFFSET too large for the database).
    huge = search_services(params, page=10**30, per_page=3)
    assert (huge.page_rows, huge.count) == (None, 7)
    # No place: the page is left to the paginator.
    assert search_services(SearchParams(text="accueil"), page=1).page_rows is None


def test_a_typo_around_a_place_is_corrected_and_paged():
    place_directory()
    rebuild_search_index()
    params = SearchParams(text="bagagrie", latitude=RENNES[0], longitude=RENNES[1], radius_km=50)
    outcome = search_services(params, page=1, per_page=3)
    assert outcome.corrections == {"bagagrie": "bagagerie"}
    assert ([s.name for s in outcome.page_rows], outcome.count) == (["Bagagerie"], 1)


@on_postgresql
def test_the_covering_index_covers_what_a_results_page_lists():
    # A place search without words reads its page from this index alone: a listed field it does not
    # include sends every row of the bounding box back to the table.
    from partners.search import LISTED_FIELDS

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'service_active_coordinates_listed_pg'"
        )
        definition = cursor.fetchone()[0]
    included = definition.split("INCLUDE (")[1].split(")")[0].split(", ")
    columns = [Service._meta.get_field(name).column for name in LISTED_FIELDS]
    assert sorted(included) == sorted(columns)


@on_postgresql
@pytest.mark.parametrize(
    ("field", "index"),
    [
        ("language_ids", "service_languages_language_service_pg"),
        ("access_mode_ids", "service_access_modes_mode_service_pg"),
    ],
)
def test_a_language_or_access_mode_filter_can_read_its_link_table_from_the_index_alone(field, index):
    # Without (value, service) indexes (migration 0018), the filter visits a link row per service
    # having that value: 33 000 for "à distance" at national scale, most of a count's time.
    value = (LanguageFactory() if field == "language_ids" else AccessModeFactory()).pk
    service = ServiceFactory()
    getattr(service, "languages" if field == "language_ids" else "access_modes").add(value)
    queryset = search_services(SearchParams(**{field: (value,)})).queryset
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        # A handful of rows: the planner would read the tables whole; how it reads them at scale is
        # what the index allows, asked for here by pricing the other ways out.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert f"Index Only Scan using {index}" in plan, plan
