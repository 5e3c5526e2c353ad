"""Issue 14, what a supervisor and a liaison see and click (real browser).

- a returned (退办) item stays on the liaison's 我的待办 as 被退回, with the reason (point 1);
- the task list names the late milestone (签收 / 首次反馈 / 办结) with its days (point 9);
- irreversible buttons ask for confirmation, and a refused report keeps what was typed (point 10);
- every list has a plain keyword search box, still row-scoped (point 11).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from tests.test_browser import (  # noqa: F401  (fixtures are used by name)
    LOCAL_HOST,
    browser,
    live_server,
    login,
    open_page,
    shot,
)

SUPERVISOR = "dcy_luoshan"
LIAISON = "llr_luoshan_t01"
LIAISON_UNIT = "XY03T01"


def _draft(app, code: str, title: str, unit: str = LIAISON_UNIT, **fields) -> int:
    from app.extensions import db
    from app.models import OrgUnit
    from app.supervision.tasks import create_task

    with app.app_context():
        unit_id = db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == unit))
        assert unit_id, f"demo unit {unit} is missing"
        fields.setdefault("rule_name", "普通事项")
        task = create_task(code, title, lead_unit_id=unit_id, category="督实事", **fields)
        db.session.commit()
        return task.id


def _lead(app, task_id: int) -> int:
    from app.extensions import db
    from app.models import SupervisionTask

    with app.app_context():
        return next(a.id for a in db.session.get(SupervisionTask, task_id).assignments if a.is_lead)


def _returned_task(app, code: str, title: str, reason: str) -> int:
    """An item assigned, signed, reported complete by the lead unit and returned (退办)."""
    from app.extensions import db
    from app.supervision import tasks as S

    task_id = _draft(app, code, title)
    with app.app_context():
        S.assign(task_id)
        db.session.commit()
    lead = _lead(app, task_id)
    with app.app_context():
        S.sign(lead)
        S.submit_completion(lead, "已完成全部工作。")
        S.return_task(task_id, reason)
        db.session.commit()
    return task_id


def accept_dialogs(page) -> list[str]:
    """Accept every confirm() of the page; returns the list its messages are written to."""
    seen: list[str] = []

    def on_dialog(dialog):
        seen.append(dialog.message)
        dialog.accept()

    page.on("dialog", on_dialog)
    return seen


# ---------------------------------------------------------------- point 1: 被退回 on 我的待办

def test_returned_item_waits_on_liaison_todo_with_reason(app, live_server, open_page):  # noqa: F811  (fixtures)
    code, reason = "DC-J1-RET-01", "办结佐证材料不全，请补充会议纪要。"
    task_id = _returned_task(app, code, "退办后须重新报送的事项", reason)

    w = open_page()
    page = w.page
    login(page, live_server, LIAISON)
    page.goto(f"{live_server}/todo/")
    section = page.locator("#todo-returned")
    assert section.count() == 1, "the liaison's 我的待办 has no 被退回 section after a 退办"
    row = section.locator("li", has_text=code)
    assert row.count() == 1, "the returned item is not on the liaison's 我的待办"
    assert "被退回" in row.inner_text()
    assert reason in row.inner_text(), "the 退办 reason is not shown with the returned item"
    assert "共 0 项" not in page.locator(".sv-title").inner_text()
    shot(page, "j1_todo_returned.png")

    # The item is done from there: its page opens with the reason, and reporting completion
    # again takes it off the list.
    row.locator("a", has_text=code).click()
    page.wait_for_url(f"**/tasks/show/{task_id}")
    assert reason in page.locator(".sv-reason").inner_text()
    from app.extensions import db
    from app.supervision import tasks as S

    with app.app_context():
        S.submit_completion(_lead(app, task_id), "已补充会议纪要。")
        db.session.commit()
    page.goto(f"{live_server}/todo/")
    assert page.locator("#todo-returned li", has_text=code).count() == 0
    w.check()


# ---------------------------------------------------------------- point 9: the late milestone by name

def test_task_list_names_the_late_milestone(app, live_server, open_page):  # noqa: F811  (fixtures)
    """Assigned 5 days ago and signed at once, never reported: the first report is late, the
    completion is not due yet. The list says 首次反馈超期 N 天, not a bare number."""
    from app.extensions import db
    from app.models import TaskAssignment
    from app.supervision import deadlines
    from app.supervision import tasks as S

    code = "DC-J1-LATE-01"
    task_id = _draft(app, code, "首次反馈超期的事项")
    then = dt.datetime.now().replace(microsecond=0) - dt.timedelta(days=5)
    with app.app_context():
        S.assign(task_id, now=then)
        db.session.commit()
    lead = _lead(app, task_id)
    with app.app_context():
        S.sign(lead, now=then + dt.timedelta(hours=1))
        db.session.commit()
        a = db.session.get(TaskAssignment, lead)
        late = deadlines.days_late(a.first_report_due, None, dt.datetime.now())
        complete_due = a.task.complete_due
    assert late >= 1 and complete_due > dt.datetime.now(), "the case needs a late first report only"

    w = open_page()
    page = w.page
    login(page, live_server, SUPERVISOR)
    page.goto(f"{live_server}/tasks/list/")
    row = page.locator("table tr", has_text=code)
    assert row.count() == 1
    text = row.inner_text()
    assert f"首次反馈超期 {late} 天" in text, f"the list does not name the late milestone: {text!r}"
    assert "办结超期" not in text and "签收超期" not in text
    assert "超期情况" in page.locator("table thead").inner_text()
    shot(page, "j1_task_list_late_milestone.png")

    page.goto(f"{live_server}/tasks/show/{task_id}")
    assert f"首次反馈超期 {late} 天" in page.locator(".sv-status").inner_text()
    w.check()


# ---------------------------------------------------------------- point 10: confirm first, keep the input

class Dialogs:
    """Answers the page's confirm() dialogs with `self.answer`, recording their messages."""

    def __init__(self, page):
        self.answer, self.messages = False, []
        page.on("dialog", self._on)

    def _on(self, dialog):
        self.messages.append(dialog.message)
        if self.answer:
            dialog.accept()
        else:
            dialog.dismiss()


