"""Cadre register use cases: save with scope and version checks, import a file."""

from __future__ import annotations

from sqlalchemy import select

from app.core.commands import command
from app.core.errors import Conflict, DomainError, ImportRejected
from app.core.lookups import rows_by_key
from app.core.progress import checking, writing
from app.core.tabular import check_header, key_error, parse_date, read_table
from app.extensions import db
from app.models import CADRE_STATUSES, GENDERS, Cadre, OrgUnit
from app.security.scope import prefix_of, unit_in_scope

CADRE_HEADER = ["干部编号", "姓名", "性别", "出生日期", "单位编码", "职务", "职级", "岗位类别"]
CADRE_OPTIONAL = ["民族", "籍贯", "入党时间", "学历", "任现职时间", "状态", "联系电话"]
_DATE_COLUMNS = {"出生日期": "birth_date", "入党时间": "party_join_date", "任现职时间": "position_start"}
_TEXT_COLUMNS = {
    "姓名": ("name", 50),
    "职务": ("position", 100),
    "职级": ("rank", 30),
    "岗位类别": ("post_category", 30),
    "民族": ("ethnicity", 20),
    "籍贯": ("native_place", 100),
    "学历": ("education", 30),
    "联系电话": ("phone", 20),
}


def check_cadre(cadre: Cadre, expected_version: int | None = None, *, user) -> None:
    """Refuse a cadre placed outside `user`'s subtree, or edited from a stale copy."""
    unit = cadre.org_unit or (db.session.get(OrgUnit, cadre.org_unit_id) if cadre.org_unit_id else None)
    # No path: a unit id the API's related field did not find (a transient stand-in, not a unit).
    if unit is None or not unit.path or not unit_in_scope(unit, prefix_of(user)):
        raise DomainError("所属单位不存在或不在您的管辖范围内")
    if expected_version is not None and cadre.version is not None and int(expected_version) != cadre.version:
        raise Conflict("该干部信息已被他人修改，您的修改未保存。请刷新后重新编辑。")
    if cadre.gender and cadre.gender not in GENDERS:
        raise DomainError("性别应为“男”或“女”")
    if cadre.status and cadre.status not in CADRE_STATUSES:
        raise DomainError("状态应为 在职/调离/退休 之一")


def import_cadres(data: bytes, filename: str, progress=None, *, user) -> dict:
    """Create or update cadres from a file as `user` (units of its subtree only), all or
    nothing; returns counts (progress: see app/core/progress.py)."""
    prefix = prefix_of(user)
    header, rows = read_table(data, filename)
    check_header(header, CADRE_HEADER, CADRE_OPTIONAL)
    unit_codes = {row.get("单位编码", "") for _, row in rows}
    units = {u.code: u for u in db.session.scalars(select(OrgUnit).where(OrgUnit.code.in_(unit_codes)))}
    codes = [row.get("干部编号", "") for _, row in rows]
    existing = rows_by_key(Cadre.code, codes)
    errors: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    values = []
    for line, row in checking(rows, progress):
        row_errors, item = _parse_cadre_row(row, units, existing, seen, line, prefix)
        errors += [(line, e) for e in row_errors]
        values.append(item)
    if errors:
        raise ImportRejected(errors)
    writing(rows, progress)
    try:
        with command(user):
            created, updated = _write_cadres(values, existing)
    except Conflict:
        # Another upload (or an edit) wrote some of these cadres between our read and our write:
        # its commit wins, ours is refused whole; the refusal names the codes taken meanwhile.
        raise Conflict(_lost_race_message(codes, existing))
    return {"created": created, "updated": updated}


def _write_cadres(values: list[dict], existing: dict[str, Cadre]) -> tuple[int, int]:
    """Create or update the checked rows in the session; returns (created, updated)."""
    created = updated = 0
    for item in values:
        cadre = existing.get(item["code"])
        if cadre is None:
            cadre = Cadre(status="在职")
            db.session.add(cadre)
            created += 1
        else:
            updated += 1
        for key, value in item.items():
            setattr(cadre, key, value)
    db.session.flush()
    return created, updated


def _lost_race_message(codes: list[str], existing: dict[str, Cadre]) -> str:
    """The Chinese refusal of an upload that lost a race, naming the cadres taken meanwhile."""
    new = sorted(set(codes) - set(existing))
    taken = [code for i in range(0, len(new), 500)
             for code in db.session.scalars(select(Cadre.code).where(Cadre.code.in_(new[i:i + 500])))]
    shown = "、".join(sorted(taken)[:10]) + ("等" if len(taken) > 10 else "")
    what = f"干部编号 {shown} 已被他人同时导入或新增" if taken else "部分干部已被他人同时修改"
    return f"{what}，本次导入未写入任何数据。请刷新后重新导入。"


def _parse_cadre_row(row, units, existing, seen, line, prefix):
    errors = []
    if "__extra__" in row:
        errors.append(row["__extra__"])
    code = row.get("干部编号", "")
    item: dict = {"code": code}
    if (problem := key_error(code, "干部编号", seen, line)) is not None:
        errors.append(problem)
    if code in existing and not unit_in_scope(existing[code].org_unit, prefix):
        errors.append(f"干部编号 {code} 已存在且不在您的管辖范围内")
    for column, (attr, limit) in _TEXT_COLUMNS.items():
        if column not in row:
            continue
        value = row[column]
        if len(value) > limit:
            errors.append(f"{column}过长（最多 {limit} 个字符）")
        item[attr] = value or None
    if not row.get("姓名"):
        errors.append("姓名不能为空")
    if not row.get("岗位类别"):
        errors.append("岗位类别不能为空")
    gender = row.get("性别", "")
    if gender not in GENDERS:
        errors.append(f"性别“{gender}”无效，应为“男”或“女”")
    item["gender"] = gender
    for column, attr in _DATE_COLUMNS.items():
        if column not in row:
            continue
        if not row[column]:
            if column == "出生日期":
                errors.append("出生日期不能为空")
            item[attr] = None
            continue
        try:
            item[attr] = parse_date(row[column])
        except ValueError:
            errors.append(f"{column}“{row[column]}”不是有效日期（应为 YYYY-MM-DD）")
    if "状态" in row and row["状态"]:
        if row["状态"] not in CADRE_STATUSES:
            errors.append(f"状态“{row['状态']}”无效，应为 在职/调离/退休 之一")
        item["status"] = row["状态"]
    unit_code = row.get("单位编码", "")
    unit = units.get(unit_code)
    if unit is None or not unit_in_scope(unit, prefix):
        errors.append(f"单位编码“{unit_code}”不存在或不在您的管辖范围内")
    else:
        item["org_unit_id"] = unit.id
    return errors, item
