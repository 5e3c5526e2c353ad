"""结构分析: the figures of a unit subtree's party members as of a date, set-based.

Every unit's own members are counted as of a day in one aggregate query over the covering
index ix_party_member_unit_stats (COUNT … FILTER per band, dates compared with cutoffs worked
out once in app/party/rules.py: the same rule on SQLite and PostgreSQL). Those per-unit
counts are kept as cells (party_structure_cell, for the last KEPT_DAYS days asked about); the
database's triggers on party_member mark a unit whose members change, and only such units are
counted again. A page sums the cells of the subtree per direct child unit through the unit
paths, in SQL: a few thousand rows, never one per member.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, delete, func, literal, select, union_all

from app.core import clock
from app.core.errors import NotFound
from app.core.replica import on_primary
from app.core.sql import child_key, conflict_insert, plain
from app.extensions import db
from app.models import OrgUnit
from app.party import rules
from app.party.models import (
    MEMBER_EDUCATIONS,
    MEMBER_STATUSES,
    STRUCTURE_CELLS,
    PartyMember,
    PartyStructureCell,
    PartyStructureDay,
    PartyStructureDirty,
)
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
    these counts (split_bands). Dates are compared as stored (core.sql.plain: a third of
    the time on SQLite)."""
    m = PartyMember
    birth, confirmed = plain(m.birth_date), plain(m.confirmed_at)
    cols = [("total", func.count())]
    cols.append(("gender:男", _count(m.gender == "男")))
    cols += [(f"age≥{n}", _count(birth <= rules.years_back(as_of, n))) for n in rules.AGE_LOWER]
    cols += [(f"education:{e}", _count(m.education == e)) for e in MEMBER_EDUCATIONS[:-1]]
    cols.append(("formal", _count(confirmed <= as_of)))
    cols += [(f"party≥{n}", _count(confirmed <= rules.years_back(as_of, n))) for n in rules.PARTY_AGE_LOWER]
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
    (the shape of PLATFORM.md §4, counts). The caller has checked the unit is in scope.

    Read from the kept cells when the day is kept (refresh_cells brings them up to date
    first): each unit's own counts, summed per direct child unit through the unit paths in
    SQL. The whole tree on a day not kept yet is counted whole and kept; a subtree on such a
    day is counted afresh (its members only) and not kept."""
    whole = _whole_tree(unit)
    if refresh_cells(as_of, count_whole=whole):
        cell = PartyStructureCell.__table__
        source = select(cell).where(cell.c.as_of == as_of).subquery("cells")
    else:
        source = _counted(as_of, select(OrgUnit.id).where(OrgUnit.path.startswith(unit.path, autoescape=True)))
        source = source.subquery("cells")
    key = child_key(OrgUnit.path, len(unit.path), db.session.get_bind().dialect.name)
    stmt = (
        select(key, *[func.sum(source.c[f"c{i}"]) for i in range(STRUCTURE_CELLS)])
        .select_from(source)
        .join(OrgUnit, OrgUnit.id == source.c.unit_id)
        .group_by(key)
    )
    if not whole:
        stmt = stmt.where(OrgUnit.path.startswith(unit.path, autoescape=True))
    names = [name for name, _ in _figure_columns(as_of)]
    by_child = {row[0]: _figures(names, row[1:]) for row in db.session.execute(stmt)}
    total = empty_figures()
    for figures in by_child.values():
        total["total"] += figures["total"]
        for key_ in KEYS:
            for band, value in figures[key_].items():
                total[key_][band] += value
    children = []
    for cid, code, name in db.session.execute(
            select(OrgUnit.id, OrgUnit.code, OrgUnit.name).where(OrgUnit.parent_id == unit.id)
            .order_by(OrgUnit.sort_order, OrgUnit.code)):
        children.append({"unit": code, "name": name, **by_child.get(str(cid), empty_figures())})
    return {"unit": unit.code, "as_of": as_of.isoformat(), **total, "children": children}


# ---------------------------------------------------------------- the kept cells

KEPT_DAYS = 4  # days whose cells are kept (the newest counted: today, tomorrow, a date or two looked back at)


def _counted(as_of: dt.date, units=None):
    """Each unit's own members counted as of `as_of` (one row per unit that has any), in the
    cells' column order: the set-based count of every member, or of `units`' members only."""
    m = PartyMember
    stmt = select(literal(as_of, Date).label("as_of"), m.org_unit_id.label("unit_id"),
                  *[expr.label(f"c{i}") for i, (_, expr) in enumerate(_figure_columns(as_of))])
    stmt = stmt.where(plain(m.joined_at) <= as_of)
    if units is not None:
        stmt = stmt.where(m.org_unit_id.in_(units))
    return stmt.group_by(m.org_unit_id)


@on_primary  # a report reading the replica writes its cells on the primary
def refresh_cells(as_of: dt.date, count_whole: bool = True) -> bool:
    """Bring the kept cells up to date, in one short transaction of their own; whether the
    cells of `as_of` are kept (and so current) afterwards.

    The units whose members changed (party_structure_dirty, filled by the database's triggers
    on party_member) are counted again for every kept day. A day not kept is counted whole
    when `count_whole` (every member: the one full pass, a few hundred milliseconds at 300,000
    members on SQLite) and kept, the oldest day beyond KEPT_DAYS dropped. The first statement
    writes, so the transaction holds the write lock (SQLite) or the rows (PostgreSQL) from its
    start: two readers refreshing at once count each change once and never see half of it.
    The cells are figures of the register kept for reading, not a record: nothing here is
    audited."""
    cell, day, dirty = (PartyStructureCell.__table__, PartyStructureDay.__table__,
                        PartyStructureDirty.__table__)
    targets = ["as_of", "unit_id"] + [f"c{i}" for i in range(STRUCTURE_CELLS)]
    try:
        changed = [row[0] for row in db.session.execute(delete(dirty).returning(dirty.c.unit_id))]
        kept = db.session.scalar(select(func.count()).select_from(day).where(day.c.as_of == as_of)) > 0
        if not kept and count_whole:
            claimed = db.session.execute(
                conflict_insert(day, db.session.get_bind().dialect.name).values(as_of=as_of, computed_at=dt.datetime.now())
                .on_conflict_do_nothing().returning(day.c.as_of)).first()
            if claimed is not None:
                db.session.execute(delete(cell).where(cell.c.as_of == as_of))
                db.session.execute(cell.insert().from_select(targets, _counted(as_of)))
                old = select(day.c.as_of).order_by(day.c.computed_at.desc(), day.c.as_of.desc()).offset(KEPT_DAYS)
                stale = [row[0] for row in db.session.execute(old)]
                if stale:
                    db.session.execute(delete(cell).where(cell.c.as_of.in_(stale)))
                    db.session.execute(delete(day).where(day.c.as_of.in_(stale)))
            kept = True
        if changed:  # those units counted again for every kept day: two statements
            days = db.session.scalars(select(day.c.as_of)).all()
            if days:
                db.session.execute(delete(cell).where(cell.c.as_of.in_(days), cell.c.unit_id.in_(changed)))
                db.session.execute(cell.insert().from_select(targets, union_all(*[_counted(d, changed) for d in days])))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return kept


def keep_ahead(today: dt.date | None = None) -> None:
    """Today's and tomorrow's cells counted before anyone asks (the job worker calls this when
    idle, app/jobs/kinds.py): the first reader of a new day finds it kept, as every reader
    after a change finds only the changed units to count again."""
    today = today or clock.now().date()
    for day in (today, today + dt.timedelta(days=1)):
        refresh_cells(day, count_whole=True)


def structure_rows(data: dict, unit_name: str) -> tuple[list[str], list[list]]:
    """The figures as a table: one row per unit (the unit itself, then each child), a column
    per band."""
    header = ["单位编码", "单位名称", "党员总数"] + [f"{LABELS[key]}·{name}" for key in KEYS for name in NAMES[key]]

    def line(code, name, figures):
        return [code, name, figures["total"]] + [figures[key][n] for key in KEYS for n in NAMES[key]]

    rows = [line(data["unit"], f"{unit_name}（合计）", data)]
    rows += [line(c["unit"], c["name"], c) for c in data["children"]]
    return header, rows
