"""Search benchmark: national scale on PostgreSQL, one département's size on SQLite (``make bench``).

Builds, once, a national-scale directory in its own database (150 000 services, ~60 000
organisations over the real communes, weighted by population), then measures the **server time**
of the search page (``/recherche/`` through ``django.test.Client``, no network) for a fixed list
of realistic queries, the number of SQL queries per page, and a naive baseline
(``unaccent(field) ILIKE unaccent('%word%')``) on the same filters. Prints a report and writes it
to ``scripts/bench_results.md``.

Usage::

    .venv/bin/python scripts/bench_search.py [--sqlite] [--rebuild] [--build-only] [--runs 7]
        [--no-baseline | --baseline-all] [--no-explain]

``DATABASE_URL`` defaults to ``postgres://postgres@127.0.0.1:5432/reseau_bench``; the database is
created if missing, the dataset built if absent (``--rebuild`` drops and recreates the database,
only if its name contains "bench"). The databases ``test`` and ``test_test`` (CI) are never used.

``--sqlite``: the embedded default instead, at the size of one imported département (10 000
services, same generator, same searches plus the two the SQLite ranking once took seconds on), in a
file built once under ``.cache/`` (``DATABASE_URL`` is ignored). No naive baseline, EXPLAIN or
routing there. Its report replaces the SQLite section at the end of ``bench_results.md``; the
PostgreSQL run replaces everything above it.
"""

import argparse
import contextlib
import datetime
import gc
import io
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlencode, urlparse

import bench_sections

ROOT = Path(__file__).resolve().parent.parent
RESULTS_PATH = Path(__file__).resolve().parent / "bench_results.md"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/reseau_bench"
PROTECTED_DATABASES = {"test", "test_test", "postgres", "template0", "template1"}

TARGET_SERVICES = 150_000
TARGET_ORGANISATIONS = 60_000
SEED = 2026
BATCH = 2_000
PAGE_TARGET_MS = 50.0
SQLITE_SERVICES = 10_000  # one département imported from data·inclusion
SQLITE_NATIONAL_SERVICES = 150_000  # the whole national import on the embedded default
ORGANISATIONS_PER_SERVICE = 0.4  # the national ratio
# First page p95 targets of the embedded default, by directory size.
SQLITE_PAGE_TARGETS_MS = {SQLITE_SERVICES: 100.0, SQLITE_NATIONAL_SERVICES: 300.0}
FIXED_COST_TARGET_MS = 10.0


def sqlite_path(services: int) -> Path:
    return ROOT / ".cache" / f"bench_sqlite_{services}.sqlite3"


def sqlite_page_target_ms(services: int) -> float:
    return SQLITE_PAGE_TARGETS_MS.get(services, 100.0 if services <= SQLITE_SERVICES else 300.0)


# bench_results.md holds one section per run kind; each run replaces its own section only.
SECTION_ORDER = ("postgresql", f"sqlite-{SQLITE_SERVICES}", f"sqlite-{SQLITE_NATIONAL_SERVICES}", "browser")


def write_section(name: str, report: str, path: Path = RESULTS_PATH) -> None:
    bench_sections.write_section(name, report, path, legacy_sqlite=f"sqlite-{SQLITE_SERVICES}")


BASELINE_PER_KIND = 4  # the naive baseline takes seconds a query: the first 4 queries with words of each kind
MARKER_NETWORK = "Réseau bench — Métropole de Lyon"
WORKER_EMAIL = "bench.travailleur@reseau.test"
PARTNER_CITY = "69123"  # Lyon: the convention's members are around it
PARTNER_RADIUS_KM = 15
PARTNER_COUNT = 30
RESULTS_PER_PAGE = 20  # partners.views.RESULTS_PER_PAGE

# Production-like settings: DEBUG off (no query log, no debug pages), but no HTTPS redirect and
# plain static storage (no collectstatic needed). Each can be overridden from the environment.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reseau.settings")
os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("DJANGO_STATICFILES_STORAGE", "django.contrib.staticfiles.storage.StaticFilesStorage")
os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
os.environ.setdefault("AXES_ENABLED", "false")


# --- Database -----------------------------------------------------------------------------------


def database_name(url: str) -> str:
    return unquote(urlparse(url).path.lstrip("/"))


def ensure_database(url: str, *, drop: bool) -> None:
    """Create the bench database if missing (``drop``: drop it first), through the ``postgres`` db."""
    import psycopg2
    from psycopg2 import sql

    name = database_name(url)
    if name in PROTECTED_DATABASES or not name:
        sys.exit(f"Refusing to use the database {name!r}: it is reserved (CI or system).")
    parsed = urlparse(url)
    connection = psycopg2.connect(
        dbname="postgres",
        user=unquote(parsed.username or "postgres"),
        password=unquote(parsed.password) if parsed.password else None,
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 5432,
    )
    connection.autocommit = True
    if drop and "bench" not in name:
        sys.exit(f"Refusing to drop the database {name!r}: --rebuild only drops a database named *bench*.")
    with connection.cursor() as cursor:
        if drop:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"Created database {name}.")
    connection.close()


# --- Dataset ------------------------------------------------------------------------------------

# Extra sentences appended to descriptions: more words, more realistic variety.
EXTRA_SENTENCES = [
    "Accueil sur rendez-vous, par téléphone ou par courriel.",
    "Permanences sans rendez-vous le {day} matin.",
    "Interprétariat par téléphone possible sur demande.",
    "Locaux accessibles aux personnes à mobilité réduite.",
    "Le service travaille en lien avec les travailleurs sociaux du secteur.",
    "Une fiche de liaison est demandée pour toute orientation.",
    "Délai de premier rendez-vous : environ {weeks} semaines.",
    "Accompagnement individuel et ateliers collectifs.",
    "Intervention possible au domicile pour les personnes isolées.",
    "Équipe pluridisciplinaire : éducateurs, conseillères en économie sociale et familiale, bénévoles.",
    "Ouvert pendant les vacances scolaires, horaires réduits en août.",
    "Aide à la constitution des dossiers et suivi des démarches en ligne.",
    "Orientation vers les partenaires du territoire si la demande ne relève pas du service.",
    "Les personnes peuvent venir accompagnées d'un proche.",
    "Service gratuit et confidentiel.",
]
DAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi"]
QUARTERS = [
    "Centre",
    "Nord",
    "Sud",
    "Est",
    "Ouest",
    "Gare",
    "Centre-ville",
    "Les Halles",
    "Bellevue",
    "Les Jardins",
    "La Croix-Rouge",
    "Le Port",
    "Les Coteaux",
    "La Plaine",
    "Saint-Michel",
    "Le Moulin",
]
# Départements along the Belgian border: cross-border services mention the Belgian CPAS.
BORDER_DEPARTMENTS = {"59", "62", "02", "08", "55", "54", "57"}
ELISION = tuple("AEIOUYHÉÈÊÎÔÂaeiouyhéèêîôâ")
LOCAL_MARKERS = ("Rennes", "Vilaine", "Malo", "malouin", "rennais", "Bretagne", " 35")


def _of(name: str) -> str:
    return f"d'{name}" if name.startswith(ELISION) else f"de {name}"


def _localize(text: str, commune: str, department: str) -> str:
    """The demo catalogue speaks of Rennes and Ille-et-Vilaine: move it to ``commune``."""
    if not any(marker in text for marker in LOCAL_MARKERS):
        return text
    for old, new in (
        ("Rennes Métropole", f"{commune} Métropole"),
        ("d'Ille-et-Vilaine", _of(commune)),
        ("Ille-et-Vilaine", commune),
        ("du bassin rennais", f"du bassin {_of(commune)}"),
        ("du pays de Saint-Malo", f"du pays {_of(commune)}"),
        ("du pays malouin", f"du pays {_of(commune)}"),
        ("de Saint-Malo", _of(commune)),
        ("de Rennes", _of(commune)),
        ("de la Vilaine", _of(commune)),
        ("Saint-Malo", commune),
        ("Rennes", commune),
        ("Vilaine", commune),
        ("Bretagne", commune),
        (" 35", f" {department}"),
    ):
        text = text.replace(old, new)
    return text


def _cross_border_kind():
    from partners.demo import ON_SITE, PHONE, WALK_IN, Kind, S
    from partners.enums import LegalKind

    return Kind(
        "transfrontalier",
        LegalKind.ASSOCIATION,
        {"*": ["Point d'accueil transfrontalier de {commune}", "Entraide franco-belge {commune}"]},
        {},
        (
            S(
                "accueil",
                "Accès aux droits des travailleurs frontaliers",
                "Information des personnes qui vivent ou travaillent des deux côtés de la frontière : "
                "droits sociaux, aide sociale du CCAS en France ou du CPAS en Belgique, assurance "
                "maladie, allocations familiales.",
                ("droits", "demarches"),
                ("tous", "actifs"),
                ("information", "accompagnement"),
                modes=(ON_SITE,),
                referral=(PHONE, WALK_IN),
            ),
            S(
                "cpas",
                "Orientation vers les CPAS belges",
                "Mise en relation avec le centre public d'action sociale (CPAS) de la commune belge "
                "de résidence : revenu d'intégration, aide médicale urgente, médiation de dettes.",
                ("droits", "surendettement"),
                ("tous", "minimas"),
                ("accompagnement",),
                referral=(PHONE,),
            ),
        ),
    )


