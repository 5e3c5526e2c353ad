"""Org tree use cases: place a unit (keeping every descendant's path right) and import units."""

from __future__ import annotations

from sqlalchemy import func, select, update

from app.core.commands import command
from app.core.errors import Conflict, DomainError, ImportRejected
from app.core.progress import checking, writing
from app.core.tabular import check_header, read_table
from app.extensions import db
from app.models import UNIT_KIND_BY_LABEL, UNIT_KINDS, OrgUnit
from app.security.scope import prefix_of, unit_in_scope

ORG_HEADER = ["单位编码", "单位名称", "类型", "上级编码"]
ORG_OPTIONAL = ["排序"]


def place_unit(unit: OrgUnit, *, user) -> None:
    """Validate a new or edited unit's parent (in `user`'s subtree) and (re)compute its path
    and its subtree's paths.

    Placements take turns (hold_tree) and read the paths as of their turn: two moves at the
    same instant cannot make a cycle (A under B while B goes under A), and a unit added under
    a unit that moves meanwhile gets the moved path, not the old one."""
    prefix = prefix_of(user)
    with db.session.no_autoflush:  # the unit's own row is not written before the tree is held
        parent = unit.parent
        if parent is None and unit.parent_id is not None:
            parent = db.session.get(OrgUnit, unit.parent_id)
        if parent is None and prefix is not None:
            raise DomainError("只有市级管理员可以创建没有上级的单位")
        if parent is not None and (not parent.path or not unit_in_scope(parent, prefix)):  # no path: an unknown id
            raise DomainError("上级单位不存在或不在您的管辖范围内")
        if unit.kind not in UNIT_KINDS:
            raise DomainError("单位类型无效")
        hold_tree()
    if unit.id is None:
        db.session.add(unit)
        db.session.flush()
    old_path = _stored_path(unit) or ""
    parent_path = _stored_path(parent) if parent is not None else "/"
    if parent is not None and (parent.id == unit.id or (old_path and parent_path.startswith(old_path))):
        raise DomainError("不能把单位移动到它自己或它的下级单位之下")
    new_path = parent_path + f"{unit.id}/"
    unit.path = new_path
    if old_path and old_path != new_path:
        db.session.execute(
            update(OrgUnit)
            .where(OrgUnit.path.startswith(old_path, autoescape=True), OrgUnit.id != unit.id)
            .values(path=new_path + func.substr(OrgUnit.path, len(old_path) + 1))
            .execution_options(synchronize_session=False)
        )


def hold_tree() -> None:
    """Hold the org tree for the running transaction (once per transaction): a conditional
    UPDATE of the root rows that changes nothing, so that PostgreSQL serializes placements on
    the root's row lock (SQLite on its write lock). Issued before this transaction writes
    anything else, so that no two placements wait on each other's rows."""
    session = db.session()
    running = session.get_transaction()
    if running is not None and session.info.get("tree_held") is running:
        return
    table = OrgUnit.__table__
    with session.no_autoflush:
        session.execute(update(table).where(table.c.parent_id.is_(None)).values(id=table.c.id))
    session.info["tree_held"] = session.get_transaction()


def _stored_path(unit: OrgUnit) -> str | None:
    """The unit's path as committed (and as this transaction changed it), not as loaded."""
    if unit.id is None:
        return None
    return db.session.scalar(select(OrgUnit.path).where(OrgUnit.id == unit.id))


def create_unit(code: str, name: str, kind: str, parent: OrgUnit | None, sort_order: int = 0) -> OrgUnit:
    """Create one unit under `parent` (None: a root) as the system (setup, the demo)."""
    unit = OrgUnit(code=code, name=name, kind=kind, parent=parent, sort_order=sort_order, path="")
    with command(None):
        place_unit(unit, user=None)
    return unit


