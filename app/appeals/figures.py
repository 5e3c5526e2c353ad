"""The figures of PLATFORM.md §2 and the 诉求办理实绩 indicator, set-based: a handful of queries
whatever the number of appeals. figures() sums kept cells (app/appeals/cells.py) and reads the
part that moves with the clock live; indicator_values() groups the period's appeals per unit.

Which appeals count: those received in [date_from, date_to] (whole days) that belong to the
unit(s) asked about — an appeal belongs to the unit it happened in and to every unit it was
assigned to. For a unit subtree (figures) that is any unit of the subtree, for one unit
(indicator_values) that unit itself. Per appeal:

- 受理量 `received`: every such appeal (merged duplicates included);
- 按时答复率: replied by the deadline / appeals whose reply was due (deadline passed by `now`)
  or was made — merged duplicates left out (they follow their master);
- 满意率: (满意 + 基本满意) / call-backs (every call-back recorded; counted on the appeal row);
- 重办率: appeals reopened at least once / appeals called back at least once; 重办件数 `reopens`:
  the number of 重办 (the sum of reopen counts; the indicator's penalty counts these);
- resolved levels: appeals with a resolved level, per level, and their shares.

Per assignment (to a unit of the subtree / to the unit itself, of an appeal received in the range):
- 签收及时率: signed by its deadline / signed or overdue (unsigned when its deadline passed
  before it was refused, ended or `now`); 退单数 `refusals`: refused assignments.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, and_, case, cast, func, or_, select

from app.appeals import cells, rules
from app.appeals.access import default_now, unit_in_scope
from app.appeals.models import FIGURE_CELLS, Appeal, AppealAssignment
from app.core.errors import DomainError, NotFound
from app.core.sql import plain
from app.extensions import db
from app.models import OrgUnit


def _bounds(date_from: dt.date, date_to: dt.date) -> tuple[dt.datetime, dt.datetime]:
    if date_from is None or date_to is None:
        raise DomainError("请选择起止日期")
    if date_to < date_from:
        raise DomainError("结束日期不能早于开始日期")
    return dt.datetime.combine(date_from, dt.time.min), dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min)


_APPEAL_COLUMNS = ("state", "replied_at", "reply_deadline", "callback_count", "satisfied_count", "basic_count",
                   "reopen_count", "resolved_level")


def _parts(start, end, ids: list[int]):
    """The two parts of the appeals' membership of the units `ids` (each unit itself), as
    selects of (k: the unit id, the appeal's figure columns): each appeal under the unit it
    happened in ("occurred"), and (distinct: an appeal handed twice to a unit counts once)
    under the other units it was handed to ("elsewhere"). The two never share an (appeal,
    unit) pair, so their aggregates add up."""
    a = AppealAssignment
    columns = [getattr(Appeal, name) for name in _APPEAL_COLUMNS]
    occurred = (select(cast(Appeal.occurred_unit_id, Integer).label("k"), *columns)
                .where(Appeal.occurred_unit_id.in_(ids), Appeal.received_at >= start, Appeal.received_at < end))
    assigned = (select(cast(a.org_unit_id, Integer).label("k"), a.appeal_id.label("appeal_id"), *columns).select_from(a)
                .join(Appeal, Appeal.id == a.appeal_id)
                .where(a.org_unit_id.in_(ids), a.appeal_received_at >= start, a.appeal_received_at < end,
                       a.org_unit_id != Appeal.occurred_unit_id)
                .distinct().subquery("elsewhere_pairs"))
    elsewhere = select(assigned.c.k, *[assigned.c[name] for name in _APPEAL_COLUMNS])
    return occurred, elsewhere


def _appeal_rows(members, now) -> dict[str, dict]:
    m = members.c
    live = m.state != rules.MERGED
    due = and_(live, or_(m.replied_at.is_not(None), plain(m.reply_deadline) < now))
    ontime = and_(live, m.replied_at.is_not(None), m.replied_at <= m.reply_deadline)

    def total(condition):
        return func.sum(case((condition, 1), else_=0))

    cols = [
        m.k, func.count().label("received"), total(due).label("reply_due"),
        total(ontime).label("reply_on_time"), func.sum(m.callback_count).label("callbacks"),
        func.sum(m.satisfied_count).label("satisfied"), func.sum(m.basic_count).label("basic"),
        total(m.callback_count > 0).label("called_back"), total(m.reopen_count > 0).label("reopened"),
        func.sum(m.reopen_count).label("reopens"),
    ]
    cols += [total(m.resolved_level == level).label(f"level{i}") for i, level in enumerate(rules.LEVELS)]
    return {str(row.k): row._asdict() for row in db.session.execute(select(*cols).group_by(m.k))}


def _assignment_rows(start, end, ids: list[int], now) -> dict[str, dict]:
    """Per unit of `ids`: its hand-overs' signing figures and refusals (keyed by the id as text)."""
    a = AppealAssignment
    inner = (select(cast(a.org_unit_id, Integer).label("k"), a.signed_at, a.sign_deadline, a.refused_at, a.ended_at)
             .where(a.org_unit_id.in_(ids), a.appeal_received_at >= start, a.appeal_received_at < end)
             .subquery("asg"))
    signed_on_time = and_(inner.c.signed_at.is_not(None), inner.c.signed_at <= inner.c.sign_deadline)
    overdue = and_(inner.c.signed_at.is_(None),
                   plain(inner.c.sign_deadline) < func.coalesce(inner.c.refused_at, inner.c.ended_at, now))
    stmt = (select(inner.c.k,
                   func.sum(case((signed_on_time, 1), else_=0)).label("sign_on_time"),
                   func.sum(case((or_(inner.c.signed_at.is_not(None), overdue), 1), else_=0)).label("sign_counted"),
                   func.sum(case((inner.c.refused_at.is_not(None), 1), else_=0)).label("refusals"))
            .group_by(inner.c.k))
    return {str(row.k): row._asdict() for row in db.session.execute(stmt)}


def _sum(*rows: dict | None) -> dict:
    """Field-wise sum of aggregate rows (their group key left out)."""
    out: dict = {}
    for row in rows:
        for field, value in (row or {}).items():
            if field != "k":
                out[field] = (out.get(field) or 0) + (value or 0)
    return out


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


CHUNK = 5000  # appeal ids a statement names


def _clock_part(prefix: str, start, end, now) -> tuple[dict, dict]:
    """What the kept cells leave to the clock, read live over the few open rows, keyed like the
    children ("" for the unit itself, a child's id as text): appeals not replied to whose reply
    deadline passed by `now` (merged ones left out; each appeal once per group, as in the cells)
    and hand-overs neither signed, refused nor ended whose sign deadline passed.

    Both are searched by the partial indexes over the open rows' deadlines
    (ix_appeal_unreplied_deadline, ix_appeal_assignment_open_sign), the receipt compared as
    stored (which keeps SQLite off the receipt index: a year of appeals), and grouped here by
    their units' paths: the open overdue rows of a whole city are a few thousand."""
    ap, asg = Appeal.__table__, AppealAssignment.__table__
    unit = OrgUnit.__table__
    overdue = db.session.execute(
        select(ap.c.id, unit.c.path).join(unit, unit.c.id == ap.c.occurred_unit_id)
        .where(ap.c.replied_at.is_(None), ap.c.reply_deadline < now, ap.c.state != rules.MERGED,
               plain(ap.c.received_at) >= start, plain(ap.c.received_at) < end)).all()
    appeals = list(overdue)
    ids = [appeal_id for appeal_id, _ in overdue]
    for i in range(0, max(len(ids), 1), CHUNK):  # their hand-overs by the appeal index (a join hashes them all)
        appeals += db.session.execute(select(asg.c.appeal_id, unit.c.path).join(unit, unit.c.id == asg.c.org_unit_id)
                                      .where(asg.c.appeal_id.in_(ids[i:i + CHUNK]))).all()
    unsigned = db.session.scalars(
        select(unit.c.path).select_from(asg).join(unit, unit.c.id == asg.c.org_unit_id)
        .where(asg.c.signed_at.is_(None), asg.c.refused_at.is_(None), asg.c.ended_at.is_(None),
               asg.c.sign_deadline < now, plain(asg.c.appeal_received_at) >= start,
               plain(asg.c.appeal_received_at) < end))

    def keys(path: str) -> tuple[str, ...]:
        if not path.startswith(prefix):
            return ()
        child = path[len(prefix):].split("/", 1)[0]
        return ("", child) if child else ("",)

    groups: dict[str, set] = {}
    for appeal_id, path in appeals:
        for k in keys(path):
            groups.setdefault(k, set()).add(appeal_id)
    sign: dict[str, int] = {}
    for path in unsigned:
        for k in keys(path):
            sign[k] = sign.get(k, 0) + 1
    return {k: len(ids) for k, ids in groups.items()}, sign


def _from_cells(sums: dict | None, reply_overdue: int, sign_overdue: int) -> tuple[dict, dict]:
    """The two aggregate rows _row reads, from a unit's cell sums and its live part."""
    c = dict.fromkeys(FIGURE_CELLS, 0) | (sums or {})
    appeal_row = {name: c[name] for name in ("received", "callbacks", "satisfied", "basic", "called_back",
                                              "reopened", "reopens")}
    appeal_row |= {f"level{i}": c[f"level{i}"] for i in range(len(rules.LEVELS))}
    appeal_row |= {"reply_due": c["replied"] + reply_overdue, "reply_on_time": c["on_time"]}
    assignment_row = {"sign_on_time": c["sign_on_time"], "sign_counted": c["sign_settled"] + sign_overdue,
                      "refusals": c["refusals"]}
    return appeal_row, assignment_row


def figures(user, unit_id, date_from: dt.date, date_to: dt.date, now: dt.datetime | None = None,
            weights=rules.DEFAULT_WEIGHTS, penalty: float = rules.DEFAULT_PENALTY) -> dict:
    """The §2 figures of `unit_id`'s subtree over appeals received in [date_from, date_to], with
    one row per child unit (drill-down). A unit outside `user`'s scope is NotFound.

    Returns {"unit_id", "code", "name", "kind", "date_from", "date_to", <figures>, "children":
    [{"unit_id", "code", "name", "kind", <figures>}]}; <figures> = received, refusals,
    sign/reply/satisfaction/reopen ({counts…, "rate": fraction or None}), levels ({level: n}),
    level_shares ({level: fraction or None}) and indicator (the 诉求办理实绩 value, None
    without appeals).

    The kept cells (app/appeals/cells.py, brought up to date first) give each unit's part that
    changes only with a write: one row a unit a day for the unit and its children. What moves
    with the clock (replies and signings overdue by `now`) is read live over the open rows. A
    handful of queries, whatever the number of appeals."""
    now = default_now(now)
    try:
        unit = unit_in_scope(int(unit_id), user, "单位")
    except (DomainError, TypeError, ValueError):
        raise NotFound("单位不存在或不在您的管辖范围内")
    start, end = _bounds(date_from, date_to)
    cells.refresh()
    children = db.session.scalars(select(OrgUnit).where(OrgUnit.parent_id == unit.id, OrgUnit.active.is_(True))
                                  .order_by(OrgUnit.sort_order, OrgUnit.code)).all()
    sums = cells.cell_sums([unit.id, *[c.id for c in children]], date_from, date_to)
    reply, sign = _clock_part(unit.path, start, end, now)
    result = {**_unit_info(unit), "date_from": date_from, "date_to": date_to}
    result.update(_row(*_from_cells(sums.get(unit.id), reply.get("", 0), sign.get("", 0)), weights, penalty))
    result["children"] = [
        {**_unit_info(c), **_row(*_from_cells(sums.get(c.id), reply.get(str(c.id), 0), sign.get(str(c.id), 0)),
                                 weights, penalty)}
        for c in children]
    return result


def indicator_values(unit_ids, date_from: dt.date, date_to: dt.date, now: dt.datetime | None = None,
                     weights=rules.DEFAULT_WEIGHTS, penalty: float = rules.DEFAULT_PENALTY) -> dict[int, dict]:
    """Per unit (the unit itself, not its subtree): the figures of appeals received in
    [date_from, date_to] and the 诉求办理实绩 value `100·(w1·签收及时率 + w2·按时答复率 +
    w3·满意率) − penalty·重办件数` in [0, 100] ("indicator"; None for a unit without appeals:
    the cadre gets no value). Units without appeals are in the answer with received 0.
    Three aggregate queries whatever the number of units (the system's view: no scope)."""
    now = default_now(now)
    ids = sorted({int(i) for i in unit_ids})
    if not ids:
        return {}
    start, end = _bounds(date_from, date_to)

    # The two parts of the membership grouped each on its own and added per unit, instead of
    # one GROUP BY over their union: no sort of a million rows.
    occurred, elsewhere = _parts(start, end, ids)
    occurred_rows = _appeal_rows(occurred.subquery("occurred"), now)
    elsewhere_rows = _appeal_rows(elsewhere.subquery("elsewhere"), now)
    appeal_rows = {k: _sum(occurred_rows.get(k), elsewhere_rows.get(k)) for k in {*occurred_rows, *elsewhere_rows}}
    assignment_rows = _assignment_rows(start, end, ids, now)
    return {i: {"unit_id": i, **_row(appeal_rows.get(str(i)), assignment_rows.get(str(i)), weights, penalty)}
            for i in ids}

