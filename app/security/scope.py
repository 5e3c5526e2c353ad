"""Row scope in one place: a user's unit path turned into query filters.

A user sees a row that belongs to a unit when the user's unit is that unit or one of its
ancestors, i.e. when the row's unit path starts with the user's unit path (the user's
"prefix"; None = unrestricted: the CLI, the demo seed, system jobs).

Two doors to the same rules:
- services take the acting user and ask with it: prefix_of(user), unit_in_scope(unit,
  prefix), apply_unit_scope(stmt, column, prefix), apply_cadre_scope(…), may_run_periods(user),
  task_visibility(…); they never read the request;
- screens ask for the request's user: request_user(), current_scope_prefix(), the FAB base
  filters below and require_unit_in_scope().
"""

from __future__ import annotations

from flask import abort, g, has_request_context
from flask_appbuilder.models.filters import BaseFilter
from flask_login import current_user
from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import aliased

from app.models import OrgUnit

# A prefix no path starts with (paths start with "/"). Printable: PostgreSQL refuses a NUL
# character in a text parameter, so "\x00none\x00" made an out-of-scope choice a 500 there.
NO_ACCESS = "!none!"


# ---------------------------------------------------------------- for services: the user is passed in

def prefix_of(user) -> str | None:
    """The unit path prefix of `user`'s subtree; None = unrestricted (the CLI, the system)."""
    if user is None:
        return None
    unit = getattr(user, "org_unit", None)
    if unit is None and getattr(user, "org_unit_id", None):
        unit = _unit(user.org_unit_id)
    return unit.path if unit is not None else NO_ACCESS


def is_city_level(user) -> bool:
    """Whether `user` is bound to a root unit (the city), or is the system (None)."""
    if user is None:
        return True
    unit = getattr(user, "org_unit", None)
    if unit is None and getattr(user, "org_unit_id", None):
        unit = _unit(user.org_unit_id)
    return unit is not None and unit.parent_id is None


def unit_in_scope(unit: OrgUnit | None, prefix: str | None) -> bool:
    """Whether a unit lies in the subtree of `prefix` (None: everywhere)."""
    if unit is None:
        return False
    return prefix is None or unit.path.startswith(prefix)


def may_run_periods(user) -> bool:
    """Whether `user` may open, lock, publish or compute an evaluation period.

    Periods are city-wide: admins and staff bound to the root (city) unit may; staff of a
    county or below may not (they enter the inputs of their own cadres only). The system
    (None: the CLI, the demo seed, system jobs) may.
    """
    from app.security.roles import ADMIN

    if user is None:
        return True
    if ADMIN in {r.name for r in getattr(user, "roles", None) or []}:
        return True
    return is_city_level(user)


def require_may_run_periods(user, what: str = "变更考评期状态") -> None:
    """Refuse (Forbidden, in Chinese) a period command by anyone but city staff or an admin."""
    if not may_run_periods(user):
        from app.core.errors import Forbidden

        raise Forbidden(f"只有市级组织部考评员可以{what}")


def unit_visible_to(unit: OrgUnit | None, user) -> bool:
    """Whether `unit` lies in `user`'s subtree (the system sees every unit)."""
    return unit_in_scope(unit, prefix_of(user))


def units_visible_to(user):
    """A select of the ids of the units in `user`'s subtree; None: no restriction."""
    prefix = prefix_of(user)
    return None if prefix is None else subtree_ids(prefix)


def apply_unit_scope(stmt_or_query, unit_id_column, prefix: str | None):
    """Restrict a select/query whose rows belong to a unit through `unit_id_column` to the
    subtree of `prefix` (None: no restriction)."""
    if prefix is None:
        return stmt_or_query
    if covers_whole_tree(prefix):  # the same rows, without testing 50,000 of them against the subtree
        return stmt_or_query.filter(unit_id_column.is_not(None))
    return stmt_or_query.filter(unit_id_column.in_(subtree_ids(prefix)))


def _unit(unit_id: int) -> OrgUnit | None:
    from app.extensions import db

    return db.session.get(OrgUnit, unit_id)


