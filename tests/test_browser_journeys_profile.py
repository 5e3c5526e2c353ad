"""Issue 14, point 14: the 领导看板 in a real browser draws its charts (grade distribution, the
lights of the supervision items, the trend over periods, the sub-units) with the ECharts copy
served from 127.0.0.1, drills down by unit (a sub-unit's link or bar opens the same dashboard
for that unit's subtree; a unit outside the reader's scope answers 404), and the profile no
longer shows leaders the raw-JSON "数据" button. Screenshots as a county leader and as the city
go to test-artifacts/screenshots/."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from tests import profile_data
from tests.test_browser import LOCAL_HOST, browser, live_server, login, open_page, shot  # noqa: F401

CHARTS = ("#chart-grades", "#chart-lights", "#chart-trend", "#chart-units")


@pytest.fixture(scope="module")
def data(app):
    with app.app_context():
        return profile_data.build()


def painted_pixels(page, selector: str) -> int:
    """Pixels painted on the chart's canvas (0 when there is no canvas)."""
    return page.evaluate(
        """sel => { const c = document.querySelector(sel + ' canvas');
                    if (!c) return 0;
                    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                    let n = 0; for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) n++; } return n; }""",
        selector,
    )


def assert_charts_drawn(page, selectors=CHARTS) -> None:
    for selector in selectors:
        page.locator(f"{selector} canvas").first.wait_for(state="attached")
        box = page.locator(f"{selector} canvas").first.bounding_box()
        assert box and box["width"] > 200 and box["height"] > 200, (selector, box)
        assert painted_pixels(page, selector) > 3000, f"{selector}: nothing drawn"


def assert_only_local_scripts(w) -> None:
    scripts = [u for u in w.requests if u.endswith(".js") or ".js?" in u]
    assert any("/static/vendor/echarts/echarts.min.js" in u for u in scripts), scripts
    assert all(urlparse(u).hostname == LOCAL_HOST for u in w.requests), w.requests


def test_county_dashboard_draws_charts_and_drills_down(live_server, open_page, data):  # noqa: F811  (fixtures)
    period = data["periods"][2023]
    w = open_page()
    page = w.page
    login(page, live_server, "ld_luoshan")
    response = page.goto(f"{live_server}/dashboard/?period={period}")
    assert response.status == 200
    assert_charts_drawn(page)
    assert_only_local_scripts(w)
    # Every figure the charts draw is in the page's data block: the test subtree's grades and lights.
    chart = page.evaluate("JSON.parse(document.getElementById('dashboard-data').textContent)")
    assert sum(c["grades"]["优秀"] for c in chart["categories"]) >= 1
    assert {light["key"] for light in chart["lights"]} == {"green", "yellow", "red", "overdue_done", "done"}
    assert sum(light["count"] for light in chart["lights"]) >= 3
    ours = {code: year for year, code in data["periods"].items()}
    years = [ours[t["code"]] for t in chart["trend"] if t["code"] in ours]
    assert years[-3:] == [2021, 2022, 2023], chart["trend"]  # oldest first; 2024 is unpublished
    assert [t["mean"] for t in chart["trend"] if t["code"] == period][0] is not None
    units = {u["code"]: u for u in chart["units"]}
    assert profile_data.UNIT in units and units[profile_data.UNIT]["evaluated"] >= 6
    shot(page, "journeys_dashboard_county_ld_luoshan.png")

    # Drill down by the sub-unit's link in the table: the same dashboard, for that township.
    township = page.locator("#units a.drill-link", has_text=units[profile_data.UNIT]["name"]).first
    with page.expect_navigation():
        township.click()
    query = parse_qs(urlparse(page.url).query)
    assert query["unit"] == [profile_data.UNIT] and query["period"] == [period]
    assert "特写甲" in page.locator("#ranked").inner_text()
    assert units[profile_data.UNIT]["name"] in page.locator(".profile-title").inner_text()
    crumbs = page.locator(".dashboard-crumbs").inner_text()
    assert "罗山县" in crumbs, crumbs
    assert_charts_drawn(page, CHARTS[:3])
    shot(page, "journeys_dashboard_township_ld_luoshan.png")

    # Back up through the breadcrumb, then down again by clicking the township's bar in the chart.
    with page.expect_navigation():
        page.locator(".dashboard-crumbs a", has_text="罗山县").click()
    assert parse_qs(urlparse(page.url).query)["unit"] == ["XY03"]
    assert_charts_drawn(page, ("#chart-units",))
    index = [u["code"] for u in chart["units"]].index(profile_data.UNIT)
    x, y = page.evaluate(
        """i => { const el = document.getElementById('chart-units');
                  const c = echarts.getInstanceByDom(el);
                  const data = JSON.parse(document.getElementById('dashboard-data').textContent);
                  const p = c.convertToPixel({seriesIndex: 0}, [Math.max(1, (data.units[i].mean || 2) / 2), i]);
                  const r = el.getBoundingClientRect(); return [r.left + p[0], r.top + p[1]]; }""",
        index,
    )
    with page.expect_navigation():
        page.mouse.click(x, y)
    assert parse_qs(urlparse(page.url).query)["unit"] == [profile_data.UNIT], page.url