def import_units(data: bytes, filename: str, progress=None, *, user) -> dict:
    """Create or update units from a file as `user` (rows of its subtree only), all or nothing;
    returns counts (progress: see app/core/progress.py)."""
    prefix = prefix_of(user)
    header, rows = read_table(data, filename)
    check_header(header, ORG_HEADER, ORG_OPTIONAL)
    errors: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    parsed = []
    for line, row in checking(rows, progress):
        code, name = row.get("单位编码", ""), row.get("单位名称", "")
        kind_label, parent_code = row.get("类型", ""), row.get("上级编码", "")
        row_errors = []
        if "__extra__" in row:
            row_errors.append(row["__extra__"])
        if not code:
            row_errors.append("单位编码不能为空")
        elif len(code) > 32:
            row_errors.append("单位编码过长（最多 32 个字符）")
        elif code in seen:
            row_errors.append(f"单位编码 {code} 与第 {seen[code]} 行重复")
        if not name:
            row_errors.append("单位名称不能为空")
        elif len(name) > 100:
            row_errors.append("单位名称过长（最多 100 个字符）")
        if kind_label not in UNIT_KIND_BY_LABEL:
            row_errors.append(f"类型“{kind_label}”无效，应为 市/县区/乡镇街道/村社区/部门 之一")
        if parent_code and parent_code == code:
            row_errors.append("上级编码不能是本单位")
        sort = row.get("排序", "") or "0"
        if not sort.lstrip("-").isdigit():
            row_errors.append(f"排序“{sort}”不是整数")
        if code:
            seen.setdefault(code, line)
        errors += [(line, e) for e in row_errors]
        parsed.append((line, code, name, UNIT_KIND_BY_LABEL.get(kind_label), parent_code, sort))

    codes = {p[1] for p in parsed} | {p[4] for p in parsed if p[4]}
    existing = {u.code: u for u in db.session.scalars(select(OrgUnit).where(OrgUnit.code.in_(codes)))}
    in_file = {p[1]: p for p in parsed}
    for line, code, _name, _kind, parent_code, _sort in parsed:
        if code in existing and not unit_in_scope(existing[code], prefix):
            errors.append((line, f"单位编码 {code} 已存在且不在您的管辖范围内"))
        if not parent_code:
            if prefix is not None and code not in existing:
                errors.append((line, "上级编码不能为空（只有命令行可以导入顶级单位）"))
            continue
        if parent_code in in_file:
            continue
        parent = existing.get(parent_code)
        if parent is None or not unit_in_scope(parent, prefix):
            errors.append((line, f"上级编码 {parent_code} 不存在或不在您的管辖范围内"))
    order = _parents_first(parsed, errors)
    if errors:
        raise ImportRejected(sorted(errors))

    writing(rows, progress)
    created = updated = 0
    raced = "部分单位编码已被他人同时导入或新增，本次导入未写入任何数据。请刷新后重新导入。"
    try:
        with command(user, raced):
            for _line, code, name, kind, parent_code, sort in order:
                parent = existing.get(parent_code) if parent_code else None
                unit = existing.get(code)
                if unit is None:
                    unit = OrgUnit(code=code, path="")
                    created += 1
                else:
                    updated += 1
                unit.name, unit.kind, unit.sort_order = name, kind, int(sort)
                unit.parent = parent
                unit.parent_id = parent.id if parent else None
                place_unit(unit, user=user)
                existing[code] = unit
    except Conflict:
        raise
    except DomainError as exc:  # a placement refused (a cycle through existing units)
        raise ImportRejected([(None, exc.message)])
    return {"created": created, "updated": updated}


def _parents_first(parsed, errors):
    """Order rows so that a parent in the file comes before its children; report cycles."""
    by_code = {p[1]: p for p in parsed}
    done: set[str] = set()
    order = []
    for item in parsed:
        chain, cur = [], item
        while cur is not None and cur[1] not in done:
            if cur in chain:
                errors.append((cur[0], f"单位编码 {cur[1]} 的上级关系形成循环"))
                break
            chain.append(cur)
            cur = by_code.get(cur[4]) if cur[4] else None
        for c in reversed(chain):
            if c[1] not in done:
                done.add(c[1])
                order.append(c)
    return order
