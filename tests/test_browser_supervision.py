"""Real-browser walk through one supervision item's whole life (督查事项闭环).

A supervisor and a liaison, each in their own browser context, drive the task show page's
buttons: 交办 → 签收 → 反馈 → 申请延期 → 批准延期 → 提交办结 → 退办 → 提交办结 → 审核通过.
After each step the state label on the show page is checked, and the to-do page is checked to
change. Every page is watched for requests leaving 127.0.0.1 and for console errors.
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
CODE = "DC-BROWSER-001"
TITLE = "浏览器闭环测试事项"


def _make_draft(app) -> int:
    from app.extensions import db
    from app.models import OrgUnit
    from app.supervision.tasks import create_task

    with app.app_context():
        unit_id = db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == "XY03T01"))
        assert unit_id, "demo unit XY03T01 is missing"
        task = create_task(CODE, TITLE, lead_unit_id=unit_id, category="督实事", rule_name="普通事项")
        db.session.commit()
        return task.id


def _due(app, task_id: int) -> dt.date:
    """The task's completion deadline as its last day (as the show page prints it)."""
    from app.extensions import db
    from app.models import SupervisionTask

    with app.app_context():
        due = db.session.get(SupervisionTask, task_id).complete_due
    assert due is not None, "the task has no completion deadline after 交办"
    # Stored as the instant it runs out (the next midnight); shown, and asked for, as its last day.
    return (due - dt.timedelta(microseconds=1)).date()


def _state(page) -> str:
    return page.locator(".sv-status .sv-state").inner_text().strip()


def _submit(page, button) -> None:
    """Click a button that posts a form, and wait for the page it leads to."""
    with page.expect_navigation():
        button.click()
    alerts = page.locator(".alert-danger").all_inner_texts()
    assert not alerts, f"the app refused the step: {alerts}"


def _open_panel(page, target: str, label: str) -> None:
    page.locator(f'.sv-actions button[data-target="#{target}"]', has_text=label).click()
    page.locator(f"#{target}.in").wait_for()


def _todo_section(page, base, key):
    page.goto(f"{base}/todo/")
    return page.locator(f"#todo-{key}")


