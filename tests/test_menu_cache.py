"""The navigation menu is cached per set of permissions (app/menu_cache.py): each role still
sees exactly its own menu, and a permission taken from a role shows on the next page."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from tests.conftest import login


def menu_labels(html: str) -> set[str]:
    nav = html.split('<ul class="nav navbar-nav">', 1)[1].split("</ul>\n", 1)[0]
    return {label.strip() for label in re.findall(r'<a tabindex="-1" href="[^"]*">\s*(?:<i[^>]*></i>&nbsp;)?\s*([^<]+?)</a>', nav)}


def test_each_role_sees_its_own_menu_from_the_cache(app, client):
    seen = {}
    for user in ("admin", "kpy_city", "ld_luoshan", "admin", "ld_luoshan"):
        labels = menu_labels(login(client, user).get("/cadres/list/").get_data(as_text=True))
        assert labels, f"{user}: no menu"
        if user in seen:
            assert labels == seen[user], f"{user}: the cached menu differs from the first one"
        seen[user] = labels
    assert seen["admin"] != seen["ld_luoshan"]
    assert "用户" in " ".join(seen["admin"]) and "用户" not in " ".join(seen["ld_luoshan"])


def test_a_permission_taken_from_a_role_leaves_the_menu_at_once(app, client):
    from flask_appbuilder.security.sqla.models import Role

    def role_and_permission():
        role = db.session.scalar(select(Role).where(Role.name == "县区领导"))
        items = [item for top in app.appbuilder.menu.get_list() for item in (top.childs or [top])
                 if item and item.name != "-"]
        labels = [item.label for item in items]
        unique = {item.name: item.label for item in items if labels.count(item.label) == 1}
        pv = next(pv for pv in sorted(role.permissions, key=lambda p: p.id)
                  if pv.permission.name == "menu_access" and pv.view_menu.name in unique)
        return role, pv, unique[pv.view_menu.name]

    def menu() -> set[str]:  # a request of its own, outside any app context (as under a server)
        return menu_labels(client.get("/cadre-profile/compare").get_data(as_text=True))

    login(client, "ld_luoshan")
    with app.app_context():
        _role, pv, label = role_and_permission()
        view_name = pv.view_menu.name
    assert label in menu()
    with app.app_context():
        role, pv, _label = role_and_permission()
        app.appbuilder.sm.del_permission_role(role, pv)
    try:
        assert label not in menu()
    finally:
        with app.app_context():
            sm = app.appbuilder.sm
            role = db.session.scalar(select(Role).where(Role.name == "县区领导"))
            sm.add_permission_role(role, sm.find_permission_view_menu("menu_access", view_name))
    assert label in menu()
