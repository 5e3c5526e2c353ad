"""Issue 14 in a real browser (points 2, 8, 12, 13): the org import preview and its
confirmation, the score grid's 录入人 and 本组张数, the cadre picker with unit and post, the
results list with its unit column and filtered export, and the trace's arithmetic.
Screenshots go to test-artifacts/screenshots/journeys_*.png."""

from __future__ import annotations

import io

from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from app.extensions import db
from app.models import AppUser, Cadre, EvaluationPeriod, EvaluationResult, OrgUnit, RaterGroup
from tests.jobs_support import run_jobs
from tests.test_browser import (  # noqa: F401  (fixtures are used by name)
    LOCAL_HOST,
    browser,
    live_server,
    login,
    open_page,
    shot,
)

PERIOD = "2025-Y"
DIMS = ["德", "能", "勤", "绩", "廉"]


def _xlsx(rows) -> bytes:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _luoshan_cadre(offset: int = 0) -> Cadre:
    return db.session.scalars(select(Cadre).join(OrgUnit, Cadre.org_unit_id == OrgUnit.id)
                              .where(OrgUnit.code.startswith("XY03")).order_by(Cadre.code).offset(offset).limit(1)).one()


def _named_staff() -> tuple[AppUser, str]:
    from app.org.users import person_label

    staff = db.session.scalar(select(AppUser).where(AppUser.username == "kpy_luoshan"))
    staff.first_name, staff.last_name = "王", "敏"
    db.session.commit()
    return staff, person_label(staff)


def test_org_import_is_previewed_then_confirmed(app, live_server, open_page, tmp_path):  # noqa: F811  (fixtures)
    with app.app_context():
        town = db.session.scalar(select(OrgUnit).where(OrgUnit.kind == "township", OrgUnit.code.startswith("XY06"))
                                 .order_by(OrgUnit.code).limit(1))
        code, name = town.code, town.name
    path = tmp_path / "units.csv"
    path.write_text(f"单位编码,单位名称,类型,上级编码\n{code},{name}（新名）,乡镇街道,XY06\n"
                    "BJ1,浏览器新镇,乡镇街道,XY06\n", encoding="utf-8")
    page = open_page().page
    login(page, live_server, "admin")
    page.goto(f"{live_server}/orgunits/upload/")
    page.set_input_files("input[name=file]", str(path))
    with page.expect_navigation():
        page.click("button[type=submit]")
    renamed = page.locator("table.import-preview-renamed tbody tr")
    assert renamed.count() == 1 and f"{name}（新名）" in renamed.inner_text() and name in renamed.inner_text()
    assert "浏览器新镇" in page.locator("table.import-preview-added").inner_text()
    assert "尚未写入任何数据" in page.locator(".import-preview").inner_text()
    shot(page, "journeys_org_import_preview.png")
    with app.app_context():
        assert db.session.scalar(select(OrgUnit.name).where(OrgUnit.code == code)) == name
    with page.expect_navigation():
        page.click("#confirm-import")
    run_jobs(app)
    page.reload()
    page.wait_for_function("document.body.innerText.includes('导入成功')")
    assert "其中改名 1 个" in page.locator("#job-message").inner_text()
    shot(page, "journeys_org_import_done.png")
    with app.app_context():
        assert db.session.scalar(select(OrgUnit.name).where(OrgUnit.code == code)) == f"{name}（新名）"


def test_grid_shows_who_entered_and_how_many_sheets(app, live_server, open_page):  # noqa: F811  (fixtures)
    from app.evaluation.imports import import_sheets

    with app.app_context():
        staff, label = _named_staff()
        cadre = _luoshan_cadre(3)
        period = db.session.scalar(select(EvaluationPeriod).where(EvaluationPeriod.code == PERIOD))
        group = db.session.scalar(select(RaterGroup).where(RaterGroup.scheme_id == period.scheme_id,
                                                           RaterGroup.name == "组织评价"))
        import_sheets(PERIOD, _xlsx([["干部编号", "评价组", *DIMS], [cadre.code, "组织评价", 41, 42, 43, 44, 45],
                                     [cadre.code, "组织评价", 46, 47, 48, 49, 50]]), "g.xlsx", user=staff)
        url = f"/entry/grid/{period.id}/{group.id}?q={cadre.code}"
        code = cadre.code
    page = open_page().page
    login(page, live_server, "kpy_city")
    page.goto(live_server + url)
    rows = page.locator("tbody.old-rows tr.grid-row")
    rows.first.wait_for()
    headers = page.locator("#entry-grid thead").inner_text()
    assert "录入人" in headers and "本组张数" in headers
    by = rows.locator("td.grid-by").all_inner_texts()
    counts = set(rows.locator("td.grid-count").all_inner_texts())
    assert by.count(label) >= 2 and "kpy_luoshan" not in page.content()
    assert counts == {str(rows.count())}, (counts, rows.count())
    assert page.locator("a", has_text="下载导入模板").count() == 1
    shot(page, "journeys_entry_grid.png")
    # the picker of a new row shows the unit and the post
    new_row = page.locator("tbody.new-rows tr.grid-row").first
    new_row.locator(".select2-selection").click()
    search = page.locator(".select2-container--open .select2-search__field")
    search.press_sequentially(code)
    option = page.locator(".select2-results__option", has_text=code).first
    option.wait_for()
    with app.app_context():
        cadre = db.session.scalar(select(Cadre).where(Cadre.code == code))
        unit, post = cadre.org_unit.name, cadre.position
    assert unit in option.inner_text() and post in option.inner_text()
    shot(page, "journeys_cadre_picker.png")


