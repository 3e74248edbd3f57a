"""Fixtures for the browser tests: Debian's Chromium driven by Playwright.

The tests run against pytest-django's ``live_server`` (a real HTTP server in a
thread of the test process, sharing the in-memory SQLite connection), so they
need ``transactional_db``: a plain ``db`` transaction would be invisible to the
server thread's requests.

Chromium comes from the system (``/usr/bin/chromium``, or ``CHROMIUM_PATH``),
never from Playwright's own download. Without it the tests are skipped, unless
``REQUIRE_BROWSER=1`` (CI sets it), which turns the skip into a failure.
"""

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.factories import PASSWORD

CHROMIUM_ARGS = [
    "--no-sandbox",  # the tests run as root in containers
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}

# axe-core's minified build is ~650 KB, more than we want in the repository, so
# it is fetched from the npm registry (`npm pack`) on first use and kept in
# pytest's cache directory. Version and SHA-256 are pinned: an upgrade is a
# deliberate edit here, and a tampered or truncated download fails loudly.
# AXE_CORE_PATH points at a local axe.min.js instead (an offline CI cache).
AXE_VERSION = "4.14.1"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"

# Every axe violation seen in the session, for the terminal summary: the tests
# fail only on serious and critical ones, but the rest should be seen too.
AXE_FINDINGS: list[tuple[str, dict]] = []


def _unavailable(reason: str):
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (and REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(reason)


def _chromium_path() -> str | None:
    path = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if os.path.isfile(path) and os.access(path, os.X_OK):
        return path
    return shutil.which("chromium") or shutil.which("chromium-browser")


# --- Pytest hooks ---------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    # Remember each phase's outcome on the item, so fixtures can tell at
    # teardown whether the test failed (and save a screenshot of its pages).
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def pytest_terminal_summary(terminalreporter):
    if not AXE_FINDINGS:
        return
    terminalreporter.section("axe-core findings (all impacts)")
    for label, violation in AXE_FINDINGS:
        terminalreporter.line(f"{label}: {format_violation(violation)}")


# --- The server -----------------------------------------------------------------


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    # Production uses WhiteNoise's manifest storage, which needs collectstatic's
    # manifest to render {% static %}. The live server serves the files straight
    # from the finders, so the plain storage is all the tests need.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        },
    }


# --- The browser ----------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    executable = _chromium_path()
    if executable is None:
        _unavailable("Chromium not found (install it or set CHROMIUM_PATH)")
    # Playwright's sync API keeps an asyncio loop marked as running on this
    # thread, which Django's async-safety check mistakes for async code calling
    # the ORM (the per-test database flush, fixtures creating rows). Nothing
    # runs concurrently here, so the check is off for exactly as long as
    # Playwright runs: one module (pytest-randomly keeps a module's tests
    # together), so the rest of the suite still runs with it on.
    with pytest.MonkeyPatch.context() as mp, sync_playwright() as playwright:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@dataclass
class ConsoleProblem:
    text: str
    url: str


@dataclass
class Browsing:
    """Opens pages and watches them for console errors and uncaught exceptions
    (a CSP violation, an htmx error, a missing file all show up there)."""

    browser: object
    contexts: list = field(default_factory=list)
    problems: list[ConsoleProblem] = field(default_factory=list)
    expected: set[str] = field(default_factory=set)

    def new_page(
        self,
        *,
        js: bool = True,
        bypass_csp: bool = False,
        viewport: dict = DESKTOP,
        color_scheme: str = "light",
        storage_state: dict | None = None,
        **options,
    ):
        context = self.browser.new_context(
            java_script_enabled=js,
            bypass_csp=bypass_csp,
            viewport=viewport,
            color_scheme=color_scheme,
            storage_state=storage_state,
            locale="en-US",
            timezone_id="UTC",
            **options,
        )
        context.set_default_timeout(5_000)
        self.contexts.append(context)
        page = context.new_page()
        page.on("console", self._on_console)
        page.on(
            "pageerror",
            lambda error: self.problems.append(
                ConsoleProblem(f"uncaught: {error}", page.url)
            ),
        )
        return page

    def expect_http_error(self, path: str) -> None:
        """Tell the watcher an error status for ``path`` is the test's point
        (Chromium logs every 4xx/5xx resource to the console)."""
        self.expected.add(path)

    def _on_console(self, message) -> None:
        if message.type != "error":
            return
        url = message.location.get("url", "")
        if any(url.endswith(path) for path in self.expected):
            return
        self.problems.append(ConsoleProblem(message.text, url))