def test_drill_down_outside_the_scope_is_404(live_server, open_page, data):  # noqa: F811  (fixtures)
    w = open_page()
    page = w.page
    login(page, live_server, "ld_luoshan")
    period = data["periods"][2023]
    page.goto(f"{live_server}/dashboard/?period={period}")
    assert "光山县" not in page.locator("#units").inner_text()
    # Typed into the address with the leader's own session (a request, so that the expected 404
    # is not reported as a console error): another county, and the city above the own county.
    for unit in ("XY04", "XY04T01", "XY"):
        response = page.request.get(f"{live_server}/dashboard/?unit={unit}&period={period}")
        assert response.status == 404, unit
    assert page.request.get(f"{live_server}/dashboard/?unit={profile_data.UNIT}&period={period}").status == 200


def test_city_dashboard_lists_counties_and_drills_into_one(live_server, open_page, data):  # noqa: F811  (fixtures)
    w = open_page()
    page = w.page
    login(page, live_server, "ld_city")
    response = page.goto(f"{live_server}/dashboard/?period={data['periods'][2023]}")
    assert response.status == 200
    assert_charts_drawn(page)
    table = page.locator("#units .unit-table").inner_text()
    assert "罗山县" in table and "光山县" in table
    shot(page, "journeys_dashboard_city_ld_city.png")
    with page.expect_navigation():
        page.locator("#units a.drill-link", has_text="罗山县").first.click()
    assert parse_qs(urlparse(page.url).query)["unit"] == ["XY03"]
    assert "罗山县" in page.locator(".profile-title").inner_text()
    assert_charts_drawn(page)
    shot(page, "journeys_dashboard_city_drill_luoshan.png")


def test_profile_has_no_raw_data_button(live_server, open_page, data):  # noqa: F811  (fixtures)
    w = open_page()
    page = w.page
    login(page, live_server, "ld_luoshan")
    cadre_id = data["ids"]["A"]
    response = page.goto(f"{live_server}/cadre-profile/{cadre_id}")
    assert response.status == 200
    actions = page.locator(".profile-actions")
    assert "导出考察材料" in actions.inner_text()
    assert "数据" not in actions.inner_text()
    assert page.locator(f"a[href$='/cadre-profile/{cadre_id}/json']").count() == 0
    shot(page, "journeys_profile_no_data_button_ld_luoshan.png")
    # The JSON itself is kept for programs (same session, same scope).
    body = page.request.get(f"{live_server}/cadre-profile/{cadre_id}/json")
    assert body.status == 200 and body.json()["cadre"]["name"] == "特写甲"


def test_chart_segments_open_the_lists_behind_them(live_server, open_page, data):  # noqa: F811  (fixtures)
    """The red slice of the lights chart opens the red items of the unit; a grade segment opens
    the results of that grade, category, unit and period."""
    period = data["periods"][2023]
    w = open_page()
    page = w.page
    login(page, live_server, "ld_luoshan")
    page.goto(f"{live_server}/dashboard/?unit=XY03&period={period}")
    assert_charts_drawn(page, ("#chart-lights", "#chart-grades"))
    x, y = page.evaluate(
        """() => { const el = document.getElementById('chart-lights');
                   const c = echarts.getInstanceByDom(el);
                   const d = c.getModel().getSeriesByIndex(0).getData();
                   let i = -1; for (let k = 0; k < d.count(); k++) { if (d.getName(k).startsWith('红灯')) i = k; }
                   const l = d.getItemLayout(i); const a = (l.startAngle + l.endAngle) / 2, r = (l.r0 + l.r) / 2;
                   const b = el.getBoundingClientRect();
                   return [b.left + l.cx + r * Math.cos(a), b.top + l.cy + r * Math.sin(a)]; }"""
    )
    with page.expect_navigation():
        page.mouse.click(x, y)
    url = urlparse(page.url)
    assert url.path == "/tasks/list/" and parse_qs(url.query) == {"unit": ["XY03"], "light": ["red"]}, page.url
    assert "红灯" in page.locator("table").last.inner_text()

    page.goto(f"{live_server}/dashboard/?unit=XY03&period={period}")
    x, y = page.evaluate(
        """() => { const el = document.getElementById('chart-grades');
                   const c = echarts.getInstanceByDom(el);
                   const data = JSON.parse(document.getElementById('dashboard-data').textContent);
                   const i = data.categories.findIndex(x => x.name === '乡镇党政副职');
                   const p = c.convertToPixel({seriesIndex: 0}, [i, 0.5]);
                   const b = el.getBoundingClientRect(); return [b.left + p[0], b.top + p[1]]; }"""
    )
    with page.expect_navigation():
        page.mouse.click(x, y)
    url = urlparse(page.url)
    assert url.path == "/results/list/", page.url
    assert parse_qs(url.query) == {"period": [period], "unit": ["XY03"], "category": ["乡镇党政副职"], "grade": ["优秀"]}
    assert "特写甲" in page.locator("body").inner_text()
