"""督查督办 screens: role × screen × scope, the workflow through POST buttons, the light
filter, the to-do page, audit of a transition, and 督查实绩 flowing into evaluation."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AuditLog,
    Cadre,
    EvaluationResult,
    ExtensionRequest,
    Finding,
    SupervisionTask,
    TaskReminder,
)
from app.supervision import findings as F
from app.supervision import tasks as S
from app.supervision.setup import seed_defaults
from tests.conftest import login
from tests.supervision_data import (
    cadre_in,
    flashes,
    list_count,
    make_finding,
    make_task,
    now,
    page_text,
    tag,
    task_state,
    unit,
    user,
)

SCREENS = ["/todo/", "/tasks/list/", "/inspections/list/", "/findings/list/", "/supervision/board/",
           "/timelimitrules/list/", "/workcalendar/list/"]
ALLOWED = {
    "admin": set(SCREENS),
    "dcy_luoshan": set(SCREENS),
    "llr_luoshan_t01": {"/todo/", "/tasks/list/", "/inspections/list/", "/findings/list/"},
    # 我的待办: a 县区领导 may be a 分管领导 with whistled appeals to assign (PLATFORM.md §2)
    "ld_luoshan": {"/todo/", "/tasks/list/", "/inspections/list/", "/findings/list/", "/supervision/board/"},
    "kpy_luoshan": {"/todo/"},
}


@pytest.fixture(scope="module", autouse=True)
def defaults(app):
    with app.app_context():
        seed_defaults()


@pytest.fixture(scope="module")
def rows(app):
    """Items and findings in 罗山县 (XY03) and in 光山县 (XY04), made through the services."""
    with app.app_context():
        return {
            "in": make_task("XY03T01", ("XY03D01",)),                      # liaison t01 leads, d01 assists
            "other": make_task("XY03T02", ()),                              # same county, not t01's
            "draft": make_task("XY03T01", (), ago=None),                    # nobody's yet
            "out": make_task("XY04T01", (), by="dcy_city"),                 # another county
            "f_in": make_finding("XY03T01"),
            "f_other": make_finding("XY03T02"),
            "f_out": make_finding("XY04T01", by="dcy_city"),
        }


# ---------------------------------------------------------------- role × screen


@pytest.mark.parametrize("username", sorted(ALLOWED))
def test_role_screen_matrix(client, username):
    login(client, username)
    for screen in SCREENS:
        status = client.get(screen).status_code
        assert (status == 200) == (screen in ALLOWED[username]), (username, screen, status)
        assert status in (200, 403), (username, screen, status)


# ---------------------------------------------------------------- row scope

VISIBLE = {  # user -> rows (of the fixture) the user sees
    "dcy_luoshan": {"in", "other", "draft"},
    "ld_luoshan": {"in", "other", "draft"},
    "admin": {"in", "other", "draft", "out"},
    "llr_luoshan_t01": {"in"},
    "llr_luoshan_d01": {"in"},
    "ld_guangshan": {"out"},
}
FINDINGS_VISIBLE = {
    "dcy_luoshan": {"f_in", "f_other"}, "ld_luoshan": {"f_in", "f_other"}, "admin": {"f_in", "f_other", "f_out"},
    "llr_luoshan_t01": {"f_in"}, "llr_luoshan_d01": set(), "ld_guangshan": {"f_out"},
}


@pytest.mark.parametrize("username", sorted(VISIBLE))
def test_task_show_and_list_scope(client, rows, username):
    login(client, username)
    listing = page_text(client.get("/tasks/list/?psize_TaskView=500"))
    for key in ("in", "other", "draft", "out"):
        visible = key in VISIBLE[username]
        assert client.get(f"/tasks/show/{rows[key]['id']}").status_code == (200 if visible else 404), (username, key)
        assert (rows[key]["code"] in listing) == visible, (username, key)


@pytest.mark.parametrize("username", sorted(FINDINGS_VISIBLE))
def test_finding_show_and_list_scope(client, rows, username):
    login(client, username)
    listing = page_text(client.get("/findings/list/?psize_FindingView=500"))
    for key in ("f_in", "f_other", "f_out"):
        visible = key in FINDINGS_VISIBLE[username]
        assert client.get(f"/findings/show/{rows[key]['id']}").status_code == (200 if visible else 404), (username, key)
        assert (rows[key]["description"] in listing) == visible, (username, key)


def test_missing_rows_are_404_like_out_of_scope(client, rows):
    login(client, "dcy_luoshan")
    for path in ("/tasks/show/99999999", "/tasks/edit/99999999", "/findings/show/99999999",
                 "/inspections/show/99999999", "/tasks/show/abc"):
        assert client.get(path).status_code == 404, path


@pytest.mark.parametrize("path", ["/tasks/edit/{out}", "/tasks/delete/{out}", "/findings/edit/{f_out}",
                                  "/findings/delete/{f_out}", "/inspections/show/{i_out}"])
def test_out_of_scope_edit_delete_are_404(client, rows, path):
    login(client, "dcy_luoshan")
    url = path.format(out=rows["out"]["id"], f_out=rows["f_out"]["id"], i_out=rows["f_out"]["inspection"])
    if "/delete/" not in url:  # FAB refuses every GET delete before looking at the row
        assert client.get(url).status_code == 404
    if "/show/" not in url:
        assert client.post(url).status_code == 404


def test_out_of_scope_workflow_posts_are_404_and_change_nothing(client, app, rows):
    login(client, "dcy_luoshan")
    pk = rows["out"]["id"]
    with app.app_context():
        before = task_state(pk)
    for action in ("assign", "approve", "terminate", "remind"):
        assert client.post(f"/tasks/{pk}/{action}", data={"reason": "越权"}).status_code == 404, action
    assert client.post(f"/findings/{rows['f_out']['id']}/verify").status_code == 404
    assert client.post("/tasks/action_post", data={"action": "muldelete", "rowid": [pk]}).status_code == 404
    assert client.post("/tasks/action_post", data={"action": "assign_selected", "rowid": [pk]}).status_code == 404
    with app.app_context():
        assert task_state(pk) == before


def test_liaison_sees_only_own_units_items_and_no_supervisor_buttons(client, rows):
    login(client, "llr_luoshan_t01")
    page = page_text(client.get(f"/tasks/show/{rows['in']['id']}"))
    assert "签收" in page and "/assign" not in page and "/terminate" not in page
    assert client.post(f"/tasks/{rows['in']['id']}/terminate", data={"reason": "x"}).status_code == 403
    assert client.get("/tasks/add").status_code == 403


def test_leader_changes_nothing(client, app, rows):
    login(client, "ld_luoshan")
    pk = rows["in"]["id"]
    with app.app_context():
        before = task_state(pk)
    page = page_text(client.get(f"/tasks/show/{pk}"))
    assert 'method="post"' not in page  # no button at all
    for url in (f"/tasks/{pk}/assign", f"/tasks/{pk}/terminate", f"/tasks/{pk}/sign", f"/tasks/{pk}/report",
                f"/tasks/edit/{pk}", f"/tasks/delete/{pk}", "/tasks/add", "/tasks/action_post",
                f"/findings/{rows['f_in']['id']}/verify", f"/findings/{rows['f_in']['id']}/start",
                "/findings/add", "/inspections/add"):
        assert client.post(url, data={"reason": "x", "action": "muldelete", "rowid": [pk]}).status_code == 403, url
    with app.app_context():
        assert task_state(pk) == before


# ---------------------------------------------------------------- the workflow through the screens


def test_draft_form_to_completion_through_the_buttons(client, app):
    sup, lead_llr = "dcy_luoshan", "llr_luoshan_t01"
    with app.app_context():
        lead_id, assist_id, rule_id = unit("XY03T01").id, unit("XY03D01").id, S._rule(None, "普通事项").id
        cadre_id = cadre_in("XY03T01").id
    code = "UI" + tag()
    login(client, sup)
    form = {"code": code, "title": "界面创建的事项", "category": "督难事", "rule": rule_id, "lead_unit": lead_id,
            "assist_units": [assist_id], "responsible_cadre": cadre_id, "content": "内容", "source": "县委常委会"}
    response = client.post("/tasks/add", data=form)
    assert response.status_code == 302
    with app.app_context():
        task = db.session.scalar(select(SupervisionTask).where(SupervisionTask.code == code))
        pk, version = task.id, task.version
        assert task.state == "draft" and [u.id for u in task.assist_units] == [assist_id]
    assert client.post(f"/tasks/edit/{pk}", data={**form, "title": "改过的名称", "expected_version": version}).status_code == 302
    assert "改过的名称" in page_text(client.get(f"/tasks/show/{pk}"))
    client.post(f"/tasks/{pk}/assign")
    with app.app_context():
        assert task_state(pk)[0] == "assigned"
        assignments = {a.org_unit.code: a.id for a in db.session.get(SupervisionTask, pk).assignments}
    # the edit form of an assigned item is refused with a Chinese message
    assert "不能再修改" in " ".join(flashes(page_text(client.get(f"/tasks/edit/{pk}", follow_redirects=True))))

    login(client, lead_llr)
    assert client.post(f"/tasks/{pk}/sign", data={"assignment_id": assignments["XY03T01"]}).status_code == 302
    data = {"assignment_id": assignments["XY03T01"], "done_text": "已完成排查", "undone_reason": "", "next_steps": "继续",
            "attachments": (io.BytesIO("附件内容".encode()), "排查表.txt")}
    client.post(f"/tasks/{pk}/report", data=data, content_type="multipart/form-data")
    page = page_text(client.get(f"/tasks/show/{pk}"))
    assert "已完成排查" in page and "排查表.txt" in page
    aid = re.search(r"/tasks/attachment/(\d+)", page).group(1)
    assert client.get(f"/tasks/attachment/{aid}").data == "附件内容".encode()
    new_date = (now() + timedelta(days=30)).date().isoformat()
    client.post(f"/tasks/{pk}/extension", data={"assignment_id": assignments["XY03T01"], "new_date": new_date,
                                                "reason": "需协调"})
    # the lead unit cannot report completion while the assisting unit has not signed
    page = page_text(client.post(f"/tasks/{pk}/complete", data={"assignment_id": assignments["XY03T01"],
                                                               "done_text": "完成"}, follow_redirects=True))
    assert "尚未签收" in page
    login(client, "llr_luoshan_d01")
    client.post(f"/tasks/{pk}/sign", data={"assignment_id": assignments["XY03D01"]})

    login(client, sup)
    with app.app_context():
        rid = db.session.scalar(select(ExtensionRequest.id).where(ExtensionRequest.task_id == pk))
    client.post(f"/tasks/{pk}/extension/{rid}", data={"decision": "approve"})
    with app.app_context():
        assert db.session.get(ExtensionRequest, rid).state == "approved"
        assert db.session.get(SupervisionTask, pk).complete_due.date().isoformat() > new_date[:8]
    client.post(f"/tasks/{pk}/remind", data={"assignment_id": "", "message": "请抓紧"})

    login(client, lead_llr)
    client.post(f"/tasks/{pk}/complete", data={"assignment_id": assignments["XY03T01"], "done_text": "全部完成"})
    with app.app_context():
        assert task_state(pk)[0] == "pending_review"
    login(client, sup)
    client.post(f"/tasks/{pk}/return", data={"reason": "材料不全"})
    with app.app_context():
        assert task_state(pk)[0] == "in_progress"
    login(client, lead_llr)
    client.post(f"/tasks/{pk}/complete", data={"assignment_id": assignments["XY03T01"], "done_text": "补齐材料"})
    login(client, sup)
    page = page_text(client.post(f"/tasks/{pk}/approve", follow_redirects=True))
    assert "审核通过" in " ".join(flashes(page))
    with app.app_context():
        assert task_state(pk)[0] == "completed"
    # an attachment of a task is out of reach out of scope
    login(client, "ld_guangshan")
    assert client.get(f"/tasks/attachment/{aid}").status_code == 404


def test_illegal_transition_via_the_ui_says_why_in_chinese_and_changes_nothing(client, app):
    with app.app_context():
        row = make_task(sign=True)
        before = task_state(row["id"])
    login(client, "dcy_luoshan")
    page = page_text(client.post(f"/tasks/{row['id']}/approve", follow_redirects=True))
    messages = " ".join(flashes(page))
    assert "当前状态为“办理中”，不能审核通过" in messages
    page = page_text(client.post(f"/tasks/{row['id']}/return", data={"reason": ""}, follow_redirects=True))
    assert "不能退办" in " ".join(flashes(page))
    with app.app_context():
        assert task_state(row["id"]) == before


def test_a_stale_button_is_refused(client, app):
    with app.app_context():
        row = make_task(ago=None)
        _, version = task_state(row["id"])
        S.update_draft(row["id"], user=user("dcy_luoshan"), title="别人改过")
    login(client, "dcy_luoshan")
    page = page_text(client.post(f"/tasks/{row['id']}/assign", data={"expected_version": version},
                                 follow_redirects=True))
    assert "已被他人修改" in " ".join(flashes(page))
    with app.app_context():
        assert task_state(row["id"])[0] == "draft"


def test_out_of_scope_unit_in_the_form_is_refused(client, app):
    with app.app_context():
        out_unit, rule_id = unit("XY04T01").id, S._rule(None, "普通事项").id
        count = db.session.scalar(select(func.count(SupervisionTask.id)))
    login(client, "dcy_luoshan")
    page = page_text(client.post("/tasks/add", data={"code": "X" + tag(), "title": "越权", "category": "督实事",
                                                     "rule": rule_id, "lead_unit": out_unit}))
    assert "所选项不存在或不在您的管辖范围内" in page
    with app.app_context():
        assert db.session.scalar(select(func.count(SupervisionTask.id))) == count


def test_only_drafts_are_deleted(client, app):
    with app.app_context():
        draft, assigned = make_task(ago=None), make_task()
    login(client, "dcy_luoshan")
    page = page_text(client.post(f"/tasks/delete/{assigned['id']}", follow_redirects=True))
    assert "只有草稿可以删除" in " ".join(flashes(page))
    client.post("/tasks/action_post", data={"action": "muldelete", "rowid": [assigned["id"]]})
    client.post(f"/tasks/delete/{draft['id']}")
    with app.app_context():
        assert db.session.get(SupervisionTask, assigned["id"]) is not None
        assert db.session.get(SupervisionTask, draft["id"]) is None
    list_page = page_text(client.get(f"/tasks/list/?psize_TaskView=500&_flt_0_code={assigned['code']}"))
    assert f"/tasks/edit/{assigned['id']}" not in list_page  # no edit button on an assigned row


def test_list_buttons_follow_the_row_predicates(client, app):
    """One list widget: a draft task row offers edit and delete, an assigned one only show;
    finding and inspection rows never offer edit or delete (they move by workflow)."""
    with app.app_context():
        draft, assigned = make_task(ago=None), make_task()
        finding = make_finding()
    login(client, "dcy_luoshan")
    page = client.get("/tasks/list/?psize_TaskView=500&_flt_0_code=VT").get_data(as_text=True)
    for pk in (draft["id"], assigned["id"]):
        assert f'href="/tasks/show/{pk}' in page
    assert f'href="/tasks/edit/{draft["id"]}' in page and f"/tasks/delete/{draft['id']}" in page
    assert f"/tasks/edit/{assigned['id']}" not in page and f"/tasks/delete/{assigned['id']}" not in page
    page = client.get("/findings/list/?psize_FindingView=500").get_data(as_text=True)
    assert f'href="/findings/show/{finding["id"]}' in page
    assert "/findings/edit/" not in page and "/findings/delete/" not in page
    page = client.get("/inspections/list/?psize_InspectionView=500").get_data(as_text=True)
    assert f'href="/inspections/show/{finding["inspection"]}' in page
    assert "/inspections/edit/" not in page and "/inspections/delete/" not in page
    # The cadre register (a plain list) keeps its edit and delete buttons.
    login(client, "kpy_luoshan")
    page = client.get("/cadres/list/").get_data(as_text=True)
    assert "/cadres/edit/" in page and "/cadres/delete/" in page


def test_bulk_assign_action(client, app):
    with app.app_context():
        a, b = make_task(ago=None), make_task(ago=None)
    login(client, "dcy_luoshan")
    client.post("/tasks/action_post", data={"action": "assign_selected", "rowid": [a["id"], b["id"]]})
    with app.app_context():
        assert task_state(a["id"])[0] == task_state(b["id"])[0] == "assigned"


def test_transition_through_the_ui_is_audited(client, app):
    with app.app_context():
        row = make_task(ago=None)
    login(client, "dcy_luoshan")
    client.post(f"/tasks/{row['id']}/assign")
    with app.app_context():
        audits = db.session.scalars(
            select(AuditLog).where(AuditLog.table_name == "supervision_task", AuditLog.row_id == str(row["id"]),
                                   AuditLog.action == "update")
        ).all()
        assert audits and audits[-1].username == "dcy_luoshan"
        assert '"assigned"' in audits[-1].new_values and '"draft"' in audits[-1].old_values
        created = db.session.scalars(select(AuditLog).where(AuditLog.table_name == "task_assignment",
                                                            AuditLog.action == "create")).all()
        assert any(a.username == "dcy_luoshan" for a in created)


# ---------------------------------------------------------------- lights and filters


def test_light_filter_shows_only_red(client, app):
    with app.app_context():
        red = make_task(ago=20)                 # never signed: long overdue
        green = make_task(ago=0, sign=True)     # signed, first report due in 3 days
        yellow = make_task(ago=0)               # unsigned, due at midnight
        sup = user("dcy_luoshan")
        visible = db.session.scalars(S.scope_tasks(select(SupervisionTask), sup)).all()
        at = now()
        expected_red = sum(1 for t in visible if S.task_light(t, at) == "red")
        assert S.task_light(db.session.get(SupervisionTask, green["id"]), at) == "green"
    login(client, "dcy_luoshan")
    page = page_text(client.get("/tasks/list/?light=red&psize_TaskView=1000"))
    assert red["code"] in page and green["code"] not in page and yellow["code"] not in page
    assert set(re.findall(r'class="sv-light sv-light-(\w+)"', page)) == {"red"}
    assert list_count(page) == expected_red
    green_page = page_text(client.get("/tasks/list/?light=green&psize_TaskView=1000"))
    assert green["code"] in green_page and red["code"] not in green_page
    assert set(re.findall(r'class="sv-light sv-light-(\w+)"', green_page)) == {"green"}


def test_unit_filter_covers_lead_or_assisting_units(client, rows):
    login(client, "dcy_luoshan")
    page = page_text(client.get("/tasks/list/?unit=XY03D01&psize_TaskView=1000"))
    assert rows["in"]["code"] in page and rows["other"]["code"] not in page  # XY03D01 assists "in"
    page = page_text(client.get("/tasks/list/?lead=XY03D01&psize_TaskView=1000"))
    assert rows["in"]["code"] not in page
    # a unit outside the scope widens nothing
    assert rows["out"]["code"] not in page_text(client.get("/tasks/list/?unit=XY04&psize_TaskView=1000"))


def test_overdue_findings_filter(client, app):
    with app.app_context():
        late = make_finding(deadline=now().date() - timedelta(days=2), found_on=now().date() - timedelta(days=9))
        on_time = make_finding(deadline=now().date() + timedelta(days=5))
    login(client, "dcy_luoshan")
    page = page_text(client.get("/findings/list/?overdue=1&psize_FindingView=1000"))
    assert late["description"] in page and on_time["description"] not in page
    assert "整改超期" in page


# ---------------------------------------------------------------- findings workflow


def test_inspection_and_finding_workflow_through_the_buttons(client, app):
    with app.app_context():
        unit_id, cadre_id = unit("XY03T01").id, cadre_in("XY03T01").id
    code = "UIJ" + tag()
    login(client, "dcy_luoshan")
    client.post("/inspections/add", data={"code": code, "date": now().date().isoformat(), "mode": "暗访",
                                          "place": "便民服务中心", "team": "第一组", "org_unit": unit_id})
    with app.app_context():
        inspection_id = db.session.scalar(select(F.Inspection.id).where(F.Inspection.code == code))
    response = client.post("/findings/add", data={
        "inspection": inspection_id, "org_unit": unit_id, "cadres": [cadre_id], "description": "窗口脱岗" + code,
        "category": "作风建设", "severity": "较重", "mode": "limited",
        "deadline": (now().date() + timedelta(days=7)).isoformat()})
    assert response.status_code == 302
    with app.app_context():
        finding = db.session.scalar(select(Finding).where(Finding.description == "窗口脱岗" + code))
        pk = finding.id
        assert finding.state == "pending" and [c.id for c in finding.cadres] == [cadre_id]
    assert "窗口脱岗" in page_text(client.get(f"/inspections/show/{inspection_id}"))
    # a generic edit of a finding is not offered
    assert "不提供直接修改" in " ".join(flashes(page_text(client.get(f"/findings/edit/{pk}", follow_redirects=True))))

    login(client, "llr_luoshan_t01")
    client.post(f"/findings/{pk}/start")
    client.post(f"/findings/{pk}/rectification", content_type="multipart/form-data",
                data={"text": "已建立首问负责制", "attachments": (io.BytesIO(b"photo"), "photo.jpg")})
    login(client, "dcy_luoshan")
    client.post(f"/findings/{pk}/reject", data={"note": "佐证不足"})
    with app.app_context():
        assert db.session.get(Finding, pk).state == "rectifying"
    login(client, "llr_luoshan_t01")
    client.post(f"/findings/{pk}/rectification", data={"text": "补充佐证"})
    login(client, "dcy_luoshan")
    client.post(f"/findings/{pk}/verify")
    client.post(f"/findings/{pk}/accountability", data={"measures": ["诫勉", "约谈"], "note": "约谈分管负责人"})
    with app.app_context():
        db.session.expire_all()
        finding = db.session.get(Finding, pk)
        assert finding.state == "closed" and finding.accountability == "约谈、诫勉"
    page = page_text(client.get(f"/findings/show/{pk}"))
    assert "已销号" in page and "photo.jpg" in page and "驳回" in page
    # verifying twice is refused in Chinese
    assert "不能验收销号" in " ".join(flashes(page_text(client.post(f"/findings/{pk}/verify", follow_redirects=True))))


def test_liaison_of_another_unit_cannot_rectify(client, rows):
    login(client, "llr_luoshan_d01")
    assert client.post(f"/findings/{rows['f_in']['id']}/start").status_code == 404  # not even visible


# ---------------------------------------------------------------- 我的待办


def test_todo_page_of_liaison_and_supervisor(client, app):
    with app.app_context():
        row = make_task(ago=0)
        late = make_task(ago=20)
        S.create_due_reminders(now())
        reminder = db.session.scalar(select(TaskReminder).where(TaskReminder.task_id == late["id"],
                                                                TaskReminder.org_unit_id == unit("XY03T01").id))
    login(client, "llr_luoshan_t01")
    page = page_text(client.get("/todo/"))
    assert "待签收" in page and row["code"] in page and "待整改" in page and "催办" in page
    response = client.post(f"/tasks/{row['id']}/sign", data={"assignment_id": row["assignments"]["XY03T01"],
                                                            "next": "/todo/"})
    assert response.headers["Location"].endswith("/todo/")
    page = page_text(client.get("/todo/"))
    to_sign = page.split('id="todo-to_sign"', 1)[1].split('id="todo-', 1)[0]
    assert row["code"] not in to_sign
    client.post(f"/tasks/reminder/{reminder.id}/read", data={"next": "/todo/"})
    with app.app_context():
        assert db.session.get(TaskReminder, reminder.id).read_at is not None

    with app.app_context():
        review = make_task(ago=1, assist=(), sign=True)
        S.submit_completion(review["assignments"]["XY03T01"], "完成", user=None, now=now())
    login(client, "dcy_luoshan")
    page = page_text(client.get("/todo/"))
    assert "待审核办结" in page and review["code"] in page and "待验收" in page


# ---------------------------------------------------------------- settings


def test_time_limit_rules_admin_writes_supervisor_reads(client, app):
    login(client, "dcy_luoshan")
    assert "普通事项" in page_text(client.get("/timelimitrules/list/"))
    assert client.get("/timelimitrules/add").status_code == 403
    login(client, "admin")
    name = "测试规则" + tag()
    client.post("/timelimitrules/add", data={"name": name, "acknowledge_days": 1, "first_report_days": 3,
                                             "complete_days": 15, "complete_months": 0, "report_interval_days": 7,
                                             "active": "y"})
    assert name in page_text(client.get("/timelimitrules/list/"))


def test_work_calendar_year_filter_and_duplicate_day(client):
    login(client, "admin")
    page = page_text(client.get("/workcalendar/list/?year=2022&psize_WorkCalendarView=200"))
    assert "2022-10-03" in page and "2021-" not in page
    page = page_text(client.post("/workcalendar/add", data={"day": "2022-10-03", "kind": "holiday", "note": "重复"},
                                 follow_redirects=True))
    assert "已经存在" in page or "已在工作日历中" in page


# ---------------------------------------------------------------- 督查实绩 in evaluation (督考一体)


def test_supervision_indicator_flows_into_the_computed_result(app):
    from app.evaluation import results as eval_results
    from app.evaluation.demo import demo_scheme
    from app.evaluation.imports import import_indicators
    from app.evaluation.periods import create_period, import_scheme, transition

    with app.app_context():
        today = now().date()
        t = tag()
        overdue_cadre, finding_cadre, clean_cadre = (
            Cadre(code=f"SV{t}{i}", name=f"督查测试{i}", org_unit_id=unit("XY03T03").id, post_category="乡镇党政副职")
            for i in range(3)
        )
        db.session.add_all([overdue_cadre, finding_cadre, clean_cadre])
        db.session.commit()
        # an item due ~13 days ago and still open (never signed), and a 严重 finding (持续整改)
        make_task("XY03T03", (), ago=20, responsible_cadre_id=overdue_cadre.id)
        make_finding("XY03T03", severity="严重", continuous=True, cadres=[overdue_cadre])
        # a 一般 finding whose 限期 rectification is overdue
        make_finding("XY03T03", severity="一般", deadline=today - timedelta(days=1),
                     found_on=today - timedelta(days=4), cadres=[finding_cadre])
        scheme, _ = import_scheme({**demo_scheme(), "name": f"督查实绩方案{t}"}, user=None)
        period = create_period(f"SV-{t}", f"督查实绩期{t}", "专项", scheme.name,
                               (today - timedelta(days=60)).isoformat(), today.isoformat(), user=None)
        transition(period.code, "open", user=None)
        rows = "".join(f"{c.code},项目建设实绩,80\n" for c in (overdue_cadre, finding_cadre, clean_cadre))
        import_indicators(period.code, ("干部编号,指标,得分\n" + rows).encode(), "i.csv", user=None)
        eval_results.compute_period(period.code, user=None)
        results = {r.cadre_id: r for r in db.session.scalars(
            select(EvaluationResult).where(EvaluationResult.period_id == period.id))}
        assert results[overdue_cadre.id].indicator_scores["督查实绩"] == 85.0   # 100 − 5 − 10
        assert results[finding_cadre.id].indicator_scores["督查实绩"] == 95.0   # 100 − 2 − 3
        assert results[clean_cadre.id].indicator_scores["督查实绩"] == 100.0
        assert "督查实绩" not in (results[clean_cadre.id].flags or "")


# ---------------------------------------------------------------- Chinese on the pages off the menu


@pytest.mark.parametrize("username", ["dcy_luoshan", "llr_luoshan_t01", "ld_luoshan"])
def test_detail_and_form_pages_speak_chinese(client, rows, username):
    from tests.test_i18n_menus import ENGLISH, attributes_shown, visible_text

    pages = [f"/tasks/show/{rows['in']['id']}", f"/findings/show/{rows['f_in']['id']}",
             f"/inspections/show/{rows['f_in']['inspection']}", "/tasks/list/?light=red&state=open",
             "/findings/list/?overdue=1"]
    if username == "dcy_luoshan":
        pages += ["/tasks/add", f"/tasks/edit/{rows['draft']['id']}", "/findings/add", "/inspections/add",
                  f"/tasks/show/{rows['draft']['id']}", "/supervision/board/?unit=XY03T01"]
    login(client, username)
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, (username, url)
        body = page_text(response)
        words = ENGLISH.findall(visible_text(body) + " " + attributes_shown(body))
        assert not words, (username, url, sorted(set(words)))
