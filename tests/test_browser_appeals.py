"""诉求办理 in a real browser: a 网格员 reports an appeal on a phone-sized screen (375 px, no
horizontal scroll), and it travels 网格 → 村（上报）→ 乡镇（上报）→ 县直部门（吹哨）; the
department signs and replies with the four parts, the township (the reviewer of grid reports)
approves and records the call-back 满意 → 已办结; the history lists every hand-over.

Screenshots go to test-artifacts/screenshots/appeals-*.png for a person to look at."""

from __future__ import annotations

import datetime as dt

from tests.appeals_data import world
from tests.test_browser import TIMEOUT_MS, Watched, browser, live_server, login, open_page, shot

PHONE = {"width": 375, "height": 740}
FIXTURES = (browser, live_server, open_page)  # used by name below


def _phone(chromium):
    context = chromium.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport=PHONE, is_mobile=True,
                                   has_touch=True, device_scale_factor=2)
    context.set_default_timeout(TIMEOUT_MS)
    return context, Watched(context.new_page())


def _submit(page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def _open(page, key: str) -> None:
    page.click(f".ap-btn-{key}")
    page.wait_for_selector(f"#f-{key}.in", state="visible")


def _no_horizontal_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px screen"


def test_grid_report_travels_to_a_department_and_back(app, live_server, browser, open_page):
    from app.core import clock

    with app.app_context():
        w = world()
    earlier = (clock.now() - dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")

    # 1. the 网格员 reports on a phone
    context, phone = _phone(browser)
    try:
        page = phone.page
        login(page, live_server, "wgy_g01")
        page.goto(f"{live_server}/appeals/report/")
        assert "上报诉求" in page.inner_text("h3")
        _no_horizontal_scroll(page)
        height = page.locator("#ap-content").bounding_box()["height"]
        assert height >= 100, "the content field is big enough to type on a phone"
        page.select_option("#ap-category", str(w["road"]))
        page.fill("#ap-content", "柳杨村村口道路塌陷，雨天积水无法通行（浏览器测试）")
        page.check("input[name=urgency][value=一般]")
        page.fill("#ap-citizen", "赵铁柱")
        page.fill("#ap-phone", "13912345678")
        shot(page, "appeals-report-phone.png")
        _submit(page, "button.ap-submit")
        assert "已上报" in page.inner_text("body") and "办理中" in page.inner_text(".ap-status")
        _no_horizontal_scroll(page)
        pk = int(page.url.rstrip("/").rsplit("/", 1)[1])
        # the grid cannot solve it: 上报 to the village, from the phone
        _open(page, "escalate")
        page.fill("#f-escalate textarea[name=reason]", "涉及村组道路，网格无法解决")
        _submit(page, "#f-escalate button[type=submit]")
        assert "已上报上级" in page.inner_text("body")
        shot(page, "appeals-escalated-phone.png")
        phone.check()
    finally:
        context.close()

    url = f"{live_server}/appeals/{pk}"
    # 2. the village signs and escalates to the township
    village = open_page()
    login(village.page, live_server, "llr_v01")
    village.page.goto(url)
    _submit(village.page, ".ap-btn-sign")
    assert "已签收" in village.page.inner_text("body")
    _open(village.page, "escalate")
    village.page.fill("#f-escalate textarea[name=reason]", "需乡镇协调资金修路")
    _submit(village.page, "#f-escalate button[type=submit]")
    assert "已上报上级" in village.page.inner_text("body")

    # 3. the township signs and whistles to a county department
    town = open_page()
    login(town.page, live_server, "llr_luoshan_t01")
    town.page.goto(url)
    _submit(town.page, ".ap-btn-sign")
    _open(town.page, "whistle")
    town.page.select_option("#f-whistle select[name=unit_id]", str(w["dept2"]))
    town.page.fill("#f-whistle textarea[name=reason]", "道路修复超出乡镇职权，吹哨住建部门")
    shot(town.page, "appeals-whistle-form.png")
    _submit(town.page, "#f-whistle button[type=submit]")
    assert "已吹哨" in town.page.inner_text("body")

    # 4. the department signs and replies with the four parts
    dept = open_page()
    login(dept.page, live_server, "llr_d02")
    dept.page.goto(f"{live_server}/appeals/todo/")
    assert "诉求待签收" in dept.page.inner_text("body")
    dept.page.goto(url)
    assert "赵铁柱" in dept.page.inner_text(".ap-facts")  # the handling unit sees the citizen in full
    _submit(dept.page, ".ap-btn-sign")
    _open(dept.page, "reply")
    form = "#f-reply"
    dept.page.fill(f"{form} input[name=contact_whom]", "诉求人赵铁柱")
    dept.page.fill(f"{form} input[name=contact_at]", earlier)
    dept.page.select_option(f"{form} select[name=contact_way]", "电话")
    dept.page.fill(f"{form} textarea[name=measures]", "组织施工队修复塌陷路面并疏通排水沟")
    dept.page.select_option(f"{form} select[name=result]", "已解决")
    dept.page.fill(f"{form} input[name=finished_at]", earlier)
    shot(dept.page, "appeals-reply-form.png")
    _submit(dept.page, f"{form} button[type=submit]")
    assert "答复已提交" in dept.page.inner_text("body")

    # 5. the township reviews (grid reports) and calls back
    town.page.goto(url)
    _open(town.page, "review")
    town.page.check("#f-review input[name=decision][value=approve]")
    _submit(town.page, "#f-review button[type=submit]")
    assert "审核通过" in town.page.inner_text("body")
    _open(town.page, "callback")
    town.page.check("#f-callback input[name=result][value=满意]")
    _submit(town.page, "#f-callback button[type=submit]")
    assert "诉求已办结" in town.page.inner_text("body")
    assert "已办结" in town.page.inner_text(".ap-status")
    assert "县区部门" in town.page.inner_text(".ap-facts")  # resolved at a county department
    history = town.page.locator("table.ap-history tbody tr").all_inner_texts()
    shot(town.page, "appeals-closed-history.png")
    steps = [row.split("\t")[1].strip() for row in history]
    assert steps == ["网格上报", "上报上级", "签收", "上报上级", "签收", "吹哨（报到部门）", "签收", "答复", "审核通过",
                     "回访（办结）"], steps
    joined = "\n".join(history)
    for why in ("涉及村组道路，网格无法解决", "需乡镇协调资金修路", "道路修复超出乡镇职权，吹哨住建部门", "回访结果：满意"):
        assert why in joined, why
    whistle = next(row for row in history if "吹哨" in row)
    assert "罗山县" in whistle and "\t" in whistle  # from the township to the department, by whom
    with app.app_context():
        from app.appeals.models import Appeal
        from app.extensions import db

        appeal = db.session.get(Appeal, pk)
        assert appeal.state == "closed" and appeal.resolved_level == "县区部门"

    # 6. the figures page draws its charts locally
    town.page.goto(f"{live_server}/appeals/figures/")
    town.page.wait_for_selector("#chart-levels canvas, #chart-levels p")
    shot(town.page, "appeals-figures.png")


def test_queues_and_settings_screens(app, live_server, open_page):
    with app.app_context():
        world()
    w = open_page()
    login(w.page, live_server, "ddy_luoshan")
    for url, name, heading in (("/appeals/dispatch/", "appeals-dispatch-queue.png", "分派队列"),
                               ("/appeals/categories/", "appeals-categories.png", "高频事项目录"),
                               ("/appeals/todo/", "appeals-todo-dispatcher.png", "诉求待办")):
        w.page.goto(f"{live_server}{url}")
        assert heading in w.page.inner_text("h3"), url
        shot(w.page, name)
    admin = open_page()
    login(admin.page, live_server, "admin_luoshan")
    for url, name, heading in (("/appeals/timelimits/", "appeals-timelimits.png", "诉求时限"),
                               ("/appeals/charges/", "appeals-charges.png", "分管领导")):
        admin.page.goto(f"{live_server}{url}")
        assert heading in admin.page.inner_text("h3"), url
        shot(admin.page, name)
