# ruff: noqa: F811  (pytest fixtures imported from tests.test_browser are parameters here)
"""The admin's journeys of issue 14 in a real browser: what the admin, a county leader and a
liaison see on the audit log, the user form, the landing page, the org tree and the admin
screens. Screenshots go to test-artifacts/screenshots/journeys_admin_*.png."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest

from tests.conftest import PASSWORD
from tests.test_browser import LOCAL_HOST, browser, live_server, login, open_page, shot  # noqa: F401

NEW_PASSWORD = "Xin!Mima2026ab"


def _pick(page, field: str, text: str) -> None:
    """Choose `text` in the search-as-you-type select `field` (select2 over /lookup)."""
    page.locator(f"select#{field} + .select2 .select2-selection").click()
    search = page.locator(".select2-container--open .select2-search__field")
    with page.expect_response(lambda r: "/lookup/" in r.url and "q=" in r.url and "q=&" not in r.url
                              and not r.url.endswith("q=")):
        search.press_sequentially(text)
    page.locator(".select2-results__option", has_text=text).first.click()


def _header_heights(page) -> list[tuple[str, float]]:
    """(text, height) of each column header of the page's list table."""
    return page.eval_on_selector_all(
        "table.table-bordered thead th",
        "ths => ths.map(th => [th.innerText.trim(), th.getBoundingClientRect().height])",
    )


def _one_line(page) -> None:
    """No column header wraps (a header written one character a line is many lines tall)."""
    line = page.evaluate("parseFloat(getComputedStyle(document.body).lineHeight) || 20")
    tall = [(t, h) for t, h in _header_heights(page) if t and h > 2.6 * line]
    assert not tall, f"headers wrapped: {tall}"


# ---------------------------------------------------------------- 5. the audit log

def test_audit_log_in_the_browser_names_the_person_in_chinese_with_folded_entries(live_server, open_page):
    w = open_page()
    page = w.page
    login(page, live_server, "admin")
    page.goto(f"{live_server}/auditlog/list/")
    table = page.locator("table.table-bordered")
    first = table.locator("tbody tr").first
    assert "系统管理员（市）（admin）" in first.inner_text(), first.inner_text()
    assert "登录" in first.inner_text()
    text = table.inner_text()
    for raw in ("命令行\t登录", "rectifying", "awaiting_verification", "signed_at", "单位：2", "T0", "T1"):
        assert raw not in text, raw
    assert not re.search(r"\d+\.\d{5,}", text)
    folded = table.locator("details.audit-changes").first
    assert folded.count() == 1 and not folded.evaluate("d => d.open")
    folded.locator("summary").click()
    assert folded.evaluate("d => d.open")
    _one_line(page)
    shot(page, "journeys_admin_audit.png")


# ---------------------------------------------------------------- 6. a user made on 新增用户

def test_admin_creates_a_user_who_must_change_the_password_at_first_login(live_server, open_page):
    admin = open_page().page
    login(admin, live_server, "admin")
    admin.goto(f"{live_server}/users/add")
    labels = admin.locator("form label").all_inner_texts()
    assert any("姓名" in t for t in labels) and not any(t.strip() in ("姓", "名") for t in labels), labels
    admin.fill("#username", "zhang_wei")
    admin.fill("#first_name", "张伟")
    _pick(admin, "org_unit", "罗山县")
    admin.locator("#roles").select_option(label="县区领导")
    admin.fill("#password", "Chu!Shi2026mima")
    admin.fill("#conf_password", "Chu!Shi2026mima")
    shot(admin, "journeys_admin_user_add.png")
    with admin.expect_navigation():
        admin.locator("form button[type=submit], form input[type=submit]").first.click()
    assert "记录已添加" in admin.locator("body").inner_text()
    admin.goto(f"{live_server}/users/list/")
    row = admin.locator("table.table-bordered tbody tr", has_text="zhang_wei")
    assert "张伟" in row.inner_text() and "罗山县" in row.inner_text()

    # The same user name again: a clear Chinese error naming it, nothing saved.
    admin.goto(f"{live_server}/users/add")
    admin.fill("#username", "zhang_wei")
    admin.fill("#first_name", "张伟二")
    _pick(admin, "org_unit", "罗山县")
    admin.locator("#roles").select_option(label="县区领导")
    admin.fill("#password", "Chu!Shi2026mima")
    admin.fill("#conf_password", "Chu!Shi2026mima")
    with admin.expect_navigation():
        admin.locator("form button[type=submit], form input[type=submit]").first.click()
    assert "用户名 zhang_wei 已被使用" in admin.locator("body").inner_text()
    shot(admin, "journeys_admin_user_duplicate.png")

    # The new user logs in and is taken to the password change before anything else.
    user = open_page().page
    user.goto(f"{live_server}/login/")
    user.fill("input[name=username]", "zhang_wei")
    user.fill("input[name=password]", "Chu!Shi2026mima")
    with user.expect_navigation():
        user.click("form[name=login] [type=submit]")
    assert urlparse(user.url).path == "/resetmypassword/form", user.url
    user.goto(f"{live_server}/cadres/list/")
    assert urlparse(user.url).path == "/resetmypassword/form", user.url
    user.fill("input[name=current_password]", "Chu!Shi2026mima")
    user.fill("input[name=password]", NEW_PASSWORD)
    user.fill("input[name=conf_password]", NEW_PASSWORD)
    with user.expect_navigation():
        user.locator("form button[type=submit], form input[type=submit]").first.click()
    user.goto(f"{live_server}/cadres/list/")
    assert urlparse(user.url).path == "/cadres/list/", user.url
    assert PASSWORD != NEW_PASSWORD


