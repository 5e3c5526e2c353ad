"""`roles sync`: make FAB's role tables match app/security/roles.py exactly."""

from __future__ import annotations

from flask import current_app

from app.security.roles import ADMIN, ALL_ROLES, ROLE_PERMISSIONS, SELF_SERVICE


def _declared_resources() -> set[str]:
    return {res for perms in ROLE_PERMISSIONS.values() for res in perms}


def _menu_resources(appbuilder) -> dict[str, str]:
    """menu item name -> the resource (class_permission_name) behind it."""
    out = {}
    for view in appbuilder.baseviews:
        for category in appbuilder.menu.get_list():
            for item in category.childs:
                if item.baseview is view:
                    out[item.name] = view.class_permission_name
    return out


def sync_roles() -> dict[str, int]:
    """Create permissions for every view and menu, then set each role's permission set."""
    appbuilder = current_app.appbuilder
    sm = appbuilder.sm
    for role_name in ALL_ROLES:  # FAB hands new permissions to the admin role: it must exist first
        if sm.find_role(role_name) is None:
            sm.add_role(role_name)
    appbuilder.add_permissions(update_perms=True)
    # Views sharing one resource (form view + API) disagree on its permission set: declare it whole.
    for grants in ROLE_PERMISSIONS.values():
        for resource, perms in grants.items():
            for perm in perms:
                sm.add_permission_view_menu(f"can_{perm}", resource)
    declared = _declared_resources()
    menu_res = _menu_resources(appbuilder)
    categories = {c.name: [i.name for i in c.childs if i.name != "-"] for c in appbuilder.menu.get_list()}
    pv_model = sm.permissionview_model
    every_pv = sm.session.query(pv_model).all()
    counts = {}
    for role_name in ALL_ROLES:
        role = sm.find_role(role_name) or sm.add_role(role_name)
        grants = ROLE_PERMISSIONS.get(role_name, {})
        wanted = set()
        for pv in every_pv:
            perm, view = pv.permission.name, pv.view_menu.name
            resource_perms = grants.get(view, ())
            if perm.startswith("can_") and perm[4:] in resource_perms:
                wanted.add(pv)
            elif (perm, view) in SELF_SERVICE:
                wanted.add(pv)
            elif role_name == ADMIN and view not in declared and view not in menu_res and view not in categories:
                wanted.add(pv)  # FAB's own security screens belong to the admin
        visible_items = {name for name, res in menu_res.items() if "read" in grants.get(res, ())}
        if role_name == ADMIN:  # FAB's own security screens: every item whose resource is not ours
            visible_items |= {n for items in categories.values() for n in items if menu_res.get(n) not in declared}
        for cat, items in categories.items():
            if not items and cat in menu_res and "read" in grants.get(menu_res[cat], ()):
                visible_items.add(cat)
            if any(i in visible_items for i in items):
                visible_items.add(cat)
        for pv in every_pv:
            if pv.permission.name == "menu_access" and pv.view_menu.name in visible_items:
                wanted.add(pv)
        role.permissions = sorted(wanted, key=lambda p: p.id)
        counts[role_name] = len(wanted)
    sm.session.commit()
    return counts
