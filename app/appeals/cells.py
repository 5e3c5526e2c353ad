"""The figures' kept cells: per unit subtree and receipt day, the part of the §2 figures that
changes only when an appeal or a hand-over is written (appeal_figure_cell).

A cell (X, d) holds the appeals received on day d that touch X's subtree — the unit they
happened in or a unit they were handed to lies in it — each appeal once however many of its
units lie there, and day d's hand-overs to the subtree's units (those add up per unit). The
figures of a unit and of each of its children over a date range are then the sums of a few
hundred cells (one a unit a day), whatever the number of appeals; only what moves with the
clock (a reply or a signing overdue by `now`) is read live, over the few open rows
(app/appeals/figures.py).

The database's triggers on appeal, appeal_assignment and org_unit note the (unit, day) pairs
whose appeals changed (appeal_figure_dirty); refresh() counts again the cells of those units'
ancestors for those days, set-based: a few statements over one day's appeals. A moved unit,
the migration and the benchmark's bulk load ask for every cell (unit 0): counted month by month.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, case, delete, func, literal, or_, select, text, union, union_all

from app.appeals import rules
from app.appeals.models import FIGURE_CELLS, Appeal, AppealAssignment, AppealFigureCell, AppealFigureDirty
from app.core.replica import on_primary
from app.extensions import db
from app.models import OrgUnit

EVERYTHING = 0  # the dirty unit that asks for every cell
WHOLE_DAY_ABOVE = 100  # more units to count again on one day than this: the whole day is counted


def _total(condition):
    return func.sum(case((condition, 1), else_=0))


def _appeal_figures(ap) -> list:
    """The appeal's figure columns (FIGURE_CELLS' appeal part) as aggregates over rows of `ap`."""
    live = ap.c.state != rules.MERGED
    replied = and_(live, ap.c.replied_at.is_not(None))
    cols = [
        func.count().label("received"),
        _total(replied).label("replied"),
        _total(and_(replied, ap.c.replied_at <= ap.c.reply_deadline)).label("on_time"),
        func.sum(ap.c.callback_count).label("callbacks"),
        func.sum(ap.c.satisfied_count).label("satisfied"),
        func.sum(ap.c.basic_count).label("basic"),
        _total(ap.c.callback_count > 0).label("called_back"),
        _total(ap.c.reopen_count > 0).label("reopened"),
        func.sum(ap.c.reopen_count).label("reopens"),
    ]
    cols += [_total(ap.c.resolved_level == level).label(f"level{i}") for i, level in enumerate(rules.LEVELS)]
    return cols


def _assignment_figures(asg) -> list:
    """The hand-over columns: signed by the deadline; settled for the signing rate (signed, or
    refused / ended unsigned after its deadline — the open ones overdue by now are read live);
    refused."""
    settled_late = and_(asg.c.signed_at.is_(None), or_(asg.c.refused_at.is_not(None), asg.c.ended_at.is_not(None)),
                        asg.c.sign_deadline < func.coalesce(asg.c.refused_at, asg.c.ended_at))
    return [
        _total(and_(asg.c.signed_at.is_not(None), asg.c.signed_at <= asg.c.sign_deadline)).label("sign_on_time"),
        _total(or_(asg.c.signed_at.is_not(None), settled_late)).label("sign_settled"),
        _total(asg.c.refused_at.is_not(None)).label("refusals"),
    ]


APPEAL_PART = FIGURE_CELLS[:-3]
ASSIGNMENT_PART = FIGURE_CELLS[-3:]


def _ancestry(targets):
    """(unit_id, ancestor_id) for every unit and each of its ancestors (itself included), or
    only the ancestors among `targets` (unit ids): a recursive walk up the parents, or the
    targets' paths as prefixes of the unit's path."""
    o = OrgUnit.__table__
    if targets is None:
        up = select(o.c.id.label("unit_id"), o.c.id.label("ancestor_id"), o.c.parent_id.label("next_id"))
        up = up.cte("ancestry", recursive=True)
        parent = o.alias("parent")
        up = up.union_all(select(up.c.unit_id, parent.c.id, parent.c.parent_id)
                          .join(parent, parent.c.id == up.c.next_id))
        return select(up.c.unit_id, up.c.ancestor_id).subquery("anc")
    unit, target = o.alias("unit"), o.alias("target")
    return (select(unit.c.id.label("unit_id"), target.c.id.label("ancestor_id"))
            .join(target, and_(target.c.id.in_(sorted(targets)),
                               func.substr(unit.c.path, 1, func.length(target.c.path)) == target.c.path))
            .subquery("anc"))


def _counted(start: dt.datetime, end: dt.datetime, targets=None):
    """The cells of the appeals received in [start, end), of every unit or only of `targets`:
    a select of (unit_id, day, FIGURE_CELLS…)."""
    ap, asg = Appeal.__table__, AppealAssignment.__table__
    anc = _ancestry(targets)

    def received_in(column):
        # By the index over a range a day wider, then by the day itself: a time stored without
        # its fraction ("2026-10-01 00:00:00") sorts before the bound "2026-10-01 00:00:00.000000"
        # as text on SQLite, and would fall into the chunk before its own day.
        day = func.date(column)
        return and_(column >= start - dt.timedelta(days=1), column < end + dt.timedelta(days=1),
                    day >= start.date(), day < end.date())

    members = union(
        select(ap.c.id.label("appeal_id"), ap.c.occurred_unit_id.label("unit_id")).where(received_in(ap.c.received_at)),
        select(asg.c.appeal_id, asg.c.org_unit_id).where(received_in(asg.c.appeal_received_at)),
    ).subquery("members")
    reach = (select(members.c.appeal_id, anc.c.ancestor_id).join(anc, anc.c.unit_id == members.c.unit_id)
             .distinct().subquery("reach"))
    zero = literal(0)
    appeal_cells = (
        select(reach.c.ancestor_id.label("unit_id"), func.date(ap.c.received_at).label("day"), *_appeal_figures(ap),
               *[zero.label(name) for name in ASSIGNMENT_PART])
        .select_from(reach).join(ap, ap.c.id == reach.c.appeal_id)
        .group_by(reach.c.ancestor_id, func.date(ap.c.received_at))
    )
    assignment_cells = (
        select(anc.c.ancestor_id.label("unit_id"), func.date(asg.c.appeal_received_at).label("day"),
               *[zero.label(name) for name in APPEAL_PART], *_assignment_figures(asg))
        .select_from(asg).join(anc, anc.c.unit_id == asg.c.org_unit_id)
        .where(received_in(asg.c.appeal_received_at))
        .group_by(anc.c.ancestor_id, func.date(asg.c.appeal_received_at))
    )
    both = union_all(appeal_cells, assignment_cells).subquery("both")
    return (select(both.c.unit_id, both.c.day, *[func.sum(both.c[name]).label(name) for name in FIGURE_CELLS])
            .group_by(both.c.unit_id, both.c.day))


def _insert(start: dt.datetime, end: dt.datetime, targets=None) -> None:
    cell = AppealFigureCell.__table__
    db.session.execute(cell.insert().from_select(["unit_id", "day", *FIGURE_CELLS], _counted(start, end, targets)))


def _lock() -> None:
    """One refresher counts at a time (PostgreSQL: a transaction-level advisory lock, taken after
    the changed pairs are claimed, so each counts what it claimed on the cells the one before
    committed; SQLite: the first statement's write lock does it)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(151515)"))


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time.min)
    return start, start + dt.timedelta(days=1)


