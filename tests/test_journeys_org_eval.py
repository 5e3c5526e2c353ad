"""Issue 14, the organization staff's journeys (points 2, 3, 8, 12, 13): org import previewed
and checked against the 王 tree, score files never imported twice, people shown by name and
unit, score-import templates, the results export, and the trace's arithmetic."""

from __future__ import annotations

import io
import json
import re

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from app.core.errors import ImportRejected
from app.extensions import db
from app.models import AppUser, Cadre, EvaluationPeriod, OrgUnit, RaterGroup, ScoreSheet
from tests.conftest import login

PERIOD = "2025-Y"  # the demo's period in 评分中
DIMS = ["德", "能", "勤", "绩", "廉"]


def xlsx(rows: list[list]) -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def user(name: str) -> AppUser:
    return db.session.scalar(select(AppUser).where(AppUser.username == name))


def luoshan_cadres(n: int) -> list[Cadre]:
    return db.session.scalars(select(Cadre).join(OrgUnit, Cadre.org_unit_id == OrgUnit.id)
                              .where(OrgUnit.code.startswith("XY03")).order_by(Cadre.code).limit(n)).all()


def sheet_count(period_code: str = PERIOD) -> int:
    period = db.session.scalar(select(EvaluationPeriod).where(EvaluationPeriod.code == period_code))
    return db.session.scalar(select(func.count()).select_from(ScoreSheet).where(ScoreSheet.period_id == period.id))


@pytest.fixture()
def named_staff(app):
    """kpy_luoshan with a real name (the demo names accounts after their role)."""
    with app.app_context():
        staff = user("kpy_luoshan")
        staff.first_name, staff.last_name = "王", "敏"
        db.session.commit()
    return "王敏（罗山县）"


# ---------------------------------------------------------------- point 3: a score file twice


def test_the_same_score_file_twice_is_refused_and_nothing_written(ctx):
    from app.evaluation.imports import import_sheets

    a, b = luoshan_cadres(2)
    body = xlsx([["干部编号", "评价组", *DIMS],
                 [a.code, "组织评价", 61.5, 62.5, 63.5, 64.5, 65.5],
                 [b.code, "组织评价", 71.5, 72.5, 73.5, 74.5, 75.5]])
    staff = user("kpy_luoshan")
    before = sheet_count()
    assert import_sheets(PERIOD, body, "评分表.xlsx", user=staff) == {"kind": "sheets", "sheets": 2}
    assert sheet_count() == before + 2

    with pytest.raises(ImportRejected) as refused:
        import_sheets(PERIOD, body, "评分表（副本）.xlsx", user=staff)
    assert "该文件已" in refused.value.message and "导入过" in refused.value.message
    assert "未写入任何数据" in refused.value.message
    assert sheet_count() == before + 2

    # Another file holding one of the same sheets (and a new one): the repeated row is named.
    again = xlsx([["干部编号", "评价组", *DIMS],
                  [a.code, "组织评价", 80, 81, 82, 83, 84],
                  [b.code, "组织评价", 71.5, 72.5, 73.5, 74.5, 75.5]])
    with pytest.raises(ImportRejected) as identical:
        import_sheets(PERIOD, again, "补充.xlsx", user=staff)
    assert [line for line, _ in identical.value.errors] == [3]
    assert f"干部“{b.code}”在“组织评价”已有一张分值完全相同的评分表" in identical.value.errors[0][1]
    assert sheet_count() == before + 2


def test_the_same_adjustments_twice_are_refused(ctx):
    from app.evaluation.imports import import_adjustments
    from app.models import Adjustment

    (a,) = luoshan_cadres(1)
    body = xlsx([["干部编号", "类型", "分值", "事由"], [a.code, "加分", 2, "获省级表彰（重复导入测试）"]])
    staff = user("kpy_luoshan")
    assert import_adjustments(PERIOD, body, "adj.xlsx", user=staff) == {"adjustments": 1}
    with pytest.raises(ImportRejected) as refused:
        import_adjustments(PERIOD, body, "adj.xlsx", user=staff)
    assert refused.value.errors[0][0] == 2 and "已有一条相同的加分调整" in refused.value.errors[0][1]
    assert db.session.scalar(select(func.count()).select_from(Adjustment).where(
        Adjustment.reason == "获省级表彰（重复导入测试）")) == 1


