"""结构分析: the figures of a unit subtree's party members as of a date, set-based.

One aggregate query: the members of the subtree (by their denormalized unit, read from the
covering index ix_party_member_unit_stats) are counted per unit with SUM(CASE …) per band,
then those per-unit rows (a few thousand at most, never one per member) are summed per direct
child unit through the unit paths, still in SQL. Bands compare dates with cutoffs worked out
once (app/party/rules.py): the same rule on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import aliased

from app.core.errors import NotFound
from app.extensions import db
from app.models import OrgUnit
from app.party import rules
from app.party.models import MEMBER_EDUCATIONS, MEMBER_STATUSES, PartyMember
from app.security.scope import prefix_of, unit_in_scope

KEYS = ("gender", "age", "education", "party_age", "status", "flowing")
LABELS = {"gender": "性别", "age": "年龄", "education": "学历", "party_age": "党龄", "status": "党员类别",
          "flowing": "流动党员"}
NAMES = {
    "gender": ("男", "女"),
    "age": rules.AGE_BANDS,
    "education": MEMBER_EDUCATIONS,
    "party_age": rules.PARTY_AGE_BANDS,
    "status": MEMBER_STATUSES,
    "flowing": rules.FLOWING,
}


def _count(condition):
    return func.sum(case((condition, 1), else_=0))


def _figure_columns(as_of: dt.date) -> list:
    """(name, SQL aggregate) of every counted cell: total, then each key's bands."""
    m = PartyMember
    formal = and_(m.status == "正式党员", or_(m.confirmed_at.is_(None), m.confirmed_at <= as_of))
    since = func.coalesce(m.confirmed_at, m.joined_at)
    age_cut = [rules.years_back(as_of, n) for n in reversed(rules.AGE_LOWER)]  # 61, 51, 41, 31
    party_cut = [rules.years_back(as_of, n) for n in reversed(rules.PARTY_AGE_LOWER)]  # 31, 21, 11, 5
    age = case(*[(m.birth_date <= cut, i) for i, cut in enumerate(age_cut)], else_=len(age_cut))
    party = case((~formal, len(party_cut)), *[(since <= cut, i) for i, cut in enumerate(party_cut)],
                 else_=len(party_cut))
    cols = [("total", func.count())]
    cols += [(f"gender:{g}", _count(m.gender == g)) for g in NAMES["gender"]]
    # band index 0 is the oldest: reversed to the names' order (youngest first)
    cols += [(f"age:{name}", _count(age == len(age_cut) - i)) for i, name in enumerate(rules.AGE_BANDS)]
    cols += [(f"education:{e}", _count(m.education == e)) for e in MEMBER_EDUCATIONS]
    cols += [(f"party_age:{name}", _count(party == len(party_cut) - i))
             for i, name in enumerate(rules.PARTY_AGE_BANDS)]
    cols += [("status:正式党员", _count(formal)), ("status:预备党员", _count(~formal))]
    cols += [("flowing:是", _count(m.flowing.is_(True))), ("flowing:否", _count(m.flowing.is_not(True)))]
    return cols


def _figures(names: list[str], values) -> dict:
    out: dict = {"total": int(values[0] or 0)}
    for key in KEYS:
        out[key] = {}
    for name, value in zip(names[1:], values[1:]):
        key, band = name.split(":", 1)
        out[key][band] = int(value or 0)
    return out


def empty_figures() -> dict:
    return {"total": 0, **{key: {name: 0 for name in NAMES[key]} for key in KEYS}}


def resolve_unit(code: str | None, user) -> OrgUnit:
    """The unit by code (default: the user's own), NotFound when unknown or out of scope."""
    prefix = prefix_of(user)
    if code:
        unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    else:
        unit = getattr(user, "org_unit", None) if user is not None else db.session.scalar(
            select(OrgUnit).where(OrgUnit.parent_id.is_(None)).order_by(OrgUnit.id).limit(1))
    if unit is None or not unit_in_scope(unit, prefix):
        raise NotFound("单位不存在或不在您的管辖范围内")
    return unit


def structure(unit: OrgUnit, as_of: dt.date) -> dict:
    """The figures of `unit`'s subtree as of `as_of` and of each direct child unit's subtree
    (the shape of PLATFORM.md §4, counts). The caller has checked the unit is in scope."""
    m = PartyMember
    cols = _figure_columns(as_of)
    names = [name for name, _ in cols]
    subtree = select(OrgUnit.id).where(OrgUnit.path.startswith(unit.path, autoescape=True))
    per_unit = (
        select(m.org_unit_id.label("unit_id"), *[expr.label(f"c{i}") for i, (_, expr) in enumerate(cols)])
        .where(m.org_unit_id.in_(subtree), m.joined_at <= as_of)
        .group_by(m.org_unit_id)
        .subquery("per_unit")
    )
    at, child = aliased(OrgUnit, name="at_unit"), aliased(OrgUnit, name="child_unit")
    bucket = func.coalesce(child.id, literal(0))
    rows = db.session.execute(
        select(bucket, *[func.sum(per_unit.c[f"c{i}"]) for i in range(len(cols))])
        .select_from(per_unit)
        .join(at, at.id == per_unit.c.unit_id)
        .outerjoin(child, and_(child.parent_id == unit.id, at.path.startswith(child.path)))
        .group_by(bucket)
    ).all()
    by_child = {row[0]: _figures(names, row[1:]) for row in rows}
    total = empty_figures()
    for figures in by_child.values():
        total["total"] += figures["total"]
        for key in KEYS:
            for band, value in figures[key].items():
                total[key][band] += value
    children = []
    for cid, code, name in db.session.execute(
            select(OrgUnit.id, OrgUnit.code, OrgUnit.name).where(OrgUnit.parent_id == unit.id)
            .order_by(OrgUnit.sort_order, OrgUnit.code)):
        children.append({"unit": code, "name": name, **by_child.get(cid, empty_figures())})
    return {"unit": unit.code, "as_of": as_of.isoformat(), **total, "children": children}


def structure_rows(data: dict, unit_name: str) -> tuple[list[str], list[list]]:
    """The figures as a table: one row per unit (the unit itself, then each child), a column
    per band."""
    header = ["单位编码", "单位名称", "党员总数"] + [f"{LABELS[key]}·{name}" for key in KEYS for name in NAMES[key]]

    def line(code, name, figures):
        return [code, name, figures["total"]] + [figures[key][n] for key in KEYS for n in NAMES[key]]

    rows = [line(data["unit"], f"{unit_name}（合计）", data)]
    rows += [line(c["unit"], c["name"], c) for c in data["children"]]
    return header, rows
