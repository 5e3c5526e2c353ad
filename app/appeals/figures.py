"""The figures of PLATFORM.md §2 and the 诉求办理实绩 indicator, set-based (a few GROUP BY
queries whatever the number of appeals; no per-row Python).

Which appeals count: those received in [date_from, date_to] (whole days) that belong to the
unit(s) asked about — an appeal belongs to the unit it happened in and to every unit it was
assigned to. For a unit subtree (figures) that is any unit of the subtree, for one unit
(indicator_values) that unit itself. Per appeal:

- 受理量 `received`: every such appeal (merged duplicates included);
- 按时答复率: replied by the deadline / appeals whose reply was due (deadline passed by `now`)
  or was made — merged duplicates left out (they follow their master);
- 满意率: (满意 + 基本满意) / call-backs (every call-back recorded);
- 重办率: appeals reopened at least once / appeals called back at least once; 重办件数 `reopens`:
  the number of 重办 (the sum of reopen counts; the indicator's penalty counts these);
- resolved levels: appeals with a resolved level, per level, and their shares.

Per assignment (to a unit of the subtree / to the unit itself, of an appeal received in the range):
- 签收及时率: signed by its deadline / signed or overdue (unsigned when its deadline passed
  before it was refused, ended or `now`); 退单数 `refusals`: refused assignments.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, and_, case, cast, func, literal, or_, select, union_all
from sqlalchemy.orm import aliased

from app.appeals import rules
from app.appeals.access import default_now, unit_in_scope
from app.appeals.models import Appeal, AppealAssignment, AppealCallback
from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.models import OrgUnit


def _bounds(date_from: dt.date, date_to: dt.date) -> tuple[dt.datetime, dt.datetime]:
    if date_from is None or date_to is None:
        raise DomainError("请选择起止日期")
    if date_to < date_from:
        raise DomainError("结束日期不能早于开始日期")
    return dt.datetime.combine(date_from, dt.time.min), dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min)


def _child_key(path, prefix_len: int):
    """SQL: the id (as text) of the child unit whose subtree holds `path`, given the parent's
    path length; '' for the parent itself."""
    rest = func.substr(path, prefix_len + 1)
    if db.session.get_bind().dialect.name == "postgresql":
        return func.split_part(rest, "/", 1)
    return func.substr(rest, 1, func.instr(rest, "/") - 1)


def _members(start, end, key, unit_filter, with_unit_path: bool):
    """(key, appeal_id) once per appeal and group it belongs to, without a DISTINCT over every
    appeal: each appeal under the group of the unit it happened in, plus (distinct, and only
    these few) the groups it was assigned into from elsewhere."""
    in_range = (Appeal.received_at >= start, Appeal.received_at < end)
    place = aliased(OrgUnit, name="place")
    target = aliased(OrgUnit, name="target")
    place_key = key(Appeal.occurred_unit_id, place.path)
    a = AppealAssignment
    target_key = key(a.org_unit_id, target.path)
    occurred = select(place_key.label("k"), Appeal.id.label("appeal_id")).select_from(Appeal)
    assigned = (select(target_key.label("k"), a.appeal_id.label("appeal_id")).select_from(a)
                .join(Appeal, Appeal.id == a.appeal_id))
    if with_unit_path:
        occurred = occurred.join(place, place.id == Appeal.occurred_unit_id)
        assigned = assigned.join(target, target.id == a.org_unit_id).join(place, place.id == Appeal.occurred_unit_id)
    occurred = occurred.where(*in_range, unit_filter(Appeal.occurred_unit_id, place.path))
    assigned = assigned.where(*in_range, unit_filter(a.org_unit_id, target.path),
                              or_(~unit_filter(Appeal.occurred_unit_id, place.path), target_key != place_key))
    return union_all(occurred, assigned.distinct()).subquery("members")


def _callbacks(start, end):
    c = AppealCallback
    return (select(c.appeal_id, func.count().label("n"),
                   func.sum(case((c.result == "满意", 1), else_=0)).label("sat"),
                   func.sum(case((c.result == "基本满意", 1), else_=0)).label("basic"))
            .join(Appeal, Appeal.id == c.appeal_id)
            .where(Appeal.received_at >= start, Appeal.received_at < end)
            .group_by(c.appeal_id).subquery("cb"))


def _appeal_rows(members, start, end, now) -> dict[str, dict]:
    cb = _callbacks(start, end)
    live = Appeal.state != rules.MERGED
    due = and_(live, or_(Appeal.replied_at.is_not(None), Appeal.reply_deadline < now))
    ontime = and_(live, Appeal.replied_at.is_not(None), Appeal.replied_at <= Appeal.reply_deadline)

    def total(condition):
        return func.sum(case((condition, 1), else_=0))

    cols = [
        members.c.k, func.count().label("received"), total(due).label("reply_due"),
        total(ontime).label("reply_on_time"), func.sum(func.coalesce(cb.c.n, 0)).label("callbacks"),
        func.sum(func.coalesce(cb.c.sat, 0)).label("satisfied"), func.sum(func.coalesce(cb.c.basic, 0)).label("basic"),
        total(cb.c.n.is_not(None)).label("called_back"), total(Appeal.reopen_count > 0).label("reopened"),
        func.sum(Appeal.reopen_count).label("reopens"),
    ]
    cols += [total(Appeal.resolved_level == level).label(f"level{i}") for i, level in enumerate(rules.LEVELS)]
    stmt = (select(*cols).select_from(members).join(Appeal, Appeal.id == members.c.appeal_id)
            .outerjoin(cb, cb.c.appeal_id == Appeal.id).group_by(members.c.k))
    return {str(row.k): row._asdict() for row in db.session.execute(stmt)}


def _assignment_rows(start, end, key, unit_filter, with_unit_path: bool, now) -> dict[str, dict]:
    a = AppealAssignment
    inner = select(key(a.org_unit_id, OrgUnit.path).label("k"), a.signed_at, a.sign_deadline, a.refused_at,
                   a.ended_at).join(Appeal, Appeal.id == a.appeal_id)
    if with_unit_path:
        inner = inner.join(OrgUnit, OrgUnit.id == a.org_unit_id)
    inner = inner.where(Appeal.received_at >= start, Appeal.received_at < end,
                        unit_filter(a.org_unit_id, OrgUnit.path)).subquery("asg")
    signed_on_time = and_(inner.c.signed_at.is_not(None), inner.c.signed_at <= inner.c.sign_deadline)
    overdue = and_(inner.c.signed_at.is_(None),
                   inner.c.sign_deadline < func.coalesce(inner.c.refused_at, inner.c.ended_at, now))
    stmt = (select(inner.c.k,
                   func.sum(case((signed_on_time, 1), else_=0)).label("sign_on_time"),
                   func.sum(case((or_(inner.c.signed_at.is_not(None), overdue), 1), else_=0)).label("sign_counted"),
                   func.sum(case((inner.c.refused_at.is_not(None), 1), else_=0)).label("refusals"))
            .group_by(inner.c.k))
    return {str(row.k): row._asdict() for row in db.session.execute(stmt)}


def _row(appeal_row: dict | None, assignment_row: dict | None, weights, penalty) -> dict:
    """The figures of one unit (or subtree) from its two aggregate rows."""
    ap = appeal_row or {}
    asg = assignment_row or {}

    def n(source, key):
        return int(source.get(key) or 0)

    levels = {level: n(ap, f"level{i}") for i, level in enumerate(rules.LEVELS)}
    sign = rules.sign_rate(n(asg, "sign_on_time"), n(asg, "sign_counted"))
    reply = rules.reply_rate(n(ap, "reply_on_time"), n(ap, "reply_due"))
    satisfaction = rules.satisfaction_rate(n(ap, "satisfied"), n(ap, "basic"), n(ap, "callbacks"))
    received = n(ap, "received")
    return {
        "received": received,
        "refusals": n(asg, "refusals"),
        "sign": {"on_time": n(asg, "sign_on_time"), "counted": n(asg, "sign_counted"), "rate": sign},
        "reply": {"on_time": n(ap, "reply_on_time"), "due": n(ap, "reply_due"), "rate": reply},
        "satisfaction": {"satisfied": n(ap, "satisfied"), "basic": n(ap, "basic"), "callbacks": n(ap, "callbacks"),
                         "rate": satisfaction},
        "reopen": {"reopened": n(ap, "reopened"), "called_back": n(ap, "called_back"), "reopens": n(ap, "reopens"),
                   "rate": rules.reopen_rate(n(ap, "reopened"), n(ap, "called_back"))},
        "levels": levels,
        "level_shares": rules.shares(levels),
        "indicator": None if not received else rules.indicator(sign, reply, satisfaction, n(ap, "reopens"),
                                                               weights, penalty),
    }


def _unit_info(unit: OrgUnit) -> dict:
    return {"unit_id": unit.id, "code": unit.code, "name": unit.name, "kind": unit.kind}


def figures(user, unit_id, date_from: dt.date, date_to: dt.date, now: dt.datetime | None = None,
            weights=rules.DEFAULT_WEIGHTS, penalty: float = rules.DEFAULT_PENALTY) -> dict:
    """The §2 figures of `unit_id`'s subtree over appeals received in [date_from, date_to], with
    one row per child unit (drill-down). A unit outside `user`'s scope is NotFound.

    Returns {"unit_id", "code", "name", "kind", "date_from", "date_to", <figures>, "children":
    [{"unit_id", "code", "name", "kind", <figures>}]}; <figures> = received, refusals,
    sign/reply/satisfaction/reopen ({counts…, "rate": fraction or None}), levels ({level: n}),
    level_shares ({level: fraction or None}) and indicator (the 诉求办理实绩 value, None
    without appeals). Four aggregate queries."""
    now = default_now(now)
    try:
        unit = unit_in_scope(int(unit_id), user, "单位")
    except (DomainError, TypeError, ValueError):
        raise NotFound("单位不存在或不在您的管辖范围内")
    start, end = _bounds(date_from, date_to)
    prefix = unit.path

    def in_subtree(_unit_id, path):
        return path.startswith(prefix, autoescape=True)

    def whole(_unit_id, _path):
        return literal("")

    def child(_unit_id, path):
        return _child_key(path, len(prefix))

    result = {**_unit_info(unit), "date_from": date_from, "date_to": date_to}
    totals_ap = _appeal_rows(_members(start, end, whole, in_subtree, True), start, end, now)
    totals_as = _assignment_rows(start, end, whole, in_subtree, True, now)
    result.update(_row(totals_ap.get(""), totals_as.get(""), weights, penalty))
    child_ap = _appeal_rows(_members(start, end, child, in_subtree, True), start, end, now)
    child_as = _assignment_rows(start, end, child, in_subtree, True, now)
    children = db.session.scalars(select(OrgUnit).where(OrgUnit.parent_id == unit.id, OrgUnit.active.is_(True))
                                  .order_by(OrgUnit.sort_order, OrgUnit.code)).all()
    result["children"] = [{**_unit_info(c), **_row(child_ap.get(str(c.id)), child_as.get(str(c.id)), weights, penalty)}
                          for c in children]
    return result


def indicator_values(unit_ids, date_from: dt.date, date_to: dt.date, now: dt.datetime | None = None,
                     weights=rules.DEFAULT_WEIGHTS, penalty: float = rules.DEFAULT_PENALTY) -> dict[int, dict]:
    """Per unit (the unit itself, not its subtree): the figures of appeals received in
    [date_from, date_to] and the 诉求办理实绩 value `100·(w1·签收及时率 + w2·按时答复率 +
    w3·满意率) − penalty·重办件数` in [0, 100] ("indicator"; None for a unit without appeals:
    the cadre gets no value). Units without appeals are in the answer with received 0.
    Two aggregate queries whatever the number of units (the system's view: no scope)."""
    now = default_now(now)
    ids = sorted({int(i) for i in unit_ids})
    if not ids:
        return {}
    start, end = _bounds(date_from, date_to)

    def own(unit_id, _path):
        return unit_id.in_(ids)

    def by_unit(unit_id, _path):
        return cast(unit_id, Integer)

    appeal_rows = _appeal_rows(_members(start, end, by_unit, own, False), start, end, now)
    assignment_rows = _assignment_rows(start, end, by_unit, own, False, now)
    return {i: {"unit_id": i, **_row(appeal_rows.get(str(i)), assignment_rows.get(str(i)), weights, penalty)}
            for i in ids}

