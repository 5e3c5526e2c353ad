"""Org tree use cases: place a unit (keeping every descendant's path right) and import units."""

from __future__ import annotations

import hashlib
import json

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

# The "王" tree (DESIGN.md): the city on top, counties under it, townships under a county,
# villages under a township; departments (市直/县直部门) under the city or a county.
PARENT_KINDS = {
    "city": (),
    "county": ("city",),
    "township": ("county",),
    "village": ("township",),
    "grid": ("village",),
    "department": ("city", "county"),
}


def kind_error(kind: str, parent_kind: str | None) -> str | None:
    """Why a unit of `kind` cannot sit under a parent of `parent_kind` (None: no parent), or None."""
    allowed = PARENT_KINDS.get(kind)
    if allowed is None:
        return None  # an invalid kind is reported as such
    label = UNIT_KINDS[kind]
    wanted = "或".join(f"“{UNIT_KINDS[k]}”" for k in allowed)
    if parent_kind is None:
        return None if not allowed else f"“{label}”必须有上级单位（应为{wanted}）"
    if not allowed:
        return f"“{label}”是顶级单位，不能有上级单位"
    if parent_kind not in allowed:
        return f"“{label}”不能隶属于“{UNIT_KINDS.get(parent_kind, parent_kind)}”，其上级应为{wanted}"
    return None


def place_unit(unit: OrgUnit, *, user, check_kinds: bool = True) -> None:
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
    if check_kinds:
        with db.session.no_autoflush:
            _check_kinds(unit, parent)
    new_path = parent_path + f"{unit.id}/"
    unit.path = new_path
    if old_path and old_path != new_path:
        db.session.execute(
            update(OrgUnit)
            .where(OrgUnit.path.startswith(old_path, autoescape=True), OrgUnit.id != unit.id)
            .values(path=new_path + func.substr(OrgUnit.path, len(old_path) + 1))
            .execution_options(synchronize_session=False)
        )


def _check_kinds(unit: OrgUnit, parent: OrgUnit | None) -> None:
    """The unit fits under its parent, and its children (already there) still fit under it."""
    message = kind_error(unit.kind, parent.kind if parent is not None else None)
    if message is None and unit.id is not None:
        children = db.session.execute(select(OrgUnit.name, OrgUnit.kind).where(OrgUnit.parent_id == unit.id)).all()
        message = next((f"下级单位“{name}”：{err}" for name, kind in children
                        if (err := kind_error(kind, unit.kind))), None)
    if message:
        raise DomainError(message)


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
        place_unit(unit, user=None, check_kinds=False)  # the demo and tests build what they need
    return unit


def preview_units(data: bytes, filename: str, *, user) -> dict:
    """What importing the file as `user` would do, without writing: the units to add, to
    rename, to move and to retype, and the count left as they are; `digest` names this plan
    (import_units(expect=digest) refuses to write anything else). ImportRejected as the import."""
    _order, _existing, plan = _check_units(data, filename, None, user)
    return plan


def import_units(data: bytes, filename: str, progress=None, *, user, expect: str | None = None) -> dict:
    """Create or update units from a file as `user` (rows of its subtree only), all or nothing;
    returns counts and the lists of renamed and moved units (progress: see
    app/core/progress.py). `expect`: the digest of the previewed plan; if the file would now
    do anything else (someone changed the tree meanwhile), nothing is written."""
    order, existing, plan = _check_units(data, filename, progress, user)
    if expect is not None and expect != plan["digest"]:
        raise ImportRejected([(None, "预览之后组织机构已被他人修改，导入结果将与预览不同，本次未写入任何数据。"
                                     "请重新上传文件并核对预览。")])
    writing(order, progress)
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
                place_unit(unit, user=user, check_kinds=False)  # checked for the whole file above
                existing[code] = unit
    except Conflict:
        raise
    except DomainError as exc:  # a placement refused (a cycle through existing units)
        raise ImportRejected([(None, exc.message)])
    return {"created": created, "updated": updated, "renamed": plan["renamed"], "moved": plan["moved"],
            "retyped": plan["retyped"]}


