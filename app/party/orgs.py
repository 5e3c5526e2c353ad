"""Party organization use cases: place an organization (form, API) and import a file."""

from __future__ import annotations

from sqlalchemy import select

from app.core.commands import command
from app.core.errors import Conflict, DomainError, ImportRejected
from app.core.lookups import rows_by_key
from app.core.progress import checking, writing
from app.core.tabular import check_header, key_error, read_table
from app.extensions import db
from app.models import OrgUnit
from app.party.models import PARTY_ORG_KINDS, PartyOrg
from app.security.scope import prefix_of, unit_in_scope

ORG_HEADER = ["组织编码", "组织名称", "类型", "上级编码", "所在单位编码"]
ORG_OPTIONAL = ["排序"]
BRANCH = "党支部"
# A 党支部 holds members, not organizations; a 党总支 holds branches; a 党委 holds either.
CHILD_KINDS = {"党委": ("党委", "党总支", "党支部"), "党总支": ("党支部",), "党支部": ()}


def org_in_scope(org: PartyOrg | None, prefix: str | None) -> bool:
    if org is None:
        return False
    unit = org.org_unit or db.session.get(OrgUnit, org.org_unit_id)
    return unit_in_scope(unit, prefix)


def place_org(org: PartyOrg, expected_version: int | None = None, *, user) -> None:
    """Refuse an organization outside `user`'s subtree, under a parent it cannot sit under, or
    saved from a stale copy."""
    prefix = prefix_of(user)
    with db.session.no_autoflush:
        unit = org.org_unit if org.org_unit is not None else (
            db.session.get(OrgUnit, org.org_unit_id) if org.org_unit_id else None)
        if unit is None or not unit.path or not unit_in_scope(unit, prefix):
            raise DomainError("所在单位不存在或不在您的管辖范围内")
        if expected_version is not None and org.version is not None and int(expected_version) != org.version:
            raise Conflict("该党组织已被他人修改，您的修改未保存。请刷新后重新编辑。")
        if org.kind not in PARTY_ORG_KINDS:
            raise DomainError("类型应为 党委/党总支/党支部 之一")
        if org.id is not None:
            _check_own_rows(org)
        _check_secretary(org, prefix)
        parent = org.parent if org.parent is not None else (
            db.session.get(PartyOrg, org.parent_id) if org.parent_id else None)
        if parent is None:
            return
        if not org_in_scope(parent, prefix):
            raise DomainError("上级党组织不存在或不在您的管辖范围内")
        if org.kind not in CHILD_KINDS.get(parent.kind, ()):
            raise DomainError(f"“{org.kind}”不能隶属于“{parent.kind}”")
        seen, node = set(), parent
        while node is not None:
            if node is org or (org.id is not None and node.id == org.id):
                raise DomainError("上级党组织不能是本组织或其下级组织")
            if node.id in seen:
                break
            seen.add(node.id)
            node = node.parent if node.parent is not None else (
                db.session.get(PartyOrg, node.parent_id) if node.parent_id else None)


def _check_secretary(org: PartyOrg, prefix: str | None) -> None:
    """The secretary's account and member must both lie in the scope too."""
    from app.models import AppUser
    from app.party.models import PartyMember

    account = org.secretary if org.secretary is not None else (
        db.session.get(AppUser, org.secretary_id) if org.secretary_id else None)
    if account is not None:
        unit = account.org_unit or (db.session.get(OrgUnit, account.org_unit_id) if account.org_unit_id else None)
        if not unit_in_scope(unit, prefix):
            raise DomainError("书记账号不存在或不在您的管辖范围内")
    member = org.secretary_member if org.secretary_member is not None else (
        db.session.get(PartyMember, org.secretary_member_id) if org.secretary_member_id else None)
    if member is not None and not unit_in_scope(member.org_unit or db.session.get(OrgUnit, member.org_unit_id), prefix):
        raise DomainError("书记（党员）不存在或不在您的管辖范围内")


def _check_own_rows(org: PartyOrg) -> None:
    """An edited organization's kind must still fit its members and sub-organizations."""
    from sqlalchemy import exists

    from app.party.models import PartyMember

    if org.kind != BRANCH and db.session.scalar(select(exists().where(PartyMember.branch_id == org.id))):
        raise DomainError("该组织下有党员，类型只能是“党支部”")
    kinds = set(db.session.scalars(select(PartyOrg.kind).where(PartyOrg.parent_id == org.id)))
    bad = kinds - set(CHILD_KINDS.get(org.kind, ()))
    if bad:
        raise DomainError(f"该组织下有“{'、'.join(sorted(bad))}”，类型不能改为“{org.kind}”")