# ---------------------------------------------------------------- point 12: templates, groups, the grid


def _ids(period_code=PERIOD, group="组织评价"):
    period = db.session.scalar(select(EvaluationPeriod).where(EvaluationPeriod.code == period_code))
    grp = db.session.scalar(select(RaterGroup).where(RaterGroup.scheme_id == period.scheme_id, RaterGroup.name == group))
    return period.id, grp.id


def test_template_download_is_a_real_xlsx_that_imports(app, client):
    with app.app_context():
        pid, gid = _ids()
        vid = _ids(group="群众评价")[1]
        luoshan = {c.code for c in db.session.scalars(
            select(Cadre).join(OrgUnit, Cadre.org_unit_id == OrgUnit.id).where(OrgUnit.code.startswith("XY03")))}
    login(client, "kpy_luoshan")
    index = client.get("/entry/list/").get_data(as_text=True)
    assert f"/entry/template/{pid}/{gid}" in index and "下载导入模板" in index
    answer = client.get(f"/entry/template/{pid}/{gid}")
    assert answer.status_code == 200
    assert "spreadsheetml" in answer.headers["Content-Type"]
    wb = load_workbook(io.BytesIO(answer.data))
    assert wb.sheetnames == ["组织评价", "填写说明", "干部名单"]
    assert [c.value for c in wb["组织评价"][1]] == ["干部编号", "评价组", *DIMS]
    roster = [row[0] for row in wb["干部名单"].iter_rows(min_row=2, values_only=True)]
    assert roster and set(roster) <= luoshan  # only the cadres of the user's county
    votes = load_workbook(io.BytesIO(client.get(f"/entry/template/{pid}/{vid}").data))
    assert [c.value for c in votes.worksheets[0][1]] == ["干部编号", "评价组", "优秀", "称职", "基本称职", "不称职", "不了解"]
    # the filled-in template imports as is
    ws = wb["组织评价"]
    ws.append([roster[0], "组织评价", 66.25, 67.25, 68.25, 69.25, 70.25])
    buf = io.BytesIO()
    wb.save(buf)
    with app.app_context():
        from app.evaluation.imports import import_sheets

        assert import_sheets(PERIOD, buf.getvalue(), "模板.xlsx", user=user("kpy_luoshan"))["sheets"] == 1


def test_unknown_rater_group_lists_the_valid_names(ctx):
    from app.evaluation.imports import import_sheets

    (a,) = luoshan_cadres(1)
    body = xlsx([["干部编号", "评价组", *DIMS], [a.code, "组织考核", 70, 70, 70, 70, 70]])
    with pytest.raises(ImportRejected) as refused:
        import_sheets(PERIOD, body, "x.xlsx", user=user("kpy_luoshan"))
    (line, message), = refused.value.errors
    assert line == 2
    assert "评价组“组织考核”不在考评方案中" in message
    assert "“组织评价”" in message and "“领导和同事评价”" in message


def test_grid_shows_who_entered_each_sheet_and_the_cadres_sheet_count(app, client, named_staff):
    with app.app_context():
        pid, gid = _ids()
        from app.evaluation.imports import import_sheets

        (a,) = luoshan_cadres(1)
        code = a.code
        body = xlsx([["干部编号", "评价组", *DIMS], [code, "组织评价", 51, 52, 53, 54, 55],
                     [code, "组织评价", 56, 57, 58, 59, 60]])
        import_sheets(PERIOD, body, "grid.xlsx", user=user("kpy_luoshan"))
        total = db.session.scalar(select(func.count()).select_from(ScoreSheet).where(
            ScoreSheet.period_id == pid, ScoreSheet.group_id == gid, ScoreSheet.cadre_id == a.id))
    login(client, "kpy_city")
    html = client.get(f"/entry/grid/{pid}/{gid}?q={code}").get_data(as_text=True)
    assert "录入人" in html and "本组张数" in html
    config = json.loads(re.search(r'<script type="application/json" id="grid-config">(.*?)</script>', html, re.S)
                        .group(1))
    mine = [r for r in config["rows"] if sorted(r["values"].values()) in ([51, 52, 53, 54, 55], [56, 57, 58, 59, 60])]
    assert len(mine) == 2 and {r["entered_by"] for r in mine} == {named_staff}
    assert {r["cadre_sheets"] for r in config["rows"]} == {total}
    assert "kpy_luoshan" not in html


