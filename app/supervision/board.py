"""督查总览: the figures of the supervision board over one unit's subtree, set-based.

Each figure is one aggregate query (SUM(CASE …) / GROUP BY), inside the user's row scope
(the services' scope_tasks / scope_findings), whatever the number of items: lights of the
open items, per sub-unit (by lead unit) open/overdue/completed/on-time counts, findings by
category and severity, rectification on time. Plain values out, each with the address of
the filtered list behind it.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from sqlalchemy import and_, case, func, not_, select
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import SEVERITIES, Finding, OrgUnit, SupervisionTask
from app.security.scope import task_touches_subtree
from app.supervision import deadlines
from app.supervision import findings as F
from app.supervision import tasks as S

LIGHTS = (deadlines.GREEN, deadlines.YELLOW, deadlines.RED)
REPORTED = ("awaiting_verification", "closed")


def url(path: str, **args) -> str:
    query = urlencode({k: v for k, v in args.items() if v not in (None, "")})
    return f"{path}?{query}" if query else path


def _n(value) -> int:
    return int(value or 0)


def rate(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _subtree(unit: OrgUnit):
    return select(OrgUnit.id).where(OrgUnit.path.startswith(unit.path, autoescape=True))


def _count_if(condition):
    return func.sum(case((condition, 1), else_=0))


def _task_figures(now: dt.datetime):
    t = SupervisionTask
    return (
        _count_if(t.state.in_(S.OPEN_STATES)),
        *(_count_if(S.light_condition(light, now)) for light in LIGHTS),
        _count_if(t.state == "pending_review"),
        _count_if(t.state == "completed"),
        _count_if(and_(t.state == "completed", t.submitted_at < t.complete_due)),
    )


def _task_row(values) -> dict:
    open_, green, yellow, red, review, completed, ontime = (_n(v) for v in values)
    return {"open": open_, "green": green, "yellow": yellow, "red": red, "review": review,
            "completed": completed, "ontime": ontime, "rate": rate(ontime, completed)}


def _finding_figures(now: dt.datetime):
    f = Finding
    limited = and_(f.continuous.is_not(True), f.deadline.is_not(None))
    overdue = F.rectification_overdue_condition(now)
    return (
        func.count(f.id),
        _count_if(f.state.in_(F.OPEN_FINDING_STATES)),
        _count_if(and_(overdue, f.state.in_(("pending", "rectifying")))),
        _count_if(and_(limited, f.state.in_(REPORTED))),
        _count_if(and_(limited, f.state.in_(REPORTED), not_(overdue))),
        _count_if(f.state == "closed"),
    )


def _finding_row(values) -> dict:
    total, open_, overdue_open, reported, ontime, closed = (_n(v) for v in values)
    return {"total": total, "open": open_, "overdue_open": overdue_open, "reported": reported, "ontime": ontime,
            "closed": closed, "rate": rate(ontime, reported)}


def build_board(unit: OrgUnit, user, now: dt.datetime) -> dict:
    """Every figure of the board for `unit`'s subtree, as seen by `user`."""
    t = SupervisionTask
    ids = _subtree(unit)
    touching = task_touches_subtree(unit.path)
    totals = _task_row(db.session.execute(S.scope_tasks(select(*_task_figures(now)).select_from(t), user)
                                          .where(touching)).one())
    children = db.session.execute(
        select(OrgUnit.id, OrgUnit.code, OrgUnit.name).where(OrgUnit.parent_id == unit.id)
        .order_by(OrgUnit.sort_order, OrgUnit.code)
    ).all()
    by_unit = _tasks_by_child(unit, user, now)
    findings_by_unit = _findings_by_child(unit, user, now)
    units = []
    for uid, code, name in [(unit.id, unit.code, f"{unit.name}（本级）"), *children]:
        row = {"code": code, "name": name, "own": uid == unit.id, **by_unit.get(uid, _task_row([0] * 7)),
               "findings": findings_by_unit.get(uid, _finding_row([0] * 6))}
        units.append(row)
    finding_totals = _finding_row(db.session.execute(
        F.scope_findings(select(*_finding_figures(now)).select_from(Finding), user)
        .where(Finding.org_unit_id.in_(ids))).one())
    return {
        "tasks": totals,
        "units": units,
        "findings": finding_totals,
        "matrix": _findings_matrix(ids, user),
    }


def _tasks_by_child(unit: OrgUnit, user, now: dt.datetime) -> dict[int, dict]:
    """Sub-unit id (or the unit itself for its own items) -> figures of the items it leads."""
    t = SupervisionTask
    lead, child = aliased(OrgUnit), aliased(OrgUnit)
    stmt = (
        select(child.id, *_task_figures(now))
        .select_from(t)
        .join(lead, lead.id == t.lead_unit_id)
        .join(child, and_(child.parent_id == unit.id, lead.path.startswith(child.path)))
        .group_by(child.id)
    )
    out = {row[0]: _task_row(row[1:]) for row in db.session.execute(S.scope_tasks(stmt, user))}
    own = S.scope_tasks(select(*_task_figures(now)).select_from(t).where(t.lead_unit_id == unit.id), user)
    out[unit.id] = _task_row(db.session.execute(own).one())
    return out


def _findings_by_child(unit: OrgUnit, user, now: dt.datetime) -> dict[int, dict]:
    f = Finding
    at, child = aliased(OrgUnit), aliased(OrgUnit)
    stmt = (
        select(child.id, *_finding_figures(now))
        .select_from(f)
        .join(at, at.id == f.org_unit_id)
        .join(child, and_(child.parent_id == unit.id, at.path.startswith(child.path)))
        .group_by(child.id)
    )
    out = {row[0]: _finding_row(row[1:]) for row in db.session.execute(F.scope_findings(stmt, user))}
    own = F.scope_findings(select(*_finding_figures(now)).select_from(f).where(f.org_unit_id == unit.id), user)
    out[unit.id] = _finding_row(db.session.execute(own).one())
    return out


def _findings_matrix(ids, user) -> dict:
    """Category -> severity -> count (one GROUP BY), categories by total descending."""
    f = Finding
    stmt = F.scope_findings(
        select(f.category, f.severity, func.count(f.id)).where(f.org_unit_id.in_(ids)).group_by(f.category, f.severity),
        user,
    )
    cells: dict[str, dict[str, int]] = {}
    for category, severity, count in db.session.execute(stmt):
        cells.setdefault(category, dict.fromkeys(SEVERITIES, 0))[severity] = int(count)
    ordered = sorted(cells, key=lambda c: (-sum(cells[c].values()), c))
    return {"categories": ordered, "cells": cells,
            "by_severity": {s: sum(cells[c].get(s, 0) for c in cells) for s in SEVERITIES}}
