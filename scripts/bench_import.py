"""Import benchmark (``make bench``): data·inclusion files at national scale, then one département.

**National import.** Generates once, under ``.cache/bench_import/``, a national file in the
data·inclusion schema v1 (150 000 services and 60 000 structures over the real communes, from the
generator of ``bench_search.py``: its organisations and services written as schema records, with
markdown descriptions, CRLF, emoji, services without hours of their own), then for each database
— SQLite (a new file) and PostgreSQL (its own database, ``import_bench``, dropped and recreated) —
runs ``manage.py import_data_inclusion`` on it into the fresh database (migrated, referentials and
communes loaded, not timed), then again with no change. Each import is its own process, timed from
start to exit, with its peak memory (RSS). Targets: first import < 5 min, re-import < 1 min.

**One département in the embedded database.** A SQLite database with the demo (``load_demo``): the
search page, routing proposals and the admin changelists are timed (server time through
``django.test.Client``, the timing helpers of ``bench_search.py``); then one département's services
(8 000 in Ille-et-Vilaine, where the demo lives, same generator) are imported and the same pages
timed again. The issue's target: as fast as on the demo.

Usage::

    .venv/bin/python scripts/bench_import.py [--services 150000] [--no-postgresql] [--no-department]
        [--rebuild-files] [--runs 7]

The report replaces the import section of ``scripts/bench_results.md`` (between its markers).
"""

import argparse
import datetime
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "bench_import"
GENERATOR_VERSION = 2  # bump when the generated records change: the cached files are rebuilt
SOURCE = "bench"
DEFAULT_POSTGRESQL_URL = "postgres://postgres@127.0.0.1:5432/import_bench"
NATIONAL_SERVICES = 150_000
NATIONAL_STRUCTURES = 60_000
DEPARTMENT = (
    "35"  # Ille-et-Vilaine: the demo's département, so its worker's searches meet the imported services
)
DEPARTMENT_SERVICES = 8_000
DEPARTMENT_STRUCTURES = 3_200
IMPORT_TARGET_S = 300
REIMPORT_TARGET_S = 60

# The settings bench_search.py times (production-like, DEBUG off); the database URL is always explicit.
BENCH_ENV = {
    "DJANGO_SETTINGS_MODULE": "reseau.settings",
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
    "DJANGO_SECURE_SSL_REDIRECT": "false",
    "DJANGO_STATICFILES_STORAGE": "django.contrib.staticfiles.storage.StaticFilesStorage",
    "DJANGO_LOG_LEVEL": "WARNING",
    "DJANGO_SITE_URL": "http://127.0.0.1:8000",
    "AXES_ENABLED": "false",
}
for _name, _value in BENCH_ENV.items():
    os.environ.setdefault(_name, _value)


def env_for(database_url):
    return {**os.environ, "DATABASE_URL": database_url}


