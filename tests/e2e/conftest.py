"""Playwright in headless Chromium from Debian's `chromium` package (no browser download).

Every test here is marked `e2e`. Screenshots go to tests/e2e/screenshots/ for review.
"""

import os
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls our tests make
# around it are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOTS = Path(__file__).parent / "screenshots"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


def chromium_path():
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("Chromium is not installed: `apt-get install chromium` (make test does it).")
    return path


# Per module, not per session: while Playwright runs, its event loop owns this thread, and
# database connections opened by the tests that follow would belong to its context, outliving
# the test database's teardown.
@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    yield from _page(browser, live_server)


@pytest.fixture
def axe_page(browser, live_server):
    """A page for the accessibility scan only: its context ignores the app's Content Security
    Policy, so axe-core can be injected as an inline script. Error statuses are checked by the
    scan itself (a 404 page is expected to answer 404), so "failed to load" notices are left to it.
    """
    yield from _page(browser, live_server, bypass_csp=True, also_benign=(FAILED_TO_LOAD,))


FAILED_TO_LOAD = "Failed to load resource: the server responded with a status of"


def _page(browser, live_server, also_benign=(), **options):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900}, **options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and not _benign(msg.text) and not msg.text.startswith(also_benign)
            else None
        ),
    )
    yield page
    context.close()
    # A console error (a CSP violation, a failed script) is a bug even if the test passed.
    assert not errors, f"browser console errors: {errors}"


def _benign(text):
    # Leaving a page while a live update is in flight aborts it, and htmx reports the abort on
    # the console. That is the browser doing its job, not a bug in the page.
    return text.startswith(("htmx:sendAbort", "htmx:afterRequest"))


@pytest.fixture
def screenshot(request):
    SCREENSHOTS.mkdir(exist_ok=True)
    # The page the test drives: the accessibility scan's own page if it uses one.
    page = request.getfixturevalue("axe_page" if "axe_page" in request.fixturenames else "page")

    def take(name, full_page=True):
        path = SCREENSHOTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take


def draw_signature(page):
    """A stroke on the consent form's signature pad, as a finger or a mouse would draw it."""
    canvas = page.locator("#signature-pad")
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 40)
    page.mouse.down()
    page.mouse.move(box["x"] + 120, box["y"] + 80)
    page.mouse.move(box["x"] + 220, box["y"] + 30)
    page.mouse.up()


def login(page, username, password="correct horse battery"):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


# What the accessibility scan found below "serious", by test id, for the summary and the report.
AXE_NOTES = {}


def pytest_terminal_summary(terminalreporter):
    if not AXE_NOTES:
        return
    import json

    SCREENSHOTS.mkdir(exist_ok=True)
    report = SCREENSHOTS / "axe-report.json"
    report.write_text(json.dumps(AXE_NOTES, indent=2, ensure_ascii=False))
    by_rule = {}
    for test_id, violations in AXE_NOTES.items():
        for violation in violations:
            by_rule.setdefault((violation["impact"], violation["id"], violation["help"]), []).append(test_id)
    write = terminalreporter.write_line
    terminalreporter.section("accessibility (axe-core)")
    write(f"{len(AXE_NOTES)} pages scanned; violations by rule (impact, rule, pages); full list in {report}")
    for (impact, rule, help_text), pages in sorted(by_rule.items()):
        write(f"  [{impact}] {rule}: {help_text} -- {len(pages)} page(s): {', '.join(sorted(pages))}")
    if not by_rule:
        write("  none")


@pytest.fixture(autouse=True)
def _queued_tasks_run_at_once():
    """No Celery worker runs beside the browser: what the app queues when a transaction
    commits (a signed chart's aftercare sheet) runs at once, as a worker would moments later.
    The worker tests (tests/core/test_worker.py, reminders/test_reminder_worker.py) run real ones."""
    from mesoclinic.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous
