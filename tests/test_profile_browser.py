"""The 特写 in a real browser: the profile, its print preview, the comparison and the dashboard's
cadre picker render with their charts drawn, all from 127.0.0.1, with no console error.
Screenshots go to test-artifacts/screenshots/ for a human to look at."""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
from werkzeug.serving import make_server

from tests import profile_data
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
HOST = "127.0.0.1"
TIMEOUT_MS = 15_000

if not CHROMIUM.exists():  # pragma: no cover - depends on the machine
    raise RuntimeError(f"{CHROMIUM} is not installed: browser tests need Debian's chromium package")


@pytest.fixture(scope="module")
def data(app):
    with app.app_context():
        return profile_data.build()


@pytest.fixture(scope="module")
def server(app):
    srv = make_server(HOST, 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, name="profile-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{srv.server_port}"
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser(chromium_session):
    """The worker's one headless Chromium (tests/conftest.py)."""
    return chromium_session


@pytest.fixture()
def page(browser):
    """A fresh page whose every request host and console error is recorded and checked after."""
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1366, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    pg = context.new_page()
    hosts, errors = [], []
    pg.on("request", lambda req: hosts.append(urlparse(req.url).hostname))
    pg.on("console", lambda msg: msg.type == "error" and "favicon" not in (msg.location or {}).get("url", "")
          and errors.append(msg.text))
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    try:
        assert set(hosts) <= {HOST}, f"requests left the machine: {set(hosts) - {HOST}}"
        assert not errors, errors
    finally:
        context.close()


def login(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("form[name=login] [type=submit]")
    assert urlparse(page.url).path != "/login/", f"login of {username} failed"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def assert_chart_drawn(page, selector: str) -> None:
    canvas = page.locator(f"{selector} canvas").first
    canvas.wait_for(state="attached")
    box = canvas.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100, (selector, box)
    # Something was painted: the canvas is not blank.
    painted = page.evaluate(
        """sel => { const c = document.querySelector(sel + ' canvas');
                    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                    let n = 0; for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) n++; } return n; }""",
        selector,
    )
    assert painted > 1000, (selector, painted)


def test_profile_and_print_preview(server, data, page):
    login(page, server, "ld_luoshan")
    response = page.goto(f"{server}/cadre-profile/{data['ids']['A']}")
    assert response.status == 200
    assert_chart_drawn(page, "#radar-chart")
    assert_chart_drawn(page, "#trend-chart")
    assert "五维度中“绩”最突出" in page.locator("#narrative").inner_text()
    assert page.locator(".navbar").first.is_visible()
    shot(page, "profile_ld_luoshan.png")

    page.emulate_media(media="print")
    page.wait_for_timeout(300)
    assert not page.locator(".navbar").first.is_visible(), "the navbar is printed"
    assert not page.locator(".profile-actions").is_visible(), "the buttons are printed"
    assert_chart_drawn(page, "#radar-chart")
    assert_chart_drawn(page, "#trend-chart")
    shot(page, "profile_print_ld_luoshan.png")
    # The width of an A4 page's printable area (186 mm at 96 dpi): charts follow the page.
    page.set_viewport_size({"width": 703, "height": 1000})
    page.wait_for_timeout(300)
    assert_chart_drawn(page, "#radar-chart")
    width = page.evaluate("document.querySelector('#trend-chart canvas').getBoundingClientRect().width")
    assert width <= 703, width
    shot(page, "profile_print_a4_ld_luoshan.png")
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf[:4] == b"%PDF" and len(pdf) > 20_000
    (SHOTS / "profile_print_ld_luoshan.pdf").write_bytes(pdf)


def test_compare_page(server, data, page):
    login(page, server, "ld_luoshan")
    ids = ",".join(str(data["ids"][k]) for k in ("A", "B", "C"))
    response = page.goto(f"{server}/cadre-profile/compare?ids={ids}")
    assert response.status == 200
    assert_chart_drawn(page, "#radar-chart")
    assert_chart_drawn(page, "#trend-chart")
    header = page.locator(".compare-table thead").inner_text()
    for name in ("特写甲", "特写乙", "特写丙"):
        assert name in header
    shot(page, "profile_compare_ld_luoshan.png")


def test_conclusion_form_for_staff(server, data, page):
    login(page, server, "kpy_luoshan")
    page.goto(f"{server}/cadre-profile/{data['ids']['B']}")
    assert_chart_drawn(page, "#radar-chart")
    page.fill("#conclusion-text", "工作扎实，作风务实。")
    with page.expect_navigation():
        page.click(".conclusion-form [type=submit]")
    assert "考评结论已保存" in page.locator("body").inner_text()
    assert "工作扎实，作风务实。" in page.locator(".conclusion-text").inner_text()
    shot(page, "profile_conclusion_kpy_luoshan.png")


def test_dashboard_picker_opens_profile(server, data, page):
    login(page, server, "ld_luoshan")
    response = page.goto(f"{server}/dashboard/?unit=XY03T02&period={data['periods'][2023]}")
    assert response.status == 200
    assert "特写甲" in page.locator("#ranked").inner_text()
    shot(page, "dashboard_ld_luoshan.png")
    page.locator("#cadre-picker + .select2 .select2-selection").click()
    search = page.locator(".select2-container--open .select2-search__field")
    with page.expect_response(lambda r: urlparse(r.url).path == "/lookup/cadres" and "q=" in r.url
                              and data["codes"]["C"] in r.url):
        search.press_sequentially(data["codes"]["C"])
    page.locator(".select2-results__option", has_text="特写丙").first.click()
    page.wait_for_url(f"**/cadre-profile/{data['ids']['C']}")
    assert_chart_drawn(page, "#radar-chart")


def test_dashboard_of_the_demo_county(server, page):
    """The default dashboard of 罗山县 (the demo's latest published period), then a profile from it."""
    login(page, server, "ld_luoshan")
    response = page.goto(f"{server}/dashboard/")
    assert response.status == 200
    shot(page, "dashboard_default_ld_luoshan.png")
    links = page.locator("#ranked .top-row a")
    assert links.count() > 0, "the demo county's dashboard lists its ranked cadres"
    with page.expect_navigation():
        links.first.click()
    assert "/cadre-profile/" in page.url
    assert_chart_drawn(page, "#radar-chart")
    assert_chart_drawn(page, "#trend-chart")
    shot(page, "profile_demo_cadre_ld_luoshan.png")