def manage(database_url, *arguments, quiet=True):
    """Run ``manage.py`` in its own process; returns (seconds, stdout)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), *arguments],
        cwd=ROOT,
        env=env_for(database_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = process.communicate()
    if process.returncode:
        sys.exit(f"manage.py {' '.join(arguments)} failed ({process.returncode}):\n{out}\n{err}")
    if not quiet:
        print(out, end="")
    return time.perf_counter() - start, out


def timed_import(database_url, paths):
    """``import_data_inclusion`` in its own process: (seconds, peak RSS in MB, summary lines, CPU seconds).

    CPU seconds: user + system time of the import process itself (not the PostgreSQL server's): on a
    machine shared with other jobs, what the import costs regardless of how long it waited for a core."""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as output:
        start = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "import_data_inclusion", *map(str, paths)],
            cwd=ROOT,
            env=env_for(database_url),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        # wait4: this child's own peak RSS (kilobytes on Linux); its output goes to a file, which never
        # blocks it (a pipe would, once full of rejections, as nobody reads it until the end).
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        output.seek(0)
        out = output.read()
    if os.waitstatus_to_exitcode(status):
        sys.exit(f"import_data_inclusion failed:\n{out[-5000:]}")
    lines = out.splitlines()
    summary = [line for line in lines if line.startswith(("Structures :", "Services :"))]
    notes = [line for line in lines if line not in summary]
    if notes:
        print(f"  ({len(notes)} other lines, the first: {notes[:3]})")
    return seconds, usage.ru_maxrss / 1024, summary, usage.ru_utime + usage.ru_stime


# --- Databases ----------------------------------------------------------------------------------


def fresh_sqlite(path):
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def fresh_postgresql(url):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_search import database_name, ensure_database

    name = database_name(url)
    if name in {"reseau_bench", "insight_bench"} or "import" not in name:
        sys.exit(f"Refusing to drop {name!r}: the import bench only drops a database named *import*.")
    ensure_database(url, drop=True)
    return url


def prepare(database_url, *, demo=False):
    """Migrate, load the referentials and communes (and the demo): not part of the import's time."""
    start = time.perf_counter()
    manage(database_url, "migrate", "--no-input", "-v", "0")
    manage(database_url, "load_referentials")
    manage(database_url, "load_communes")
    if demo:
        manage(database_url, "load_demo")
    return time.perf_counter() - start


# --- Generated files ------------------------------------------------------------------------------

MARKDOWN_TAILS = [
    "\r\n\r\n## Pour qui ?\r\n\r\n* personnes orientées par un·e travailleur·se social·e\r\n* sans condition de ressources",
    "\n\n**Important** : venir avec une pièce d'identité et un justificatif de domicile.",
    "\n\n1. Premier contact par téléphone\n2. Rendez-vous sous 15 jours\n3. Suivi personnalisé 🙂",
    "\n\nPlus d'informations sur [notre site](https://www.example.org/infos).",
    "",
    "",
]
MODES = {
    "form": ["utiliser-lien-mobilisation", "envoyer-un-courriel"],
    "email": ["envoyer-un-courriel", "telephoner"],
    "phone": ["telephoner"],
    "walk_in": ["se-presenter", "telephoner"],
}


class _JsonList:
    def __init__(self, path):
        self.handle = path.open("w", encoding="utf-8")
        self.count = 0

    def write(self, record):
        self.handle.write(("[\n" if not self.count else ",\n") + json.dumps(record, ensure_ascii=False))
        self.count += 1

    def close(self):
        self.handle.write("\n]\n" if self.count else "[]\n")
        self.handle.close()


def generate(directory, services, structures, department=None):
    """Write ``structures.json`` and ``services.json`` (schema v1) into ``directory``: the organisations
    and services of bench_search's generator (seeded), restricted to ``department`` when given."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import django

    django.setup()
    from bench_search import SEED, NationalDirectory

    from partners.models import AccessMode, Domain, Fee, Public, ServiceType

    today = datetime.date.today()
    generator = NationalDirectory(random.Random(SEED + 7), today, services, structures)
    if department:
        generator.communes, generator.weights = generator.by_department[department]
    generator.fill()
    codes = {}
    for relation, model in (
        ("domains", Domain),
        ("publics", Public),
        ("access_modes", AccessMode),
        ("fees", Fee),
        ("service_types", ServiceType),
    ):
        national = model.objects.filter(is_national=True)
        if model is Domain:
            national = national.filter(parent__isnull=False)  # the schema's thématiques, not catégories
        codes[relation] = dict(national.values_list("pk", "code"))
    related = {name: {} for name in codes}
    for name in codes:
        for index, pk in generator.relations[name]:
            if pk in codes[name]:
                related[name].setdefault(index, []).append(codes[name][pk])

    rng = random.Random(SEED + 8)
    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / "incomplete"
    partial.mkdir(exist_ok=True)
    writer = _JsonList(partial / "structures.json")
    structure_hours = {}
    for index, organisation in enumerate(generator.organisations):
        seat = generator.org_seats[index]
        hours = rng.choice(generator.hours) if rng.random() < 0.6 else None
        structure_hours[index] = hours
        writer.write(
            {
                "source": SOURCE,
                "id": f"{SOURCE}--structure-{index}",
                "nom": organisation.name + (" 🤝" if index % 97 == 0 else ""),
                "date_maj": (today - datetime.timedelta(days=rng.randint(0, 700))).isoformat(),
                "siret": f"{10**13 + index:014d}" if rng.random() < 0.7 else None,
                "code_insee": seat[0],
                "commune": seat[1],
                "site_web": f"https://www.{generator.org_slugs[index]}.example.org/",
                "horaires_accueil": hours,
                "description": "Structure du réseau local.\r\nAccueil de tous les publics.",
            }
        )
    writer.close()
    writer = _JsonList(partial / "services.json")
    for index, (service, organisation_index) in enumerate(generator.services):
        description = service.description + rng.choice(MARKDOWN_TAILS)
        own_hours = rng.random() < 0.75 or structure_hours[organisation_index] is None
        types = related["service_types"].get(index, [])
        fees = related["fees"].get(index, [])
        publics = related["publics"].get(index, [])
        if len(publics) > 1 and "tous-publics" in publics:
            publics.remove("tous-publics")  # the schema forbids it with other publics
        record = {
            "source": SOURCE,
            "id": f"{SOURCE}--service-{index}",
            "structure_id": f"{SOURCE}--structure-{organisation_index}",
            "nom": service.name,
            "description": description,
            "date_maj": (service.verified_on or today - datetime.timedelta(days=800)).isoformat(),
            "type": types[0] if types else None,
            "thematiques": related["domains"].get(index) or None,
            "frais": fees[0] if fees else None,
            "publics": publics or None,
            "modes_accueil": related["access_modes"].get(index) or None,
            "code_insee": service.commune_id if rng.random() < 0.9 else None,
            "code_postal": service.postcode or None,
            "adresse": service.address,
            "latitude": service.latitude if rng.random() < 0.8 else None,
            "longitude": service.longitude,
            "telephone": service.phone,
            "courriel": service.email.replace(".test", ".example.org"),
            "lien_mobilisation": f"https://orientation.example.org/{index}" if rng.random() < 0.3 else None,
            "modes_mobilisation": MODES.get(service.referral_mode, ["telephoner"]),
            "mobilisable_par": ["professionnels"],
            "mobilisation_precisions": service.referral_details,
            "horaires_accueil": service.opening_hours if own_hours else None,
        }
        writer.write({key: value for key, value in record.items() if value is not None})
    writer.close()
    for name in ("structures.json", "services.json"):
        (partial / name).replace(directory / name)
    partial.rmdir()


def files(kind, services, structures, department, rebuild, database_url):
    """The cached (structures, services) files of this size, generated in a subprocess if absent."""
    directory = CACHE / f"{kind}-{services}-v{GENERATOR_VERSION}"
    paths = [directory / "structures.json", directory / "services.json"]
    if rebuild or not all(path.exists() for path in paths):
        print(f"Generating {services} services and {structures} structures in {directory.relative_to(ROOT)}…")
        start = time.perf_counter()
        arguments = [
            "--generate",
            str(directory),
            "--services",
            str(services),
            "--structures",
            str(structures),
        ]
        if department:
            arguments += ["--department", department]
        subprocess.run(
            [sys.executable, __file__, *arguments], cwd=ROOT, env=env_for(database_url), check=True
        )
        print(f"  generated in {time.perf_counter() - start:.0f} s")
    return paths


# --- National import ----------------------------------------------------------------------------


def national(label, database_url, paths, services, prepared=False):
    print(f"{label}: fresh database…", flush=True)
    setup = 0 if prepared else prepare(database_url)
    first = timed_import(database_url, paths)
    print(
        f"  first import {first[0]:.1f} s (CPU {first[3]:.1f} s), RSS {first[1]:.0f} MB: {first[2]}",
        flush=True,
    )
    again = timed_import(database_url, paths)
    print(
        f"  re-import {again[0]:.1f} s (CPU {again[3]:.1f} s), RSS {again[1]:.0f} MB: {again[2]}", flush=True
    )
    created = re.search(r"Services : (\d+) créé", first[2][1])
    unchanged = re.search(r"(\d+) inchangé\(s\), 0 désactivé", again[2][1])
    assert created and int(created.group(1)) == services, first[2]
    assert unchanged and int(unchanged.group(1)) == services, again[2]
    return {"label": label, "setup": setup, "first": first, "again": again}


# --- One département in SQLite: pages before and after ---------------------------------------------

DEPARTMENT_SEARCHES = [
    ("mots", "hébergement d'urgence", {"q": "hébergement d'urgence"}),
    ("mots", "aide alimentaire", {"q": "aide alimentaire"}),
    ("mots", "accompagnement (mot très fréquent)", {"q": "accompagnement"}),
    ("mots", "numerique", {"q": "numerique"}),
    ("mots", "garde d'enfants", {"q": "garde d'enfants"}),
    ("mots", "heberg (frappe en cours)", {"q": "heberg"}),
    ("mots + lieu", "hébergement, Rennes 20 km", {"q": "hébergement", "lieu": "Rennes", "rayon": "20"}),
    ("mots + lieu", "emploi, Saint-Malo 10 km", {"q": "emploi", "lieu": "Saint-Malo", "rayon": "10"}),
    ("mots + lieu", "accompagnement, Rennes 50 km", {"q": "accompagnement", "lieu": "Rennes", "rayon": "50"}),
    (
        "thématiques + lieu",
        "alimentation, Rennes 20 km",
        {"thematiques": ["domain:equipement-et-alimentation--alimentation"], "lieu": "Rennes", "rayon": "20"},
    ),
    (
        "thématiques + lieu",
        "catégorie Santé, Rennes 50 km",
        {"thematiques": ["domain:sante"], "lieu": "Rennes", "rayon": "50"},
    ),
    ("filtres", "public jeunes + disponibles", {"publics": ["public:jeunes"], "disponibles": "on"}),
    ("partenaires", "partenaires seulement", {"partenaires": "on"}),
    ("partenaires", "partenaires + hébergement", {"partenaires": "on", "q": "hébergement"}),
]
DEPARTMENT_ROUTING = [
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
        "sortie de rue, Rennes 20 km",
        "Rennes",
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
        "dettes et famille, Saint-Malo 20 km",
        "Saint-Malo",
        20,
        [
            "logement-hebergement--reduire-les-impayes-de-loyer",
            "difficultes-financieres--ameliorer-sa-gestion-budgetaire",
            "famille--soutien-a-la-parentalite-et-a-leducation",
            "difficultes-administratives-ou-juridiques--accompagnement-pour-lacces-aux-droits",
            "equipement-et-alimentation--alimentation",
        ],
    ),
]
ADMIN_PAGES = [
    ("administrateur", "admin@reseau.test", "services", "/admin/partners/service/"),
    (
        "administrateur",
        "admin@reseau.test",
        "services, recherche « accompagnement »",
        "/admin/partners/service/?q=accompagnement",
    ),
    ("administrateur", "admin@reseau.test", "organisations", "/admin/partners/organisation/"),
    (
        "administrateur",
        "admin@reseau.test",
        "organisations, recherche « ccas »",
        "/admin/partners/organisation/?q=ccas",
    ),
    ("coordination", "coordination@reseau.test", "services", "/admin/partners/service/"),
    ("coordination", "coordination@reseau.test", "organisations", "/admin/partners/organisation/"),
]
WORKER = "travailleur@reseau.test"


def time_pages(runs):
    """Time the search, routing and admin pages on the current database; prints one JSON line."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import django

    django.setup()
    from bench_search import bench_routing, resolve, summary
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from partners.models import Organisation, Service
    from reseau.accounts.models import User

    secure = not settings.DEBUG

    def page(client, url):
        client.get(url, secure=secure)  # warm-up
        statements = []

        def count(execute, sql, params, many, context):
            statements.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):  # the query log is reset at each request, under DEBUG too
            response = client.get(url, secure=secure)
        assert response.status_code == 200, (url, response.status_code)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            response = client.get(url, secure=secure)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        return times, len(statements)

    from urllib.parse import urlencode

    worker = User.objects.get(email=WORKER)
    client = Client()
    client.force_login(worker)
    rows = []
    for kind, label, raw in DEPARTMENT_SEARCHES:
        times, queries = page(client, "/recherche/?" + urlencode(resolve(raw), doseq=True))
        rows.append({"group": "recherche", "label": f"{kind} : {label}", "view": times, "queries": queries})
    for row in bench_routing(client, worker, runs, secure, cases=DEPARTMENT_ROUTING):
        rows.append(
            {"group": "routage", "label": row["label"], "view": row["view"], "queries": row["queries"]}
        )
    clients = {}
    for role, email, label, url in ADMIN_PAGES:
        if email not in clients:
            clients[email] = Client()
            clients[email].force_login(User.objects.get(email=email))
        times, queries = page(clients[email], url)
        rows.append({"group": "admin", "label": f"{role} : {label}", "view": times, "queries": queries})
    for row in rows:
        row.update(summary(row["view"]))
    totals = {"services": Service.objects.count(), "organisations": Organisation.objects.count()}
    print("PAGES " + json.dumps({"rows": rows, "totals": totals}))


