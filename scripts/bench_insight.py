"""Insight benchmark on PostgreSQL: a network with 1 000 000 referrals, each insight page timed.

Builds, once, in its own database: 50 catégories/thématiques, 300 communes over 3 départements,
2 000 organisations and 5 000 services, one network whose convention has 300 members (the senders),
and 1 000 000 sent referrals over the last 12 months (one case each, one need each), written with
``INSERT … SELECT generate_series`` (about a minute), then insight's counts rebuilt from them
(``counts_rebuild``, as ``manage.py rebuild_insight_counts`` does). Then times the **server time** of the index
and the six pages (``django.test.Client``, DEBUG off, no network), their CSV and the charts, and
prints p50/p95 and the number of SQL queries per page; the report replaces the insight section at
the end of ``scripts/bench_results.md``.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/insight_bench .venv/bin/python scripts/bench_insight.py \
        [--rebuild] [--runs 20] [--referrals 1000000]

The databases ``test``, ``test_test`` and ``reseau_bench`` (the search bench) are never used.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/insight_bench"
PROTECTED_DATABASES = {"test", "test_test", "reseau_bench", "postgres", "template0", "template1"}
MARKER_NETWORK = "Réseau bench insight"
COORDINATOR_EMAIL = "bench.coordination@reseau.test"
PAGE_TARGET_MS = 300.0
RESULTS_PATH = ROOT / "scripts" / "bench_results.md"
# The search benchmark rewrites the sections above this marker; make bench runs this one last.
INSIGHT_MARKER = "<!-- insight benchmark: scripts/bench_insight.py -->"

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reseau.settings")
os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-" + "y" * 40)
os.environ.setdefault("DJANGO_SITE_URL", "http://127.0.0.1:8000")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("DJANGO_STATICFILES_STORAGE", "django.contrib.staticfiles.storage.StaticFilesStorage")
os.environ.setdefault("AXES_ENABLED", "false")


def ensure_database(url, *, drop):
    import psycopg2
    from psycopg2 import sql

    name = unquote(urlparse(url).path.lstrip("/"))
    if not name or name in PROTECTED_DATABASES:
        sys.exit(f"Refusing to use the database {name!r}.")
    parsed = urlparse(url)
    connection = psycopg2.connect(
        dbname="postgres", user=parsed.username or "postgres", host=parsed.hostname, port=parsed.port or 5432
    )
    connection.autocommit = True
    with connection.cursor() as cursor:
        if drop:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    connection.close()


def build(referrals):
    """The dataset, in SQL: a few seconds for the directory, about a minute per million referrals."""
    import datetime

    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from partners.enums import ConventionStatus
    from partners.models import (
        Commune,
        Convention,
        ConventionMembership,
        Domain,
        Network,
        Organisation,
        Service,
    )
    from referrals.insight_counts import counts_rebuild
    from referrals.models import InsightFlowCount
    from reseau.accounts.models import User

    call_command("migrate", verbosity=0)
    if Network.objects.filter(name=MARKER_NETWORK).exists():
        if not InsightFlowCount.objects.exists():  # built before the counts existed
            _rebuild_counts(counts_rebuild)
        return False
    today = timezone.localdate()
    started = time.perf_counter()
    with transaction.atomic():
        categories = [Domain.objects.create(code=f"bench-{c}", label=f"Catégorie {c}") for c in range(10)]
        thematiques = [
            Domain.objects.create(code=f"bench-{c}-{t}", label=f"Thématique {c}.{t}", parent=category)
            for c, category in enumerate(categories)
            for t in range(5)
        ]
        communes = Commune.objects.bulk_create(
            [
                Commune(
                    insee_code=f"{department}{n:03d}",
                    name=f"Commune {department}-{n}",
                    department=department,
                    latitude=48.0 + n / 1000,
                    longitude=-1.6,
                )
                for department in ("35", "22", "56")
                for n in range(100)
            ]
        )
        organisations = Organisation.objects.bulk_create(
            [Organisation(name=f"Organisation {n}", legal_kind="association") for n in range(2000)]
        )
        services = Service.objects.bulk_create(
            [
                Service(
                    organisation=organisations[n % 2000],
                    name=f"Service {n}",
                    latitude=48.1,
                    longitude=-1.6,
                    commune=communes[n % 300],
                    verified_on=today - datetime.timedelta(days=n % 500),
                    capacity_updated_on=today - datetime.timedelta(days=n % 200),
                )
                for n in range(5000)
            ]
        )
        Service.domains.through.objects.bulk_create(
            [
                Service.domains.through(service_id=s.pk, domain_id=thematiques[n % 50].pk)
                for n, s in enumerate(services)
            ]
        )
        network = Network.objects.create(name=MARKER_NETWORK, territory="Bretagne")
        convention = Convention.objects.create(
            network=network,
            title="Convention bench",
            status=ConventionStatus.ACTIVE,
            valid_from=today - datetime.timedelta(days=800),
            valid_until=today + datetime.timedelta(days=400),
        )
        members = services[:300]
        ConventionMembership.objects.bulk_create(
            [
                ConventionMembership(
                    convention=convention, service=s, joined_on=today - datetime.timedelta(days=700)
                )
                for s in members
            ]
        )
        coordinator = User.objects.create_user(email=COORDINATOR_EMAIL, password=None, is_staff=True)
        network.coordinators.add(coordinator)
        first_service, last_service = services[0].pk, services[-1].pk
        first_member, member_count = members[0].pk, len(members)
        first_need = thematiques[0].pk
        _insert_referrals(
            referrals,
            first_member=first_member,
            member_count=member_count,
            first_service=first_service,
            last_service=last_service,
            convention=convention.pk,
            first_need=first_need,
        )
    print(f"built {referrals} referrals in {time.perf_counter() - started:.0f} s", flush=True)
    _rebuild_counts(counts_rebuild)
    return True


def _rebuild_counts(counts_rebuild):
    """The referrals were written in SQL, without transitions: insight's counts from scratch."""
    from django.db import connection

    started = time.perf_counter()
    read = counts_rebuild()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"counted {read} referrals (rebuild_insight_counts) in {time.perf_counter() - started:.0f} s",
        flush=True,
    )