def test_task_workflow_in_browser(app, live_server, open_page):  # noqa: F811  (fixtures)
    task_id = _make_draft(app)
    show = f"{live_server}/tasks/show/{task_id}"

    sup_w, lia_w = open_page(), open_page()
    sup, lia = sup_w.page, lia_w.page
    for page in (sup, lia):  # irreversible buttons ask first (issue 14): this walk says yes
        page.on("dialog", lambda dialog: dialog.accept())
    login(sup, live_server, SUPERVISOR)
    login(lia, live_server, LIAISON)

    # The liaison sees nothing of the draft yet.
    to_sign = _todo_section(lia, live_server, "to_sign")
    assert not to_sign.count() or to_sign.locator("li", has_text=CODE).count() == 0

    # 1. 交办 (supervisor)
    sup.goto(show)
    assert _state(sup) == "草稿"
    _submit(sup, sup.locator(".sv-actions button", has_text="交办"))
    sup.goto(show)
    assert _state(sup) == "已交办"
    shot(sup, "workflow_1_assigned.png")

    # 2. The liaison sees it under 待签收 and signs it on the show page.
    to_sign = _todo_section(lia, live_server, "to_sign")
    assert to_sign.locator("li", has_text=CODE).count() == 1, "the assigned item is not in the liaison's 待签收"
    shot(lia, "workflow_2_todo_before_sign.png")
    lia.locator("#todo-to_sign li", has_text=CODE).locator("a", has_text=CODE).click()
    lia.wait_for_url(f"**/tasks/show/{task_id}")
    _submit(lia, lia.locator(".sv-actions button", has_text="签收"))
    lia.goto(show)
    assert _state(lia) == "办理中"
    assert lia.locator(".sv-assignments", has_text="未签收").count() == 0
    to_sign = _todo_section(lia, live_server, "to_sign")
    assert to_sign.count() == 0 or to_sign.locator("li", has_text=CODE).count() == 0, "still 待签收 after signing"
    reports_due = lia.locator("#todo-reports_due li", has_text=CODE)
    assert reports_due.count() == 1, "after signing the item should wait for a 反馈 on the to-do page"
    shot(lia, "workflow_3_todo_after_sign.png")

    # 3. 反馈进展 (liaison)
    lia.goto(show)
    _open_panel(lia, "f-report", "反馈进展")
    lia.fill("#report-done", "已召开专题会议，完成方案制定。")
    lia.fill("#report-next", "下周启动实施。")
    _submit(lia, lia.locator("#f-report button[type=submit]"))
    lia.goto(show)
    assert _state(lia) == "办理中"
    assert lia.locator(".sv-reports tbody tr", has_text="已召开专题会议").count() == 1

    # 4. 申请延期 (liaison): a date after the current deadline.
    old_due = _due(app, task_id)
    new_date = old_due + dt.timedelta(days=15)
    _open_panel(lia, "f-extend", "申请延期")
    lia.fill("#extend-date", new_date.isoformat())
    lia.fill("#extend-reason", "涉及多部门协调，需要延长办理时间。")
    _submit(lia, lia.locator("#f-extend button[type=submit]"))
    lia.goto(show)
    assert lia.locator(".sv-extensions tbody tr", has_text=new_date.isoformat()).count() == 1

    # 5. The supervisor sees it to approve, and approves it.
    sup.goto(f"{live_server}/todo/")
    assert sup.locator("#todo-extensions li", has_text=CODE).count() == 1, "extension request not in supervisor's to-do"
    sup.goto(show)
    _submit(sup, sup.locator(".sv-extensions button", has_text="批准延期"))
    sup.goto(show)
    assert _state(sup) == "办理中"
    assert _due(app, task_id) == new_date, "the approved extension did not move the deadline"
    assert sup.locator(".sv-due", has_text="已批准延期").count() == 1
    sup.goto(f"{live_server}/todo/")
    assert sup.locator("#todo-extensions li", has_text=CODE).count() == 0
    shot(sup, "workflow_4_extension_approved_todo.png")

    # 6. 提交办结 (liaison)
    lia.goto(show)
    _open_panel(lia, "f-complete", "提交办结")
    lia.fill("#complete-done", "方案已全部落实，达到预期目标。")
    _submit(lia, lia.locator("#f-complete button[type=submit]"))
    lia.goto(show)
    assert _state(lia) == "待审核"
    sup.goto(f"{live_server}/todo/")
    assert sup.locator("#todo-reviews li", has_text=CODE).count() == 1, "submitted item not in supervisor's 待审核"

    # 7. 退办 (supervisor) with a reason.
    sup.goto(show)
    shot(sup, "workflow_5_pending_review.png")
    _open_panel(sup, "f-return", "退办")
    sup.fill("#return-reason", "办结材料不完整，请补充佐证。")
    _submit(sup, sup.locator("#f-return button[type=submit]"))
    sup.goto(show)
    assert _state(sup) == "办理中"
    assert "办结材料不完整" in sup.locator(".sv-reason").inner_text()
    sup.goto(f"{live_server}/todo/")
    assert sup.locator("#todo-reviews li", has_text=CODE).count() == 0

    # 8. 提交办结 again (liaison)
    lia.goto(show)
    assert "退办理由" in lia.locator(".sv-reason").inner_text()
    _open_panel(lia, "f-complete", "提交办结")
    lia.fill("#complete-done", "已补充佐证材料，全部完成。")
    _submit(lia, lia.locator("#f-complete button[type=submit]"))
    lia.goto(show)
    assert _state(lia) == "待审核"

    # 9. 审核通过 (supervisor)
    sup.goto(show)
    _submit(sup, sup.locator(".sv-actions button", has_text="审核通过"))
    sup.goto(show)
    assert _state(sup) == "已办结"
    assert sup.locator(".sv-actions button").count() == 0, "a finished item still offers actions"
    shot(sup, "workflow_6_completed.png")
    lia.goto(show)
    assert _state(lia) == "已办结"
    lia.goto(f"{live_server}/todo/")
    assert lia.locator("li", has_text=CODE).count() == 0, "the finished item is still on the liaison's to-do page"

    for w in (sup_w, lia_w):
        assert all(u.split("/")[2].split(":")[0] == LOCAL_HOST for u in w.requests)