def pages(database_url, runs):
    out = subprocess.run(
        [sys.executable, __file__, "--time-pages", "--runs", str(runs)],
        cwd=ROOT,
        env=env_for(database_url),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("PAGES "))
    return json.loads(line.removeprefix("PAGES "))


def department(paths, runs):
    database_url = fresh_sqlite(ROOT / ".cache" / "bench_import_department.sqlite3")
    print("Département: demo in a fresh SQLite database…", flush=True)
    prepare(database_url, demo=True)
    before = pages(database_url, runs)
    seconds, rss, lines, _ = timed_import(database_url, paths)
    print(
        f"  import of the département {seconds:.1f} s, peak RSS {rss:.0f} MB: {' '.join(lines)}", flush=True
    )
    after = pages(database_url, runs)
    return {"before": before, "after": after, "import": (seconds, rss, lines)}


# --- Report ---------------------------------------------------------------------------------------


def _minutes(seconds):
    seconds = round(seconds)
    return f"{seconds:.0f} s" if seconds < 60 else f"{int(seconds // 60)} min {seconds % 60:02.0f} s"


def render(national_rows, department_result, services, structures, sizes, machine, load):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_search import git_revision

    lines = [
        "",
        "# Import benchmark — data·inclusion files (`scripts/bench_import.py`)",
        "",
        f"- Date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, revision {git_revision()}",
        f"- Machine: {machine['cpus']} CPU ({machine['cpu']}), Python {machine['python']} (CPU speed: "
        f"`sum(i * i for i in range(2_000_000))` takes {machine['python_loop_ms']:.0f} ms, best of 3); load "
        f"average before {' / '.join(f'{v:.2f}' for v in load[0])}, after {' / '.join(f'{v:.2f}' for v in load[1])}",
        f"- File: {services} services and {structures} structures of the schema v1 "
        f"({sizes[1]:.0f} MB + {sizes[0]:.0f} MB of JSON), generated once from the search bench's generator",
        "- Each import: `manage.py import_data_inclusion structures.json services.json` in its own process "
        "(production settings, DEBUG off), timed from start to exit; peak RSS of that process.",
        "",
    ]
    if national_rows:
        lines += [
            f"| database | first import (target < {_minutes(IMPORT_TARGET_S)}) | its CPU time | peak RSS | "
            f"re-import, no change (target < {_minutes(REIMPORT_TARGET_S)}) | its CPU time | peak RSS |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in national_rows:
            first, again = row["first"], row["again"]
            lines.append(
                f"| {row['label']} | {_minutes(first[0])} {'✅' if first[0] < IMPORT_TARGET_S else '❌'} | "
                f"{_minutes(first[3])} | {first[1]:.0f} MB | "
                f"{_minutes(again[0])} {'✅' if again[0] < REIMPORT_TARGET_S else '❌'} | "
                f"{_minutes(again[3])} | {again[1]:.0f} MB |"
            )
        lines.append("")
    if department_result:
        before, after = department_result["before"], department_result["after"]
        seconds, rss, _ = department_result["import"]
        lines += [
            f"## One département in the embedded database (SQLite): {after['totals']['services'] - before['totals']['services']} "
            f"services imported next to the demo",
            "",
            f"Demo alone: {before['totals']['services']} services, {before['totals']['organisations']} organisations; "
            f"after the import: {after['totals']['services']} services, {after['totals']['organisations']} organisations "
            f"(import {_minutes(seconds)}, peak RSS {rss:.0f} MB). Server time of each page through "
            "`django.test.Client`, 1 warm-up then timed runs, ms. Target: as fast as on the demo.",
            "",
            "| page | demo p50 | demo p95 | after import p50 | after import p95 | ×p50 | SQL/page demo → after |",
            "|---|---|---|---|---|---|---|",
        ]
        for old, new in zip(before["rows"], after["rows"], strict=True):
            lines.append(
                f"| {new['group']} — {new['label']} | {old['p50']:.1f} | {old['p95']:.1f} | {new['p50']:.1f} | "
                f"{new['p95']:.1f} | ×{new['p50'] / old['p50']:.2f} | {old['queries']} → {new['queries']} |"
            )
        lines.append("")
        for group in ("recherche", "routage", "admin"):
            old = [t for row in before["rows"] if row["group"] == group for t in row["view"]]
            new = [t for row in after["rows"] if row["group"] == group for t in row["view"]]
            lines.append(
                f"- {group}: p50 {statistics.median(old):.1f} → {statistics.median(new):.1f} ms, "
                f"p95 {_p95(old):.1f} → {_p95(new):.1f} ms"
            )
        lines.append("")
    return "\n".join(lines) + "\n"


def _p95(values):
    from bench_search import percentile

    return percentile(values, 0.95)


def write_results(section):
    from bench_sections import write_section

    write_section("import", section)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=NATIONAL_SERVICES)
    parser.add_argument("--structures", type=int, default=None)
    parser.add_argument("--no-postgresql", action="store_true", help="SQLite only")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the national import on SQLite")
    parser.add_argument("--no-department", action="store_true", help="skip the département part")
    parser.add_argument("--rebuild-files", action="store_true", help="generate the files again")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per page (département part)")
    parser.add_argument("--generate", metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument("--department", help=argparse.SUPPRESS)
    parser.add_argument("--time-pages", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.generate:
        return generate(Path(args.generate), args.services, args.structures, args.department)
    if args.time_pages:
        return time_pages(args.runs)

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_search import machine_info

    structures = args.structures or args.services * NATIONAL_STRUCTURES // NATIONAL_SERVICES
    load_before = os.getloadavg()
    machine = machine_info()
    sqlite_url = fresh_sqlite(ROOT / ".cache" / "bench_import.sqlite3")
    prepare(sqlite_url)  # the generator reads the communes and referentials
    paths = files("national", args.services, structures, None, args.rebuild_files, sqlite_url)
    sizes = [path.stat().st_size / 1024 / 1024 for path in paths]
    rows = []
    if not args.no_sqlite:
        rows.append(national("SQLite", sqlite_url, paths, args.services, prepared=True))
    if not args.no_postgresql:
        url = os.environ.get("IMPORT_BENCH_DATABASE_URL", DEFAULT_POSTGRESQL_URL)
        rows.append(national("PostgreSQL", fresh_postgresql(url), paths, args.services))
    department_result = None
    if not args.no_department:
        department_paths = files(
            f"department-{DEPARTMENT}",
            DEPARTMENT_SERVICES,
            DEPARTMENT_STRUCTURES,
            DEPARTMENT,
            args.rebuild_files,
            sqlite_url,
        )
        department_result = department(department_paths, args.runs)
    section = render(
        rows, department_result, args.services, structures, sizes, machine, (load_before, os.getloadavg())
    )
    print()
    print(section)
    write_results(section)
    print("Written to scripts/bench_results.md")


if __name__ == "__main__":
    main()
