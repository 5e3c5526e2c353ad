"""Real-browser checks: the app served on 127.0.0.1 and driven by headless Chromium.

What a user actually sees: Chinese UI, the row scope on the cadre list, the search-as-you-type
unit field, and that every menu link a role is shown opens for that role. Every page is also
watched for requests leaving the machine and for Content-Security-Policy violations.
Screenshots go to test-artifacts/screenshots/ (git-ignored) for a human to look at.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlparse

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL_HOST = "127.0.0.1"
# English UI words FAB shows when a label or a translation is missing.
ENGLISH_WORDS = ("Search", "Actions", "Record Count", "Add Filter", "Add", "Edit", "Delete", "Show", "List",
                 "Not In", "In", "Profile", "Logout", "Sign In", "Username", "Password", "Home", "Security")
TIMEOUT_MS = 10_000

if not CHROMIUM.exists():  # pragma: no cover - depends on the machine
    # A missing browser fails the suite instead of skipping it (.ci/run installs chromium).
    raise RuntimeError(f"{CHROMIUM} is not installed: browser tests need Debian's chromium package "
                       "(apt-get install chromium fonts-noto-cjk)")


# --- fixtures ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def live_server(app):
    """The session app on a real HTTP port of 127.0.0.1, in a daemon thread."""
    server = make_server(LOCAL_HOST, 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://{LOCAL_HOST}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser(chromium_session):
    """The worker's one headless Chromium (tests/conftest.py), shared by every browser module."""
    return chromium_session


class Watched:
    """A page with every request, console error and page error recorded."""

    def __init__(self, page):
        self.page = page
        self.requests: list[str] = []
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.failed: list[str] = []
        page.on("request", lambda req: self.requests.append(req.url))
        page.on("response", self._response)
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.page_errors.append(f"{page.url}: {exc}"))

    def _response(self, resp):
        if resp.status >= 400 and resp.request.resource_type != "document":
            self.failed.append(f"{resp.status} {resp.url}")

    def _console(self, msg):
        if msg.type != "error":
            return
        source = (msg.location or {}).get("url", "")
        if "Failed to load resource" in msg.text and urlparse(source).path == "/favicon.ico":
            return  # the browser asks for /favicon.ico by itself; the app has none (404)
        self.console_errors.append(f"{self.page.url}: {msg.text} [{source}]")

    def check(self):
        """No request left 127.0.0.1; no CSP violation, script error or failed resource was reported."""
        foreign = [u for u in self.requests if urlparse(u).hostname != LOCAL_HOST]
        csp = [m for m in self.console_errors + self.page_errors if "Content Security Policy" in m]
        problems = {
            "requests leaving the machine": foreign,
            "CSP violations": csp,
            "JavaScript errors": [m for m in self.page_errors if m not in csp],
            "page resources that failed to load": self.failed,
            "other console errors": [m for m in self.console_errors if m not in csp],
        }
        report = "\n".join(f"{k}:\n  " + "\n  ".join(v) for k, v in problems.items() if v)
        assert not report, report


