"""Every role sees Chinese only, and every menu link a role sees opens for it."""

from __future__ import annotations

import re

import pytest

from tests.conftest import login

ROLES = ["admin", "kpy_city", "kpy_luoshan", "dcy_luoshan", "llr_luoshan_t01", "ld_luoshan"]
ENGLISH = re.compile(
    r"\b(Search|Add|Edit|Delete|Show|List|Actions?|Record|Records|Cancel|Save|Back|Home|Login|Logout|"
    r"Security|Users?|Roles?|Permissions?|Profile|Filter|Submit|Refresh|Previous|Next|Page|Yes|No|True|False|"
    r"None|Are you sure|Select Value|Database Error|Access is Denied)\b"
)


def visible_text(html: str) -> str:
    html = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", html)
    html = re.sub(r'(?is)<span class="sr-only">.*?</span>', " ", html)
    html = re.sub(r"(?s)<!--.*?-->", " ", html)
    html = re.sub(r"(?s)<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", html)


def attributes_shown(html: str) -> str:
    return " ".join(re.findall(r'(?:title|placeholder|data-placeholder)="([^"]*)"', html))


def menu_links(html: str) -> list[str]:
    nav = html.split('class="navbar', 1)[-1].split("</nav>", 1)[0] if 'class="navbar' in html else html
    links = re.findall(r'<a[^>]+href="(/[^"#]*)"', nav)
    return sorted({link for link in links if not link.startswith(("/logout", "/static", "/appbuilder"))})


@pytest.mark.parametrize("user", ROLES)
def test_every_menu_link_opens_and_speaks_chinese(client, user):
    login(client, user)
    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    links = menu_links(home)
    assert links, f"{user} sees no menu"
    for link in links:
        response = client.get(link)
        assert response.status_code < 400, (user, link, response.status_code)
        html = response.get_data(as_text=True)
        words = ENGLISH.findall(visible_text(html) + " " + attributes_shown(html))
        assert not words, (user, link, sorted(set(words)))


def test_login_and_error_pages_speak_chinese(client):
    for url in ("/login/", "/no-such-page"):
        html = client.get(url).get_data(as_text=True)
        assert not ENGLISH.findall(visible_text(html)), url
    assert "页面或记录不存在" in client.get("/no-such-page").get_data(as_text=True)
