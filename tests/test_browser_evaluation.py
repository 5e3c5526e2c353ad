"""Real-browser check of score entry and computing results (评分录入 → 计算 → 结果).

kpy_city enters one score sheet in the keyboard-first grid (cadre picked with the
search-as-you-type select, five scores typed with Tab/Enter), sees it saved, recomputes the
period on the periods list (a background job: its page follows it to the end) and finds a
ranking table on the results list. Every page is
watched for requests leaving 127.0.0.1 and for console errors.
"""

from __future__ import annotations

import threading
from urllib.parse import urlparse

from sqlalchemy import select

from tests.jobs_support import run_jobs
from tests.test_browser import (  # noqa: F401  (fixtures are used by name)
    LOCAL_HOST,
    browser,
    live_server,
    login,
    open_page,
    shot,
)

STAFF = "kpy_city"
SCORES = ("91", "88.5", "90", "86", "95")


def _scoring_setup(app):
    """The demo period in 评分中, a scores rater group of its scheme, and a cadre (raters may send
    several sheets for one cadre, so the new sheet is recognised by the count going up)."""
    from app.extensions import db
    from app.models import Cadre, EvaluationPeriod, RaterGroup

    with app.app_context():
        period = db.session.scalar(select(EvaluationPeriod).where(EvaluationPeriod.state == "scoring")
                                   .order_by(EvaluationPeriod.id))
        assert period is not None, "the demo has no period in 评分中"
        group = db.session.scalar(select(RaterGroup).where(RaterGroup.scheme_id == period.scheme_id,
                                                           RaterGroup.kind == "scores").order_by(RaterGroup.sort, RaterGroup.id))
        assert group is not None, "the demo period's scheme has no scores rater group"
        dims = [d.name for d in period.scheme.dimensions]
        assert len(dims) == len(SCORES), f"expected five dimensions, got {dims}"
        cadre = db.session.scalar(select(Cadre).order_by(Cadre.code.desc()).limit(1))
        assert cadre is not None
        return {"period_id": period.id, "period_code": period.code, "period_name": period.name,
                "group_id": group.id, "cadre_id": cadre.id, "cadre_code": cadre.code, "cadre_name": cadre.name}


def _sheets_of(app, s) -> list[tuple[int, list[float]]]:
    from app.extensions import db
    from app.models import ScoreSheet

    with app.app_context():
        sheets = db.session.scalars(select(ScoreSheet).where(
            ScoreSheet.period_id == s["period_id"], ScoreSheet.group_id == s["group_id"],
            ScoreSheet.cadre_id == s["cadre_id"])).all()
        return [(sheet.id, sorted(x.value for x in sheet.scores)) for sheet in sheets]


def _computed_at(app, period_id):
    from app.extensions import db
    from app.models import EvaluationPeriod

    with app.app_context():
        db.session.expire_all()
        return db.session.get(EvaluationPeriod, period_id).computed_at


