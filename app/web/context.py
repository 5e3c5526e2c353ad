"""The request's acting user and clock, for screens and APIs (services take both as arguments)."""

from __future__ import annotations

import datetime as dt

from flask import abort, current_app, g, has_request_context

from app.core import clock
from app.security.scope import request_user


def acting_user():
    """The logged-in AppUser (session or JWT). Never None inside a protected request."""
    user = request_user()
    if user is None:
        abort(401)
    return user


def request_now() -> dt.datetime:
    """The request's clock: one instant per request, so a page's lights and deadlines agree."""
    if not has_request_context():
        return clock.now()
    if "request_now" not in g:
        g.request_now = clock.now()
    return g.request_now


def can(permission: str, resource: str) -> bool:
    """Whether the request's user holds `can_<permission>` on `resource` (app/security/roles.py)."""
    return current_app.appbuilder.sm.has_access(f"can_{permission}", resource)


def chosen_unit():
    """The unit a page is narrowed to by ?unit=<code> (404 when unknown or outside the request
    user's subtree), else the user's own unit."""
    from flask import request
    from sqlalchemy import select

    from app.extensions import db
    from app.models import OrgUnit
    from app.security.scope import current_scope_prefix, unit_in_scope

    code = (request.args.get("unit") or "").strip()
    if code:
        unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == code))
        if unit is None or not unit_in_scope(unit, current_scope_prefix()):
            abort(404)
        return unit
    user = request_user()
    return getattr(user, "org_unit", None) if user is not None else None


def person(username) -> str:
    """A user named in a page (登记人, 签收人, 录入人…) by name and unit, not by login name;
    the Jinja filter `person`. Looked up once per name and request."""
    if not username:
        return ""
    from app.org.users import people_by_username

    cache = g.setdefault("_people", {}) if has_request_context() else {}
    if username not in cache:
        cache.update(people_by_username([username]))
    return cache[username]
