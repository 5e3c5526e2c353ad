"""Real-browser journey of a 工作指令 (issue 16): a county sender composes an instruction, sees
"将发送给 N 人" (the live estimate and the draft's preview), sends it; the recipient logs in,
finds it on 我的待办, opens it (the read receipt) and replies; the sender sees the read and
reply rates per unit and drills down to the copies."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlparse

from sqlalchemy import select

from app.security import roles as R
from tests.test_browser import (  # noqa: F401  (fixtures are used by name)
    browser,
    live_server,
    login,
    open_page,
    shot,
)

TITLE = "关于报送冬训工作安排的通知"


def test_send_read_and_reply_to_an_instruction(app, live_server, open_page):  # noqa: F811  (fixtures)
    from app.extensions import db
    from app.models import AppUser, InstructionCopy, OrgUnit

    with app.app_context():  # the liaisons of 罗山县's first township's subtree, counted in Python
        town = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "XY03T01"))
        expected = sorted(u.username for u in db.session.scalars(select(AppUser)) if u.active and u.org_unit
                          and u.org_unit.path.startswith(town.path) and R.LIAISON in {r.name for r in u.roles})
    assert "llr_luoshan_t01" in expected

    sender = open_page()
    page = sender.page
    login(page, live_server, "kpy_luoshan")
    page.goto(f"{live_server}/party/instructions/add/")
    page.fill("input[name=title]", TITLE)
    page.fill("textarea[name=content]", "请于本周五前报送本单位冬训工作安排。")
    page.check("input[name=reply_required]")
    page.fill("input[name=reply_due]", (dt.date.today() + dt.timedelta(days=5)).isoformat())
    page.check("input[name=unit][value=XY03T01]")
    page.check(f"input[name=role][value={R.LIAISON}]")
    page.click("#ins-count-btn")
    page.locator("#ins-count", has_text="人").wait_for()  # the estimate's answer (no eval: the CSP forbids it)
    assert page.locator("#ins-count").inner_text() == f"将发送给 {len(expected)} 人"
    shot(page, "instruction_compose.png")
    with page.expect_navigation():
        page.click("form#ins-form button[type=submit]")
    assert page.locator("#ins-preview-count").inner_text() == f"将发送给 {len(expected)} 人"
    shot(page, "instruction_draft_preview.png")
    with page.expect_navigation():
        page.click("button.ins-send")
    assert f"工作指令已下发给 {len(expected)} 人" in page.locator("body").inner_text()
    show_url = page.url
    pk = int(urlparse(show_url).path.rstrip("/").split("/")[-1])
    with app.app_context():
        kept = sorted(c.user.username for c in db.session.scalars(
            select(InstructionCopy).where(InstructionCopy.instruction_id == pk)))
    assert kept == expected

    recipient = open_page()
    rpage = recipient.page
    login(rpage, live_server, "llr_luoshan_t01")
    rpage.goto(f"{live_server}/todo/")
    group = rpage.locator("#todo-instruction_unread")
    assert TITLE in group.inner_text()
    shot(rpage, "instruction_todo.png")
    with rpage.expect_navigation():
        group.locator("a", has_text=TITLE).click()
    assert TITLE in rpage.locator(".panel-title").first.inner_text()
    assert "已读" in rpage.locator(".ins-state").first.inner_text()
    with app.app_context():
        copy = db.session.scalar(select(InstructionCopy).join(AppUser, AppUser.id == InstructionCopy.user_id)
                                 .where(InstructionCopy.instruction_id == pk, AppUser.username == "llr_luoshan_t01"))
        assert copy.state == "read" and copy.read_at is not None
    rpage.fill("textarea[name=reply]", "已制定冬训方案，计划 12 月 20 日开班。")
    with rpage.expect_navigation():
        rpage.click("button.ins-reply-btn")
    assert "反馈已提交" in rpage.locator("body").inner_text()
    assert "已制定冬训方案" in rpage.locator(".ins-reply").inner_text()
    shot(rpage, "instruction_replied.png")

    page.goto(show_url)
    replied = 1
    rate = round(100.0 * replied / len(expected), 1)
    assert page.locator(".ins-read-rate").inner_text() == f"{rate}%"
    assert page.locator(".ins-reply-rate").inner_text() == f"{rate}%"
    row = page.locator("tr.ins-rate-row", has_text=town.name)
    assert row.count() == 1 and f"{rate}%" in row.inner_text()
    shot(page, "instruction_rates.png")
    with page.expect_navigation():
        row.locator("a", has_text="接收人明细").click()
    assert "已制定冬训方案" in page.locator("table.ins-copies").inner_text()
    shot(page, "instruction_copies.png")


def test_pairings_list_and_log_an_activity(app, live_server, open_page):  # noqa: F811  (fixtures)
    w = open_page()
    page = w.page
    login(page, live_server, "kpy_luoshan")
    page.goto(f"{live_server}/party/pairings/list/")
    table = page.locator("table.pairing-table")
    assert "罗山县组织部机关党支部" in table.inner_text()  # the demo's county pairing
    assert "市委组织部机关党支部" in table.inner_text()  # the city organ's pairing: its village lies in 罗山县
    shot(page, "pairing_list.png")
    with page.expect_navigation():
        table.locator("a", has_text="罗山县组织部机关党支部").first.click()
    page.fill("input[name=held_on]", dt.date.today().isoformat())
    page.fill("input[name=topic]", "浏览器登记的共建活动")
    page.fill("textarea[name=participants]", "双方支部委员 6 人")
    with page.expect_navigation():
        page.click("form.pairing-activity-form button[type=submit]")
    assert "活动已记录" in page.locator("body").inner_text()
    assert "浏览器登记的共建活动" in page.locator("table.pairing-activities").inner_text()
    shot(page, "pairing_show.png")
