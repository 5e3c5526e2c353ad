"""Issue 14, the services and screens behind the supervision journeys (no browser):
late milestones by name (point 9), inspection dates and editing (point 4), draft deadline
warnings (point 4), automatic 事项编号 and attachment preview (point 11)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests.conftest import login

UNIT = "XY03T01"
SUPERVISOR = "dcy_luoshan"
LIAISON = "llr_luoshan_t01"
T0 = dt.datetime(2026, 3, 2, 9, 0)  # a Monday, no holiday near


def _unit_id(code: str = UNIT) -> int:
    from app.extensions import db
    from app.models import OrgUnit

    return db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == code))


def _task(code: str, rule: str = "普通事项", title: str | None = None, **fields):
    from app.extensions import db
    from app.supervision import tasks as S

    task = S.create_task(code, title or f"事项 {code}", lead_unit_id=_unit_id(), category="督实事", rule_name=rule,
                         **fields)
    db.session.commit()
    return task


# ---------------------------------------------------------------- point 9

def test_late_milestones_are_named(ctx):
    from app.extensions import db
    from app.supervision import tasks as S

    task = _task("DC-J1-S-LATE")
    S.assign(task.id, now=T0)
    db.session.commit()
    lead = next(a for a in task.assignments if a.is_lead)
    # Not signed, not reported: 签收 and 首次反馈 late, the completion (7 days) not yet.
    at = lead.first_report_due + dt.timedelta(days=1, hours=1)
    assert at < task.complete_due
    text = S.late_text(task, at)
    assert text.startswith("签收超期 ") and "、首次反馈超期 2 天" in text, text
    assert "办结" not in text
    S.sign(lead.id, now=T0 + dt.timedelta(hours=1))
    db.session.commit()
    assert S.late_text(task, at) == "首次反馈超期 2 天"
    assert S.late_milestones(task, at) == [("first_report", 2)]
    # After the completion deadline, the completion is named too, the most late first.
    after = task.complete_due + dt.timedelta(hours=1)
    names = [name for name, _ in S.late_milestones(task, after)]
    assert names[0] == "first_report" and "complete" in names
    assert "办结超期 1 天" in S.late_text(task, after)
    assert S.late_text(task, T0) == ""


# ---------------------------------------------------------------- point 4: inspections and draft deadlines

def _inspection(code: str, date: dt.date):
    from app.extensions import db
    from app.supervision import findings as F

    inspection = F.create_inspection(code, date, "镇政府便民服务中心", "第一督查组", "暗访", _unit_id())
    db.session.commit()
    return inspection


def test_inspection_in_the_future_is_refused(ctx):
    from app.core.errors import DomainError
    from app.extensions import db
    from app.models import Inspection
    from app.supervision import findings as F

    today = dt.date.today()
    with pytest.raises(DomainError, match="晚于今天"):
        F.create_inspection("JC-J1-FUT", today + dt.timedelta(days=1), "某地", None, "明察", _unit_id())
    db.session.rollback()
    assert db.session.scalar(select(Inspection.id).where(Inspection.code == "JC-J1-FUT")) is None
    inspection = _inspection("JC-J1-TODAY", today)  # today itself is fine
    with pytest.raises(DomainError, match="晚于今天"):
        F.add_finding(inspection.id, _unit_id(), "问题", "作风建设", "一般", continuous=True,
                      found_on=today + dt.timedelta(days=2))
    db.session.rollback()


def test_inspection_editable_until_a_finding_is_acted_on(ctx):
    from app.core.errors import DomainError
    from app.extensions import db
    from app.supervision import findings as F

    day = dt.date.today() - dt.timedelta(days=30)
    inspection = _inspection("JC-J1-EDIT", day)
    defaulted = F.add_finding(inspection.id, _unit_id(), "台账缺失", "档案资料", "一般",
                              deadline=day + dt.timedelta(days=20))
    own_day = F.add_finding(inspection.id, _unit_id(), "公示过期", "制度执行", "一般", continuous=True,
                            found_on=day + dt.timedelta(days=1))
    db.session.commit()
    assert defaulted.found_on == day

    new_day = day - dt.timedelta(days=2)
    F.update_inspection(inspection.id, "JC-J1-EDIT", new_day, "镇政府大厅", "第二督查组", "明察", _unit_id(),
                        expected_version=inspection.version)
    db.session.commit()
    db.session.expire_all()
    assert (inspection.date, inspection.place, inspection.mode) == (new_day, "镇政府大厅", "明察")
    assert defaulted.found_on == new_day, "a finding dated on the inspection's day follows the new date"
    assert own_day.found_on == day + dt.timedelta(days=1), "a finding with its own date keeps it"

    with pytest.raises(DomainError, match="晚于今天"):
        F.update_inspection(inspection.id, "JC-J1-EDIT", dt.date.today() + dt.timedelta(days=1), "镇政府大厅",
                            None, "明察", _unit_id())
    db.session.rollback()
    with pytest.raises(DomainError, match="整改期限早于"):
        F.update_inspection(inspection.id, "JC-J1-EDIT", day + dt.timedelta(days=21), "镇政府大厅", None, "明察",
                            _unit_id())
    db.session.rollback()

    F.start_rectification(defaulted.id)
    db.session.commit()
    assert not F.inspection_editable(inspection)
    with pytest.raises(DomainError, match="不能再修改"):
        F.update_inspection(inspection.id, "JC-J1-EDIT", day, "镇政府大厅", None, "明察", _unit_id())
    db.session.rollback()
    db.session.expire_all()
    assert inspection.date == new_day


def test_inspection_edit_screen(client, app):
    from app.extensions import db
    from app.supervision import findings as F

    with app.app_context():
        inspection = _inspection("JC-J1-SCREEN", dt.date.today() - dt.timedelta(days=3))
        pk, version, unit_id = inspection.id, inspection.version, _unit_id()
    login(client, SUPERVISOR)
    assert "修改检查信息" in client.get(f"/inspections/show/{pk}").get_data(as_text=True)
    assert client.get(f"/inspections/edit/{pk}").status_code == 200
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    form = {"code": "JC-J1-SCREEN", "date": future, "mode": "明察", "place": "村委会", "team": "",
            "org_unit": unit_id, "expected_version": version}
    page = client.post(f"/inspections/edit/{pk}", data=form).get_data(as_text=True)
    assert "晚于今天" in page
    with app.app_context():
        assert db.session.get(F.Inspection, pk).place == "镇政府便民服务中心", "a refused edit changed the row"
    form["date"] = (dt.date.today() - dt.timedelta(days=4)).isoformat()
    assert client.post(f"/inspections/edit/{pk}", data=form).status_code == 302
    with app.app_context():
        assert db.session.get(F.Inspection, pk).place == "村委会"
    # a new inspection in the future is refused on the add form too
    page = client.post("/inspections/add", data={**form, "code": "JC-J1-ADD", "date": future}).get_data(as_text=True)
    assert "晚于今天" in page
    # a county leader reads inspections but changes nothing
    login(client, "ld_luoshan")
    assert client.get(f"/inspections/edit/{pk}").status_code == 403
    assert "修改检查信息" not in client.get(f"/inspections/show/{pk}").get_data(as_text=True)


def test_draft_with_a_past_deadline_warns(client, app):
    from app.supervision import tasks as S

    with app.app_context():
        past = dt.date.today() - dt.timedelta(days=3)
        task = _task("DC-J1-PAST", manual_deadline=past)
        fine = _task("DC-J1-FINE", manual_deadline=dt.date.today() + dt.timedelta(days=30))
        assert S.draft_warnings(task) and "已过" in S.draft_warnings(task)[0]
        assert S.draft_warnings(fine) == []
        pk = task.id
    login(client, SUPERVISOR)
    page = client.get(f"/tasks/show/{pk}").get_data(as_text=True)
    assert "sv-draft-warning" in page and past.isoformat() in page and "已过" in page
    page = client.get(f"/tasks/edit/{pk}").get_data(as_text=True)
    assert "已过" in page, "the draft's edit form does not warn of the past deadline"
    assert 'data-past-warning="' in page, "the deadline field does not warn while typing"


# ---------------------------------------------------------------- point 11: keyword search on every list

def _rows(html: str) -> int:
    import re

    return len(re.findall(r'<input[^>]*name="rowid"', html))


def test_keyword_search_on_every_list(client, app):
    from app.web.modelview import ScopedModelView

    views = [v for v in app.appbuilder.baseviews if isinstance(v, ScopedModelView)]
    assert len(views) >= 10
    missing = [type(v).__name__ for v in views if not v.keyword_columns]
    assert not missing, f"lists without a keyword box: {missing}"
    login(client, "admin")
    # The score-sheet list opens on one cadre, chosen in its own 干部 search box (name or code).
    for view in [v for v in views if v.route_base != "/scoresheets"]:
        html = client.get(f"{view.route_base}/list/?q=%25").get_data(as_text=True)
        assert 'name="q"' in html and "搜索" in html, view.route_base


def test_keyword_search_finds_by_code_title_and_unit_within_scope(client, app):
    from tests.test_query_counts import count_queries

    with app.app_context():
        _task("DC-J1-KW-0001", title="乡村振兴示范点检查")
        _task("DC-J1-KW-0002", title="河长制落实")
    login(client, SUPERVISOR)
    html = client.get("/tasks/list/?q=乡村振兴示范").get_data(as_text=True)
    assert "DC-J1-KW-0001" in html and "DC-J1-KW-0002" not in html
    html = client.get("/tasks/list/?q=dc-j1-kw").get_data(as_text=True)  # code, any case
    assert "DC-J1-KW-0001" in html and "DC-J1-KW-0002" in html
    assert 'value="dc-j1-kw"' in html, "the box does not show the keyword searched"
    html = client.get("/tasks/list/?q=DC-J1-KW 河长").get_data(as_text=True)  # every word must match
    assert "DC-J1-KW-0002" in html and "DC-J1-KW-0001" not in html
    assert _rows(client.get("/tasks/list/?q=100%25_").get_data(as_text=True)) == 0, "% and _ are literal"
    # by the lead unit's name; the export follows the keyword
    assert "DC-J1-KW-0001" in client.get("/tasks/list/?q=桥北镇").get_data(as_text=True)
    export = client.get("/tasks/export/csv?q=乡村振兴示范").get_data(as_text=True)
    assert "DC-J1-KW-0001" in export and "DC-J1-KW-0002" not in export
    # cadres: by name and by unit
    with app.app_context():
        from app.extensions import db
        from app.models import Cadre

        cadre = db.session.scalars(select(Cadre).where(Cadre.org_unit_id == _unit_id()).order_by(Cadre.id)).first()
        cadre_code, cadre_name = cadre.code, cadre.name
    assert cadre_code in client.get("/cadres/list/?q=桥北镇").get_data(as_text=True)
    assert cadre_code in client.get(f"/cadres/list/?q={cadre_name}").get_data(as_text=True)

    # scope: a county leader of another county finds nothing of 罗山县, and no cadre of it
    login(client, "ld_guangshan")
    assert _rows(client.get("/tasks/list/?q=DC-J1-KW").get_data(as_text=True)) == 0
    assert cadre_code not in client.get(f"/cadres/list/?q={cadre_name}").get_data(as_text=True)

    # the keyword costs no extra query
    login(client, SUPERVISOR)
    plain = count_queries(app, client, "/tasks/list/")
    searched = count_queries(app, client, "/tasks/list/?q=乡村")
    assert searched <= plain, (plain, searched)


def test_new_task_form_numbers_the_item(client, app):
    import re

    from app.extensions import db
    from app.models import SupervisionTask
    from app.supervision import tasks as S

    year = dt.date.today().year
    with app.app_context():
        first = S.next_task_code()
        assert re.fullmatch(rf"DC-{year}-\d{{4}}", first), first
        _task(first)
        _task(f"DC-{year}-J1-HAND")  # a code typed by hand in another form is ignored
        second = S.next_task_code()
        assert int(second[-4:]) == int(first[-4:]) + 1
        rule_id = S._rule(None, "普通事项").id
    login(client, SUPERVISOR)
    html = client.get("/tasks/add").get_data(as_text=True)
    assert f'value="{second}"' in html, "the new-task form is not pre-filled with the next 事项编号"
    # editable: a code of one's own is kept; a duplicate is refused in Chinese, nothing written
    form = {"code": "DC-J1-MINE", "title": "自编编号事项", "category": "督实事", "rule": rule_id,
            "lead_unit": _unit_id_in(app)}
    assert client.post("/tasks/add", data=form).status_code == 302
    page = client.post("/tasks/add", data={**form, "code": first, "title": "重复编号"}).get_data(as_text=True)
    assert "已存在" in page
    with app.app_context():
        assert db.session.scalar(select(SupervisionTask.id).where(SupervisionTask.title == "重复编号")) is None
        assert db.session.scalar(select(SupervisionTask.id).where(SupervisionTask.code == "DC-J1-MINE"))


def _unit_id_in(app) -> int:
    with app.app_context():
        return _unit_id()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360"
                    "000002000154a24f5d0000000049454e44ae426082")


def test_attachments_preview_in_the_browser(client, app):
    from app.extensions import db
    from app.models import Attachment, TaskReport
    from app.supervision import tasks as S

    with app.app_context():
        task = _task("DC-J1-ATT")
        S.assign(task.id)
        lead = next(a for a in task.assignments if a.is_lead)
        S.sign(lead.id)
        report = S.report_progress(lead.id, "已完成", attachments=[
            ("方案.pdf", PDF, "application/pdf"), ("现场.png", PNG, "image/png"),
            ("台账.xlsx", b"PK\x03\x04xlsx", None), ("说明.txt", b"<script>alert(1)</script>", "text/html")])
        db.session.commit()
        files = {a.filename: a.id for a in db.session.scalars(
            select(Attachment).where(Attachment.owner_table == "task_report", Attachment.owner_id == report.id))}
        pk = task.id
        assert db.session.get(TaskReport, report.id) is not None
    login(client, SUPERVISOR)
    page = client.get(f"/tasks/show/{pk}").get_data(as_text=True)
    assert f'/tasks/attachment/{files["方案.pdf"]}?preview=1' in page, "no preview link for a PDF"
    assert f'/tasks/attachment/{files["台账.xlsx"]}?preview=1' not in page

    pdf = client.get(f"/tasks/attachment/{files['方案.pdf']}?preview=1")
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.headers["Content-Disposition"].startswith("inline") and pdf.data == PDF
    png = client.get(f"/tasks/attachment/{files['现场.png']}?preview=1")
    assert png.headers["Content-Type"] == "image/png" and png.headers["Content-Disposition"].startswith("inline")
    for name in ("台账.xlsx", "说明.txt"):  # others (and anything a browser could run) are downloaded
        other = client.get(f"/tasks/attachment/{files[name]}?preview=1")
        assert other.headers["Content-Disposition"].startswith("attachment"), name
        assert other.headers["Content-Type"] == "application/octet-stream", name
    plain = client.get(f"/tasks/attachment/{files['方案.pdf']}")
    assert plain.headers["Content-Disposition"].startswith("attachment")

    # still scoped: another county's leader gets a 404, as for a missing file
    login(client, "ld_guangshan")
    assert client.get(f"/tasks/attachment/{files['方案.pdf']}?preview=1").status_code == 404


def test_irreversible_buttons_elsewhere_ask_first(client, app):
    """The period workflow's buttons (开始评分/锁定/发布/解锁) carry a confirmation too."""
    import re

    login(client, "kpy_city")
    html = client.get("/periods/list/").get_data(as_text=True)
    buttons = re.findall(r"<button[^>]*>(?:开始评分|锁定|发布|解锁)</button>", html)
    assert buttons, "the demo has no period to move on"
    assert all("data-confirm=" in b for b in buttons), buttons