def _task_state(app, task_id: int) -> str | None:
    from app.extensions import db
    from app.models import SupervisionTask

    with app.app_context():
        db.session.expire_all()
        task = db.session.get(SupervisionTask, task_id)
        return None if task is None else task.state


def test_irreversible_buttons_ask_first(app, live_server, open_page):  # noqa: F811  (fixtures)
    from app.extensions import db
    from app.models import Finding
    from app.supervision import findings as F

    task_id = _draft(app, "DC-J1-CONF-01", "确认后才交办的事项")
    w = open_page()
    page = w.page
    dialogs = Dialogs(page)
    login(page, live_server, SUPERVISOR)
    show = f"{live_server}/tasks/show/{task_id}"

    # 交办, 删除草稿: cancelled, nothing happens
    page.goto(show)
    page.locator(".sv-actions button", has_text="交办").click()
    page.locator(".sv-actions button", has_text="删除草稿").click()
    page.wait_for_timeout(300)
    assert len(dialogs.messages) == 2, f"no confirmation was asked: {dialogs.messages}"
    assert "确定交办" in dialogs.messages[0] and "确定删除草稿" in dialogs.messages[1]
    assert _task_state(app, task_id) == "draft", "a cancelled 交办/删除 changed the item"
    # confirmed: 交办 happens
    dialogs.answer = True
    with page.expect_navigation():
        page.locator(".sv-actions button", has_text="交办").click()
    assert _task_state(app, task_id) == "assigned"

    # 验收销号 of a finding: cancelled, the finding stays 待验收
    with app.app_context():
        day = dt.date.today() - dt.timedelta(days=5)
        unit_id = db.session.scalar(select(F.OrgUnit.id).where(F.OrgUnit.code == LIAISON_UNIT))
        inspection = F.create_inspection("JC-J1-CONF", day, "村委会", None, "明察", unit_id)
        finding = F.add_finding(inspection.id, unit_id, "台账未更新", "档案资料", "一般", continuous=True)
        F.start_rectification(finding.id)
        F.report_rectification(finding.id, "已更新台账")
        db.session.commit()
        fid = finding.id
    dialogs.answer = False
    page.goto(f"{live_server}/findings/show/{fid}")
    shot(page, "j1_finding_awaiting_verification.png")
    page.locator(".sv-actions button", has_text="验收销号").click()
    page.wait_for_timeout(300)
    assert "确定验收通过并销号" in dialogs.messages[-1]
    with app.app_context():
        assert db.session.get(Finding, fid).state == "awaiting_verification"
    w.check()