def test_score_entry_compute_and_results(app, live_server, open_page):  # noqa: F811  (fixtures)
    s = _scoring_setup(app)
    sheets_before = {sid for sid, _ in _sheets_of(app, s)}
    w = open_page()
    page = w.page
    login(page, live_server, STAFF)

    # --- the grid: one new sheet, keyboard only after the first click -------------------
    response = page.goto(f"{live_server}/entry/grid/{s['period_id']}/{s['group_id']}")
    assert response.status == 200
    assert "评分中" in page.locator(".list-toolbar").inner_text()
    new_row = page.locator("tbody.new-rows tr.grid-row").first
    new_row.wait_for()
    new_row.locator(".select2-selection").click()
    search = page.locator(".select2-container--open .select2-search__field")
    with page.expect_response(lambda r: "/lookup/cadres" in r.url and s["cadre_code"] in r.url) as info:
        search.press_sequentially(s["cadre_code"])
    assert info.value.status == 200
    option = page.locator(".select2-results__option--highlighted", has_text=s["cadre_code"])
    option.wait_for()
    search.press("Enter")  # select2 picks the highlighted cadre and the grid focuses the first score
    first = new_row.locator("input.grid-input").first
    page.wait_for_function("el => document.activeElement === el", arg=first.element_handle())
    assert s["cadre_code"] in new_row.locator(".select2-selection__rendered").inner_text()

    for i, value in enumerate(SCORES):
        page.keyboard.type(value)
        if i < len(SCORES) - 1:
            page.keyboard.press("Tab" if i % 2 == 0 else "Enter")  # both move to the next score
    assert new_row.locator(".grid-status").inner_text() == "未保存"
    with page.expect_response(lambda r: f"/entry/sheet/{s['period_id']}/{s['group_id']}" in r.url) as info:
        page.keyboard.press("Enter")  # Enter in the last cell saves the row
    saved = info.value
    assert saved.status == 200, saved.text()
    assert saved.json()["ok"]
    status = new_row.locator(".grid-status")
    page.wait_for_function("el => el.textContent.startsWith('已保存')", arg=status.element_handle())
    assert status.inner_text() == "已保存 · 第 1 版"
    assert new_row.locator("button.grid-delete").count() == 1
    assert page.locator("tr.grid-msg:not(.hidden)").count() == 0, "a row shows a save error"
    # Saving the last new row opens a fresh row with the cadre search focused.
    assert page.locator("tbody.new-rows tr.grid-row").count() == 2
    opened = page.locator(".select2-container--open .select2-search__field")
    opened.wait_for()
    opened.press("Escape")
    page.locator(".select2-container--open").wait_for(state="detached")
    shot(page, "evaluation_grid_saved.png")
    new = [vals for sid, vals in _sheets_of(app, s) if sid not in sheets_before]
    assert new == [sorted(float(v) for v in SCORES)], new
    new_id = saved.json()["row"]["id"]

    # After a reload the sheet is listed among the entered rows.
    page.goto(f"{live_server}/entry/grid/{s['period_id']}/{s['group_id']}?q={s['cadre_code']}")
    old = page.locator(f'tbody.old-rows tr.grid-row[data-id="{new_id}"]')
    assert old.count() == 1 and s["cadre_code"] in old.inner_text()
    assert [old.locator("input.grid-input").nth(i).input_value() for i in range(5)] == list(SCORES)

    # --- compute on the periods list --------------------------------------------------
    before = _computed_at(app, s["period_id"])
    page.goto(f"{live_server}/periods/list/")
    row = page.locator("table.eval-table tbody tr", has=page.locator("td", has_text=s["period_code"]))
    assert row.count() == 1
    compute = row.locator(".period-actions button", has_text="计算")
    assert compute.count() == 1
    if before is not None:
        assert compute.inner_text().strip() == "重新计算"
        assert row.locator(".label-danger", has_text="结果已过期").count() == 1, "the new sheet did not mark results stale"
    with page.expect_navigation():
        compute.click()
    # The computation is a background job: its page polls its status (job.js, under the CSP) and
    # shows the result once a worker (here one in this process) has run it.
    assert urlparse(page.url).path.startswith("/jobs/"), page.url
    worker = threading.Thread(target=run_jobs, args=(app,))
    worker.start()
    page.locator("#job-state", has_text="已完成").wait_for(timeout=60_000)
    worker.join(timeout=60)
    assert "已计算" in page.locator("#job-message").inner_text()
    shot(page, "evaluation_compute_job.png")
    after = _computed_at(app, s["period_id"])
    assert after is not None and (before is None or after > before)
    page.goto(f"{live_server}/periods/list/")
    row = page.locator("table.eval-table tbody tr", has=page.locator("td", has_text=s["period_code"]))
    assert row.locator(".label-danger", has_text="结果已过期").count() == 0
    shot(page, "evaluation_periods_computed.png")

    # --- results ----------------------------------------------------------------------
    response = page.goto(f"{live_server}/results/list/?period={s['period_code']}")
    assert response.status == 200
    assert page.locator(".stale-banner").count() == 0
    table = page.locator("table.table-bordered")
    header = table.locator("thead").inner_text()
    assert "排名" in header or "名次" in header, f"no ranking column in {header!r}"
    rows = table.locator("tbody tr")
    assert rows.count() > 0, "the results list shows no rows"
    shot(page, "evaluation_results.png")
    assert all(u.split("/")[2].split(":")[0] == LOCAL_HOST for u in w.requests)