# ---------------------------------------------------------------- 7. landing on 我的待办

@pytest.fixture(scope="module")
def liaison_work(app):
    """Something waiting on 桥北镇's liaison whatever the demo holds (it differs by database):
    an item to sign and a finding to rectify."""
    from tests.supervision_data import make_finding, make_task

    with app.app_context():
        make_task(lead="XY03T01", assist=(), ago=0)
        make_finding("XY03T01")


def test_liaison_lands_on_the_todo_page_with_counts_and_a_badge(live_server, open_page, liaison_work):
    page = open_page().page
    login(page, live_server, "llr_luoshan_t01")
    assert urlparse(page.url).path == "/todo/", page.url
    total = int(re.search(r"共 (\d+) 项", page.locator("h3.sv-title").inner_text()).group(1))
    kinds = page.locator("#todo-summary .todo-kind")
    assert kinds.count() >= 3
    counts = [int(t) for t in page.locator("#todo-summary .todo-count").all_inner_texts()]
    assert sum(counts) == total > 0
    badge = page.locator(".navbar .dropdown-toggle .todo-badge").first
    assert badge.is_visible() and int(badge.inner_text()) == total
    shot(page, "journeys_admin_todo_liaison.png")
    # A kind with items jumps to its list.
    first = page.locator("#todo-summary .todo-kind:not(.todo-kind-none)").first
    target = first.get_attribute("href")
    first.click()
    assert page.locator(target).is_visible()


def test_admin_and_leader_landing(live_server, open_page):
    admin = open_page().page
    login(admin, live_server, "admin")
    assert urlparse(admin.url).path == "/todo/"
    assert admin.locator("#todo-summary").is_visible()
    shot(admin, "journeys_admin_todo_admin.png")
    leader = open_page().page
    login(leader, live_server, "ld_luoshan")
    assert urlparse(leader.url).path == "/dashboard/"
    shot(leader, "journeys_admin_landing_leader.png")


# ---------------------------------------------------------------- 17. the org tree

def test_org_tree_expands_and_collapses_within_the_county(live_server, open_page):
    page = open_page().page
    login(page, live_server, "ld_luoshan")
    page.goto(f"{live_server}/")
    page.click("text=系统管理")
    with page.expect_navigation():
        page.click("a[href='/orgunits/tree/']")
    page.wait_for_load_state()
    assert urlparse(page.url).path == "/orgunits/tree/"
    tree = page.locator(".ou-tree").first
    assert "罗山县" in tree.inner_text() and "光山县" not in tree.inner_text()
    town = page.locator("li[data-code='XY03T01'] > details")
    village = page.locator("li[data-code='XY03T01V01']")
    assert not village.is_visible()
    town.locator("> summary .ou-name").click()
    assert village.is_visible()
    counts = page.locator("li[data-code='XY03'] > details > summary .ou-counts").inner_text()
    assert re.search(r"在职干部 \d+ 人", counts) and "下级单位" in counts
    shot(page, "journeys_admin_org_tree_leader.png")
    page.click("#ou-collapse")
    assert not page.locator("li[data-code='XY03T01']").is_visible()
    page.click("#ou-expand")
    assert village.is_visible()
    admin = open_page().page
    login(admin, live_server, "admin")
    admin.goto(f"{live_server}/orgunits/tree/")
    assert admin.locator("li[data-code='XY04']").is_visible()
    shot(admin, "journeys_admin_org_tree_admin.png")


# ---------------------------------------------------------------- 18. admin screens

def test_admin_screens_speak_chinese_with_horizontal_headers(live_server, open_page):
    page = open_page().page
    login(page, live_server, "admin")
    for path in ("/roles/list/", "/users/list/", "/auditlog/list/", "/orgunits/list/"):
        page.goto(f"{live_server}{path}")
        _one_line(page)
        text = page.locator("table.table-bordered").inner_text()
        for internal in ("can_", "muldelete", "HomeView", "AuthDBView", "menu_access", "True", "False"):
            assert internal not in text, (path, internal)
        shot(page, f"journeys_admin_{path.strip('/').replace('/', '_')}.png")
    page.goto(f"{live_server}/roles/list/")
    assert "干部名册（含任职经历、奖惩） · 查看、编辑、导入" in page.locator("table.table-bordered").inner_text()
    assert page.locator("input.action_check").count() == 0


# ---------------------------------------------------------------- 16. dates and times

def test_pages_show_times_to_the_minute(live_server, open_page):
    page = open_page().page
    login(page, live_server, "admin")
    for path in ("/auditlog/list/", "/users/list/", "/tasks/list/", "/findings/list/"):
        page.goto(f"{live_server}{path}")
        text = page.locator("table.table-bordered").inner_text()
        assert not re.search(r"\d{2}:\d{2}:\d{2}|\d{4}-\d{2}-\d{2}T\d{2}", text), (path, text[:300])
    page.goto(f"{live_server}/auditlog/list/")
    first_time = page.locator("table.table-bordered tbody tr").first.locator("td").nth(1).inner_text()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", first_time.strip()), first_time
