"""民主测评 in a real browser: staff open a session and get the codes sheet (desktop), a voter
fills in the ballot on a phone-sized screen (390 × 844, touch), the page holds the 优秀 cap,
the vote counts once, a second use of the code is refused in Chinese, and the turnout moves.

Screenshots go to test-artifacts/screenshots/voting-*.png for a person to look at."""

from __future__ import annotations

import re

from tests.test_browser import (
    CHROMIUM,
    TIMEOUT_MS,
    Watched,
    browser,
    live_server,
    login,
    open_page,
    shot,
)

PHONE = {"width": 390, "height": 844}
FIXTURES = (browser, live_server, open_page)  # used by name below


def _phone(chromium):
    context = chromium.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport=PHONE, is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    context.set_default_timeout(TIMEOUT_MS)
    return context, Watched(context.new_page())


def test_open_a_session_and_vote_on_a_phone(app, live_server, browser, open_page):
    from app.extensions import db
    from app.models import VotingSession
    from app.voting import sessions as V
    from tests.voting_data import GROUP, PERIOD, ballot_codes, cap, tallies

    with app.app_context():
        session = V.create_session(PERIOD, GROUP, "XY09T03", (), "淮滨县乡镇干部群众评价（浏览器测试）", user=None)
        sid = session.id
        cadres, limit = ballot_codes(sid), cap(sid)
    assert limit >= 1 and len(cadres) > limit

    # Staff (desktop): open the session, get the sheet shown once
    staff = open_page()
    login(staff.page, live_server, "kpy_city")
    staff.page.goto(f"{live_server}/voting/{sid}")
    staff.page.fill("form.voting-open input[name=codes]", "6")
    with staff.page.expect_navigation():
        staff.page.click("form.voting-open button[type=submit]")
    codes = [c.strip() for c in staff.page.locator(".slip-code").all_inner_texts()]
    assert len(codes) == 6 and all(re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", c) for c in codes)
    assert "测评码只显示这一次" in staff.page.inner_text("body")
    shot(staff.page, "voting-codes-sheet.png")

    # A voter on a phone
    context, phone = _phone(browser)
    try:
        page = phone.page
        page.goto(f"{live_server}/vote")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
        shot(page, "voting-phone-code.png")
        page.fill("input[name=code]", codes[0].lower())
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert page.locator("fieldset.vote-cadre").count() == len(cadres)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        excellent = page.locator("input[type=radio][value='优秀']")
        for i in range(limit):
            excellent.nth(i).check()
        # the cap is held on the page: the other 优秀 choices are disabled
        assert all(excellent.nth(i).is_disabled() for i in range(limit, len(cadres)))
        assert page.inner_text("#excellent-count") == str(limit)
        for i in range(limit, len(cadres)):
            page.locator(f"input[type=radio][name='{cadres[i]}'][value='称职']").check()
        shot(page, "voting-phone-ballot.png")
        with page.expect_navigation():
            page.click("#vote-submit")
        assert "投票成功" in page.inner_text("body")
        shot(page, "voting-phone-done.png")
        # the same code again
        page.goto(f"{live_server}/vote")
        page.fill("input[name=code]", codes[0])
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert "该测评码已经投过票" in page.inner_text(".vote-alert")
        shot(page, "voting-phone-used.png")
        # a refusal is a page with its own status (409 here), which Chromium also logs: not an error
        phone.console_errors = [m for m in phone.console_errors if "status of 409" not in m]
        phone.check()
    finally:
        context.close()

    with app.app_context():
        counted = tallies(sid)
        assert sum(v["excellent"] for v in counted.values()) == limit
        assert all(sum(v.values()) == 1 for v in counted.values())
        assert V.turnout(db.session.get(VotingSession, sid))["used"] == 1

    # Staff see the turnout move (the page polls every 5 seconds)
    staff.page.goto(f"{live_server}/voting/{sid}")
    staff.page.wait_for_function("document.querySelector('[data-k=used]').textContent === '1'")
    assert "16.7" in staff.page.inner_text("[data-k=rate]")
    shot(staff.page, "voting-session-open.png")
    staff.page.goto(f"{live_server}/voting/list/")
    assert "淮滨县乡镇干部群众评价（浏览器测试）" in staff.page.inner_text("table.voting-table")
    shot(staff.page, "voting-list.png")
    staff.page.goto(f"{live_server}/voting/add/")
    assert "新建民主测评" in staff.page.inner_text("body")
    shot(staff.page, "voting-add.png")
    assert CHROMIUM.exists()
