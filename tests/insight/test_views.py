"""Insight pages: who sees them, what they show, CSV exports, charts and their query counts."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from referrals.insight_views import PAGES
from tests.factories import CoordinatorFactory, ErrorReportFactory, UserFactory

from .dataset import make_referral

pytestmark = pytest.mark.django_db

SLUGS = list(PAGES)


def page_url(data, slug=None, query=""):
    url = (
        reverse("insight:page", args=[data.network.pk, slug])
        if slug
        else reverse("insight:index", args=[data.network.pk])
    )
    return url + query


def all_urls(data):
    return [
        page_url(data),
        *[page_url(data, slug) for slug in SLUGS],
        *[page_url(data, slug, "?format=csv") for slug in SLUGS],
        *[reverse("insight:chart", args=[data.network.pk, slug]) for slug in SLUGS],
    ]


def read_csv(response):
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_coordinator_sees_every_page_with_its_chart_and_table(network_data, client_for):
    client = client_for(network_data.coordinator)
    index = client.get(page_url(network_data))
    assert index.status_code == 200
    assert [index.context["figures"][key] for key in ("total", "hhi")] == [8, 2812]
    assert "37,5 %" in index.content.decode()  # off-convention rate, 3 of 8
    for slug in SLUGS:
        response = client.get(page_url(network_data, slug))
        assert response.status_code == 200, slug
        html = response.content.decode()
        chart_url = reverse("insight:chart", args=[network_data.network.pk, slug])
        assert f'<img src="{chart_url}"' in html
        assert "<table" in html or "empty-state" in html


def test_administrator_sees_any_network(network_data, client_for):
    client = client_for(UserFactory(admin=True))
    for url in all_urls(network_data):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize(
    "who",
    ["other_coordinator", "worker", "staff_without_network"],
)
def test_anybody_else_gets_a_404(network_data, client_for, who):
    user = {
        "other_coordinator": lambda: CoordinatorFactory(networks=[network_data.other_network]),
        "worker": lambda: UserFactory(service=network_data.s1),
        "staff_without_network": lambda: UserFactory(is_staff=True),
    }[who]()
    client = client_for(user)
    for url in all_urls(network_data):
        assert client.get(url).status_code == 404, url


def test_anonymous_is_sent_to_the_login_page(network_data, client):
    for url in all_urls(network_data):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_unknown_page_is_a_404(network_data, client_for):
    client = client_for(network_data.coordinator)
    assert client.get(page_url(network_data, "inconnue")).status_code == 404
    assert client.get(page_url(network_data, "hors-convention", "?format=csv&tableau=x")).status_code == 404


def test_off_convention_csv_has_a_header_row_and_masks_counts_under_5(network_data, client_for):
    client = client_for(network_data.coordinator)
    rows = read_csv(client.get(page_url(network_data, "hors-convention", "?format=csv")))
    assert rows[0] == [
        "Mois",
        "Partenaire conventionné",
        "Hors convention",
        "Aucun partenaire pour ce besoin",
        "Total",
        "Part hors convention",
    ]
    assert len(rows) == 13  # 12 months
    busy = [row for row in rows[1:] if row[4] != "0"]
    # Every count of the month is masked: its total (8) would give their sum, its share the off count.
    assert busy == [[busy[0][0], "< 5", "< 5", "< 5", "masqué", "masqué"]]
    reasons = read_csv(client.get(page_url(network_data, "hors-convention", "?format=csv&tableau=motifs")))
    assert reasons == [
        ["Motif", "Orientations"],
        ["Plus proche de la personne", "< 5"],
        ["Choix de la personne", "< 5"],
    ]


def test_csv_follows_the_filters(network_data, client_for):
    client = client_for(network_data.coordinator)
    rows = read_csv(client.get(page_url(network_data, "a-inviter", "?format=csv&departement=29")))
    assert rows == [
        [
            "Service",
            "Organisation",
            "Orientations",
            "Services orienteurs distincts",
            "Taux d'acceptation",
            "Besoins couverts",
        ]
    ]
    rows = read_csv(client.get(page_url(network_data, "a-inviter", "?format=csv&departement=35")))
    assert [row[0] for row in rows[1:]] == ["Extérieur X1", "Extérieur X2"]
    assert rows[1][2:] == ["< 5", "< 5", "masqué", "Logement"]  # accepted 1 of 1 answered


def test_gaps_page_masks_small_cells_and_opens_communes(network_data, client_for):
    client = client_for(network_data.coordinator)
    response = client.get(page_url(network_data, "manques"))
    rows = response.context["tables"][0]["rows"]
    assert [[c["text"] for c in row] for row in rows] == [["Logement", "35", "< 5", 0, "< 5"]]
    assert rows[0][1]["url"] == "?departement=35"
    by_commune = client.get(page_url(network_data, "manques", "?departement=35"))
    assert [c["text"] for c in by_commune.context["tables"][0]["rows"][0]][:2] == ["Logement", "Rennes"]


def test_responsiveness_page_lists_dormant_members(network_data, client_for):
    response = client_for(network_data.coordinator).get(page_url(network_data, "reactivite"))
    rows = {row[0]["text"]: [c["text"] for c in row] for row in response.context["tables"][0]["rows"]}
    # 3 received, 3 answered: the median (3 days) and the shares are on fewer than 5 referrals.
    assert rows["Partenaire P1"] == [
        "Partenaire P1",
        3,
        "masqué",
        "masqué",
        "masqué",
        "Plus de place disponible",
        0,
        "Non",
    ]
    assert rows["Partenaire P3"][-1] == "Oui"
    dormant = response.content.decode().split('id="dormants"')[1]
    assert 'Membres dormants <span class="count">(3)</span>' in response.content.decode()
    assert "Partenaire P3" in dormant and "Partenaire P1" not in dormant


def test_charts_name_each_service_with_its_organisation(network_data, client_for):
    chart = client_for(network_data.coordinator).get(
        reverse("insight:chart", args=[network_data.network.pk, "a-inviter"])
    )
    assert "Extérieur X1 (Organisation 3)" in chart.content.decode()


def test_invalid_filters_show_an_error_and_the_default_period(network_data, client_for):
    client = client_for(network_data.coordinator)
    response = client.get(page_url(network_data, "hors-convention", "?du=2026-13&departement=xyz"))
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"du", "departement"}
    assert len(response.context["tables"][0]["rows"]) == 12
    response = client.get(page_url(network_data, "hors-convention", "?du=2026-05&au=2026-02"))
    assert "Le premier mois doit précéder le dernier." in response.content.decode()


def test_period_filter_narrows_the_table(network_data, client_for):
    response = client_for(network_data.coordinator).get(
        page_url(network_data, "hors-convention", "?du=2025-01&au=2025-03")
    )
    assert [row[0]["text"] for row in response.context["tables"][0]["rows"]] == [
        "janvier 2025",
        "février 2025",
        "mars 2025",
    ]


def test_chart_is_an_svg_without_script_with_its_own_relaxed_style_policy(network_data, client_for):
    client = client_for(network_data.coordinator)
    page = client.get(page_url(network_data, "hors-convention"))
    assert "unsafe-inline" not in page["Content-Security-Policy"]
    for slug in SLUGS:
        chart = client.get(
            reverse("insight:chart", args=[network_data.network.pk, slug]), {"departement": "35"}
        )
        assert chart["Content-Type"] == "image/svg+xml"
        body = chart.content.decode()
        assert body.lstrip().startswith("<?xml") and "<svg" in body
        assert "<script" not in body
        assert "style-src 'unsafe-inline'" in chart["Content-Security-Policy"]
        assert "script-src" in chart["Content-Security-Policy"]


def test_chart_keeps_the_page_filters(network_data, client_for):
    response = client_for(network_data.coordinator).get(
        page_url(network_data, "concentration", "?departement=35")
    )
    chart_url = reverse("insight:chart", args=[network_data.network.pk, "concentration"])
    assert response.context["chart_url"] == f"{chart_url}?departement=35"


def test_add_to_a_convention_opens_the_prefilled_membership_form(network_data, client_for):
    client = client_for(network_data.coordinator)
    response = client.get(page_url(network_data, "a-inviter"))
    links = response.context["tables"][0]["rows"][0][-1]["links"]
    assert len(links) == 1
    label, url = links[0]
    assert label == "Ajouter à « Convention N »"
    assert url.startswith(reverse("admin:partners_conventionmembership_add"))
    form_page = client.get(url)
    assert form_page.status_code == 200
    initial = form_page.context["adminform"].form.initial
    assert initial["convention"] == str(network_data.convention.pk)
    assert initial["service"] == str(network_data.x1.pk)
    assert initial["joined_on"] == timezone.localdate().isoformat()


# Queries per page — whatever the number of referrals: session, user, network, the catégories of the
# filter form (filtered pages), then the page's own aggregate queries.
EXPECTED_QUERIES = {
    None: 4,  # counts per organisation and classification
    "hors-convention": 5,  # counts per month, classification and reason
    "a-inviter": 9,  # counts per service, their services, distinct senders, needs, conventions in force
    "manques": 6,  # no-partner counts, uncovered needs
    "reactivite": 7,  # members, counts per member, answers per member, answer days and refusal reason
    "concentration": 5,  # per quarter and organisation
    "fraicheur": 7,  # stale services, old capacities, ending conventions, open error reports
}


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_query_count_per_page_is_constant(network_data, client_for):
    client = client_for(network_data.coordinator)
    before = {slug: count_queries(client, page_url(network_data, slug)) for slug in EXPECTED_QUERIES}
    for day in range(10, 16):
        for target in (network_data.p2, network_data.p3, network_data.x1):
            make_referral(
                network_data.s1,
                target,
                classification="off_convention",
                off_convention_reason="better_fit",
                to="refused",
                sent_day=day,
                answer_days=day % 4,
                need=network_data.shelter,
                commune=network_data.commune,
            )
    after = {slug: count_queries(client, page_url(network_data, slug)) for slug in EXPECTED_QUERIES}
    assert before == after
    assert after == EXPECTED_QUERIES
    charts = {
        slug: count_queries(client, reverse("insight:chart", args=[network_data.network.pk, slug]))
        for slug in SLUGS
    }
    assert all(charts[slug] <= EXPECTED_QUERIES[slug] for slug in SLUGS), charts


def test_coordinator_home_page_links_to_the_insight_of_each_network(network_data, client_for):
    html = client_for(network_data.coordinator).get(reverse("home")).content.decode()
    assert f'href="{page_url(network_data)}"' in html
    assert reverse("insight:index", args=[network_data.other_network.pk]) not in html


@pytest.mark.allow_unknown_template_variables
def test_network_admin_links_to_its_insight(network_data, client_for):
    client = client_for(network_data.coordinator)
    changelist = client.get(reverse("admin:partners_network_changelist")).content.decode()
    assert f'<a href="{page_url(network_data)}">Analyse du réseau</a>' in changelist
    change = client.get(reverse("admin:partners_network_change", args=[network_data.network.pk]))
    assert f'<a href="{page_url(network_data)}">Analyse du réseau</a>' in change.content.decode()


def test_csv_cells_that_look_like_formulas_are_read_as_text(network_data, client_for):
    type(network_data.x1).objects.filter(pk=network_data.x1.pk).update(name='=HYPERLINK("http://x")')
    rows = read_csv(
        client_for(network_data.coordinator).get(page_url(network_data, "a-inviter", "?format=csv"))
    )
    assert rows[1][0] == '\'=HYPERLINK("http://x")'


def test_responsiveness_with_filters_still_finds_the_dormant_members_of_12_months(network_data, client_for):
    response = client_for(network_data.coordinator).get(
        page_url(network_data, "reactivite", "?departement=29")
    )
    rows = {row[0]["text"]: [c["text"] for c in row] for row in response.context["tables"][0]["rows"]}
    # Nothing received in département 29, but P1 and P2 received referrals in the last 12 months.
    assert rows["Partenaire P1"][1] == 0 and rows["Partenaire P1"][-1] == "Non"
    assert rows["Partenaire P3"][-1] == "Oui"


def test_freshness_page_lists_the_open_error_reports_of_members(network_data, client_for):
    report = ErrorReportFactory(service=network_data.p2, category="opening_hours")
    response = client_for(network_data.coordinator).get(page_url(network_data, "fraicheur"))
    table = next(t for t in response.context["tables"] if t["table"].slug == "signalements")
    assert [[c["text"] for c in row][:3] for row in table["rows"]] == [
        ["Partenaire P2", network_data.p2.organisation.name, "Horaires d'ouverture"]
    ]
    assert table["rows"][0][0]["url"] == reverse("admin:partners_errorreport_change", args=[report.pk])


def test_index_masks_shares_of_fewer_than_5_referrals(network_data, client_for):
    coordinator = CoordinatorFactory(networks=[network_data.other_network])  # its one referral, by S2
    response = client_for(coordinator).get(reverse("insight:index", args=[network_data.other_network.pk]))
    assert response.context["figures"]["total"] == 1
    assert [response.context[key] for key in ("off_rate", "answered_fast_rate", "hhi")] == ["masqué"] * 3


def test_gaps_chart_leaves_out_masked_totals(network_data, client_for):
    chart = client_for(network_data.coordinator).get(
        reverse("insight:chart", args=[network_data.network.pk, "manques"])
    )
    assert "Logement" not in chart.content.decode()  # its only cell, 1 no-partner referral, reads "< 5"