@pytest.fixture
def browsing(browser, request, live_server) -> Iterator[Browsing]:
    browsing = Browsing(browser)
    yield browsing
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        for n, context in enumerate(browsing.contexts):
            for m, page in enumerate(context.pages):
                name = f"{request.node.name}-{n}-{m}".replace("/", "_")
                page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
                (ARTIFACTS / f"{name}.html").write_text(page.content())
    for context in browsing.contexts:
        context.close()
    problems = browsing.problems
    assert not problems, "console errors in the browser:\n" + "\n".join(
        f"  {problem.text} (at {problem.url})" for problem in problems
    )


@pytest.fixture
def new_page(browsing):
    """``new_page(js=True, bypass_csp=False, viewport=DESKTOP, ...)``: a page in
    a fresh browser context (its own cookies), closed after the test."""
    return browsing.new_page


# --- Users ----------------------------------------------------------------------


def log_in(page, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Log in through the real login form, then land on the task list."""
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}/tasks/")
    wait_for_htmx(page)


def wait_for_htmx(page) -> None:
    """Wait until htmx has no request, swap or settle in progress.

    htmx focuses a swapped page's autofocus input when the swap settles, a
    moment after the new content shows; a test that moves focus before then
    has it taken back. (Without JavaScript nothing is ever in progress.)
    """
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )


# --- Screenshots ----------------------------------------------------------------


def save_screenshot(page, name: str) -> Path:
    """A full-page PNG in docs/screenshots/ (overwritten on every run), with
    no focus ring or caret, so the picture depends only on the page."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.screenshot(path=path, full_page=True, animations="disabled", caret="hide")
    return path


# --- axe-core -------------------------------------------------------------------


def _fetch_axe(directory: Path) -> Path:
    target = directory / f"axe-{AXE_VERSION}.min.js"
    if target.is_file() and _sha256(target.read_bytes()) == AXE_SHA256:
        return target
    npm = shutil.which("npm")
    if npm is None:
        _unavailable("npm is needed once to fetch axe-core (or set AXE_CORE_PATH)")
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [npm, "pack", f"axe-core@{AXE_VERSION}", "--silent"],
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            _unavailable(f"npm pack axe-core@{AXE_VERSION} failed: {done.stderr}")
        with tarfile.open(Path(tmp) / done.stdout.strip().splitlines()[-1]) as tar:
            source = tar.extractfile("package/axe.min.js").read()
    digest = _sha256(source)
    assert digest == AXE_SHA256, f"axe.min.js has SHA-256 {digest}, not the pinned one"
    target.write_bytes(source)
    return target


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="session")
def axe_source(request) -> str:
    if path := os.environ.get("AXE_CORE_PATH"):
        return Path(path).read_text()
    cache = getattr(request.config, "cache", None)
    directory = (
        cache.mkdir("axe-core")
        if cache is not None
        else Path(tempfile.gettempdir()) / "axe-core"
    )
    directory.mkdir(parents=True, exist_ok=True)
    return _fetch_axe(directory).read_text()


def format_violation(violation: dict) -> str:
    targets = "; ".join(
        " ".join(map(str, node["target"])) for node in violation["nodes"]
    )
    return (
        f"[{violation['impact']}] {violation['id']}: {violation['help']} "
        f"({len(violation['nodes'])}x: {targets})"
    )


@pytest.fixture
def axe(axe_source) -> Callable:
    """``axe(page, label)``: run axe-core on the page as it is and return its
    violations (all impacts). The page's context needs ``bypass_csp=True``:
    the site's CSP rightly refuses an injected inline script."""

    def run(page, label: str) -> list[dict]:
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.add_script_tag(content=axe_source)
        violations = page.evaluate(
            """async () => {
                const results = await axe.run(document, {resultTypes: ["violations"]});
                return results.violations.map(v => ({
                    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                    nodes: v.nodes.map(n => ({target: n.target, html: n.html,
                                              summary: n.failureSummary})),
                }));
            }"""
        )
        AXE_FINDINGS.extend((label, violation) for violation in violations)
        return violations

    return run