@pytest.fixture()
def open_page(browser):
    """Make a watched page in a fresh browser context (own cookies); checked and closed after."""
    contexts, watched = [], []

    def make():
        context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai",
                                      viewport={"width": 1366, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        w = Watched(context.new_page())
        watched.append(w)
        return w

    yield make
    try:
        for w in watched:
            w.check()
    finally:
        for context in contexts:
            context.close()


def login(page, base: str, username: str) -> None:
    """Log in through the real login form."""
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("form[name=login] [type=submit]")
    assert urlparse(page.url).path != "/login/", f"login of {username} failed: still on {page.url}"


def shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def english_words(text: str) -> list[str]:
    return [w for w in ENGLISH_WORDS if re.search(rf"\b{re.escape(w)}\b", text)]


# --- tests ---------------------------------------------------------------------------

def test_cadre_list_scoped_and_chinese(app, live_server, open_page):
    from app.extensions import db
    from app.models import Cadre, OrgUnit

    with app.app_context():
        luoshan = set(db.session.scalars(
            select(Cadre.code).join(OrgUnit, Cadre.org_unit_id == OrgUnit.id).where(OrgUnit.code.startswith("XY03"))
        ))
        all_codes = set(db.session.scalars(select(Cadre.code)))
    assert luoshan and len(all_codes) > len(luoshan)

    w = open_page()
    page = w.page
    login(page, live_server, "kpy_luoshan")
    response = page.goto(f"{live_server}/cadres/list/")
    assert response.status == 200
    heading = page.locator(".panel-heading").first.inner_text()
    assert "干部名册" in heading, f"list heading is {heading!r} (title {page.title()!r})"
    table = page.locator("table.table-bordered")  # the list (the search widget has a table too)
    rows = table.locator("tbody tr")
    assert rows.count() > 0, "the cadre list shows no rows"
    text = table.inner_text()
    shown = set(re.findall(r"\bXY\d{5}\b", text))
    assert shown, "no cadre codes visible in the table"
    assert shown <= all_codes
    foreign = sorted(shown - luoshan)
    assert not foreign, f"kpy_luoshan sees cadres outside 罗山县: {foreign}"
    # The list's total (over all pages) is exactly 罗山县's subtree.
    total = re.search(r"(?:记录数目|记录数|Record Count)\s*[:：]\s*(\d+)", page.locator("body").inner_text())
    assert total and int(total.group(1)) == len(luoshan), f"record count {total and total.group(0)} != {len(luoshan)}"

    # FAB's search panel, driven by its inline script (so it also proves the CSP nonce reaches it):
    # open it, add a filter on 姓名 and read the operators offered.
    page.click("#accordion1 .accordion-toggle")
    page.click("#filter_form .dropdown-toggle")
    page.click("#filter_form a.filter[name=name]")
    operators = page.locator("#filter_form select.filter-op option").all_inner_texts()
    assert operators, "adding a search filter did nothing (FAB's filter script did not run?)"
    english_ops = [op for op in operators if re.search(r"[A-Za-z]", op)]
    assert not english_ops, f"English filter operators: {english_ops} (all: {operators})"
    # innerText keeps .sr-only spans (clipped, not hidden): what a screen reader reads counts too.
    found = english_words(page.locator("body").inner_text())
    assert not found, f"English UI words on the cadre list: {found}"
    shot(page, "cadres_list_kpy_luoshan.png")


def test_cadre_edit_unit_lookup(app, live_server, open_page):
    from app.extensions import db
    from app.models import Cadre

    with app.app_context():
        cadre_id = db.session.scalar(select(Cadre.id).order_by(Cadre.id).limit(1))

    w = open_page()
    page = w.page
    login(page, live_server, "admin")
    response = page.goto(f"{live_server}/cadres/edit/{cadre_id}")
    assert response.status == 200
    select_el = page.locator("select.lookup-select#org_unit")
    assert select_el.count() == 1, "所属单位 is not a lookup select"
    assert "/lookup/units" in select_el.get_attribute("data-url")
    container = page.locator("select#org_unit + .select2")
    container.locator(".select2-selection").click()
    search = page.locator(".select2-container--open .select2-search__field")

    def is_luoshan_lookup(resp):
        url = urlparse(resp.url)
        return url.path == "/lookup/units" and parse_qs(url.query).get("q") == ["罗山"]

    with page.expect_response(is_luoshan_lookup) as info:
        search.press_sequentially("罗山")
    lookup = info.value
    assert lookup.status == 200
    results = lookup.json()["results"]
    assert results and all("罗山" in r["text"] for r in results)
    options = page.locator(".select2-results__option", has_text="罗山")
    options.first.wait_for()
    texts = page.locator(".select2-results__option").all_inner_texts()
    assert texts and all("罗山" in t for t in texts), texts
    assert set(texts) == {r["text"] for r in results}
    shot(page, "cadre_edit_admin.png")


MENU_USERS = ("admin", "kpy_city", "dcy_luoshan", "llr_luoshan_t01", "ld_luoshan")


@pytest.mark.parametrize("username", MENU_USERS)
def test_every_menu_link_opens(live_server, open_page, username):
    w = open_page()
    page = w.page
    login(page, live_server, username)
    page.goto(f"{live_server}/")
    shot(page, f"home_{username}.png")
    links = page.eval_on_selector_all(
        ".navbar-collapse a[href]",
        "els => els.map(a => ({text: a.textContent.trim(), href: a.getAttribute('href')}))",
    )
    menu = [link for link in links if link["href"] not in ("#", "") and "/logout" not in link["href"]]
    print(f"\n{username} menu: " + "; ".join(f"{m['text']} -> {m['href']}" for m in menu))
    english = english_words(" ".join(m["text"] for m in menu))
    assert not english, f"English menu entries for {username}: {english}"
    failures = []
    for link in menu:
        url = urljoin(page.url, link["href"])
        assert urlparse(url).hostname == LOCAL_HOST, f"menu link leaves the app: {url}"
        response = page.goto(url)
        final = urlparse(page.url).path
        if response is None or response.status >= 400 or final.startswith("/login"):
            failures.append(f"{link['text']} {link['href']} -> {response and response.status} {page.url}")
    assert not failures, f"menu links {username} sees but cannot open:\n" + "\n".join(failures)