class NationalDirectory:
    """Generates the organisations and services in memory (seeded), then bulk-writes them."""

    def __init__(self, rng: random.Random, today: datetime.date, services: int, organisations: int):
        from partners.demo import CATALOGUE, OPENING_HOURS, STREETS, _referentials
        from partners.models import AccessMode, Commune, Domain, Fee, Language, Postcode, Public, ServiceType

        self.rng = rng
        self.today = today
        self.target_services = services
        self.target_organisations = organisations
        self.timings = {}
        self.streets = STREETS
        self.hours = OPENING_HOURS
        refs = _referentials()
        self.ids = {
            "domains": {code: row.pk for code, row in refs[Domain].items()},
            "publics": {code: row.pk for code, row in refs[Public].items()},
            "access_modes": {code: row.pk for code, row in refs[AccessMode].items()},
            "fees": {code: row.pk for code, row in refs[Fee].items()},
            "service_types": {code: row.pk for code, row in refs[ServiceType].items()},
            "languages": {code: row.pk for code, row in refs[Language].items()},
        }
        self.thematiques_by_parent = {}
        self.parent_of = {}
        for pk, parent_id in Domain.objects.filter(parent__isnull=False, is_active=True).values_list(
            "pk", "parent_id"
        ):
            self.thematiques_by_parent.setdefault(parent_id, []).append(pk)
            self.parent_of[pk] = parent_id
        self.all_thematiques = sorted(self.parent_of)
        self.all_publics = sorted(Public.objects.filter(is_active=True).values_list("pk", flat=True))
        self.remote_id = self.ids["access_modes"]["a-distance"]
        self.english_id = self.ids["languages"]["en"]

        communes = list(
            Commune.objects.filter(latitude__isnull=False, population__isnull=False)
            .order_by("insee_code")
            .values_list("insee_code", "name", "department", "population", "latitude", "longitude")
        )
        self.communes = communes
        self.weights = [max(c[3], 50) for c in communes]
        self.by_department = {}
        for commune, weight in zip(communes, self.weights, strict=True):
            self.by_department.setdefault(commune[2], ([], []))
            self.by_department[commune[2]][0].append(commune)
            self.by_department[commune[2]][1].append(weight)
        self.postcodes = {}
        for insee, code in Postcode.objects.order_by("commune_id", "code").values_list("commune_id", "code"):
            self.postcodes.setdefault(insee, []).append(code)

        self.kinds = list(CATALOGUE)
        # A few kinds are everywhere (one per commune or more), others rare.
        common = {"ccas": 4, "france-services": 2, "aide-alimentaire": 3, "epicerie": 2, "centre-social": 2}
        self.kind_weights = [common.get(kind.key, 1) for kind in self.kinds]
        self.cross_border = _cross_border_kind()

        self.organisations = []  # Organisation instances
        self.services = []  # (Service, organisation index)
        self.relations = {name: [] for name in self.ids}  # name -> [(service index, target id)]
        self.used_names = set()
        self.org_kinds = []  # kind of each organisation
        self.org_seats = []  # seat commune of each organisation
        self.org_slugs = []

    # Places

    def _position(self, commune):
        _, _, _, population, latitude, longitude = commune
        spread = min(0.05, 0.002 + 0.000025 * math.sqrt(population or 0))
        rng = self.rng
        return (
            round(latitude + rng.uniform(-spread, spread), 6),
            round(longitude + rng.uniform(-spread, spread) * 1.5, 6),
        )

    def _nearby_commune(self, commune):
        communes, weights = self.by_department[commune[2]]
        return self.rng.choices(communes, weights=weights)[0]

    def _organisation_name(self, kind, commune):
        rng = self.rng
        patterns = kind.names.get("*") or [p for names in kind.names.values() for p in names]
        pattern = rng.choice(patterns)
        name = _localize(pattern.format(commune=commune[1]), commune[1], commune[2])
        if name in self.used_names and "{commune}" in pattern:
            for _ in range(4):
                candidate = f"{name} — {rng.choice(QUARTERS)}"
                if candidate not in self.used_names:
                    name = candidate
                    break
        self.used_names.add(name)
        return name

    # Generation

    def fill(self):
        from partners.models import Organisation

        rng = self.rng
        seats = rng.choices(self.communes, weights=self.weights, k=self.target_organisations)
        kinds = rng.choices(self.kinds, weights=self.kind_weights, k=self.target_organisations)
        for seat, kind in zip(seats, kinds, strict=True):
            if seat[2] in BORDER_DEPARTMENTS and rng.random() < 0.08:
                kind = self.cross_border
            name = self._organisation_name(kind, seat)
            slug = "".join(ch for ch in name.lower() if ch.isalnum())[:30] or "structure"
            self.organisations.append(
                Organisation(name=name, legal_kind=kind.legal_kind, website=f"https://www.{slug}.test/")
            )
            index = len(self.organisations) - 1
            self.org_kinds.append(kind)
            self.org_seats.append(seat)
            self.org_slugs.append(slug)
            templates = [t for t in kind.services if not t.where] or list(kind.services)
            count = min(len(templates), rng.choice((1, 1, 2, 2, 3, 3, 4, 5)))
            chosen = [templates[0], *rng.sample(templates[1:], count - 1)] if count > 1 else [templates[0]]
            for template in chosen:
                self._add_service(index, template, seat, slug)
        # Top up (or trim) to exactly the target: antennas of existing organisations elsewhere.
        while len(self.services) < self.target_services:
            index = rng.randrange(len(self.organisations))
            template = rng.choice(self.org_kinds[index].services)
            seat = self._nearby_commune(self.org_seats[index])
            self._add_service(index, template, seat, self.org_slugs[index], antenna=True)
        del self.services[self.target_services :]
        for name in self.relations:
            self.relations[name] = [(i, pk) for i, pk in self.relations[name] if i < self.target_services]

    def _add_service(self, organisation_index, template, seat, slug, antenna=False):
        from partners.enums import CapacityStatus
        from partners.models import Service

        rng = self.rng
        commune = seat if rng.random() < 0.85 else self._nearby_commune(seat)
        commune_name, department = commune[1], commune[2]
        latitude, longitude = self._position(commune)
        name = _localize(template.name.format(commune=commune_name), commune_name, department)
        if antenna:
            name = f"{name} — antenne {_of(commune_name)}"
        description = _localize(template.description.format(commune=commune_name), commune_name, department)
        for sentence in rng.sample(EXTRA_SENTENCES, rng.randint(1, 3)):
            description += " " + sentence.format(day=rng.choice(DAYS), weeks=rng.randint(1, 6))
        capacity = rng.choices(
            [CapacityStatus.OPEN, CapacityStatus.WAITING_LIST, CapacityStatus.FULL], weights=template.capacity
        )[0]
        roll = rng.random()
        if roll < 0.02:
            verified_on = None
        elif roll < 0.17:
            verified_on = self.today - datetime.timedelta(days=rng.randint(380, 1100))
        else:
            verified_on = self.today - datetime.timedelta(days=rng.randint(0, 360))
        postcodes = self.postcodes.get(commune[0]) or [""]
        phone = "0{} {:02d} {:02d} {:02d} {:02d}".format(
            rng.randint(1, 5), *(rng.randint(0, 99) for _ in range(4))
        )
        referral_mode = rng.choice(template.referral)
        service = Service(
            name=name[:255],
            description=description,
            commune_id=commune[0],
            address=f"{rng.randint(1, 120)} {rng.choice(self.streets)}",
            postcode=rng.choice(postcodes),
            latitude=latitude,
            longitude=longitude,
            intervention_radius_km=template.radius,
            referral_mode=referral_mode,
            referral_details="Contacter l'équipe aux heures d'ouverture, avec l'accord de la personne.",
            capacity_status=capacity,
            capacity_updated_on=self.today - datetime.timedelta(days=rng.randint(0, 120)),
            opening_hours=template.hours or rng.choice(self.hours),
            phone=template.phone or phone,
            email=f"contact@{slug}.test",
            verified_on=verified_on,
            is_active=rng.random() >= 0.01,
        )
        self.services.append((service, organisation_index))
        index = len(self.services) - 1
        relations, ids = self.relations, self.ids

        domains = [ids["domains"][code] for code in template.domains][:4]
        if len(domains) < 4 and (len(domains) < 2 or rng.random() < 0.3):
            siblings = self.thematiques_by_parent[self.parent_of[domains[0]]]
            extra = rng.choice(siblings if rng.random() < 0.7 else self.all_thematiques)
            if extra not in domains:
                domains.append(extra)
        if len(domains) < 2:
            domains.append(next(pk for pk in self.all_thematiques if pk not in domains))
        relations["domains"] += [(index, pk) for pk in domains]

        publics = {ids["publics"][code] for code in template.publics}
        if rng.random() < 0.2:
            publics.add(rng.choice(self.all_publics))
        relations["publics"] += [(index, pk) for pk in sorted(publics)]

        modes = {ids["access_modes"][code] for code in template.modes}
        if rng.random() < 0.15:
            modes.add(self.remote_id)
        relations["access_modes"] += [(index, pk) for pk in sorted(modes)]

        languages = {ids["languages"]["fr"]}
        languages.update(ids["languages"][code] for code in template.languages if rng.random() < 0.5)
        if rng.random() < 0.25:
            languages.add(self.english_id)
        relations["languages"] += [(index, pk) for pk in sorted(languages)]
        relations["fees"] += [(index, ids["fees"][code]) for code in template.fees]
        relations["service_types"] += [(index, ids["service_types"][code]) for code in template.types]

    def save(self):
        from django.db import connection

        from partners.models import Organisation, Service

        start = time.perf_counter()
        Organisation.objects.bulk_create(self.organisations, batch_size=BATCH)
        self.timings["organisations"] = time.perf_counter() - start
        start = time.perf_counter()
        services = []
        for service, organisation_index in self.services:
            service.organisation_id = self.organisations[organisation_index].pk
            services.append(service)
        Service.objects.bulk_create(services, batch_size=BATCH)
        self.timings["services"] = time.perf_counter() - start
        # ~1.3 M link rows: COPY, about 5 times faster than bulk_create here (measured: 76 500 rows
        # in 1.0 s against 4.9 s), and the links are plain (service_id, target_id) pairs.
        with connection.cursor() as cursor:
            for name, pairs in self.relations.items():
                start = time.perf_counter()
                relation = Service._meta.get_field(name)
                through = relation.remote_field.through
                columns = (
                    through._meta.get_field(relation.m2m_field_name()).column,
                    through._meta.get_field(relation.m2m_reverse_field_name()).column,
                )
                table = f"{through._meta.db_table} ({', '.join(columns)})"
                if connection.vendor == "postgresql":
                    data = io.StringIO("".join(f"{services[i].pk}\t{pk}\n" for i, pk in pairs))
                    cursor.copy_expert(f"COPY {table} FROM STDIN", data)
                else:
                    cursor.executemany(
                        f"INSERT INTO {table} VALUES (%s, %s)", [(services[i].pk, pk) for i, pk in pairs]
                    )
                self.timings[name] = time.perf_counter() - start
        return {name: len(pairs) for name, pairs in self.relations.items()}