def test_refused_completion_report_keeps_what_was_typed(app, live_server, open_page):  # noqa: F811  (fixtures)
    from app.extensions import db
    from app.supervision import tasks as S

    code = "DC-J1-KEEP-01"
    task_id = _draft(app, code, "附件被拒后保留输入的事项")
    with app.app_context():
        S.assign(task_id)
        db.session.commit()
    w = open_page()
    page = w.page
    dialogs = Dialogs(page)
    dialogs.answer = True
    login(page, live_server, LIAISON)
    page.goto(f"{live_server}/tasks/show/{task_id}")
    with page.expect_navigation():
        page.locator(".sv-actions button", has_text="签收").click()
    assert "确定签收" in dialogs.messages[-1]
    page.goto(f"{live_server}/tasks/show/{task_id}")
    page.locator('.sv-actions button[data-target="#f-complete"]').click()
    page.locator("#f-complete.in").wait_for()
    typed = {"#complete-done": "已完成全部整治任务，共清理垃圾 12 吨。", "#complete-undone": "无",
             "#complete-next": "建立长效机制。"}
    for selector, text in typed.items():
        page.fill(selector, text)
    page.set_input_files("#complete-files", files=[{"name": "程序.exe", "mimeType": "application/octet-stream",
                                                    "buffer": b"MZ not allowed"}])
    with page.expect_navigation():
        page.locator("#f-complete button[type=submit]").click()
    assert "确定提交办结报告" in dialogs.messages[-1]
    assert "不允许上传" in " ".join(page.locator(".alert-danger").all_inner_texts())
    assert _task_state(app, task_id) == "in_progress", "a refused report changed the item"
    assert page.locator("#f-complete").is_visible(), "the refused form is not open again"
    for selector, text in typed.items():
        assert page.input_value(selector) == text, f"{selector} lost what the user typed"
    assert page.locator("#f-complete .sv-kept-files").is_visible()
    shot(page, "j1_refused_upload_keeps_input.png")
    w.check()


def test_draft_deadline_in_the_past_warns_while_typing(app, live_server, open_page):  # noqa: F811  (fixtures)
    task_id = _draft(app, "DC-J1-PAST-01", "期限已过的草稿")
    w = open_page()
    page = w.page
    login(page, live_server, SUPERVISOR)
    page.goto(f"{live_server}/tasks/edit/{task_id}")
    field = page.locator("input[name=manual_deadline]")
    assert page.locator(".past-warning").count() == 0
    field.fill((dt.date.today() - dt.timedelta(days=2)).isoformat())
    page.locator(".past-warning").wait_for()
    assert "已经过期" in page.locator(".past-warning").inner_text()
    shot(page, "j1_draft_past_deadline_form.png")
    field.fill((dt.date.today() + dt.timedelta(days=20)).isoformat())
    page.wait_for_timeout(200)
    assert page.locator(".past-warning").count() == 0
    w.check()


# ---------------------------------------------------------------- point 11: the keyword box

def test_keyword_box_on_the_lists(app, live_server, open_page):  # noqa: F811  (fixtures)
    _draft(app, "DC-J1-KW-B01", "防汛物资储备检查")
    _draft(app, "DC-J1-KW-B02", "秸秆禁烧巡查")
    w = open_page()
    page = w.page
    login(page, live_server, SUPERVISOR)
    page.goto(f"{live_server}/tasks/list/?state=draft")
    box = page.locator("form.list-keyword input[name=q]")
    assert box.is_visible(), "the task list has no keyword box"
    assert "事项编号" in (box.get_attribute("placeholder") or "")
    box.fill("防汛物资")
    with page.expect_navigation():
        page.locator("form.list-keyword button[type=submit]").click()
    rows = page.locator("table tbody tr", has_text="DC-J1-KW-")
    assert rows.count() == 1 and "DC-J1-KW-B01" in rows.inner_text()
    assert "state=draft" in page.url, "the keyword dropped the list's other filters"
    shot(page, "j1_task_list_keyword.png")
    with page.expect_navigation():
        page.locator("form.list-keyword a", has_text="清除搜索").click()
    assert page.locator("table tbody tr", has_text="DC-J1-KW-").count() == 2

    # the same box on other lists: cadres (by unit name) and findings
    page.goto(f"{live_server}/cadres/list/")
    page.locator("form.list-keyword input[name=q]").fill("桥北镇")
    with page.expect_navigation():
        page.locator("form.list-keyword button[type=submit]").click()
    assert page.locator("table tbody tr", has_text="桥北镇").count() >= 1
    shot(page, "j1_cadre_list_keyword.png")
    page.goto(f"{live_server}/findings/list/")
    assert page.locator("form.list-keyword input[name=q]").is_visible()
    w.check()
