# ruff: noqa: F811  (pytest fixtures imported from tests.test_browser are parameters here)
"""The admin's journeys of issue 14 in a real browser: what the admin, a county leader and a
liaison see on the audit log, the user form, the landing page, the org tree and the admin
screens. Screenshots go to test-artifacts/screenshots/journeys_admin_*.png."""

from __future__ import annotations

import re
from urllib.parse import urlparse

from tests.conftest import PASSWORD
from tests.test_browser import LOCAL_HOST, browser, live_server, login, open_page, shot  # noqa: F401

NEW_PASSWORD = "Xin!Mima2026ab"


def _pick(page, field: str, text: str) -> None:
    """Choose `text` in the search-as-you-type select `field` (select2 over /lookup)."""
    page.locator(f"#{field}").locator("xpath=following-sibling::span[contains(@class,'select2')]").first.click()
    page.keyboard.type(text)
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
    body = admin.locator("body").inner_text()
    assert "zhang_wei" in body and "张伟" in body, body[:500]

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