def create_partner_network(today):
    """One active convention of ~30 services around Lyon; the bench worker's service is a member."""
    from partners.enums import ConventionStatus, MembershipRole
    from partners.models import Commune, Convention, ConventionMembership, Network, Service
    from partners.search import bounding_box
    from reseau.accounts.models import User

    lyon = Commune.objects.get(pk=PARTNER_CITY)
    nearby = list(
        Service.objects.active()
        .filter(bounding_box(lyon.latitude, lyon.longitude, PARTNER_RADIUS_KM))
        .order_by("pk")
        .values_list("pk", "name", "organisation__name")
    )
    rng = random.Random(SEED + 1)
    worker_service = next(
        (pk for pk, name, org in nearby if org.startswith("CCAS") and "Accueil social" in name),
        nearby[0][0],  # the small SQLite dataset may have no CCAS welcome desk there
    )
    candidates = [pk for pk, _, _ in nearby if pk != worker_service]
    others = rng.sample(candidates, min(PARTNER_COUNT - 1, len(candidates)))
    network = Network.objects.create(
        name=MARKER_NETWORK,
        territory="Métropole de Lyon",
        description="Réseau créé par le banc d'essai de la recherche.",
    )
    valid_from = today - datetime.timedelta(days=200)
    convention = Convention.objects.create(
        network=network,
        title="Convention de partenariat bench",
        signed_on=valid_from,
        valid_from=valid_from,
        valid_until=valid_from + datetime.timedelta(days=3 * 365),
        status=ConventionStatus.ACTIVE,
    )
    ConventionMembership.objects.bulk_create(
        ConventionMembership(
            convention=convention,
            service_id=pk,
            role=MembershipRole.PILOT if pk == worker_service else MembershipRole.MEMBER,
            joined_on=valid_from,
        )
        for pk in [worker_service, *others]
    )
    user, _ = User.objects.update_or_create(
        email=WORKER_EMAIL, defaults={"service_id": worker_service, "is_active": True}
    )
    user.set_unusable_password()
    user.save()


def prepare_database(rebuild: bool, services: int, organisations: int) -> dict:
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.db.migrations.executor import MigrationExecutor

    from partners.models import Network, Organisation, Service
    from partners.search_index import rebuild_search_index
    from partners.signals import search_index_paused

    timings = {}
    start = time.perf_counter()
    executor = MigrationExecutor(connection)
    migrated = bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    call_command("migrate", interactive=False, verbosity=0)
    call_command("load_referentials", verbosity=0)
    call_command("load_communes", verbosity=0)
    timings["migrate + referentials + communes"] = time.perf_counter() - start

    present = Network.objects.filter(name=MARKER_NETWORK).exists()
    count = Service.objects.count()
    if present and count >= services and not rebuild:
        print(f"Dataset already present ({count} services): not rebuilt (use --rebuild to force).")
        if (
            connection.vendor == "postgresql" and Service.objects.filter(search_vector__isnull=True).exists()
        ):  # an interrupted build
            start = time.perf_counter()
            rebuild_search_index()
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
            timings["rebuild_search_index() (was incomplete) + ANALYZE"] = time.perf_counter() - start
        elif migrated and connection.vendor == "postgresql":
            # A migration may rewrite every row (0020 fills a column): compact the table as a fresh build
            # does, or the index-only scans would visit the table too and the figures be worse.
            start = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute("VACUUM FULL partners_service")
                cursor.execute("VACUUM ANALYZE")
            timings["migrations applied: VACUUM FULL + ANALYZE"] = time.perf_counter() - start
        return timings
    if count and not present:
        sys.exit(
            f"The database holds {count} services that the bench did not create: use --rebuild "
            "(drops and recreates the bench database) or another DATABASE_URL."
        )

    today = datetime.date.today()
    # Hundreds of thousands of live model instances: the cyclic GC would rescan them over and over
    # (measured: 30 000 services inserted in 7.4 s with it off, 14.6 s with it on).
    gc.disable()
    print(f"Building the national dataset ({services} services, {organisations} organisations)…", flush=True)
    start = time.perf_counter()
    directory = NationalDirectory(random.Random(SEED), today, services, organisations)
    directory.fill()
    timings["generate in memory"] = time.perf_counter() - start
    start = time.perf_counter()
    with search_index_paused(), transaction.atomic():
        relation_counts = directory.save()
        create_partner_network(today)
        commit_start = time.perf_counter()
    timings["bulk insert"] = time.perf_counter() - start
    print(
        "  insert: "
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in directory.timings.items())
        + f", commit {time.perf_counter() - commit_start:.1f} s",
        flush=True,
    )
    print(
        f"  {Organisation.objects.count()} organisations, {Service.objects.count()} services, "
        + ", ".join(f"{n} {name}" for name, n in relation_counts.items()),
        flush=True,
    )
    del directory
    gc.enable()
    start = time.perf_counter()
    rebuild_search_index()
    timings["rebuild_search_index()"] = time.perf_counter() - start
    start = time.perf_counter()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # rebuild_search_index() rewrote every row: compact the table (as after a dump/restore),
            # then set the visibility map and the planner statistics.
            cursor.execute("VACUUM FULL partners_service")
            cursor.execute("VACUUM ANALYZE")
            timings["VACUUM FULL + ANALYZE"] = time.perf_counter() - start
        else:
            # No ANALYZE: nothing runs it on an embedded database, so the planner has no statistics.
            cursor.execute("VACUUM")
            timings["VACUUM"] = time.perf_counter() - start
    return timings


# --- Queries --------------------------------------------------------------------------------------


