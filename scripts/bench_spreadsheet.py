"""Spreadsheet import benchmark (SQLite, the embedded default): a 20 000-row XLSX through the admin's steps.

Builds a fresh SQLite database in ``.cache/bench_spreadsheet.sqlite3`` (migrations, referentials, 200
communes), writes an XLSX with a "Structures" sheet (2 000 rows) and a "Services" sheet (18 000 rows),
then times what the upload request does (the form's check of format and headers, the row estimate that
sends the file to the task queue) and what the task does (analysis = dry run; then analysis + writes),
and a second import of the same file (every row unchanged). Prints seconds and query counts.

Usage::

    .venv/bin/python scripts/bench_spreadsheet.py [--rows 20000]
"""

import argparse
import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE = ROOT / ".cache" / "bench_spreadsheet.sqlite3"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reseau.settings")
os.environ["DATABASE_URL"] = f"sqlite:///{DATABASE}"
os.environ.setdefault("DJANGO_DEBUG", "true")


def workbook(rows):
    import openpyxl
    from data_inclusion.schema import v1 as schema

    themes = [t.value for t in schema.Thematique]
    publics = [p.value for p in schema.Public if p.value != "tous-publics"]
    structures = max(rows // 10, 1)
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Structures")
    sheet.append(["source", "id", "nom", "date_maj", "siret", "site_web"])
    for n in range(structures):
        sheet.append(
            [
                "bench",
                f"bench--s{n}",
                f"Structure n°{n} « solidaire »",
                "2026-10-01",
                None,
                f"https://s{n}.exemple.fr",
            ]
        )
    sheet = book.create_sheet("Services")
    sheet.append(
        [
            "source",
            "structure_id",
            "id",
            "nom",
            "description",
            "date_maj",
            "thematiques",
            "publics",
            "modes_accueil",
            "frais",
            "code_insee",
            "telephone",
            "courriel",
            "modes_mobilisation",
        ]
    )
    for n in range(rows - structures):
        sheet.append(
            [
                "bench",
                f"bench--s{n % structures}",
                f"bench--v{n}",
                f"Accompagnement {n} — permanence",
                f"## Service {n}\r\n\r\nAccueil, écoute et **orientation** 🙂 des personnes.",
                "2026-10-01",
                f"{themes[n % len(themes)]}, {themes[(n * 7) % len(themes)]}",
                f"{publics[n % len(publics)]}, {publics[(n * 3) % len(publics)]}",
                "en-presentiel",
                "gratuit",
                f"35{n % 200:03d}",
                "02 99 00 00 00",
                f"contact{n}@exemple.fr",
                "telephoner",
            ]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args()
    DATABASE.parent.mkdir(exist_ok=True)
    DATABASE.unlink(missing_ok=True)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from partners import spreadsheets
    from partners.models import Commune, Postcode, Service
    from partners.referentials import load_referentials
    from reseau.accounts.models import User

    call_command("migrate", verbosity=0)
    load_referentials()
    for n in range(200):
        commune = Commune.objects.create(
            insee_code=f"35{n:03d}", name=f"Commune {n}", department="35", latitude=48.1, longitude=-1.6
        )
        Postcode.objects.create(commune=commune, code=f"35{n:03d}")
    user = User.objects.create(email="bench@exemple.fr", is_staff=True, is_superuser=True)

    content = workbook(args.rows)
    print(f"{args.rows} rows, XLSX of {len(content) / 1e6:.1f} MB")

    def timed(label, function):
        reset_queries()
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            result = function()
            elapsed = time.perf_counter() - start
        print(f"{label:<52} {elapsed:7.2f} s  {len(queries.captured_queries):6d} queries")
        return result

    rows = timed("request: check format, estimate rows", lambda: spreadsheets.check_file(content))
    print(f"    estimate: {rows} rows (over {spreadsheets.INLINE_MAX_ROWS}: analysed in the task queue)")
    report, plan = timed("task: analysis (dry run)", lambda: spreadsheets.analyse(content, user))
    print("   ", " ".join(report.summary()), f"errors: {len(report.errors)}")
    timed("task: writes of the analysed plan (one transaction)", lambda: spreadsheets.apply(plan))
    print(f"    services in the database: {Service.objects.count()}")
    report, plan = timed(
        "re-import: analysis (every row unchanged)", lambda: spreadsheets.analyse(content, user)
    )
    print("   ", " ".join(report.summary()))


if __name__ == "__main__":
    main()
