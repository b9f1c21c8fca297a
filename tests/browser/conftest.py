"""Browser tests: Playwright drives Debian's chromium against pytest-django's live server.

pytest-playwright provides the session-wide browser (one per session) and a fresh context and page
per test; this file points it at ``/usr/bin/chromium`` and adds what our tests check on every page:

- ``login(page, user)`` logs in through the real login form;
- ``assert_accessible(page)`` runs axe-core (WCAG 2.0/2.1 A and AA) and lists each violation;
- ``assert_fits_width(page)`` fails when the page scrolls sideways on a 390 px wide phone;
- every console error (a Content-Security-Policy violation, a missing static file, an uncaught
  exception) fails the test that caused it.

A missing browser or axe-core is a failure, never a skip: ``make setup`` installs both.
"""

import contextlib
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.factories import DEFAULT_PASSWORD

# Playwright's sync API runs an event loop in the test thread, which Django reads as an async context.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = Path(django_settings.BASE_DIR) / ".cache" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE_WIDTH = 390
PHONE_HEIGHT = 844

_CONSOLE_ERRORS = pytest.StashKey[list]()
_PAGE = pytest.StashKey[object]()


@pytest.hookimpl(trylast=True)  # after pytest-django has put transactional tests after the others
def pytest_collection_modifyitems(items):
    """Every test in this folder is a browser test, and they run last.

    Once Playwright's sync API has started, its event loop runs in the main thread until the end of
    the session: ``asyncio.run`` and asgiref's ``async_to_sync`` (async views under the test client,
    async signal receivers) would fail in any test that ran after the first browser test.
    """
    here = Path(__file__).parent
    browser_items = [item for item in items if here in Path(item.path).parents]
    for item in browser_items:
        item.add_marker(pytest.mark.browser)
    if browser_items:
        others = [item for item in items if here not in Path(item.path).parents]
        items[:] = others + browser_items


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make setup` (installs Debian's chromium).", pytrace=False)
    return {
        "headless": True,
        **browser_type_launch_args,  # --headed and --slowmo still work for debugging
        "executable_path": str(CHROMIUM),
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def base_url(live_server):
    """Pages are addressed relative to the live server: ``page.goto(reverse("login"))``.

    Requesting the live server this way also gives every browser test a transactional database.
    """
    return live_server.url


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "fr-FR", "timezone_id": "Europe/Paris"}


@pytest.fixture(scope="session")
def axe_source():
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make setup` (fetches the pinned axe-core).", pytrace=False)
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(autouse=True)
def _live_server_settings(settings):
    # The manifest storage has no manifest under the live server: plain URLs, served from the finders.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def page(page, request):
    """pytest-playwright's page, whose console errors fail the test (see pytest_runtest_call)."""
    errors = []

    def on_console(message):
        location = message.location.get("url") or page.url
        # Chromium asks for /favicon.ico by itself; we serve none (yet), which is not a page error.
        if message.type == "error" and urlsplit(location).path != "/favicon.ico":
            errors.append(f"console error on {location}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(f"uncaught exception on {page.url}: {error}"))
    request.node.stash[_CONSOLE_ERRORS] = errors
    request.node.stash[_PAGE] = page
    return page


@pytest.fixture
def console_errors(page, request):
    """The console errors seen so far; a test that expects one removes it from this list."""
    return request.node.stash[_CONSOLE_ERRORS]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield  # a test that already failed is reported as is
    errors = item.stash.get(_CONSOLE_ERRORS, None)
    if errors is None:
        return result
    page = item.stash[_PAGE]
    with contextlib.suppress(PlaywrightError):  # the page may be gone; the errors seen so far still count
        page.evaluate("0")  # one round trip, so console messages still in flight are received
    if errors:
        pytest.fail(
            "The browser reported errors (a CSP violation, a missing file or a script error):\n"
            + "\n".join(f"  - {error}" for error in errors),
            pytrace=False,
        )
    return result


@pytest.fixture
def login():
    """``login(page, user)``: log in through the real login form and land on the home page."""

    def log_in(page, user, password=DEFAULT_PASSWORD):
        page.goto(reverse("login"))
        page.get_by_label("Adresse électronique").fill(user.email)
        page.get_by_label("Mot de passe").fill(password)
        page.get_by_role("button", name="Se connecter").click()
        expect(page).to_have_url(reverse("home"))
        return page

    return log_in


@pytest.fixture
def assert_accessible(axe_source):
    """``assert_accessible(page)``: axe-core finds no WCAG 2.0/2.1 A or AA violation on the page."""

    def check(page):
        # page.evaluate is not subject to the page's CSP, unlike add_script_tag.
        if page.evaluate("typeof window.axe === 'undefined'"):
            page.evaluate(axe_source)
        violations = page.evaluate(
            """async (tags) => {
                const results = await axe.run(document, {
                    runOnly: {type: "tag", values: tags},
                    resultTypes: ["violations"],
                });
                return results.violations.map((violation) => ({
                    id: violation.id,
                    impact: violation.impact,
                    help: violation.help,
                    helpUrl: violation.helpUrl,
                    nodes: violation.nodes.map((node) => ({
                        target: node.target.join(" "),
                        summary: node.failureSummary,
                    })),
                }));
            }""",
            AXE_TAGS,
        )
        if violations:
            lines = [f"axe-core found {len(violations)} accessibility violation(s) on {page.url}:"]
            for violation in violations:
                lines.append(
                    f"- {violation['id']} ({violation['impact']}): {violation['help']} {violation['helpUrl']}"
                )
                for node in violation["nodes"]:
                    summary = " ".join((node["summary"] or "").split())
                    lines.append(f"    {node['target']}: {summary}")
            pytest.fail("\n".join(lines), pytrace=False)

    return check


@pytest.fixture
def assert_fits_width():
    """``assert_fits_width(page)``: at 390 px wide (a phone), nothing scrolls sideways."""

    def check(page, width=PHONE_WIDTH):
        previous = page.viewport_size
        page.set_viewport_size({"width": width, "height": PHONE_HEIGHT})
        try:
            scroll_width = page.evaluate("document.documentElement.scrollWidth")
            if scroll_width > width:
                overflowing = page.evaluate(
                    """(width) => Array.from(document.querySelectorAll("body *")).flatMap((element) => {
                        const right = Math.round(element.getBoundingClientRect().right);
                        const style = getComputedStyle(element);
                        const spills = element.scrollWidth > element.clientWidth && element.clientWidth > 0
                            && style.overflowX === "visible";
                        if (right <= width && !spills) return [];
                        const classes = typeof element.className === "string" && element.className.trim()
                            ? "." + element.className.trim().split(/\\s+/).join(".") : "";
                        const name = element.tagName.toLowerCase() + (element.id ? "#" + element.id : "") + classes;
                        return [right > width
                            ? `${name}: right edge at ${right} px`
                            : `${name}: content ${element.scrollWidth} px wide in a ${element.clientWidth} px box`];
                    }).slice(0, 10)""",
                    width,
                )
                pytest.fail(
                    f"{page.url} is {scroll_width} px wide at a {width} px viewport; overflowing:\n"
                    + "\n".join(f"  - {element}" for element in overflowing),
                    pytrace=False,
                )
        finally:
            if previous:
                page.set_viewport_size(previous)

    return check


@pytest.fixture
def assert_admin_accessible(assert_accessible, console_errors):
    """conftest's ``assert_accessible`` on an admin change form.

    The admin's forms.css has an ``@import``; axe-core's CSS preload re-creates such sheets as ``<style>``
    elements, which our CSP refuses. Those refusals are axe's own doing, not the page's: they are dropped;
    any other console error still fails the test.
    """

    def check(page):
        before = len(console_errors)
        assert_accessible(page)
        page.evaluate("0")  # a round trip: console messages in flight are received
        console_errors[before:] = [
            error for error in console_errors[before:] if "Applying inline style violates" not in error
        ]

    return check