def bench_queries(sqlite=False):
    """(kind, label, querystring params) — ids are resolved from codes at run time."""
    D = "domain:"  # resolved to a Domain id by code
    # Without a place the search centres on the worker's service's commune (issue 13); "partout" is the
    # worker removing that chip: the whole country.
    EVERYWHERE = {"partout": "on"}
    # On SQLite, the two searches the issue measured at 4.7 s and 3.1 s (a bm25 subquery per match).
    sqlite_only = [
        ("mots", "numerique", {"q": "numerique"}),
        ("mots", "garde d'enfants", {"q": "garde d'enfants"}),
    ]
    return (sqlite_only if sqlite else []) + [
        ("mots", "hébergement d'urgence", {"q": "hébergement d'urgence"}),
        ("mots", "aide alimentaire", {"q": "aide alimentaire"}),
        ("mots", "dettes", {"q": "dettes"}),
        ("mots", "santé mentale", {"q": "santé mentale"}),
        ("mots", "CPAS", {"q": "CPAS"}),
        ("mots", "ccas", {"q": "ccas"}),
        ("mots", "logement jeunes", {"q": "logement jeunes"}),
        ("mots", "hebergement (sans accent)", {"q": "hebergement"}),
        ("mots", "heberg (préfixe, frappe en cours)", {"q": "heberg"}),
        ("mots", "accompagnement (mot très fréquent)", {"q": "accompagnement"}),
        ("mots", "violences conjugales", {"q": "violences conjugales"}),
        ("mots", "accompagnement, page 5", {"q": "accompagnement", "page": "5"}),
        ("mots + lieu", "hébergement, Rennes 20 km", {"q": "hébergement", "lieu": "Rennes", "rayon": "20"}),
        ("mots + lieu", "emploi, 13001 10 km", {"q": "emploi", "lieu": "13001", "rayon": "10"}),
        (
            "mots + lieu",
            "aide alimentaire, Lyon 10 km",
            {"q": "aide alimentaire", "lieu": "Lyon", "rayon": "10"},
        ),
        ("mots + lieu", "psychologue, Lille 20 km", {"q": "psychologue", "lieu": "Lille", "rayon": "20"}),
        ("mots + lieu", "ccas, Paris 5 km", {"q": "ccas", "lieu": "Paris", "rayon": "5"}),
        ("mots + lieu", "dettes, 31000 50 km", {"q": "dettes", "lieu": "31000", "rayon": "50"}),
        (
            "mots + lieu",
            "accompagnement, Paris 50 km",
            {"q": "accompagnement", "lieu": "Paris", "rayon": "50"},
        ),
        (
            "thématiques + lieu",
            "hébergement temporaire, Rennes 20 km",
            {
                "thematiques": [D + "logement-hebergement--rechercher-une-solution-dhebergement-temporaire"],
                "lieu": "Rennes",
                "rayon": "20",
            },
        ),
        (
            "thématiques + lieu",
            "catégorie Logement, Paris 10 km",
            {"thematiques": [D + "logement-hebergement"], "lieu": "Paris", "rayon": "10"},
        ),
        (
            "thématiques + lieu",
            "alimentation + familles, Marseille 20 km",
            {
                "thematiques": [D + "equipement-et-alimentation--alimentation"],
                "publics": ["public:familles"],
                "lieu": "Marseille",
                "rayon": "20",
            },
        ),
        (
            "thématiques + lieu",
            "santé mentale, 59000 50 km, disponibles",
            {
                "thematiques": [D + "sante--sante-mentale"],
                "lieu": "59000",
                "rayon": "50",
                "disponibles": "on",
            },
        ),
        ("fautes", "hébergment", {"q": "hébergment"}),
        ("fautes", "alimantaire", {"q": "alimantaire"}),
        ("fautes", "psycologue", {"q": "psycologue"}),
        ("fautes", "surendetement", {"q": "surendetement"}),
        ("fautes", "hébergment urgense", {"q": "hébergment urgense"}),
        ("fautes", "psycologue, Lille 20 km", {"q": "psycologue", "lieu": "Lille", "rayon": "20"}),
        (
            "filtres, France entière",
            "thématique alimentation",
            {"thematiques": [D + "equipement-et-alimentation--alimentation"], **EVERYWHERE},
        ),
        (
            "filtres, France entière",
            "public jeunes + disponibles",
            {"publics": ["public:jeunes"], "disponibles": "on", **EVERYWHERE},
        ),
        ("filtres, France entière", "catégorie Santé", {"thematiques": [D + "sante"], **EVERYWHERE}),
        (
            "filtres, France entière",
            "à distance + arabe",
            {"accueil": ["mode:a-distance"], "langue": "language:ar", **EVERYWHERE},
        ),
        ("filtres, France entière", "disponibles seulement", {"disponibles": "on", **EVERYWHERE}),
        ("partenaires", "partenaires seulement", {"partenaires": "on"}),
        ("partenaires", "partenaires + hébergement", {"partenaires": "on", "q": "hébergement"}),
        ("partenaires", "partenaires, Lyon 20 km", {"partenaires": "on", "lieu": "Lyon", "rayon": "20"}),
        (
            "partenaires",
            "partenaires + catégorie Santé",
            {"partenaires": "on", "thematiques": [D + "sante"]},
        ),
    ]


# --- Routing: 5-need cases ------------------------------------------------------------------------

ROUTING_TARGET_MS = 100.0
ROUTING_CASES = [
    # (label, place, radius km, five thématique codes)
    (
        "sortie de rue, Paris 20 km",
        "Paris",
        20,
        [
            "logement-hebergement--rechercher-une-solution-dhebergement-temporaire",
            "equipement-et-alimentation--alimentation",
            "sante--acces-aux-soins",
            "sante--sante-mentale",
            "difficultes-administratives-ou-juridiques--accompagnement-pour-lacces-aux-droits",
        ],
    ),
    (
        "sortie de rue, Paris 50 km (le pire cas)",
        "Paris",
        50,
        [
            "logement-hebergement--rechercher-une-solution-dhebergement-temporaire",
            "equipement-et-alimentation--alimentation",
            "sante--acces-aux-soins",
            "sante--sante-mentale",
            "difficultes-administratives-ou-juridiques--accompagnement-pour-lacces-aux-droits",
        ],
    ),
    (
        "dettes et famille, Lyon 20 km (partenaires)",
        "Lyon",
        20,
        [
            "logement-hebergement--reduire-les-impayes-de-loyer",
            "difficultes-financieres--ameliorer-sa-gestion-budgetaire",
            "famille--soutien-a-la-parentalite-et-a-leducation",
            "difficultes-administratives-ou-juridiques--accompagnement-pour-lacces-aux-droits",
            "equipement-et-alimentation--alimentation",
        ],
    ),
    (
        "violences conjugales, Rennes 50 km",
        "Rennes",
        50,
        [
            "famille--surmonter-conflits-separation-violence",
            "logement-hebergement--rechercher-une-solution-dhebergement-temporaire",
            "difficultes-administratives-ou-juridiques--prendre-en-compte-une-problematique-judiciaire",
            "sante--sante-mentale",
            "famille--garde-denfants",
        ],
    ),
    (
        "retour à l'emploi, Lille 20 km",
        "Lille",
        20,
        [
            "preparer-sa-candidature--organiser-ses-demarches-de-recherche-demploi",
            "se-former--trouver-sa-formation",
            "numerique--acceder-a-des-services-en-ligne",
            "famille--garde-denfants",
            "remobilisation--bien-etre-confiance-en-soi",
        ],
    ),
    (
        "isolement en zone rurale, Guéret 50 km",
        "Guéret",
        50,
        [
            "sante--addictions",
            "sante--acces-aux-soins",
            "equipement-et-alimentation--aide-menagere",
            "remobilisation--lien-social",
            "famille--soutien-aidants",
        ],
    ),
]


def routing_cases(worker, definitions=ROUTING_CASES):
    """The bench's 5-need cases, owned by the bench worker's service (created once, then reused)."""
    from partners.filters import resolve_place
    from partners.models import Domain
    from referrals.models import Case

    cases = []
    for number, (label, place, radius, codes) in enumerate(definitions, start=1):
        commune, _ = resolve_place(place)
        case, _ = Case.objects.update_or_create(
            reference=f"BENCH-ROUTAGE-{number}",
            defaults={"service_id": worker.service_id, "commune": commune, "radius_km": radius},
        )
        case.needs.set(Domain.objects.filter(code__in=codes))
        assert case.needs.count() == 5, (label, codes)
        cases.append((label, case))
    return cases