def _insert_referrals(
    referrals, *, first_member, member_count, first_service, last_service, convention, first_need
):
    from django.db import connection

    with connection.cursor() as cursor:
        # One case per referral: sender = a member; commune among the 300; sent over the last 360 days.
        cursor.execute(
            """
            INSERT INTO referrals_case (service_id, reference, commune_id, radius_km, notes, status,
                                        created_at, updated_at, closed_at)
            SELECT %(first_member)s + (i %% %(member_count)s), 'B-' || i,
                   (ARRAY['35','22','56'])[1 + i %% 3] || lpad(((i / 3) %% 100)::text, 3, '0'),
                   20, '', 'open', now() - make_interval(days => i %% 360), now(), NULL
            FROM generate_series(1, %(n)s) AS i
            """,
            {"first_member": first_member, "member_count": member_count, "n": referrals},
        )
        cursor.execute(
            """
            INSERT INTO referrals_referral (case_id, service_id, status, classification, convention_id,
                off_convention_reason, off_convention_details, refusal_reason, refusal_details, message, contact_phone, contact_email, sender_id,
                created_at, sent_at, answered_at, closed_at, reminder_sent_at)
            SELECT c.id,
                   CASE WHEN k < 6 THEN %(first_member)s + (c.id * 7) %% %(member_count)s
                        ELSE %(first_service)s + 300 + (c.id * 13) %% (%(last_service)s - %(first_service)s - 300)
                   END,
                   CASE WHEN k < 2 THEN 'accepted' WHEN k < 4 THEN 'completed' WHEN k = 4 THEN 'refused'
                        WHEN k = 5 THEN 'expired' WHEN k < 8 THEN 'accepted' WHEN k = 8 THEN 'refused'
                        ELSE 'sent' END,
                   CASE WHEN k < 6 THEN 'in_convention' WHEN k < 8 THEN 'off_convention' ELSE 'no_partner' END,
                   CASE WHEN k < 6 THEN %(convention)s END,
                   CASE WHEN k IN (6, 7) THEN (ARRAY['closer','partner_full','better_fit','person_choice'])[1 + c.id %% 4]
                        ELSE '' END,
                   '',
                   CASE WHEN k IN (4, 8) THEN 'full' ELSE '' END,
                   '', '', '', '', NULL, c.created_at, c.created_at,
                   CASE WHEN k IN (0,1,2,3,4,6,7,8) THEN c.created_at + make_interval(days => (c.id %% 17)::int) END,
                   NULL, NULL
            FROM (SELECT id, created_at, (id * 31) %% 10 AS k FROM referrals_case WHERE reference LIKE 'B-%%') AS c
            """,
            {
                "first_member": first_member,
                "member_count": member_count,
                "first_service": first_service,
                "last_service": last_service,
                "convention": convention,
            },
        )
        cursor.execute(
            """
            INSERT INTO referrals_referral_needs (referral_id, domain_id)
            SELECT r.id, %(first_need)s + (r.id %% 50) FROM referrals_referral r
            """,
            {"first_need": first_need},
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def measure(runs):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from partners.models import Network
    from referrals.insight_views import PAGES
    from reseau.accounts.models import User

    network = Network.objects.get(name=MARKER_NETWORK)
    client = Client()
    client.force_login(User.objects.get(email=COORDINATOR_EMAIL))
    urls = [("index", reverse("insight:index", args=[network.pk]))]
    for slug in PAGES:
        page = reverse("insight:page", args=[network.pk, slug])
        urls += [
            (slug, page),
            (f"{slug} (35, 3 mois)", f"{page}?departement=35&du={_months_ago(2)}"),
            (f"{slug} csv", f"{page}?format=csv"),
            (f"{slug} chart", reverse("insight:chart", args=[network.pk, slug])),
        ]
    rows = []
    for label, url in urls:
        timings = []
        client.get(url)  # warm-up
        for _ in range(runs):
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        timings.sort()
        p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
        rows.append((label, statistics.median(timings), p95, len(queries)))
        print(
            f"{label:<40} p50 {rows[-1][1]:7.0f} ms  p95 {p95:7.0f} ms  {len(queries):2d} queries", flush=True
        )
    over = [row for row in rows if row[2] > PAGE_TARGET_MS]
    print(f"\n{len(rows)} URLs, {len(over)} over the {PAGE_TARGET_MS:.0f} ms p95 target")
    return rows


def report(rows, runs, load_before):
    """The markdown section for ``scripts/bench_results.md`` (replaces the previous one)."""
    import datetime
    import subprocess

    from django.db import connection

    from referrals.models import INSIGHT_COUNT_MODELS, InsightReferral

    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0].split(" on ")[0]
    counted = {model.__name__: model.objects.count() for model in INSIGHT_COUNT_MODELS}
    revision = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    started = time.perf_counter()
    sum(i * i for i in range(2_000_000))
    loop_ms = (time.perf_counter() - started) * 1000
    lines = [
        "# Insight benchmark — 1 000 000 referrals, PostgreSQL",
        "",
        f"- Date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, revision {revision}",
        f"- {version}; CPU speed loop {loop_ms:.0f} ms; load average before "
        f"{' / '.join(f'{v:.2f}' for v in load_before)}, after "
        f"{' / '.join(f'{v:.2f}' for v in os.getloadavg())} (the 2 cores are shared: timings are noisy)",
        f"- {InsightReferral.objects.count()} referrals of one network (300 senders, 5 000 services, 3 "
        "départements, 10 need catégories, 12 months); count rows: "
        + ", ".join(f"{name} {n}" for name, n in counted.items()),
        f"- Server time through the views (`django.test.Client`, DEBUG off), 1 warm-up then {runs} runs per URL",
        "",
        f"Target: p95 < {PAGE_TARGET_MS:.0f} ms per page.",
        "",
        "| URL | p50 (ms) | p95 (ms) | queries | target |",
        "|---|---|---|---|---|",
    ]
    for label, p50, p95, queries in rows:
        lines.append(
            f"| {label} | {p50:.0f} | {p95:.0f} | {queries} | {'✅' if p95 < PAGE_TARGET_MS else '❌'} |"
        )
    return "\n".join(lines) + "\n"


def write_report(text):
    """After the search benchmark's sections: replace the insight section, or add it at the end."""
    from bench_sections import write_section

    write_section("insight", text, RESULTS_PATH)
    print(f"Written to {RESULTS_PATH.relative_to(ROOT)}")


def _months_ago(months):
    from django.utils import timezone

    from referrals.insight import add_months

    return add_months(timezone.localdate().replace(day=1), -months).strftime("%Y-%m")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--referrals", type=int, default=1_000_000)
    args = parser.parse_args()
    ensure_database(os.environ["DATABASE_URL"], drop=args.rebuild)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    build(args.referrals)
    load_before = os.getloadavg()
    rows = measure(args.runs)
    write_report(report(rows, args.runs, load_before))


if __name__ == "__main__":
    main()