def test_results_list_unit_column_and_filtered_export(app, live_server, open_page):  # noqa: F811  (fixtures)
    page = open_page().page
    login(page, live_server, "kpy_city")
    page.goto(f"{live_server}/results/list/?period=2024-Y&unit=XY04&grade=称职")
    header = page.locator("table thead").first.inner_text()
    assert "所属单位" in header
    shown = page.locator("table tbody tr").count()
    with page.expect_download() as info:
        page.locator("a.export-listing", has_text="导出 Excel").click()
    ws = load_workbook(io.BytesIO(info.value.path().read_bytes())).worksheets[0]
    assert info.value.suggested_filename.endswith("_XY04_称职.xlsx")
    rows = list(ws.iter_rows(values_only=True))
    assert "督查实绩" in rows[0] and "所属单位" in rows[0]
    with app.app_context():
        expected = db.session.scalar(
            select(db.func.count()).select_from(EvaluationResult).join(EvaluationPeriod)
            .join(OrgUnit, OrgUnit.id == EvaluationResult.org_unit_id)
            .where(EvaluationPeriod.code == "2024-Y", OrgUnit.code.startswith("XY04"),
                   EvaluationResult.grade == "称职"))
    assert len(rows) - 1 == expected and shown == min(expected, 25)
    shot(page, "journeys_results_list.png")
    page.set_viewport_size({"width": 1366, "height": 700})
    page.screenshot(path=str(shot(page, "journeys_results_list.png").with_name("journeys_results_list_top.png")))


def test_trace_shows_the_arithmetic_and_people(app, live_server, open_page):  # noqa: F811  (fixtures)
    with app.app_context():
        _staff, label = _named_staff()
        result = db.session.scalar(
            select(EvaluationResult).join(EvaluationPeriod).join(OrgUnit, OrgUnit.id == EvaluationResult.org_unit_id)
            .where(EvaluationPeriod.code == "2024-Y", OrgUnit.code.startswith("XY03"),
                   EvaluationResult.composite.is_not(None)).order_by(EvaluationResult.id).limit(1))
        rid, composite = result.id, result.composite
    page = open_page().page
    login(page, live_server, "kpy_city")
    page.goto(f"{live_server}/results/{rid}/trace")
    steps = page.locator("table.trace-steps")
    assert "三评得分 T" in steps.inner_text() and "调整前综合分 C0" in steps.inner_text()
    final = page.locator("tr.trace-step-final td").last.inner_text()
    assert final == f"{composite:.2f}"
    assert page.locator("table.trace-sheets th", has_text="录入人").count() == 1
    shot(page, "journeys_trace.png")
    steps.screenshot(path=str(shot(page, "journeys_trace.png").with_name("journeys_trace_steps.png")))


def test_task_page_names_people_by_name_and_unit(app, live_server, open_page):  # noqa: F811  (fixtures)
    from app.models import TaskAssignment, TaskReport
    from app.org.users import person_label

    with app.app_context():
        report = db.session.scalar(select(TaskReport).order_by(TaskReport.id.desc()).limit(1))
        report.created_by = "llr_luoshan_t01"
        assignment = db.session.get(TaskAssignment, report.assignment_id)
        assignment.signed_by = "llr_luoshan_t01"
        db.session.commit()
        task_id = assignment.task_id
        label = person_label(db.session.scalar(select(AppUser).where(AppUser.username == "llr_luoshan_t01")))
    page = open_page().page
    login(page, live_server, "admin")
    page.goto(f"{live_server}/tasks/show/{task_id}")
    text = page.locator("body").inner_text()
    assert "llr_luoshan_t01" not in text and text.count(label) >= 2
    shot(page, "journeys_task_people.png")