def bench_routing(client, worker, runs, secure, cases=ROUTING_CASES):
    """Server time of the proposals page (/situations/<id>/propositions/) for each 5-need case
    (``cases``: (label, place, radius km, five thématique codes); scripts/bench_import.py has its own)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from partners.partnerships import Partnerships
    from referrals.routing_data import routing_for_case

    official_ids = Partnerships.of(worker.service_id).partner_ids
    rows = []
    for label, case in routing_cases(worker, cases):
        url_path = reverse("referrals:case_routing", args=[case.pk])
        response = client.get(url_path, secure=secure)  # warm-up
        assert response.status_code == 200, (label, response.status_code)
        with CaptureQueriesContext(connection) as capture:
            response = client.get(url_path, secure=secure)
        queries = len(capture.captured_queries)
        result = routing_for_case(case, radius_km=case.radius_km, official_ids=official_ids)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            response = client.get(url_path, secure=secure)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (label, response.status_code)
        rows.append(
            {
                "label": label,
                "view": times,
                "queries": queries,
                "candidates": result.candidate_count,
                "proposals": len(result.proposals),
                "uncovered": len(result.uncovered),
            }
        )
        print(
            f"  routage {label:<44} {statistics.median(times):7.1f} ms  {queries:2d} q"
            f"  {result.candidate_count:5d} candidats",
            flush=True,
        )
    return rows


def routing_section(rows):
    overall = summary([t for row in rows for t in row["view"]])
    verdict = "✅" if overall["p95"] < ROUTING_TARGET_MS else "❌"
    lines = [
        "## Routing: proposals for a 5-need case",
        "",
        f"Target: p95 < {ROUTING_TARGET_MS:.0f} ms of server time for the proposals page "
        "(`/situations/<id>/propositions/`: candidates from the database, exact cover, outside notes, "
        f"page rendered). Overall: p50 {overall['p50']:.1f} ms, p95 {overall['p95']:.1f} ms, "
        f"max {overall['max']:.1f} ms {verdict}",
        "",
        "| case | candidates | proposals | uncovered needs | SQL/page | view p50 | view p95 | view max |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        view = summary(row["view"])
        lines.append(
            f"| {row['label']} | {row['candidates']} | {row['proposals']} | {row['uncovered']} | "
            f"{row['queries']} | {view['p50']:.1f} | {view['p95']:.1f} | {view['max']:.1f} |"
        )
    return "\n".join(lines) + "\n\n"


def resolve(params: dict) -> dict:
    """Replace ``domain:code`` etc. by the ids the form expects."""
    from partners.models import AccessMode, Domain, Language, Public

    models = {"domain": Domain, "public": Public, "mode": AccessMode, "language": Language}

    def one(value):
        if isinstance(value, str) and ":" in value and value.split(":", 1)[0] in models:
            prefix, code = value.split(":", 1)
            return str(models[prefix].objects.get(code=code).pk)
        return value

    return {
        key: [one(v) for v in value] if isinstance(value, list) else one(value)
        for key, value in params.items()
    }


def search_params_of(query: dict, partner_ids, home_commune):
    """The SearchParams the view builds for this querystring (same form, same code), for a worker whose
    service is in ``home_commune``: without a place the view centres there (as the page says)."""
    from django.http import QueryDict

    from partners.filters import ServiceSearchFilter
    from partners.models import Service
    from partners.views import _search_params

    data = QueryDict(urlencode(query, doseq=True))
    filterset = ServiceSearchFilter(data, queryset=Service.objects.none())
    assert filterset.form.is_valid(), filterset.form.errors
    return _search_params(filterset.form.cleaned_data, partner_ids, home_commune)


# --- Timing ------------------------------------------------------------------------------------------


def percentile(values, fraction):
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values):
    return {
        "p50": percentile(values, 0.5),
        "p95": percentile(values, 0.95),
        "max": max(values),
    }


def ours_sql(params):
    """Our search at the database level: search_services + first page + count (what the view runs)."""
    from partners.search import search_services

    outcome = search_services(params, page=1, per_page=20)
    # Around a place the page comes with its count, in one statement (as in the view).
    page = outcome.page_rows if outcome.page_rows is not None else list(outcome.queryset[:20])
    return outcome.count, page, outcome


def naive_queryset(params):
    """The baseline: same filters, words as unaccent(field) ILIKE unaccent('%word%') on the service's
    name, its organisation's name, its description and its thématiques' labels (and their catégories'),
    AND of the words; ordered by distance (with a place) then freshness; no ranking, no correction."""
    from django.db.models import BooleanField, F
    from django.db.models.expressions import RawSQL

    from partners.search import _filtered

    queryset = _filtered(params)
    for word in params.words:
        pattern = f"%{word}%"
        queryset = queryset.filter(
            RawSQL(
                "(unaccent(partners_service.name) ILIKE unaccent(%s)"
                " OR unaccent(partners_service.description) ILIKE unaccent(%s)"
                " OR EXISTS (SELECT 1 FROM partners_organisation o WHERE o.id = partners_service.organisation_id"
                " AND unaccent(o.name) ILIKE unaccent(%s))"
                " OR EXISTS (SELECT 1 FROM partners_service_domains sd JOIN partners_domain d ON d.id = sd.domain_id"
                " LEFT JOIN partners_domain p ON p.id = d.parent_id WHERE sd.service_id = partners_service.id"
                " AND (unaccent(d.label) ILIKE unaccent(%s) OR unaccent(p.label) ILIKE unaccent(%s))))",
                [pattern] * 5,
                output_field=BooleanField(),
            )
        )
    ordering = [F("distance_km").asc()] if params.has_place else []
    ordering += [F("verified_on").desc(nulls_last=True), "name", "pk"]
    return queryset.order_by(*ordering)


def naive_sql(params):
    queryset = naive_queryset(params)
    page = list(queryset[:20])
    return queryset.count(), page


# data·inclusion's API search (``search_query`` in its ``inclusion_data/v1/services.py``, read in
# gip-inclusion/data-inclusion), reproduced on our own index and data: the words through
# plainto_tsquery (every word, no prefix, no typo correction) on the stored vector; every match scored
# with round(ts_rank_cd(vector, query, 32), 2); with a place, kept inside the radius and ordered by
# 0.5 × score + 0.5 × (1 − distance / radius); without, ordered by round(score × 10) / 2 then its
# quality score (our stand-in: freshness). Its configuration "french" is unaccent + French stemmer,
# our french_unaccent. It selects the whole service and structure rows (contains_eager). Our filters
# and our indexed bounding box stand in for its array filters and ST_DWithin on a computed geography
# (not indexable there): a generous peer. Its API also counts the matches (pagination "total"),
# timed separately and left out of the ratio.
PEER_CONFIG = "french_unaccent"
PEER_TSQUERY = f"plainto_tsquery('{PEER_CONFIG}', %s)"


def peer_queryset(params):
    from django.db.models import BooleanField, F, FloatField, Value
    from django.db.models.expressions import RawSQL
    from django.db.models.functions import Round

    from partners.search import _filtered

    queryset = _filtered(params).select_related("organisation")
    text = params.text.strip()
    score = None
    if text:
        queryset = queryset.filter(
            RawSQL(f"partners_service.search_vector @@ {PEER_TSQUERY}", [text], output_field=BooleanField())
        )
        score = RawSQL(
            f"round(ts_rank_cd(partners_service.search_vector, {PEER_TSQUERY}, 32)::numeric, 2)",
            [text],
            output_field=FloatField(),
        )
        queryset = queryset.annotate(score_recherche=score)
    freshness = F("verified_on").desc(nulls_last=True)
    if params.has_place:
        distance_score = Value(1.0) - F("distance_km") / Value(float(params.radius_km))
        mixed = (F("score_recherche") * Value(0.5) + distance_score * Value(0.5)) if score else distance_score
        return queryset.annotate(peer_score=mixed).order_by(F("peer_score").desc())
    if score is not None:
        return queryset.order_by((Round(F("score_recherche") * Value(10)) / Value(2)).desc(), freshness)
    return queryset.order_by(freshness)


def peer_statements(params, page_number=1):
    """(page SQL, count SQL) of the peer's search, compiled once, each with its parameters."""
    queryset = peer_queryset(params)
    offset = RESULTS_PER_PAGE * (page_number - 1)
    page = queryset[offset : offset + RESULTS_PER_PAGE].query.sql_with_params()
    count_sql, count_params = queryset.order_by().query.sql_with_params()
    return page, (f"SELECT count(*) FROM ({count_sql}) AS peer", count_params)


def run_statement(statement):
    """Execute one statement and fetch its rows; returns (ms, row count)."""
    from django.db import connection

    sql, sql_params = statement
    with connection.cursor() as cursor:
        start = time.perf_counter()
        cursor.execute(sql, sql_params)
        rows = cursor.fetchall()
        elapsed = (time.perf_counter() - start) * 1000
    return elapsed, rows


def bench_peer(params, runs, page_number=1):
    """Timings of the peer's page query (runs) and of its count (fewer runs), after one warm-up."""
    page_statement, count_statement = peer_statements(params, page_number)
    run_statement(page_statement)  # warm-up
    page_times = [run_statement(page_statement)[0] for _ in range(runs)]
    count_times, count = [], 0
    for _ in range(max(1, runs // 3)):
        elapsed, rows = run_statement(count_statement)
        count_times.append(elapsed)
        count = rows[0][0]
    return {"peer": page_times, "peer_count": count_times, "peer_results": count}


def timed(function, runs):
    times = []
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        result = function()
        times.append((time.perf_counter() - start) * 1000)
    return times, result


class Phases:
    """Where a request's time goes: connecting to the database, SQL (every statement, middleware
    included), template rendering (every top-level ``render()`` minus the SQL it triggers) and the
    rest (Python: forms, ORM, middleware). Also counts the statements."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.sql = self.render = self.render_sql = self.connect = 0.0
        self.queries = 0
        self.rendering = False

    def _execute(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - start
            self.sql += elapsed
            self.queries += 1
            if self.rendering:
                self.render_sql += elapsed

    def _render(self, real_render):
        phases = self

        def render(template, *args, **kwargs):
            if phases.rendering:  # a template rendered while rendering another: counted once
                return real_render(template, *args, **kwargs)
            phases.rendering = True
            start = time.perf_counter()
            try:
                return real_render(template, *args, **kwargs)
            finally:
                phases.render += time.perf_counter() - start
                phases.rendering = False

        return render

    def _connect(self, real_connect):
        def connect(*args, **kwargs):
            start = time.perf_counter()
            try:
                return real_connect(*args, **kwargs)
            finally:
                self.connect += time.perf_counter() - start

        return connect

    @contextlib.contextmanager
    def measure(self):
        from unittest import mock

        from django.db import connection
        from django.template.backends.django import Template

        self.reset()
        with (
            connection.execute_wrapper(self._execute),
            mock.patch.object(Template, "render", self._render(Template.render)),
            mock.patch.object(connection, "connect", self._connect(connection.connect)),
        ):
            yield

    def split(self, total_ms):
        sql, render, connect = self.sql * 1000, (self.render - self.render_sql) * 1000, self.connect * 1000
        return {
            "connect": connect,
            "sql": sql,
            "render": render,
            "python": total_ms - sql - render - connect,
            "queries": self.queries,
        }


def machine_info():
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    loop = []
    for _ in range(3):
        start = time.perf_counter()
        sum(i * i for i in range(2_000_000))
        loop.append((time.perf_counter() - start) * 1000)
    return {
        "python_loop_ms": min(loop),
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory": memory,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def git_revision():
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def explain(sql_text):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql_text)
        return "\n".join(row[0] for row in cursor.fetchall())


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="drop and rebuild the bench database")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per query (default 7)")
    parser.add_argument("--baseline-runs", type=int, default=3, help="max timed runs of the naive baseline")
    parser.add_argument("--no-baseline", action="store_true", help="skip the naive ILIKE baseline")
    parser.add_argument(
        "--baseline-all",
        action="store_true",
        help=f"baseline on every query with words, not {BASELINE_PER_KIND} a kind",
    )
    parser.add_argument(
        "--no-peer", action="store_true", help="skip data·inclusion's search query (the peer)"
    )
    parser.add_argument("--no-explain", action="store_true", help="skip EXPLAIN ANALYZE of slow kinds")
    parser.add_argument("--services", type=int, default=TARGET_SERVICES, help=argparse.SUPPRESS)
    parser.add_argument("--organisations", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--build-only", action="store_true", help="build the dataset, measure nothing")
    parser.add_argument(
        "--sqlite",
        nargs="?",
        type=int,
        const=SQLITE_SERVICES,
        metavar="SERVICES",
        help=f"SQLite instead, at {SQLITE_SERVICES} services (or SERVICES, e.g. {SQLITE_NATIONAL_SERVICES}), "
        "in .cache/bench_sqlite_<SERVICES>.sqlite3 (built once)",
    )
    parser.add_argument(
        "--steps",
        default="search,routing,fixed",
        help="what to time, among search, routing, fixed (the fixed cost of a page); default: all",
    )
    parser.add_argument(
        "--kinds", default="", help="only the search kinds containing one of these (comma-separated)"
    )
    parser.add_argument("--only", default="", help="only the searches whose label contains this")
    args = parser.parse_args()
    args.steps = {step.strip() for step in args.steps.split(",") if step.strip()}
    # A subset is for development: printed, not written to bench_results.md.
    args.partial = bool(args.kinds or args.only or args.steps != {"search", "routing", "fixed"})
    return args


def main():
    args = parse_args()

    if args.sqlite:
        args.services = args.sqlite
        args.no_baseline = args.no_explain = args.no_peer = True  # PostgreSQL's (unaccent, tsvector)
        database_path = sqlite_path(args.services)
        database_path.parent.mkdir(parents=True, exist_ok=True)
        if args.rebuild:
            database_path.unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{database_path}"
        section = f"sqlite-{args.services}"
    else:
        url = os.environ["DATABASE_URL"]
        if not url.startswith(("postgres://", "postgresql://")):
            sys.exit(f"The bench runs on PostgreSQL (or --sqlite): DATABASE_URL={url!r}.")
        ensure_database(url, drop=args.rebuild)
        section = "postgresql"
    if args.organisations is None:
        args.organisations = round(args.services * ORGANISATIONS_PER_SERVICE)

    sys.path.insert(0, str(ROOT))
    import django

    django.setup()

    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from partners.models import Organisation, Service
    from partners.partnerships import Partnerships
    from reseau.accounts.models import User

    bench_start = time.perf_counter()
    load_before = os.getloadavg()
    build_timings = prepare_database(args.rebuild, args.services, args.organisations)
    build_total = sum(build_timings.values())
    for step, seconds in build_timings.items():
        print(f"  {step}: {seconds:.1f} s")
    if args.build_only:
        return

    with connection.cursor() as cursor:
        if args.sqlite:
            cursor.execute("SELECT sqlite_version()")
            db_version = f"SQLite {cursor.fetchone()[0]}"
            db_size = f"{sqlite_path(args.services).stat().st_size / 1024 / 1024:.0f} MB"
        else:
            cursor.execute("SHOW server_version")
            db_version = f"PostgreSQL {cursor.fetchone()[0]}"
            cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            db_size = cursor.fetchone()[0]
    services = Service.objects.count()
    active_services = Service.objects.active().count()
    organisations = Organisation.objects.count()

    worker = User.objects.get(email=WORKER_EMAIL)
    client = Client()
    client.force_login(worker)
    # As reseau/wsgi.py does once the project is loaded: the collector leaves these objects alone.
    gc.collect()
    gc.freeze()
    secure = not settings.DEBUG
    partner_ids = Partnerships.of(worker.service_id).partner_ids

    kinds = [kind.strip().lower() for kind in args.kinds.split(",") if kind.strip()]
    queries = [
        (kind, label, raw)
        for kind, label, raw in bench_queries(sqlite=bool(args.sqlite))
        if (not kinds or any(k in kind.lower() for k in kinds)) and args.only.lower() in label.lower()
    ]
    rows = (
        bench_search(client, queries, partner_ids, worker.service_commune, args, secure)
        if "search" in args.steps
        else []
    )
    routing_rows = bench_routing(client, worker, args.runs, secure) if "routing" in args.steps else []
    fixed_rows = bench_fixed_cost(client, args.runs * 4, secure) if "fixed" in args.steps else []

    load_after = os.getloadavg()
    report = render_report(
        rows=rows,
        args=args,
        machine=machine_info(),
        db_version=db_version,
        db_size=db_size,
        services=services,
        active_services=active_services,
        organisations=organisations,
        build_timings=build_timings,
        build_total=build_total,
        load=(load_before, load_after),
    )
    if rows and not args.no_peer:
        report += peer_section(rows)
    if routing_rows:
        report += routing_section(routing_rows)
    if fixed_rows:
        report += fixed_cost_section(fixed_rows)
    if rows and not args.no_explain:
        report += explain_section(rows)
    report += f"\nTotal bench run time: {time.perf_counter() - bench_start:.0f} s.\n"
    print()
    print(report)
    if args.partial:
        print("Partial run (--kinds, --only or --steps): bench_results.md left as it was.")
        return
    write_section(section, report)
    print(f"Written to {RESULTS_PATH.relative_to(ROOT)} (section {section})")


def bench_search(client, queries, partner_ids, home_commune, args, secure):
    """Server time of /recherche/ for each query, its SQL, the naive baseline and the peer."""
    phases = Phases()
    rows = []
    for kind, label, raw in queries:
        query = resolve(raw)
        url_path = "/recherche/?" + urlencode(query, doseq=True)
        params = search_params_of(query, partner_ids, home_commune)
        response = client.get(url_path, secure=secure)  # warm-up
        assert response.status_code == 200, (label, response.status_code)
        captured = []
        with capture_statements(captured):
            response = client.get(url_path, secure=secure)
        assert response.status_code == 200, (label, response.status_code)
        view_times, splits = [], []
        for _ in range(args.runs):
            with phases.measure():
                start = time.perf_counter()
                response = client.get(url_path, secure=secure)
                view_times.append((time.perf_counter() - start) * 1000)
            splits.append(phases.split(view_times[-1]))
            assert response.status_code == 200, (label, response.status_code)
        # The results fragment htmx asks for as the user types (no form to render).
        fragment_times = []
        for _ in range(max(3, args.runs - 2)):
            start = time.perf_counter()
            response = client.get(url_path, secure=secure, headers={"HX-Request": "true"})
            fragment_times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (label, response.status_code)
        ours_sql(params)  # warm-up
        sql_times, (count, _, outcome) = timed(lambda p=params: ours_sql(p), args.runs)
        row = {
            "kind": kind,
            "label": label,
            "url": url_path,
            "view": view_times,
            "splits": splits,
            "page_sql": [split["sql"] for split in splits],
            "fragment": fragment_times,
            "sql": sql_times,
            "queries": len(captured),
            "captured": captured,
            "count": count,
            "corrections": outcome.corrections,
            "params": params,
        }
        with_words = sum(1 for row in rows if row["kind"] == kind and "baseline" in row)
        if not args.no_baseline and params.words and (args.baseline_all or with_words < BASELINE_PER_KIND):
            # No warm-up and fewer runs: each takes seconds (sequential scans), and is stable.
            base_times = []
            while len(base_times) < args.baseline_runs and sum(base_times) < 1500:
                start = time.perf_counter()
                base_count, _ = naive_sql(params)
                base_times.append((time.perf_counter() - start) * 1000)
            row.update(baseline=base_times, baseline_count=base_count)
        if not args.no_peer:
            row.update(bench_peer(params, args.runs, int(query.get("page", 1))))
        rows.append(row)
        page_sql = statistics.median(row["page_sql"])
        print(
            f"  {kind:<24} {label:<42} {statistics.median(view_times):7.1f} ms  "
            f"{len(captured):2d} q  {count:6d} res  page SQL {page_sql:6.1f} ms"
            + (
                f"  peer {statistics.median(row['peer']):6.1f} ms  ours÷peer "
                f"{page_sql / statistics.median(row['peer']):5.2f}"
                if "peer" in row
                else ""
            )
            + (f"  baseline {statistics.median(row['baseline']):7.1f} ms" if "baseline" in row else ""),
            flush=True,
        )
    return rows


@contextlib.contextmanager
def capture_statements(captured):
    """Every statement run inside, as {"sql", "time"} (what CaptureQueriesContext gives with DEBUG on)."""
    from django.db import connection

    def record(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            text = sql
            if params is not None and not many:
                with contextlib.suppress(Exception):
                    text = connection.ops.last_executed_query(context["cursor"], sql, params)
            captured.append({"sql": text, "time": f"{time.perf_counter() - start:.6f}"})

    with connection.execute_wrapper(record):
        yield


# Pages whose time is mostly fixed cost: session, user, partnerships, reference lists, templates.
FIXED_COST_PAGES = [
    ("page triviale (Mes courriels)", "accounts:notification_settings", {}),
    ("accueil", "home", {}),
    ("recherche sans requête", "partners:search", {}),
    ("recherche sans requête, fragment htmx", "partners:search", {"HX-Request": "true"}),
]


def bench_fixed_cost(client, runs, secure):
    """Server time of pages that do little but what every page does, split connect/SQL/templates/Python."""
    from django.db import connection
    from django.urls import reverse

    phases = Phases()
    rows = []
    for label, name, headers in FIXED_COST_PAGES:
        url_path = reverse(name)
        for _ in range(3):  # warm-up
            response = client.get(url_path, secure=secure, headers=headers)
            assert response.status_code == 200, (label, response.status_code)
        times, splits = [], []
        for _ in range(runs):
            with phases.measure():
                start = time.perf_counter()
                response = client.get(url_path, secure=secure, headers=headers)
                times.append((time.perf_counter() - start) * 1000)
            splits.append(phases.split(times[-1]))
            assert response.status_code == 200, (label, response.status_code)
        rows.append({"label": label, "url": url_path, "view": times, "splits": splits})
    # Django's test client never closes the connection between requests; a server does, after each one,
    # unless CONN_MAX_AGE keeps it: what one connection per request costs, on the simplest page.
    label, name, headers = FIXED_COST_PAGES[0]
    label, url_path = f"{label}, une connexion par requête (CONN_MAX_AGE=0)", reverse(name)
    times, splits = [], []
    for _ in range(runs):
        connection.close()
        with phases.measure():
            start = time.perf_counter()
            response = client.get(url_path, secure=secure, headers=headers)
            times.append((time.perf_counter() - start) * 1000)
        splits.append(phases.split(times[-1]))
        assert response.status_code == 200, (label, response.status_code)
    rows.append({"label": label, "url": url_path, "view": times, "splits": splits})
    for row in rows:
        times, splits = row["view"], row["splits"]
        print(
            f"  coût fixe {row['label']:<40} p50 {statistics.median(times):6.1f} ms  "
            f"{splits[-1]['queries']:2d} q  "
            + "  ".join(
                f"{part} {statistics.fmean(split[part] for split in splits):.1f}"
                for part in ("connect", "sql", "render", "python")
            ),
            flush=True,
        )
    return rows


def fixed_cost_section(rows):
    lines = [
        "## Fixed cost of a page",
        "",
        f"Target: under {FIXED_COST_TARGET_MS:.0f} ms of server time for what every page does (session, "
        "user, partnerships, reference lists, form choices, templates), measured on pages that do little "
        "else. Means in ms over the runs; `connect`: opening the database connection (0 when the "
        "connection persists, `CONN_MAX_AGE`); `SQL`: every statement; `templates`: rendering minus its SQL; "
        "`Python`: the rest.",
        "",
        "| page | SQL/page | p50 | p95 | mean | connect | SQL | templates | Python | target |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        view = summary(row["view"])
        means = {
            part: statistics.fmean(split[part] for split in row["splits"])
            for part in ("connect", "sql", "render", "python")
        }
        verdict = "✅" if view["p50"] < FIXED_COST_TARGET_MS else "❌"
        if "CONN_MAX_AGE=0" in row["label"]:
            verdict = "– (what persistent connections save)"
        lines.append(
            f"| {row['label']} (`{row['url']}`) | {row['splits'][-1]['queries']} | {view['p50']:.1f} | "
            f"{view['p95']:.1f} | {statistics.fmean(row['view']):.1f} | {means['connect']:.1f} | "
            f"{means['sql']:.1f} | {means['render']:.1f} | {means['python']:.1f} | {verdict} |"
        )
    return "\n".join(lines) + "\n\n"


def peer_section(rows):
    """Our page's SQL against data·inclusion's search query, per query and per kind."""
    with_peer = [row for row in rows if "peer" in row]
    if not with_peer:
        return ""

    def ratio(row):
        return statistics.median(row["page_sql"]) / statistics.median(row["peer"])

    lines = [
        "## Against a peer: data·inclusion's search query, on our index and data",
        "",
        "Its API's `search_query` (gip-inclusion/data-inclusion, `inclusion_data/v1/services.py`) "
        "reproduced here: `plainto_tsquery` of the words (configuration `french_unaccent`, its "
        "`public.french`: unaccent then the French stemmer), `round(ts_rank_cd(vector, query, 32), 2)` "
        "for every match, mixed 50/50 with `1 − distance / radius` inside the radius (with a place), "
        "else ordered by that score then freshness (its quality score's stand-in); whole service and "
        "structure rows, first page of 20. Same filters as ours, and our indexed bounding box for the "
        "place (its `ST_DWithin` on a computed geography cannot use an index): a generous peer. "
        "`ours`: **all the SQL of our page** (session, user, partnerships, search, count, page, display "
        "data, form choices), summed from the statements the view ran; `peer`: its single ranking "
        "query. Its API also counts the matches for its `total`: timed apart (`peer count`), not in the "
        "ratio. Medians in ms; ratio = ours ÷ peer (under 1: our page's SQL is cheaper than its one "
        "query).",
        "",
        "| kind | queries | ours p50 | peer p50 | ratio median | ratio max | ours dearer in |",
        "|---|---|---|---|---|---|---|",
    ]
    kinds = list(dict.fromkeys(row["kind"] for row in with_peer))
    groups = [(kind, [row for row in with_peer if row["kind"] == kind]) for kind in kinds]
    groups.append(("**all**", with_peer))
    for kind, group in groups:
        ratios = [ratio(row) for row in group]
        dearer = sum(1 for value in ratios if value > 1)
        lines.append(
            f"| {kind} | {len(group)} | "
            f"{statistics.median(statistics.median(row['page_sql']) for row in group):.1f} | "
            f"{statistics.median(statistics.median(row['peer']) for row in group):.1f} | "
            f"{statistics.median(ratios):.2f} | {max(ratios):.2f} | {dearer} of {len(group)} "
            f"{'✅' if not dearer else '❌'} |"
        )
    lines += [
        "",
        "| kind | query | our results | peer results | ours (page SQL) | peer | ours ÷ peer | peer count |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in with_peer:
        lines.append(
            f"| {row['kind']} | {row['label']} | {row['count']} | {row['peer_results']} | "
            f"{statistics.median(row['page_sql']):.1f} | {statistics.median(row['peer']):.1f} | "
            f"{ratio(row):.2f} | {statistics.median(row['peer_count']):.1f} |"
        )
    return "\n".join(lines) + "\n\n"


def render_report(
    *,
    rows,
    args,
    machine,
    db_version,
    db_size,
    services,
    active_services,
    organisations,
    build_timings,
    build_total,
    load,
):
    from partners.search import RESULT_CAP

    target_ms = sqlite_page_target_ms(args.services) if args.sqlite else PAGE_TARGET_MS
    size = "one département's size" if args.services <= SQLITE_SERVICES else "national scale"
    lines = [
        f"# Search benchmark — {size} ({args.services} services), SQLite (embedded default)"
        if args.sqlite
        else "# Search benchmark — national scale, PostgreSQL",
        "",
        f"- Date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, revision {git_revision()}",
        f"- Machine: {machine['cpus']} CPU ({machine['cpu']}), {machine['memory']} RAM, "
        f"Linux {machine['kernel']}, Python {machine['python']} (CPU speed: `sum(i * i for i in "
        f"range(2_000_000))` takes {machine['python_loop_ms']:.0f} ms, best of 3)",
        f"- Load average (1/5/15 min) before: {' / '.join(f'{v:.2f}' for v in load[0])}, "
        f"after: {' / '.join(f'{v:.2f}' for v in load[1])} (other jobs share the machine: timings are noisy)",
        f"- {db_version}, database size {db_size}",
        f"- Dataset: {services} services ({active_services} active), {organisations} organisations, "
        "real communes weighted by population, 2–4 thématiques each",
    ]
    if len(build_timings) > 1:
        lines.append(
            f"- Dataset build: {build_total:.0f} s ("
            + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in build_timings.items())
            + ")"
        )
    else:
        lines.append("- Dataset build: already present (reused)")
    lines += [
        f"- Server time of the view: `django.test.Client.get('/recherche/?…')`, logged in, DEBUG off, "
        f"1 warm-up then {args.runs} timed runs per query; no network, no browser.",
        "- `SQL` columns: `search_services()` + first page of 20 + count, timed at the ORM level "
        "(what the view runs against the database); "
        + (
            "no naive baseline on SQLite (no `unaccent()`); no typo correction on SQLite, so the "
            "*fautes* searches find nothing, as they would for a worker. The services are spread over "
            "the whole country (the generator of the PostgreSQL run), so searches with a place find "
            "few; words alone are where the matches, and the old ranking's cost, are."
            if args.sqlite
            else "the naive baseline is timed the same way, at the "
            f"ORM level, for the first {BASELINE_PER_KIND} queries with words of each kind (`--baseline-all`: "
            f"all of them), no warm-up, up to {args.baseline_runs} runs (fewer when one takes over 1.5 s): "
            "same filters, ordered by distance (with a place) then freshness, words matched with "
            "`unaccent(field) ILIKE unaccent('%word%')` on service name, organisation name, description "
            "and the labels of its thématiques and their catégories (AND of words), no ranking, no typo "
            "correction."
        ),
        "",
        "## By kind of query",
        "",
        f"Target: first page p95 < {target_ms:.0f} ms of server time.",
        "",
        "| kind | queries | view p50 | view p95 | view max | htmx p50 | htmx p95 | SQL p50 | SQL p95 | SQL/page | baseline p50 | baseline p95 | baseline ÷ ours (median of per-query SQL p50 ratios) | target |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    kinds = list(dict.fromkeys(row["kind"] for row in rows))
    groups = [(kind, [row for row in rows if row["kind"] == kind]) for kind in kinds]
    if rows:
        groups.append(("**all**", rows))
    for kind, group in groups:
        view = summary([t for row in group for t in row["view"]])
        fragment = summary([t for row in group for t in row["fragment"]])
        sql = summary([t for row in group for t in row["sql"]])
        query_counts = sorted({row["queries"] for row in group})
        queries = str(query_counts[0]) if len(query_counts) == 1 else f"{query_counts[0]}–{query_counts[-1]}"
        with_baseline = [row for row in group if "baseline" in row]
        if with_baseline:
            base = summary([t for row in with_baseline for t in row["baseline"]])
            ratio = statistics.median(
                statistics.median(row["baseline"]) / statistics.median(row["sql"]) for row in with_baseline
            )
            base_cells = f"{base['p50']:.0f} | {base['p95']:.0f} | ×{ratio:.0f}"
            if len(with_baseline) < len(group):
                base_cells += f" ({len(with_baseline)} with words)"
        elif args.sqlite:
            base_cells = "– | – | – (not run on SQLite)"
        else:
            base_cells = "– | – | – (no words: same query)"
        verdict = "✅" if view["p95"] < target_ms else "❌"
        lines.append(
            f"| {kind} | {len(group)} | {view['p50']:.1f} | {view['p95']:.1f} | {view['max']:.1f} | "
            f"{fragment['p50']:.1f} | {fragment['p95']:.1f} | {sql['p50']:.1f} | {sql['p95']:.1f} | {queries} | {base_cells} | {verdict} |"
        )
    lines += [
        "",
        "Times in milliseconds. `view`: the full page; `htmx`: the results fragment that htmx requests "
        "as the user types (`HX-Request: true`, no form rendered); `SQL`: see above. "
        "`SQL/page`: SQL queries per page view (session and user included).",
        "",
        "Where the full-page time goes (means, ms): connect = opening the database connection (0 when "
        "it persists); SQL = every statement of the request (session, user, search, page, display data, "
        "form choices); templates = rendering minus the SQL it triggers; Python = the rest (form "
        "validation, place lookup, ORM, middleware).",
        "",
        "| kind | total | connect | SQL | templates | Python |",
        "|---|---|---|---|---|---|",
        *[
            "| {} | {:.1f} | {:.1f} | {:.1f} | {:.1f} | {:.1f} |".format(
                kind,
                statistics.fmean(t for row in group for t in row["view"]),
                *(
                    statistics.fmean(split[part] for row in group for split in row["splits"])
                    for part in ("connect", "sql", "render", "python")
                ),
            )
            for kind, group in groups
        ],
        "",
        "## Every query",
        "",
        "| kind | query | results | corrected to | SQL/page | view p50 | view p95 | SQL p50 | baseline p50 | baseline results |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        view = summary(row["view"])
        corrected = ", ".join(f"{k}→{v}" for k, v in row["corrections"].items()) or ""
        if "baseline" in row:
            base_cells = f"{statistics.median(row['baseline']):.0f} | {row['baseline_count']}"
        elif args.sqlite:
            base_cells = "(not run on SQLite) | –"
        elif row["params"].words:
            base_cells = f"(not run: {BASELINE_PER_KIND} a kind) | –"
        else:
            base_cells = "(no words) | –"
        shown = f"≥ {RESULT_CAP} (capped, unranked)" if row["count"] >= RESULT_CAP else row["count"]
        lines.append(
            f"| {row['kind']} | {row['label']} | {shown} | {corrected} | {row['queries']} | "
            f"{view['p50']:.1f} | {view['p95']:.1f} | {statistics.median(row['sql']):.1f} | {base_cells} |"
        )
    empty = [row["label"] for row in rows if row["count"] == 0]
    lines += ["", f"Queries with no result: {', '.join(empty) if empty else 'none'}.", ""]
    return "\n".join(lines) + "\n"


def explain_section(rows):
    """EXPLAIN ANALYZE of the slowest statements of the slowest query of each kind over target,
    when the database is a real part of it (search SQL p95 over 40 % of the budget)."""
    lines = ["## Profile of the kinds over target", ""]
    kinds = list(dict.fromkeys(row["kind"] for row in rows))
    over = False
    for kind in kinds:
        group = [row for row in rows if row["kind"] == kind]
        view_p95 = summary([t for row in group for t in row["view"]])["p95"]
        if view_p95 < PAGE_TARGET_MS:
            continue
        over = True
        sql_p95 = summary([t for row in group for t in row["sql"]])["p95"]
        if sql_p95 < PAGE_TARGET_MS * 0.4:
            lines += [
                f"### {kind}: view p95 {view_p95:.1f} ms, search SQL p95 only {sql_p95:.1f} ms",
                "",
                "The time is spent outside the search SQL: see the breakdown above (templates, Python).",
                "",
            ]
            continue
        worst = max(group, key=lambda row: statistics.median(row["sql"]))
        search_statements = [q for q in worst["captured"] if "partners_service" in q["sql"]]
        statements = sorted(search_statements, key=lambda q: float(q["time"]), reverse=True)[:2]
        lines += [
            f"### {kind}: view p95 {view_p95:.1f} ms, search SQL p95 {sql_p95:.1f} ms — slowest: "
            f"{worst['label']} (SQL p50 {statistics.median(worst['sql']):.1f} ms)",
            "",
        ]
        for statement in statements:
            lines += [
                f"Statement ({float(statement['time']) * 1000:.0f} ms when captured):",
                "",
                "```sql",
                statement["sql"],
                "```",
                "",
                "```",
                explain(statement["sql"]),
                "```",
                "",
            ]
    if not over:
        lines.append("Every kind is under target: nothing to profile.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
