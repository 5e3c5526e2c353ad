"""Party member use cases: check a member (form, API) and import a file, all or nothing."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from app.core import clock
from app.core.commands import command
from app.core.errors import Conflict, DomainError, ImportRejected
from app.core.lookups import chunked, rows_by_key
from app.core.progress import checking, writing
from app.core.tabular import check_header, key_error, parse_date, read_table
from app.extensions import db
from app.models import Cadre
from app.party import rules
from app.party.models import PartyMember, PartyOrg
from app.party.orgs import BRANCH, org_in_scope
from app.security.scope import prefix_of, unit_in_scope

MEMBER_HEADER = ["党员编号", "姓名", "性别", "出生日期", "民族", "学历", "入党时间", "转正时间", "党员类别",
                 "是否流动", "所在支部编码", "党内职务", "联系电话"]
MEMBER_OPTIONAL = ["流动去向", "干部编号"]
PHONE = re.compile(r"^[0-9+][0-9 \-]{5,19}$")
SECRETARY_POSTS = ("书记", "党支部书记")
_TEXT = {"姓名": ("name", 50), "民族": ("ethnicity", 20), "党内职务": ("party_post", 50),
         "联系电话": ("phone", 20), "流动去向": ("flowing_to", 200)}


def check_member(member: PartyMember, expected_version: int | None = None, *, user, today: dt.date | None = None) -> None:
    """Refuse a member whose branch lies outside `user`'s subtree, whose fields do not hold
    together (rules.member_errors), linked to a cadre out of scope, or saved from a stale copy."""
    prefix = prefix_of(user)
    with db.session.no_autoflush:
        branch = member.branch if member.branch is not None else (
            db.session.get(PartyOrg, member.branch_id) if member.branch_id else None)
        if branch is None or not org_in_scope(branch, prefix):
            raise DomainError("所在支部不存在或不在您的管辖范围内")
        if branch.kind != BRANCH:
            raise DomainError(f"党员只能编入党支部（“{branch.name}”是{branch.kind}）")
        if expected_version is not None and member.version is not None and int(expected_version) != member.version:
            raise Conflict("该党员信息已被他人修改，您的修改未保存。请刷新后重新编辑。")
        if not member.birth_date or not member.joined_at:
            raise DomainError("出生日期和入党时间不能为空")
        errors = rules.member_errors(gender=member.gender, birth_date=member.birth_date, education=member.education,
                                     joined_at=member.joined_at, confirmed_at=member.confirmed_at,
                                     status=member.status, today=today or clock.now().date())
        if member.phone and not PHONE.match(member.phone):
            errors.append("联系电话格式不正确")
        if errors:
            raise DomainError("；".join(errors))
        cadre = member.cadre if member.cadre is not None else (
            db.session.get(Cadre, member.cadre_id) if member.cadre_id else None)
        if cadre is not None and not unit_in_scope(cadre.org_unit, prefix):
            raise DomainError("关联的干部不存在或不在您的管辖范围内")
        if not member.flowing:
            member.flowing_to = None
        member.org_unit_id = branch.org_unit_id


def import_members(data: bytes, filename: str, progress=None, *, user, today: dt.date | None = None) -> dict:
    """Create or update members from a file as `user` (branches of its subtree), all or
    nothing; returns counts. Every bad row is listed with its reasons."""
    prefix = prefix_of(user)
    today = today or clock.now().date()
    header, rows = read_table(data, filename)
    check_header(header, MEMBER_HEADER, MEMBER_OPTIONAL)
    codes = [row.get("党员编号", "") for _, row in rows]
    existing = rows_by_key(PartyMember.code, codes)
    branches = rows_by_key(PartyOrg.code, [row.get("所在支部编码", "") for _, row in rows])
    cadres = rows_by_key(Cadre.code, [row.get("干部编号", "") for _, row in rows if row.get("干部编号")])
    linked = _linked_cadres([c.id for c in cadres.values()])
    errors: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    seen_cadres: dict[int, int] = {}
    items = []
    for line, row in checking(rows, progress):
        row_errors, item = _parse_member_row(row, line, branches, existing, cadres, linked, seen, seen_cadres,
                                             prefix, today)
        errors += [(line, e) for e in row_errors]
        items.append(item)
    if errors:
        raise ImportRejected(errors)
    writing(rows, progress)
    with command(user, duplicate="部分党员编号或干部已被他人同时导入或关联，本次导入未写入任何数据。请重新导入。"):
        created, updated = _write_members(items, existing, branches)
    return {"created": created, "updated": updated}


def _linked_cadres(cadre_ids: list[int]) -> dict[int, str]:
    """cadre id -> code of the member already linked to it."""
    out = {}
    for part in chunked(cadre_ids):
        out.update(db.session.execute(select(PartyMember.cadre_id, PartyMember.code)
                                      .where(PartyMember.cadre_id.in_(part))).all())
    return out


def _write_members(items: list[dict], existing: dict, branches: dict) -> tuple[int, int]:
    created = updated = 0
    secretaries = {}
    for item in items:
        member = existing.get(item["code"])
        if member is None:
            member = PartyMember(code=item["code"])
            db.session.add(member)
            created += 1
        else:
            updated += 1
        for key, value in item.items():
            if getattr(member, key, None) != value:
                setattr(member, key, value)
        if item.get("party_post") in SECRETARY_POSTS:
            secretaries[item["branch_id"]] = member
    db.session.flush()
    for branch in branches.values():  # a branch without a secretary gets the member who holds the post
        member = secretaries.get(branch.id)
        if member is not None and branch.secretary_member_id is None:
            branch.secretary_member_id = member.id
    db.session.flush()
    return created, updated


def _date(row, column, errors, required=True):
    text = row.get(column, "")
    if not text:
        if required:
            errors.append(f"{column}不能为空")
        return None
    try:
        return parse_date(text)
    except ValueError:
        errors.append(f"{column}“{text}”不是有效日期（应为 YYYY-MM-DD）")
        return None


def _parse_member_row(row, line, branches, existing, cadres, linked, seen, seen_cadres, prefix, today):
    errors = []
    if "__extra__" in row:
        errors.append(row["__extra__"])
    code = row.get("党员编号", "")
    if (problem := key_error(code, "党员编号", seen, line)) is not None:
        errors.append(problem)
    if code in existing and not unit_in_scope(existing[code].org_unit, prefix):
        errors.append(f"党员编号 {code} 已存在且不在您的管辖范围内")
    item: dict = {"code": code}
    for column, (attr, limit) in _TEXT.items():
        if column not in row:  # an optional column left out keeps what is there
            continue
        value = row[column]
        if len(value) > limit:
            errors.append(f"{column}过长（最多 {limit} 个字符）")
        item[attr] = value or None
    if not row.get("姓名"):
        errors.append("姓名不能为空")
    if item.get("phone") and not PHONE.match(item["phone"]):
        errors.append(f"联系电话“{item['phone']}”格式不正确")
    item["gender"] = row.get("性别", "")
    item["education"] = row.get("学历", "")
    item["status"] = row.get("党员类别", "")
    item["birth_date"] = _date(row, "出生日期", errors)
    item["joined_at"] = _date(row, "入党时间", errors)
    item["confirmed_at"] = _date(row, "转正时间", errors, required=False)
    errors += rules.member_errors(gender=item["gender"], birth_date=item["birth_date"], education=item["education"],
                                  joined_at=item["joined_at"], confirmed_at=item["confirmed_at"],
                                  status=item["status"], today=today)
    flowing = row.get("是否流动", "") or "否"
    if flowing not in rules.FLOWING:
        errors.append(f"是否流动“{flowing}”无效，应为“是”或“否”")
    item["flowing"] = flowing == "是"
    if not item["flowing"]:
        item["flowing_to"] = None
    branch_code = row.get("所在支部编码", "")
    branch = branches.get(branch_code)
    if branch is None or not org_in_scope(branch, prefix):
        errors.append(f"所在支部编码“{branch_code}”不存在或不在您的管辖范围内")
    elif branch.kind != BRANCH:
        errors.append(f"所在支部编码“{branch_code}”是{branch.kind}，党员只能编入党支部")
    else:
        item["branch_id"] = branch.id
        item["org_unit_id"] = branch.org_unit_id
    cadre_code = row.get("干部编号", "")
    if cadre_code:
        cadre = cadres.get(cadre_code)
        if cadre is None or not unit_in_scope(cadre.org_unit, prefix):
            errors.append(f"干部编号“{cadre_code}”不存在或不在您的管辖范围内")
        elif linked.get(cadre.id) not in (None, code):
            errors.append(f"干部编号“{cadre_code}”已关联党员 {linked[cadre.id]}")
        elif cadre.id in seen_cadres:
            errors.append(f"干部编号“{cadre_code}”与第 {seen_cadres[cadre.id]} 行重复")
        else:
            seen_cadres[cadre.id] = line
            item["cadre_id"] = cadre.id
    elif "干部编号" in row:
        item["cadre_id"] = None
    return errors, item