# ---------------------------------------------------------------- point 2: org import, previewed and 王-shaped

ORG_HEADER = "单位编码,单位名称,类型,上级编码"


def _unit(code: str) -> OrgUnit:
    return db.session.scalar(select(OrgUnit).where(OrgUnit.code == code))


def _first(kind: str, under: str = "XY03") -> OrgUnit:
    return db.session.scalar(select(OrgUnit).where(OrgUnit.kind == kind, OrgUnit.code.startswith(under))
                             .order_by(OrgUnit.code).limit(1))


def test_org_import_refuses_parents_outside_the_wang_tree_and_lists_every_row(ctx):
    from app.org.units import import_units, preview_units

    village, town = _first("village"), _first("township")
    before = db.session.scalar(select(func.count()).select_from(OrgUnit))
    data = (f"{ORG_HEADER}\nKD1,村里的部门,部门,{village.code}\nKD2,镇下的县,县区,{town.code}\n"
            f"KD3,正常的村,村社区,{town.code}\nKD4,部门下的村,村社区,KD5\nKD5,县直新部门,部门,XY03\n").encode()
    for call in (preview_units, import_units):
        with pytest.raises(ImportRejected) as refused:
            call(data, "u.csv", user=None)
        errors = dict(refused.value.errors)
        assert set(errors) == {2, 3, 5}
        assert "“部门”不能隶属于“村社区”，其上级应为“市”或“县区”" in errors[2]
        assert "“县区”不能隶属于“乡镇街道”" in errors[3]
        assert "“村社区”不能隶属于“部门”，其上级应为“乡镇街道”" in errors[5]
    assert db.session.scalar(select(func.count()).select_from(OrgUnit)) == before
    # retyping a township into a village would strand its villages
    with pytest.raises(ImportRejected, match="其下级单位"):
        import_units(f"{ORG_HEADER}\n{town.code},{town.name},村社区,XY03\n".encode(), "t.csv", user=None)


def test_org_upload_previews_renames_and_moves_and_applies_only_on_confirmation(app, client):
    from tests.jobs_support import run_jobs

    with app.app_context():
        county, town = _unit("XY03"), _first("township")
        other = _unit("XY04")
        old_name, town_parent = county.name, town.parent_id
    data = (f"{ORG_HEADER}\nXY03,罗山县（改）,县区,XY\n{town.code},{town.name},乡镇街道,XY04\n"
            f"KP1,预览新镇,乡镇街道,XY03\n").encode()
    login(client, "admin")
    page = client.post("/orgunits/upload/", data={"file": (io.BytesIO(data), "u.csv")},
                       content_type="multipart/form-data")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "尚未写入任何数据" in html and "确认导入" in html
    assert "将改名的单位（1 个）" in html and old_name in html and "罗山县（改）" in html
    assert "将移动的单位（1 个）" in html and f"{other.name}（XY04）" in html
    assert "将新增的单位（1 个）" in html and "预览新镇" in html
    run_jobs(app)  # nothing is queued before the confirmation
    with app.app_context():
        assert _unit("XY03").name == old_name and _unit(town.code).parent_id == town_parent
        assert _unit("KP1") is None
    job = re.search(r'name="confirm" value="(\d+)"', html).group(1)
    digest = re.search(r'name="digest" value="([0-9a-f]+)"', html).group(1)
    done = client.post("/orgunits/upload/", data={"confirm": job, "digest": digest})
    assert done.status_code == 302 and f"/jobs/{job}" in done.headers["Location"]
    run_jobs(app)
    result = client.get(f"/jobs/{job}").get_data(as_text=True)
    assert "导入成功：新增 1 条，更新 2 条，其中改名 1 个，移动 1 个" in result
    with app.app_context():
        assert _unit("XY03").name == "罗山县（改）" and _unit(town.code).parent_id == other.id
        assert _unit("KP1").parent_id == _unit("XY03").id
    # a second confirmation of the same preview does nothing
    again = client.post("/orgunits/upload/", data={"confirm": job, "digest": digest}, follow_redirects=True)
    assert "该预览已确认过或已失效" in again.get_data(as_text=True)
    # back as it was, for the other tests of this module
    from app.org.units import import_units

    with app.app_context():
        import_units(f"{ORG_HEADER}\nXY03,{old_name},县区,XY\n{town.code},{town.name},乡镇街道,XY03\n".encode(),
                     "back.csv", user=None)


