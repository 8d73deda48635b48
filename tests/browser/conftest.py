"""
Browser tests: Playwright's sync API driving Debian's Chromium against pytest-django's
live server on 127.0.0.1, with the seed content loaded.

`make test` installs Chromium (scripts/ensure-chromium.sh) and the npm checkers (axe-core,
vnu-jar, from package-lock.json). Where they are missing these tests fail and say what to
install; they never skip, so a CI run cannot pass without them.
"""

import os
from pathlib import Path

import pytest
from django.core.management import call_command

# Playwright's sync API keeps an asyncio event loop running in the main thread, so Django's
# guard against ORM calls from async code would refuse the tests' own database work.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# pytest-django's live server listens on localhost unless told; the tests use 127.0.0.1.
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("BALTMET_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update"]
NODE_MODULES = ROOT / "node_modules"
AXE_JS = NODE_MODULES / "axe-core" / "axe.min.js"
VNU_JAR = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"

DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 375, "height": 812}
# Short: everything is local, and a hanging test should fail fast.
TIMEOUT_MS = 5_000
NAVIGATION_TIMEOUT_MS = 10_000

SEED_FIXTURES = ("regions_seed", "news_seed")


def require_file(path, what):
    if not path.is_file():
        pytest.fail(
            f"{what} is missing ({path}). Run `make test`, which installs it "
            "(`npm ci --ignore-scripts` from package-lock.json).",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("The playwright package is missing: install requirements-test.txt (make test does).",
                    pytrace=False)
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}. Install Debian's package "
            "(`apt-get install chromium`; `make test` does so as root) or set BALTMET_CHROMIUM "
            "to a Chromium binary. Never `playwright install`: it downloads a browser.",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def seeded(transactional_db):
    """The seed content, in the database the live server reads (reloaded per test, since
    every live-server test ends by emptying the tables)."""
    call_command("loaddata", *SEED_FIXTURES, verbosity=0)


@pytest.fixture
def site(live_server, seeded):
    """The live server's base URL, without a trailing slash, with the seed content loaded."""
    return live_server.url.rstrip("/")


class BrowserErrors(list):
    """Console errors and uncaught exceptions seen by a page, for tests to assert on."""


def _new_context(browser, **options):
    context = browser.new_context(**options)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    return context


@pytest.fixture
def new_context(browser):
    """Make browser contexts (a fresh profile each: cookies, storage) closed after the test."""
    contexts = []

    def make(viewport=DESKTOP, **options):
        context = _new_context(browser, viewport=viewport, **options)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def watch_errors(page):
    """Collect the page's console errors and uncaught exceptions in `page.errors`.

    A browser asks every site for /favicon.ico; this one has none, and that 404 is not an error
    of the page.
    """
    errors = BrowserErrors()

    def on_console(message):
        url = message.location.get("url", "")
        if message.type == "error" and not url.endswith("/favicon.ico"):
            errors.append(f"console: {message.text} ({url})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    return errors


@pytest.fixture
def page(new_context):
    """A desktop-sized page in a fresh context; `page.errors` collects console errors."""
    page = new_context().new_page()
    page.errors = watch_errors(page)
    return page