def import_orgs(data: bytes, filename: str, progress=None, *, user) -> dict:
    """Create or update party organizations from a file as `user`, all or nothing.

    A parent may be named by a row of the same file (before or after it) or by an existing
    organization; the resulting tree is checked whole (kinds, cycles)."""
    prefix = prefix_of(user)
    header, rows = read_table(data, filename)
    check_header(header, ORG_HEADER, ORG_OPTIONAL)
    codes = [row.get("组织编码", "") for _, row in rows]
    existing = rows_by_key(PartyOrg.code, codes)
    parent_codes = {row.get("上级编码", "") for _, row in rows} - set(codes) - {""}
    known = {**rows_by_key(PartyOrg.code, list(parent_codes)), **existing}
    units = rows_by_key(OrgUnit.code, [row.get("所在单位编码", "") for _, row in rows])
    errors: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    items: list[dict] = []
    for line, row in checking(rows, progress):
        row_errors, item = _parse_org_row(row, line, units, existing, seen, prefix)
        errors += [(line, e) for e in row_errors]
        items.append(item)
    # the tree as it will be: each code's kind and parent code
    kinds = {code: org.kind for code, org in known.items()}
    parents = {code: (org.parent.code if org.parent is not None else "") for code, org in known.items()}
    for item in items:
        kinds[item["code"]] = item["kind"]
        parents[item["code"]] = item["parent_code"]
    for item in items:
        line, parent_code = item["line"], item["parent_code"]
        if not parent_code:
            continue
        if parent_code == item["code"]:
            errors.append((line, "上级编码不能是本组织"))
            continue
        if parent_code not in kinds:
            errors.append((line, f"上级编码“{parent_code}”不存在（既不在文件中，也不在系统中）"))
            continue
        if parent_code in known and parent_code not in seen and not org_in_scope(known[parent_code], prefix):
            errors.append((line, f"上级组织“{parent_code}”不在您的管辖范围内"))
        parent_kind = kinds[parent_code]
        if item["kind"] in PARTY_ORG_KINDS and parent_kind in CHILD_KINDS and \
                item["kind"] not in CHILD_KINDS[parent_kind]:
            errors.append((line, f"“{item['kind']}”不能隶属于“{parent_kind}”（上级编码 {parent_code}）"))
        node, steps = parent_code, 0
        while node and steps <= len(parents):
            if node == item["code"]:
                errors.append((line, f"上级关系形成循环（{item['code']} 最终隶属于自身）"))
                break
            node, steps = parents.get(node, ""), steps + 1
    if errors:
        raise ImportRejected(sorted(errors, key=lambda e: e[0] or 0))
    writing(rows, progress)
    try:
        with command(user, duplicate="部分组织编码已被他人同时导入，本次导入未写入任何数据。请重新导入。"):
            created, updated = _write_orgs(items, existing, known)
    except Conflict:
        raise
    return {"created": created, "updated": updated}


def _write_orgs(items: list[dict], existing: dict, known: dict) -> tuple[int, int]:
    by_code = dict(known)
    created = updated = 0
    for item in items:
        org = existing.get(item["code"])
        if org is None:
            org = PartyOrg(code=item["code"])
            db.session.add(org)
            created += 1
        else:
            updated += 1
        org.name, org.kind, org.org_unit_id = item["name"], item["kind"], item["org_unit_id"]
        if item.get("sort_order") is not None:
            org.sort_order = item["sort_order"]
        by_code[item["code"]] = org
    db.session.flush()
    for item in items:
        org = by_code[item["code"]]
        parent = by_code.get(item["parent_code"]) if item["parent_code"] else None
        org.parent_id = parent.id if parent is not None else None
    db.session.flush()
    return created, updated


def _parse_org_row(row, line, units, existing, seen, prefix):
    errors = []
    if "__extra__" in row:
        errors.append(row["__extra__"])
    code = row.get("组织编码", "")
    if (problem := key_error(code, "组织编码", seen, line)) is not None:
        errors.append(problem)
    if code in existing and not org_in_scope(existing[code], prefix):
        errors.append(f"组织编码 {code} 已存在且不在您的管辖范围内")
    name = row.get("组织名称", "")
    if not name:
        errors.append("组织名称不能为空")
    elif len(name) > 100:
        errors.append("组织名称过长（最多 100 个字符）")
    kind = row.get("类型", "")
    if kind not in PARTY_ORG_KINDS:
        errors.append(f"类型“{kind}”无效，应为 党委/党总支/党支部 之一")
    unit_code = row.get("所在单位编码", "")
    unit = units.get(unit_code)
    item = {"line": line, "code": code, "name": name, "kind": kind, "parent_code": row.get("上级编码", ""),
            "org_unit_id": None}
    if unit is None or not unit_in_scope(unit, prefix):
        errors.append(f"所在单位编码“{unit_code}”不存在或不在您的管辖范围内")
    else:
        item["org_unit_id"] = unit.id
    if row.get("排序"):
        try:
            item["sort_order"] = int(row["排序"])
        except ValueError:
            errors.append(f"排序“{row['排序']}”不是整数")
    return errors, item


def branch_choices(user):
    """A select of the branches (党支部) in `user`'s subtree."""
    from app.security.scope import apply_unit_scope

    return apply_unit_scope(select(PartyOrg).where(PartyOrg.kind == BRANCH), PartyOrg.org_unit_id, prefix_of(user))