def test_org_upload_with_bad_parents_lists_the_rows_at_once(app, client):
    with app.app_context():
        village = _first("village")
    data = f"{ORG_HEADER}\nKB1,村里的部门,部门,{village.code}\n".encode()
    login(client, "admin")
    html = client.post("/orgunits/upload/", data={"file": (io.BytesIO(data), "u.csv")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "导入被拒绝，未写入任何数据" in html and "“部门”不能隶属于“村社区”" in html
    assert "确认导入" not in html


def test_confirming_a_preview_after_the_tree_changed_writes_nothing(app, client):
    from app.org.units import import_units
    from tests.jobs_support import run_jobs

    data = f"{ORG_HEADER}\nKS1,预览后变化的镇,乡镇街道,XY03\n".encode()
    login(client, "admin")
    html = client.post("/orgunits/upload/", data={"file": (io.BytesIO(data), "u.csv")},
                       content_type="multipart/form-data").get_data(as_text=True)
    job = re.search(r'name="confirm" value="(\d+)"', html).group(1)
    digest = re.search(r'name="digest" value="([0-9a-f]+)"', html).group(1)
    with app.app_context():  # someone else adds the unit meanwhile, under another name
        import_units(f"{ORG_HEADER}\nKS1,别人加的镇,乡镇街道,XY03\n".encode(), "o.csv", user=None)
    client.post("/orgunits/upload/", data={"confirm": job, "digest": digest})
    run_jobs(app)
    assert "预览之后组织机构已被他人修改" in client.get(f"/jobs/{job}").get_data(as_text=True)
    with app.app_context():
        assert _unit("KS1").name == "别人加的镇"


def test_cli_org_import_checks_kinds_and_says_what_it_renamed_and_moved(app, tmp_path):
    with app.app_context():
        village, town = _first("village", "XY04"), _first("township", "XY04")
        town_name = town.name
    runner = app.test_cli_runner()
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{ORG_HEADER}\nKC1,村里的部门,部门,{village.code}\n", encoding="utf-8")
    refused = runner.invoke(args=["org", "import", str(bad)])
    assert refused.exit_code != 0 and "第 2 行" in refused.output and "“部门”不能隶属于“村社区”" in refused.output
    good = tmp_path / "good.csv"
    good.write_text(f"{ORG_HEADER}\n{town.code},{town_name}（新）,乡镇街道,XY05\n", encoding="utf-8")
    result = runner.invoke(args=["org", "import", str(good)])
    assert result.exit_code == 0, result.output
    assert f"改名：{town.code} “{town_name}” → “{town_name}（新）”" in result.output
    assert f"移动：{town.code} {town_name}（新）：上级" in result.output and "（XY05）" in result.output


# ---------------------------------------------------------------- point 8: names, units, the picker, the export


def test_people_are_shown_by_name_and_unit_on_a_task(app, client):
    from app.models import TaskReport
    from app.org.users import person_label

    with app.app_context():
        report = db.session.scalar(select(TaskReport).order_by(TaskReport.id).limit(1))
        report.created_by = "llr_city_d01"  # as a liaison's own report records it (the demo's are the system's)
        db.session.commit()
        liaison = user("llr_city_d01")
        task_id, label, unit = report.assignment.task_id, person_label(liaison), liaison.org_unit.name
    assert unit in label and "llr_city_d01" not in label
    login(client, "admin")
    html = client.get(f"/tasks/show/{task_id}").get_data(as_text=True)
    assert '<small class="text-muted">llr_city_d01</small>' not in html
    assert f'<small class="text-muted">{label}</small>' in html


def test_the_cadre_picker_shows_unit_and_post(app, client):
    with app.app_context():
        (cadre,) = luoshan_cadres(1)
        code, unit, post = cadre.code, cadre.org_unit.name, cadre.position
    login(client, "kpy_city")
    (item,) = client.get(f"/lookup/cadres?q={code}").get_json()["results"]
    assert unit in item["text"] and post in item["text"] and code in item["text"]


def _results_in(period_code: str, unit_prefix: str, grade: str) -> list[str]:
    from app.models import EvaluationResult

    stmt = (select(Cadre.code).join(EvaluationResult, EvaluationResult.cadre_id == Cadre.id)
            .join(EvaluationPeriod, EvaluationResult.period_id == EvaluationPeriod.id)
            .join(OrgUnit, OrgUnit.id == EvaluationResult.org_unit_id)
            .where(EvaluationPeriod.code == period_code, OrgUnit.path.startswith(_unit(unit_prefix).path),
                   EvaluationResult.grade == grade))
    return sorted(db.session.scalars(stmt))


def test_results_list_shows_the_unit_and_its_export_holds_exactly_the_filtered_rows(app, client):
    with app.app_context():
        expected = _results_in("2024-Y", "XY04", "称职")
        units = {u.name for u in db.session.scalars(select(OrgUnit).where(OrgUnit.path.startswith(_unit("XY04").path)))}
    assert expected
    login(client, "kpy_city")
    page = client.get("/results/list/?period=2024-Y&unit=XY04&grade=称职").get_data(as_text=True)
    assert "<th>所属单位" in page or "所属单位</a>" in page or ">所属单位<" in page
    assert "/results/listing/xlsx?" in page
    answer = client.get("/results/listing/xlsx?period=2024-Y&unit=XY04&grade=称职")
    assert answer.status_code == 200
    ws = load_workbook(io.BytesIO(answer.data)).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    header, body = list(rows[0]), rows[1:]
    assert header[:5] == ["干部编号", "姓名", "所属单位", "职务", "岗位类别"] and "督查实绩" in header
    assert sorted(r[0] for r in body) == expected
    assert {r[2] for r in body} <= units
    supervision = header.index("督查实绩")
    assert all(isinstance(r[supervision], (int, float)) for r in body)
    assert {r[header.index("等次")] for r in body} == {"称职"}


# ---------------------------------------------------------------- point 13: the trace's arithmetic and people


def test_trace_shows_the_arithmetic_and_who_entered_each_input(app, client, named_staff):
    from app.evaluation.imports import import_sheets
    from app.models import EvaluationResult

    with app.app_context():
        result = db.session.scalar(
            select(EvaluationResult).join(Cadre, EvaluationResult.cadre_id == Cadre.id)
            .join(OrgUnit, OrgUnit.id == Cadre.org_unit_id).join(EvaluationPeriod)
            .where(EvaluationPeriod.code == PERIOD, OrgUnit.code.startswith("XY03"),
                   EvaluationResult.composite.is_not(None)).order_by(Cadre.code).limit(1))
        import_sheets(PERIOD, xlsx([["干部编号", "评价组", *DIMS],
                                    [result.cadre.code, "领导和同事评价", 77.5, 77.5, 77.5, 77.5, 77.5]]),
                      "trace.xlsx", user=user("kpy_luoshan"))
        rid, composite, raw, adjustment, sanping = (result.id, result.composite, result.composite_raw,
                                                    result.adjustment, result.sanping)
    login(client, "kpy_city")
    html = client.get(f"/results/{rid}/trace").get_data(as_text=True)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "计算过程（三评 → 综合分 → 调整 → 综合得分）" in text
    assert re.search(rf"三评得分 T \(0\.4×[\d.]+ \+ 0\.3×[\d.]+ \+ 0\.3×[\d.]+\) ÷ 1 {sanping:.2f}", text)
    assert f"调整前综合分 C0 = α·T + Σ v·I 0.6×{sanping:.2f} + 0.15×" in text
    assert re.search(r"实绩指标 I\[督查实绩\] max\(0, 100 − 5×\d+（超期事项）", text)
    assert f"{raw:.2f} {'+' if adjustment >= 0 else '−'} {abs(adjustment):.2f} {composite:.2f}" in text
    assert re.search(r"S\[组织评价,德\]（\d+ 张） \([\d.]+ − 最高 [\d.]+ − 最低 [\d.]+\) ÷ \(\d+ − 2\)", text)
    assert "录入人" in text and named_staff in text  # the sheet just imported, by name and unit