def _as_date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def rebuild() -> None:
    """Count every cell again, month by month (the caller commits)."""
    ap = Appeal.__table__
    cell = AppealFigureCell.__table__
    db.session.execute(delete(cell))
    first, last = db.session.execute(select(func.min(ap.c.received_at), func.max(ap.c.received_at))).one()
    if first is None:
        return
    first, last = _as_date(first), _as_date(last)
    month = first.replace(day=1)
    while month <= last:
        following = (month + dt.timedelta(days=32)).replace(day=1)
        _insert(dt.datetime.combine(month, dt.time.min), dt.datetime.combine(following, dt.time.min))
        month = following


@on_primary  # a report reading the replica writes its cells on the primary
def refresh() -> None:
    """Bring the cells up to date in one short transaction of their own: the changed (unit,
    day) pairs are taken (and so claimed) first, then the cells of those units' ancestors are
    counted again for those days. Figures kept for reading, not a record: nothing is audited."""
    dirty = AppealFigureDirty.__table__
    cell = AppealFigureCell.__table__
    try:
        changed = db.session.execute(delete(dirty).returning(dirty.c.unit_id, dirty.c.day)).all()
        if not changed:
            db.session.commit()
            return
        _lock()
        if any(unit_id == EVERYTHING for unit_id, _ in changed):
            rebuild()
        else:
            paths = dict(db.session.execute(select(OrgUnit.id, OrgUnit.path)
                                            .where(OrgUnit.id.in_({unit_id for unit_id, _ in changed}))).all())
            by_day: dict[dt.date, set[int]] = {}
            for unit_id, day in changed:
                path = paths.get(unit_id)
                if path:  # the unit itself and every unit above it
                    by_day.setdefault(_as_date(day), set()).update(int(i) for i in path.strip("/").split("/"))
            for day, targets in sorted(by_day.items()):
                if len(targets) > WHOLE_DAY_ABOVE:  # an import: the day's every cell, through the unit tree
                    db.session.execute(delete(cell).where(cell.c.day == day))
                    _insert(*_day_bounds(day))
                else:  # a few writes: the changed units' ancestors, by their paths
                    db.session.execute(delete(cell).where(cell.c.day == day, cell.c.unit_id.in_(sorted(targets))))
                    _insert(*_day_bounds(day), targets)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def rebuild_now() -> None:
    """Every cell counted again at once, whatever was noted (the benchmark's bulk load)."""
    try:
        _lock()
        db.session.execute(delete(AppealFigureDirty.__table__))
        rebuild()
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def cell_sums(unit_ids, date_from: dt.date, date_to: dt.date) -> dict[int, dict]:
    """{unit_id: {FIGURE_CELLS name: sum over the days}} for the units asked about."""
    cell = AppealFigureCell.__table__
    ids = sorted({int(i) for i in unit_ids})
    stmt = (select(cell.c.unit_id, *[func.sum(cell.c[name]).label(name) for name in FIGURE_CELLS])
            .where(cell.c.unit_id.in_(ids), cell.c.day >= date_from, cell.c.day <= date_to)
            .group_by(cell.c.unit_id))
    return {row.unit_id: {name: int(getattr(row, name) or 0) for name in FIGURE_CELLS}
            for row in db.session.execute(stmt)}