# ---------------------------------------------------------------- for screens: the request's user

def request_user():
    """The logged-in user of the request, by session or by JWT; None outside a request."""
    if not has_request_context():
        return None
    user = getattr(g, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return user
    if current_user and getattr(current_user, "is_authenticated", False):
        return current_user
    return None


def current_scope_prefix() -> str | None:
    """The path prefix the request's user may see; None means unrestricted (no request)."""
    if not has_request_context():
        return None
    if "scope_prefix" in g:
        return g.scope_prefix
    user = request_user()
    g.scope_prefix = NO_ACCESS if user is None else prefix_of(user)
    return g.scope_prefix


def require_unit_in_scope(unit: OrgUnit | None) -> OrgUnit:
    """Abort with 404 when the unit is missing or outside the request user's subtree."""
    if not unit_in_scope(unit, current_scope_prefix()):
        abort(404)
    return unit


def covers_whole_tree(prefix: str | None) -> bool:
    """Whether the subtree of `prefix` is every unit: the path of the only root (the city).

    A city-level user's scope then holds every row that belongs to a unit, and the filter
    becomes "has a unit" — an index range instead of a membership test per row. Asked once
    per request, and only for a root's path (one segment, e.g. /1/)."""
    if not prefix or prefix.count("/") != 2 or not has_request_context():
        return False
    cache = g.setdefault("whole_tree", {})
    if prefix not in cache:
        from sqlalchemy import func

        from app.extensions import db

        roots = db.session.execute(
            select(func.count(OrgUnit.id), func.min(OrgUnit.path)).where(OrgUnit.parent_id.is_(None))
        ).one()
        cache[prefix] = tuple(roots) == (1, prefix)
    return cache[prefix]


class UnitScopeFilter(BaseFilter):
    """FAB base filter: rows whose `column_name` (a unit id column) is in scope."""

    name = "本单位及下级"

    def apply(self, query, value):
        return apply_unit_scope(query, getattr(self.model, self.column_name), current_scope_prefix())


class AuditScopeFilter(BaseFilter):
    """FAB base filter for the audit log: a city-level user sees every entry (city-wide rows
    included); anyone else the entries about units of their subtree."""

    name = "本单位及下级"

    def apply(self, query, value):
        prefix = current_scope_prefix()
        if prefix is None or covers_whole_tree(prefix):
            return query
        return query.filter(self.model.org_unit_id.in_(subtree_ids(prefix)))


class UnitPathScopeFilter(BaseFilter):
    """FAB base filter for the unit table itself: units in the user's subtree."""

    name = "本单位及下级"

    def apply(self, query, value):
        prefix = current_scope_prefix()
        if prefix is None:
            return query
        return query.filter(path_under(self.model.path, prefix))


def unit_scope_filters():
    """`base_filters` for a model with an `org_unit_id` column."""
    return [["org_unit_id", UnitScopeFilter, lambda: None]]


def apply_cadre_scope(stmt_or_query, cadre_id_column, prefix: str | None):
    """Restrict rows that belong to a cadre to cadres of units in the subtree of `prefix`
    (None: no restriction)."""
    from app.models import Cadre

    if prefix is None:
        return stmt_or_query
    if covers_whole_tree(prefix):  # every cadre belongs to a unit (cadre.org_unit_id is required)
        return stmt_or_query.filter(cadre_id_column.is_not(None))
    cadres = select(Cadre.id).where(Cadre.org_unit_id.in_(subtree_ids(prefix)))
    return stmt_or_query.filter(cadre_id_column.in_(cadres))


class CadreScopeFilter(BaseFilter):
    """FAB base filter for rows owned by a cadre (career records, rewards, scores…)."""

    name = "本单位及下级干部"

    def apply(self, query, value):
        return apply_cadre_scope(query, getattr(self.model, self.column_name), current_scope_prefix())


# Built once (aliased() makes its column proxies afresh on first use: ~1 ms per call);
# private to task_touches_subtree, so no outer query ever holds it.
_ASSIST_UNIT = aliased(OrgUnit, name="assist_unit")


def task_touches_subtree(prefix: str):
    """SQL condition on a supervision item: its lead unit or one of its assisting units lies in
    the subtree of `prefix` (the rule of every "items of this unit" list, board and count).

    An item's few assisting units are joined by key and their path tested: testing an item
    against the list of every unit of the subtree was one index probe per unit per item
    (400 x 30,000 for a county)."""
    from app.models import SupervisionTask, task_assist_unit

    assisted = exists().where(
        task_assist_unit.c.task_id == SupervisionTask.id,
        task_assist_unit.c.org_unit_id == _ASSIST_UNIT.id,
        _ASSIST_UNIT.path.startswith(prefix, autoescape=True),
    )
    return or_(SupervisionTask.lead_unit_id.in_(subtree_ids(prefix)), assisted)


def task_addressed_to(unit_id: int):
    """SQL condition on a supervision item: `unit_id` is its lead unit or an assisting unit."""
    from app.models import SupervisionTask, task_assist_unit

    assisted = exists().where(task_assist_unit.c.task_id == SupervisionTask.id,
                              task_assist_unit.c.org_unit_id == unit_id)
    return or_(SupervisionTask.lead_unit_id == unit_id, assisted)


def path_under(column, prefix: str):
    """SQL: the unit path in `column` lies in the subtree whose path is `prefix` ("/1/12/").

    A prefix LIKE. On SQLite also a range of the path index ("/1/12/" up to "/1/120", the
    character after "/"), since SQLite reads LIKE with an expression for its pattern as a test
    of every row: the ids of a subtree were a scan of all 14,000 units of a city (1.7 ms, on
    every scoped list) where the range is a search (0.01 ms). PostgreSQL compares text by its
    collation, which may order "/" by other rules, so it keeps the LIKE alone."""
    condition = column.startswith(prefix, autoescape=True)
    if prefix.endswith("/") and _dialect() == "sqlite":
        condition = and_(column >= prefix, column < prefix[:-1] + "0", condition)
    return condition


def _dialect() -> str:
    from app.extensions import db

    return db.session.get_bind().dialect.name


def subtree_ids(path: str):
    """A select of the ids of the units whose path starts with `path` (a unit's subtree)."""
    return select(OrgUnit.id).where(path_under(OrgUnit.path, path))


def unit_path_by_code(code: str) -> str:
    """The path of the unit with this code, NO_ACCESS for an unknown code (looked up once per
    request: a list applies its filters to its count and to its rows)."""
    from app.extensions import db

    cache = g.setdefault("unit_paths_by_code", {}) if has_request_context() else {}
    if code not in cache:
        path = db.session.scalar(select(OrgUnit.path).where(OrgUnit.code == code))
        cache[code] = path if path is not None else NO_ACCESS
    return cache[code]


def requested_unit_path() -> str | None:
    """The path of the unit chosen by `?unit=<code>`, NO_ACCESS for an unknown code, None
    without one."""
    from flask import request

    if not has_request_context() or not request.args.get("unit"):
        return None
    return unit_path_by_code(request.args["unit"])


class RequestUnitFilter(BaseFilter):
    """Narrow a list to one unit's subtree chosen by `?unit=<code>` (inside the scope)."""

    name = "按单位筛选"

    def apply(self, query, value):
        path = requested_unit_path()
        if path is None:
            return query
        return query.filter(getattr(self.model, self.column_name).in_(subtree_ids(path)))


class UnitScopeChoiceFilter(BaseFilter):
    """The unit scope narrowed by `?unit=<code>`, as one filter: rows of the chosen unit's
    subtree when it lies inside the user's subtree, none when it lies outside, the whole
    scope without a choice.

    UnitScopeFilter and RequestUnitFilter side by side test each row against two subtrees;
    PostgreSQL then multiplies their selectivities, expects a tenth of the rows, and sorts a
    county's 4,900 cadres by name instead of reading the name index (11 ms against 2 ms)."""

    name = "本单位及下级（可按单位筛选）"

    def apply(self, query, value):
        scope = current_scope_prefix()
        chosen = requested_unit_path()
        if chosen is not None:
            scope = chosen if scope is None or chosen.startswith(scope) else NO_ACCESS
        return apply_unit_scope(query, getattr(self.model, self.column_name), scope)


def selected_cadre(raw=None):
    """The cadre chosen by `?cadre=<id>` if it exists and lies in the user's scope, else None
    (cached for the request: a list asks for it in its count, its rows and its toolbar)."""
    from flask import request

    from app.extensions import db
    from app.models import Cadre

    if raw is None:
        raw = request.args.get("cadre", "") if has_request_context() else ""
    raw = str(raw).strip()
    if not raw.isdigit() or len(raw) > 12:
        return None
    cache = g.setdefault("selected_cadres", {})
    if raw not in cache:
        # one cadre through the unit scope: a few thousand unit ids, never the whole cadre table
        stmt = apply_unit_scope(select(Cadre).where(Cadre.id == int(raw)), Cadre.org_unit_id, current_scope_prefix())
        cache[raw] = db.session.scalar(stmt)
    return cache[raw]


class SelectedCadreFilter(BaseFilter):
    """Rows of the one cadre chosen by `?cadre=<id>`, inside the scope; none without a cadre
    in scope. This is the row scope of screens that only ever show one cadre's rows."""

    name = "按干部筛选"

    def apply(self, query, value):
        from sqlalchemy import false

        cadre = selected_cadre()
        column = getattr(self.model, self.column_name)
        return query.filter(false()) if cadre is None else query.filter(column == cadre.id)


def appeal_touches_subtree(prefix: str | None, form: str = "gather"):
    """SQL condition on an appeal (PLATFORM.md §1): it belongs to the unit it happened in and to
    every unit it was assigned to; true when one of them lies in the subtree of `prefix`
    (None: everywhere). The city's prefix holds every appeal.

    Two index lookups joined by OR (the place's index; the appeal ids of the assignments to the
    subtree's units), not a correlated EXISTS per appeal: a county's count read every appeal of
    the city (94 ms at 20,000 appeals against 10 ms).

    `form` "walk": the same rows, tested one appeal at a time (the place's unit against the subtree,
    then the appeal's own assignments through their index) without offering the planner an
    index on either: for the newest page of a subtree that holds many appeals, a walk down
    the received-time index that stops at the page's last row (9 ms for a county's first page
    at 500,000 appeals) instead of gathering and sorting all of the subtree's (160 ms).

    `form` "place": the part that happened in the subtree only (a subset of the rows): a
    capped count of it tells a list that a subtree holds many rows without the OR, which
    PostgreSQL cannot stop early (130 ms for a county's year against 5 ms)."""
    from sqlalchemy import true

    from app.core.sql import plain
    from app.models import Appeal, AppealAssignment

    if prefix is None or covers_whole_tree(prefix):
        return true()
    units = subtree_ids(prefix)
    if form == "place":
        return Appeal.occurred_unit_id.in_(units)
    if form == "walk":
        # OFFSET 0 keeps PostgreSQL from turning the probe into a hash of every assignment
        # of the subtree (51,000 for a county, 95 ms) built before the walk starts.
        probe = select(AppealAssignment.id).where(AppealAssignment.appeal_id == Appeal.id,
                                                  AppealAssignment.org_unit_id.in_(units)).offset(0)
        return or_(plain(Appeal.occurred_unit_id).in_(units), probe.exists())
    assigned = select(AppealAssignment.appeal_id).where(AppealAssignment.org_unit_id.in_(units))
    return or_(Appeal.occurred_unit_id.in_(units), Appeal.id.in_(assigned))


class AppealScopeFilter(BaseFilter):
    """FAB base filter for the appeal table: appeals that happened in, or were assigned to, a
    unit of the request user's subtree (appeal_touches_subtree)."""

    name = "本单位及下级"

    def apply(self, query, value):
        return query.filter(appeal_touches_subtree(current_scope_prefix()))
