"""Live search in a real browser: how long after the last keystroke the results are on screen.

Part of ``make bench``. On the demo data (``load_demo``, in ``.cache/bench_demo.sqlite3``, built once),
production settings (DEBUG off), served by Django's threaded WSGI server in this process; Debian's
chromium (Playwright) types each query key by key into the search field, as a worker does, and the page
itself measures, with ``performance.now()``, from the last ``input`` event to the moment the results of
the complete words are swapped in, settled and painted (the next animation frame): the debounce, the
request, the server, the swap. Target: under 250 ms. Results in the ``browser`` section of
``scripts/bench_results.md``.

Usage::

    .venv/bin/python scripts/bench_live_search.py [--runs 3] [--delay 120] [--rebuild]
"""

import argparse
import datetime
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE_PATH = ROOT / ".cache" / "bench_demo.sqlite3"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
TARGET_MS = 250.0
WORKER_EMAIL = "travailleur@reseau.test"
# What workers type on the demo (Rennes): broad and narrow words, accents left out as people do.
QUERIES = [
    "hebergement",
    "aide alimentaire",
    "dettes",
    "epicerie solidaire",
    "psychologue",
    "emploi jeunes",
    "violences",
    "ccas",
]

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reseau.settings")
os.environ["DATABASE_URL"] = f"sqlite:///{DATABASE_PATH}"
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("DJANGO_SITE_URL", "http://127.0.0.1:8000")
# Static files from the app directories (no collectstatic), served by Django's static handler.
os.environ.setdefault("DJANGO_STATICFILES_STORAGE", "django.contrib.staticfiles.storage.StaticFilesStorage")
os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
os.environ.setdefault("AXES_ENABLED", "false")
# Playwright's sync API runs an event loop in this thread, which Django would read as an async context.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

# Installed in the page before typing: the last keystroke, then the first settled swap whose request
# carried the whole text, one animation frame later (on screen).
MEASURE_JS = """
() => {
  const field = document.getElementById('id_q');
  const live = (window.__live = {last: null, result: null});
  field.addEventListener('input', () => { live.last = performance.now(); });
  document.body.addEventListener('htmx:afterSettle', (event) => {
    const xhr = event.detail.xhr;
    if (!xhr || live.result !== null) return;
    const typed = new URL(xhr.responseURL).searchParams.get('q');
    if (typed !== field.value) return;
    requestAnimationFrame(() => {
      if (live.result === null) live.result = performance.now() - live.last;
    });
  });
}
"""


def prepare_database(rebuild):
    from django.core.management import call_command

    from reseau.accounts.models import User

    if rebuild:
        DATABASE_PATH.unlink(missing_ok=True)
    call_command("migrate", interactive=False, verbosity=0)
    if not User.objects.filter(email=WORKER_EMAIL).exists():
        start = time.perf_counter()
        call_command("load_referentials", verbosity=0)
        call_command("load_communes", verbosity=0)
        call_command("load_demo", verbosity=0)
        print(
            f"Demo database built in {time.perf_counter() - start:.0f} s: {DATABASE_PATH.relative_to(ROOT)}"
        )


def start_server():
    """The app (and its static files) on a free port, in a thread of this process."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False)
    server.set_app(StaticFilesHandler(get_wsgi_application()))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def session_cookie(base_url):
    """A logged-in session for the demo worker, without going through the login form."""
    from django.conf import settings
    from django.test import Client

    from reseau.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(email=WORKER_EMAIL))
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": base_url,
    }


def measure(base_url, runs, delay_ms):
    from playwright.sync_api import sync_playwright

    samples = {query: [] for query in QUERIES}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(base_url=base_url)
        context.add_cookies([session_cookie(base_url)])
        page = context.new_page()
        for run in range(runs + 1):  # the first round warms the server and the browser up
            for query in QUERIES:
                page.goto("/recherche/")
                if page.locator("#id_q").count() == 0:
                    sys.exit(f"No search field at {page.url}: {page.content()[:500]}")
                page.evaluate(MEASURE_JS)
                page.locator("#id_q").press_sequentially(query, delay=delay_ms)
                page.wait_for_function("() => window.__live.result !== null", timeout=10_000)
                elapsed = page.evaluate("() => window.__live.result")
                if run:
                    samples[query].append(elapsed)
            print(f"  round {run}{' (warm-up)' if not run else ''} done", flush=True)
        browser.close()
    return samples


def percentile(values, fraction):
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def debounce_ms():
    import re

    template = (ROOT / "templates" / "partners" / "_search_form.html").read_text(encoding="utf-8")
    match = re.search(r"delay:(\d+)ms", template)
    return int(match.group(1)) if match else None


def report(samples, args, load):
    from bench_search import git_revision, machine_info

    machine = machine_info()
    every = [value for values in samples.values() for value in values]
    p50, p95, worst = percentile(every, 0.5), percentile(every, 0.95), max(every)
    lines = [
        "# Live search in a browser — demo data",
        "",
        f"- Date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, revision {git_revision()}",
        f"- Machine: {machine['cpus']} CPU, Python {machine['python']} (CPU speed loop "
        f"{machine['python_loop_ms']:.0f} ms), load average before {load[0][0]:.2f}, after {load[1][0]:.2f}",
        f"- `scripts/bench_live_search.py`: the demo (`load_demo`) on SQLite, DEBUG off, Django's threaded "
        "WSGI server in the bench process, Debian's chromium (Playwright, headless) logged in as the demo "
        f"worker. Each query typed key by key ({args.delay} ms between keys) into a freshly loaded "
        f"search page; the page measures from the last `input` event to the first settled swap of the "
        f"results of the whole text, one animation frame later. Debounce (`hx-trigger … delay`): "
        f"{debounce_ms()} ms, included. 1 warm-up round, then {args.runs} rounds.",
        "",
        f"Target: results on screen under {TARGET_MS:.0f} ms after the last keystroke. "
        f"Overall: p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {worst:.0f} ms "
        f"{'✅' if p95 < TARGET_MS else '❌'}",
        "",
        "| query | runs | p50 | max |",
        "|---|---|---|---|",
    ]
    for query, values in samples.items():
        lines.append(f"| {query} | {len(values)} | {statistics.median(values):.0f} | {max(values):.0f} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="rounds of every query after the warm-up")
    parser.add_argument("--delay", type=int, default=120, help="milliseconds between keystrokes")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the demo database")
    parser.add_argument("--no-write", action="store_true", help="print only, leave bench_results.md")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "scripts"))
    DATABASE_PATH.parent.mkdir(parents=True, exist_ok=True)
    import django

    django.setup()
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is missing: run `make setup`.")
    load_before = os.getloadavg()
    prepare_database(args.rebuild)
    server, base_url = start_server()
    try:
        samples = measure(base_url, args.runs, args.delay)
    finally:
        server.shutdown()
    text = report(samples, args, (load_before, os.getloadavg()))
    print()
    print(text)
    if not args.no_write:
        from bench_search import write_section

        write_section("browser", text)
        print("Written to scripts/bench_results.md (section browser)")


if __name__ == "__main__":
    main()