def _check_units(data, filename, progress, user):
    """Every check of an org import: (rows parents first, existing units by code, the plan);
    ImportRejected with every bad row."""
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
            row_errors.append(f"类型“{kind_label}”无效，应为 市/县区/乡镇街道/村社区/网格/部门 之一")
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
    errors += _kind_errors(parsed, in_file, existing)
    order = _parents_first(parsed, errors)
    if errors:
        raise ImportRejected(sorted(errors))
    return order, existing, _plan(parsed, existing)


def _kind_errors(parsed, in_file, existing) -> list[tuple[int, str]]:
    """Rows whose parent is of the wrong kind (王 tree), and retyped units whose children
    (not moved by the file) would no longer fit under them."""
    errors = []
    for line, _code, name, kind, parent_code, _sort in parsed:
        if kind is None:
            continue
        if parent_code:
            parent = in_file.get(parent_code) or existing.get(parent_code)
            if parent is None:
                continue  # reported as unknown
            parent_kind, parent_name = (parent[3], parent[2]) if isinstance(parent, tuple) else (parent.kind, parent.name)
            if parent_kind is None:
                continue
            message = kind_error(kind, parent_kind)
            if message:
                errors.append((line, f"“{name}”的上级“{parent_name}”（{parent_code}）类型不符：{message}"))
        else:
            message = kind_error(kind, None)
            if message:
                errors.append((line, f"“{name}”没有上级编码：{message}"))
    retyped = {existing[p[1]].id: p for p in parsed if p[1] in existing and p[3] and existing[p[1]].kind != p[3]}
    if retyped:
        children = db.session.execute(select(OrgUnit.code, OrgUnit.name, OrgUnit.kind, OrgUnit.parent_id)
                                      .where(OrgUnit.parent_id.in_(list(retyped)))).all()
        for child_code, child_name, child_kind, parent_id in children:
            if child_code in in_file:
                continue  # the child's own row is checked
            line, _code, name, kind, _parent, _sort = retyped[parent_id]
            message = kind_error(child_kind, kind)
            if message:
                errors.append((line, f"“{name}”改为“{UNIT_KINDS[kind]}”后，其下级单位“{child_name}”（{child_code}）"
                                     f"不能再隶属于它：{message}"))
    return errors


def _plan(parsed, existing) -> dict:
    """What the checked file does: added, renamed, moved, retyped and unchanged units."""
    parent_ids = {u.parent_id for u in existing.values() if u.parent_id}
    parents = dict(db.session.execute(select(OrgUnit.id, OrgUnit.code).where(OrgUnit.id.in_(parent_ids))).all()) \
        if parent_ids else {}
    names = {code: u.name for code, u in existing.items()}
    names.update({p[1]: p[2] for p in parsed})
    added, renamed, moved, retyped, unchanged = [], [], [], [], 0
    for line, code, name, kind, parent_code, sort in parsed:
        unit = existing.get(code)
        if unit is None:
            added.append({"line": line, "code": code, "name": name, "kind": UNIT_KINDS[kind],
                          "parent": names.get(parent_code, "") if parent_code else ""})
            continue
        changed = False
        if unit.name != name:
            renamed.append({"line": line, "code": code, "old": unit.name, "new": name})
            changed = True
        old_parent = parents.get(unit.parent_id, "") if unit.parent_id else ""
        if old_parent != (parent_code or ""):
            moved.append({"line": line, "code": code, "name": name,
                          "old": f"{names.get(old_parent, '')}（{old_parent}）" if old_parent else "（无）",
                          "new": f"{names.get(parent_code, '')}（{parent_code}）" if parent_code else "（无）"})
            changed = True
        if unit.kind != kind:
            retyped.append({"line": line, "code": code, "name": name, "old": UNIT_KINDS.get(unit.kind, unit.kind),
                            "new": UNIT_KINDS[kind]})
            changed = True
        unchanged += 0 if changed or unit.sort_order != int(sort) else 1
    plan = {"added": added, "renamed": renamed, "moved": moved, "retyped": retyped, "unchanged": unchanged,
            "rows": len(parsed)}
    plan["digest"] = hashlib.sha256(json.dumps(plan, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return plan


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
