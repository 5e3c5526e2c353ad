"""The navigation menu, rendered once per set of permissions instead of once per page.

FAB renders the menu on every page and asks the security manager about every item (about
thirty checks and a third of a page's time at city scale). The menu's HTML depends only on
what the user may see and on the language, so it is kept per (roles, their permissions,
locale). The permissions are part of the key (read once per request anyway), so a changed
role shows at once; the entries also expire after a minute.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import flask_appbuilder
from flask import current_app, g
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup

TTL_SECONDS = 60
MAX_ENTRIES = 256
_SOURCE = Path(flask_appbuilder.__file__).parent / "templates" / "appbuilder" / "navbar_menu.html"
_cache: dict = {}


def menu_html(menu) -> Markup:
    """FAB's navbar_menu.html for the current user, from the cache when it can be, with the
    user's to-do count on 我的待办 and on its menu."""
    key = _key()
    if key is not None:
        hit = _cache.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return with_todo_badge(hit[1])
    html = Markup(_template().render(menu=menu))
    if key is not None:
        if len(_cache) >= MAX_ENTRIES:
            _cache.clear()
        _cache[key] = (time.monotonic() + TTL_SECONDS, html)
    return with_todo_badge(html)


TODO_HREF = 'href="/todo/"'
_TODO_ITEM = re.compile(r'(href="/todo/">.*?)(</a>)', re.S)
_DROPDOWN = re.compile(r'(<li class="dropdown">\s*<a class="dropdown-toggle"[^>]*>.*?)(<b class="caret"></b></a>)', re.S)


def with_todo_badge(html: Markup) -> Markup:
    """The menu with the number of things waiting on the user (app/web/todo.py, kept a minute)
    as a badge on 我的待办 and on the menu that holds it; unchanged when nothing waits."""
    if TODO_HREF not in html or not current_user.is_authenticated:
        return html
    from app.web.context import request_now
    from app.web.todo import cached_total

    count = cached_total(g.user, request_now())
    if not count:
        return html
    badge = f'<span class="badge todo-badge" title="待办 {count} 项">{count}</span>'
    text = _TODO_ITEM.sub(lambda m: m.group(1) + badge + m.group(2), str(html), count=1)
    at = text.index(TODO_HREF)
    start = text.rfind('<li class="dropdown">', 0, at)
    if start != -1:
        text = text[:start] + _DROPDOWN.sub(lambda m: m.group(1) + badge + m.group(2), text[start:], count=1)
    return Markup(text)


def _key():
    """(role ids, their permissions, locale), or None for an anonymous user."""
    if not current_user.is_authenticated:
        return None
    sm = current_app.appbuilder.sm
    role_ids = tuple(sorted(role.id for role in sm.get_user_roles(g.user)))
    sm.exist_permission_on_roles("", "", role_ids)  # loads this request's permission set
    permissions = g.get("_permissions_by_roles", {}).get(role_ids)
    if permissions is None:
        return None
    return role_ids, frozenset(permissions), str(get_locale())


def _template():
    """FAB's own menu template (our override of its name calls menu_html)."""
    env = current_app.jinja_env
    template = env.globals.get("_fab_navbar_menu")
    if template is None:
        template = env.globals["_fab_navbar_menu"] = env.from_string(_SOURCE.read_text(encoding="utf-8"))
    return template
