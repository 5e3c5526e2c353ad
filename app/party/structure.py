"""结构分析: the figures of a unit subtree's party members as of a date, set-based.

One aggregate query: the members of the subtree (by their denormalized unit, read from the
covering index ix_party_member_unit_stats) are counted per unit with SUM(CASE …) per band,
then those per-unit rows (a few thousand at most, never one per member) are summed per direct
child unit through the unit paths, still in SQL. Bands compare dates with cutoffs worked out
once (app/party/rules.py): the same rule on SQLite and PostgreSQL.
"""

from __future__ import annotations

import copy
import datetime as dt
import time

from sqlalchemy import and_, func, literal, select
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
    """COUNT(*) FILTER (WHERE …): standard SQL on PostgreSQL and SQLite ≥ 3.30, and the
    cheapest conditional count on both (SUM(CASE …) costs SQLite half as much again)."""
    return func.count().filter(condition)


def _figure_columns(as_of: dt.date) -> list:
    """(name, SQL aggregate) of the counted cells: cumulative counts, one comparison each.

    The register's rules (app/party/rules.py, checked by every write path) make the cells
    cheap: gender is 男 or 女 and education one of four (the last cell of each is the total
    less the others); only a 正式党员 has a 转正时间, so "正式 at as_of" is "转正时间 on or
    before as_of" and "党龄 ≥ N years" is "转正时间 on or before as_of moved back N years";
    "age ≥ N" is "born on or before as_of moved back N years". Bands are differences of
    these counts (split_bands)."""
    m = PartyMember
    cols = [("total", func.count())]
    cols.append(("gender:男", _count(m.gender == "男")))
    cols += [(f"age≥{n}", _count(m.birth_date <= rules.years_back(as_of, n))) for n in rules.AGE_LOWER]
    cols += [(f"education:{e}", _count(m.education == e)) for e in MEMBER_EDUCATIONS[:-1]]
    cols.append(("formal", _count(m.confirmed_at <= as_of)))
    cols += [(f"party≥{n}", _count(m.confirmed_at <= rules.years_back(as_of, n))) for n in rules.PARTY_AGE_LOWER]
    cols.append(("flowing", _count(m.flowing.is_(True))))
    return cols


def _cumulative_bands(total: int, at_least: list[int], names: tuple[str, ...]) -> dict:
    """Band counts from "at least the band's lower bound" counts (ascending bounds)."""
    bounds = [total, *at_least, 0]
    return {name: bounds[i] - bounds[i + 1] for i, name in enumerate(names)}


def _figures(names: list[str], values) -> dict:
    v = {name: int(value or 0) for name, value in zip(names, values)}
    total = v["total"]
    educations = {e: v[f"education:{e}"] for e in MEMBER_EDUCATIONS[:-1]}
    educations[MEMBER_EDUCATIONS[-1]] = total - sum(educations.values())
    return {
        "total": total,
        "gender": {"男": v["gender:男"], "女": total - v["gender:男"]},
        "age": _cumulative_bands(total, [v[f"age≥{n}"] for n in rules.AGE_LOWER], rules.AGE_BANDS),
        "education": educations,
        "party_age": _cumulative_bands(total, [v[f"party≥{n}"] for n in rules.PARTY_AGE_LOWER],
                                       rules.PARTY_AGE_BANDS),
        "status": {"正式党员": v["formal"], "预备党员": total - v["formal"]},
        "flowing": {"是": v["flowing"], "否": total - v["flowing"]},
    }


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


def _whole_tree(unit: OrgUnit) -> bool:
    """Whether `unit` is the only root: its subtree is every unit."""
    if unit.parent_id is not None:
        return False
    return db.session.scalar(select(func.count()).select_from(OrgUnit).where(OrgUnit.parent_id.is_(None))) == 1


def structure(unit: OrgUnit, as_of: dt.date) -> dict:
    """The figures of `unit`'s subtree as of `as_of` and of each direct child unit's subtree
    (the shape of PLATFORM.md §4, counts). The caller has checked the unit is in scope."""
    m = PartyMember
    cols = _figure_columns(as_of)
    names = [name for name, _ in cols]
    per_unit = select(m.org_unit_id.label("unit_id"), *[expr.label(f"c{i}") for i, (_, expr) in enumerate(cols)])
    if not _whole_tree(unit):  # the whole tree: every member, without testing each unit against it
        per_unit = per_unit.where(m.org_unit_id.in_(
            select(OrgUnit.id).where(OrgUnit.path.startswith(unit.path, autoescape=True))))
    per_unit = (
        per_unit.where(m.joined_at <= as_of)
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


CACHE_SECONDS = 60
_CACHE_ENTRIES = 256
_cache: dict = {}


def cached_structure(unit: OrgUnit, as_of: dt.date) -> dict:
    """structure(), kept for a minute per (unit, as_of, state of the data), as the leaders'
    dashboard keeps its figures (app/profile/dashboard.py).

    The whole city's figures read every member (300,000 at the reference scale, a few hundred
    milliseconds on SQLite); they are read far more often than the register changes. The key
    holds the newest audit entry, so any change made by a form, the API or an import (every
    member and organization write is audited) shows at once; the minute bounds the rest
    (bulk loads that bypass the ORM). The figures depend on `as_of`, never on the clock."""
    from app.models import AuditLog

    version = db.session.scalar(select(func.max(AuditLog.id)))
    key = (unit.id, unit.path, as_of, version)
    hit = _cache.get(key)
    now = time.monotonic()
    if hit is not None and hit[0] > now:
        return copy.deepcopy(hit[1])
    data = structure(unit, as_of)
    if len(_cache) >= _CACHE_ENTRIES:
        _cache.clear()
    _cache[key] = (now + CACHE_SECONDS, copy.deepcopy(data))
    return data


def structure_rows(data: dict, unit_name: str) -> tuple[list[str], list[list]]:
    """The figures as a table: one row per unit (the unit itself, then each child), a column
    per band."""
    header = ["单位编码", "单位名称", "党员总数"] + [f"{LABELS[key]}·{name}" for key in KEYS for name in NAMES[key]]

    def line(code, name, figures):
        return [code, name, figures["total"]] + [figures[key][n] for key in KEYS for n in NAMES[key]]

    rows = [line(data["unit"], f"{unit_name}（合计）", data)]
    rows += [line(c["unit"], c["name"], c) for c in data["children"]]
    return header, rows
