"""Imports of a period's inputs: score sheets, ballots, indicator scores, adjustments.

Every import is all-or-nothing: all rows are checked first and every bad row is listed.
Rows are written with Core bulk inserts (thousands of sheets stay fast) and one summary
audit row per import. Re-importing ballots for the same cadre and group replaces them,
and so does re-importing an indicator score; score sheets and adjustments are appended
(each row is one more sheet or one more adjustment), but never twice: a file whose sheets are
already in the period (same SHA-256), a row equal to a sheet already entered (same cadre,
rater group and values) and an adjustment equal to one already there are refused with the
rest of the file, before anything is written.
"""

from __future__ import annotations

import hashlib
import math
from contextlib import contextmanager

from sqlalchemy import delete, func, insert, select

from app.core import clock
from app.core.audit import SYSTEM
from app.core.commands import command
from app.core.errors import ImportRejected
from app.core.lookups import chunked, rows_by_key
from app.core.progress import checking, writing
from app.core.tabular import check_header, read_table
from app.evaluation.entry import is_self
from app.evaluation.periods import claim_period, get_period, record_bulk, state_label
from app.extensions import db
from app.models import (
    ADJUSTMENT_KINDS,
    Adjustment,
    Ballot,
    Cadre,
    EvaluationPeriod,
    IndicatorScore,
    ScoreSheet,
    SheetScore,
)
from app.security.scope import prefix_of, unit_in_scope

KEYS = ["干部编号", "评价组"]
VOTE_COLUMNS = {"优秀": "excellent", "称职": "competent", "基本称职": "basic", "不称职": "incompetent", "不了解": "unknown"}
INDICATOR_HEADER = ["干部编号", "指标", "得分"]
ADJUSTMENT_HEADER = ["干部编号", "类型", "分值", "事由"]


def import_sheets(period_code: str, data: bytes, filename: str, progress=None, *, user) -> dict:
    """Import score sheets or ballots (the header tells which) as `user` (cadres of its
    subtree, never itself); returns counts (progress: see app/core/progress.py)."""
    period = _scoring_period(period_code)
    header, rows = read_table(data, filename)
    if any(h in VOTE_COLUMNS for h in header):
        return _import_ballots(period, header, rows, progress, user)
    return _import_score_sheets(period, header, rows, progress, user, hashlib.sha256(data).hexdigest())


def _scoring_period(code: str) -> EvaluationPeriod:
    period = get_period(code)
    if period.state != "scoring":
        raise ImportRejected(
            [(None, f"考评期“{period.code}”当前状态为{state_label(period.state)}，只有评分中的考评期才能导入")]
        )
    return period


@contextmanager
def _writing(period: EvaluationPeriod, user):
    """Claim the period in 评分中 before the import writes (app/services/claims.py), commit,
    or roll back everything: an import racing a lock of its period is written before the lock
    or refused whole, never into a locked period."""
    refused = f"考评期“{period.code}”已被他人锁定或变更状态，只有评分中的考评期才能导入；未写入任何数据"
    with command(user, refused):
        claim_period(period, ("scoring",), refused)
        yield


def _cadres(rows) -> dict[str, Cadre]:
    codes = {row.get("干部编号", "") for _, row in rows}
    return rows_by_key(Cadre.code, codes)


def _check_cadre(row, cadres, user) -> tuple[list[str], Cadre | None]:
    code = row.get("干部编号", "")
    cadre = cadres.get(code)
    if not code:
        return ["干部编号不能为空"], None
    if cadre is None or not unit_in_scope(cadre.org_unit, prefix_of(user)):
        return [f"干部编号“{code}”不存在或不在您的管辖范围内"], None
    if is_self(user, cadre.id):
        return ["不能为本人评分或录入本人的考评数据"], None
    return [], cadre


def _number(text: str, column: str, low: float = 0, high: float = 100) -> tuple[float | None, str | None]:
    if text == "":
        return None, f"{column}不能为空"
    try:
        value = float(text)
    except ValueError:
        return None, f"{column}“{text}”不是数字"
    if not math.isfinite(value) or not low <= value <= high:
        return None, f"{column}“{text}”超出范围（{low:g}–{high:g}）"
    return value, None


# ---------------------------------------------------------------- sheets and ballots


def _import_score_sheets(period, header, rows, progress, user, source_hash=None) -> dict:
    _refuse_repeated_file(period, source_hash)
    scheme = period.scheme
    dims = {d.name: d for d in scheme.dimensions}
    check_header(header, KEYS + list(dims))
    groups = {grp.name: grp for grp in scheme.rater_groups}
    cadres = _cadres(rows)
    errors, sheets = [], []
    for line, row in checking(rows, progress):
        row_errors, cadre = _check_cadre(row, cadres, user)
        group = _group(row, groups, "scores", row_errors)
        values = {}
        for name, dim in dims.items():
            value, err = _number(row.get(name, ""), name)
            if err:
                row_errors.append(err)
            values[dim.id] = value
        if "__extra__" in row:
            row_errors.append(row["__extra__"])
        errors += [(line, e) for e in row_errors]
        if not row_errors:
            sheets.append((cadre.id, group.id, values, line))
    if not errors:
        errors = _already_entered(period, sheets, groups, cadres)
    if errors:
        raise ImportRejected(errors)
    if not sheets:
        raise ImportRejected([(None, "文件中没有评分表数据")])
    writing(rows, progress)
    with _writing(period, user):
        _insert_sheets(period, sheets, getattr(user, "id", None), source_hash)
        period.inputs_changed_at = clock.instant()  # results computed before are stale
        record_bulk("import", "score_sheet", period, {"评分表": len(sheets), "维度": len(dims)})
    return {"kind": "sheets", "sheets": len(sheets)}


TEMPLATE_CADRES = 5000  # the template's list of cadres to score, at most


def sheet_template(period, group, *, user) -> tuple[bytes, str]:
    """(an .xlsx, its file name) to fill in for an import of `group`'s sheets (or ballots) in
    `period`: the header the import wants, the rules, the rater groups and the cadres of the
    user's scope. Only the first worksheet is read back on import."""
    from sqlalchemy.orm import selectinload

    from app.core.tabular import write_xlsx
    from app.security.scope import apply_cadre_scope

    scheme = period.scheme
    if group.kind == "scores":
        header = KEYS + [d.name for d in scheme.dimensions]
        rules = ["每行一张评分表：同一干部有几名评价人，就填几行。",
                 f"“评价组”一列填“{group.name}”；各维度（{'、'.join(d.name for d in scheme.dimensions)}）填 0–100 的分数，不能留空。",
                 "同一文件不能重复导入；与已录入评分表分值完全相同的行会被拒绝（防止重复导入）。"]
    else:
        header = KEYS + list(VOTE_COLUMNS)
        rules = ["每名干部一行，填写各等次的票数（非负整数）；再次导入同一干部的票数将替换原票数。",
                 f"“评价组”一列填“{group.name}”。"]
    rules += ["“干部编号”见“干部名单”工作表；只能导入您管辖范围内的干部，不能导入本人。",
              "导入时只读取第一个工作表；任何一行有错误，整个文件都不会写入，并列出每一行的错误原因。",
              "本考评方案的评价组：" + "、".join(f"{g.name}（{'评分表' if g.kind == 'scores' else '票数'}）"
                                             for g in scheme.rater_groups)]
    stmt = apply_cadre_scope(select(Cadre).where(Cadre.status == "在职"), Cadre.id, prefix_of(user))
    cadres = db.session.scalars(stmt.options(selectinload(Cadre.org_unit)).order_by(Cadre.code)
                                .limit(TEMPLATE_CADRES)).all()
    roster = [[c.code, c.name, c.org_unit.name if c.org_unit else "", c.position, c.post_category] for c in cadres]
    body = write_xlsx(header, [], title=group.name, extra_sheets=(
        ("填写说明", [f"{period.name}（{period.code}）· {group.name} 导入模板"], [[r] for r in rules]),
        ("干部名单", ["干部编号", "姓名", "单位", "职务", "岗位类别"], roster),
    ))
    return body, f"导入模板_{period.code}_{group.name}.xlsx"


def _refuse_repeated_file(period, source_hash) -> None:
    """Refuse a file whose sheets were already imported into the period (same SHA-256)."""
    if not source_hash:
        return
    count, first = db.session.execute(
        select(func.count(), func.min(ScoreSheet.created_at))
        .where(ScoreSheet.period_id == period.id, ScoreSheet.source_hash == source_hash)
    ).one()
    if count:
        when = f"于 {first:%Y-%m-%d %H:%M} " if first else ""
        raise ImportRejected([(None, f"该文件已{when}导入过考评期“{period.code}”（{count} 张评分表），"
                                     "重复导入会使评分表翻倍，本次未写入任何数据。如确需补充评分表，请只上传新增的行。")])


def _sheet_key(cadre_id, group_id, values: dict) -> tuple:
    return cadre_id, group_id, tuple(sorted((d, round(float(v), 6)) for d, v in values.items()))


def _already_entered(period, sheets, groups, cadres) -> list[tuple[int, str]]:
    """Rows identical to a sheet the period already has (same cadre, rater group and values):
    most likely the same sheets imported again (from another file or after an edit)."""
    ids = sorted({c for c, _g, _v, _line in sheets})
    existing: dict[int, dict] = {}
    for part in chunked(ids):
        stmt = (select(ScoreSheet.id, ScoreSheet.cadre_id, ScoreSheet.group_id, SheetScore.dimension_id,
                       SheetScore.value)
                .join(SheetScore, SheetScore.sheet_id == ScoreSheet.id)
                .where(ScoreSheet.period_id == period.id, ScoreSheet.cadre_id.in_(part)))
        for sid, cid, gid, did, value in db.session.execute(stmt):
            existing.setdefault(sid, {"cadre": cid, "group": gid, "values": {}})["values"][did] = value
    if not existing:
        return []
    known = {_sheet_key(s["cadre"], s["group"], s["values"]) for s in existing.values()}
    names = {g.id: g.name for g in groups.values()}
    codes = {c.id: c.code for c in cadres.values()}
    return [(line, f"干部“{codes.get(cid, cid)}”在“{names.get(gid, gid)}”已有一张分值完全相同的评分表"
                   "（可能是重复导入），本次未写入任何数据；如确为另一名评价人的评分，请在评分录入页面逐张录入")
            for cid, gid, values, line in sheets if _sheet_key(cid, gid, values) in known]


def _group(row, groups, kind, row_errors):
    name = row.get("评价组", "")
    group = groups.get(name)
    if group is None:
        valid = "、".join(f"“{g.name}”" for g in groups.values() if g.kind == kind)
        if name:
            row_errors.append(f"评价组“{name}”不在考评方案中，应为 {valid} 之一")
        else:
            row_errors.append(f"评价组不能为空，应为 {valid} 之一")
    elif group.kind != kind:
        wanted = "评分表（按维度打分）" if group.kind == "scores" else "票数（优秀/称职/基本称职/不称职/不了解）"
        row_errors.append(f"评价组“{name}”应导入{wanted}")
        return None
    return group


def _insert_sheets(period, sheets, entered_by_id=None, source_hash=None) -> None:
    rows = [{"period_id": period.id, "cadre_id": c, "group_id": grp, "version": 1, "entered_by_id": entered_by_id,
             "source_hash": source_hash} for c, grp, _v, _line in sheets]
    ids = db.session.scalars(
        insert(ScoreSheet).returning(ScoreSheet.id, sort_by_parameter_order=True), rows
    ).all()
    values = [
        {"sheet_id": sheet_id, "dimension_id": dim_id, "value": value}
        for sheet_id, (_, _, dims, _line) in zip(ids, sheets)
        for dim_id, value in dims.items()
    ]
    db.session.execute(insert(SheetScore), values)


def _import_ballots(period, header, rows, progress, user) -> dict:
    check_header(header, KEYS + list(VOTE_COLUMNS))
    groups = {grp.name: grp for grp in period.scheme.rater_groups}
    cadres = _cadres(rows)
    errors, ballots, seen = [], {}, {}
    for line, row in checking(rows, progress):
        row_errors, cadre = _check_cadre(row, cadres, user)
        group = _group(row, groups, "votes", row_errors)
        counts = {}
        for column, attr in VOTE_COLUMNS.items():
            counts[attr] = _count(row.get(column, ""), column, row_errors)
        if "__extra__" in row:
            row_errors.append(row["__extra__"])
        if cadre is not None and group is not None:
            key = (cadre.id, group.id)
            if key in seen:
                row_errors.append(f"干部“{cadre.code}”的“{group.name}”票数与第 {seen[key]} 行重复")
            seen.setdefault(key, line)
        errors += [(line, e) for e in row_errors]
        if not row_errors:
            ballots[(cadre.id, group.id)] = counts
    if errors:
        raise ImportRejected(errors)
    if not ballots:
        raise ImportRejected([(None, "文件中没有票数数据")])
    writing(rows, progress)
    with _writing(period, user):
        replaced = _replace_ballots(period, ballots, getattr(user, "id", None))
        period.inputs_changed_at = clock.instant()  # results computed before are stale
        record_bulk("import", "ballot", period, {"票数": len(ballots), "替换": replaced})
    return {"kind": "ballots", "ballots": len(ballots), "replaced": replaced}


def _count(text: str, column: str, row_errors: list[str]) -> int:
    if text == "":
        row_errors.append(f"{column}票数不能为空")
        return 0
    try:
        value = float(text)
    except ValueError:
        row_errors.append(f"{column}票数“{text}”不是数字")
        return 0
    if not value.is_integer() or value < 0:
        row_errors.append(f"{column}票数“{text}”应为非负整数")
        return 0
    return int(value)


def _replace_ballots(period, ballots, entered_by_id=None) -> int:
    replaced = _delete_pairs(Ballot, period, Ballot.cadre_id, Ballot.group_id, list(ballots))
    rows = [{"period_id": period.id, "cadre_id": c, "group_id": grp, "entered_by_id": entered_by_id, **counts}
            for (c, grp), counts in ballots.items()]
    db.session.execute(insert(Ballot), rows)
    return replaced


def _delete_pairs(model, period, first, second, keys: list[tuple]) -> int:
    """Delete the period's rows of `model` whose (first, second) is one of `keys` (a cadre and
    an indicator or rater group); the count. By the second key (a scheme has a handful), the
    first in chunks of plain IN lists: PostgreSQL refused one IN of 33,000 (cadre, indicator)
    pairs (66,000 parameters > 65,535; and a row-value IN of 10,000 pairs exceeded its stack
    depth), so a city's indicator import failed there."""
    by_second: dict = {}
    for one, two in keys:
        by_second.setdefault(two, []).append(one)
    deleted = 0
    for two, ones in by_second.items():
        for part in chunked(ones):
            stmt = delete(model).where(model.period_id == period.id, second == two, first.in_(part))
            deleted += db.session.execute(stmt).rowcount or 0
    return deleted


# ---------------------------------------------------------------- indicators and adjustments


def import_indicators(period_code: str, data: bytes, filename: str, progress=None, *, user) -> dict:
    """Import entered indicator scores (干部编号, 指标, 得分); a re-imported score replaces."""
    period = _scoring_period(period_code)
    header, rows = read_table(data, filename)
    check_header(header, INDICATOR_HEADER)
    indicators = {i.name: i for i in period.scheme.indicators}
    cadres = _cadres(rows)
    errors, scores, seen = [], {}, {}
    for line, row in checking(rows, progress):
        row_errors, cadre = _check_cadre(row, cadres, user)
        name = row.get("指标", "")
        indicator = indicators.get(name)
        if indicator is None:
            row_errors.append(f"指标“{name}”不在考评方案中" if name else "指标不能为空")
        elif indicator.source != "entered":
            origin = "诉求办理" if indicator.source == "appeals" else "督查"
            row_errors.append(f"指标“{name}”由{origin}数据自动计算，不能导入")
            indicator = None
        value, err = _number(row.get("得分", ""), "得分")
        if err:
            row_errors.append(err)
        if "__extra__" in row:
            row_errors.append(row["__extra__"])
        if cadre is not None and indicator is not None:
            key = (cadre.id, indicator.id)
            if key in seen:
                row_errors.append(f"干部“{cadre.code}”的指标“{name}”与第 {seen[key]} 行重复")
            seen.setdefault(key, line)
        errors += [(line, e) for e in row_errors]
        if not row_errors:
            scores[(cadre.id, indicator.id)] = value
    if errors:
        raise ImportRejected(errors)
    if not scores:
        raise ImportRejected([(None, "文件中没有指标得分数据")])
    writing(rows, progress)
    with _writing(period, user):
        replaced = _delete_pairs(IndicatorScore, period, IndicatorScore.cadre_id, IndicatorScore.indicator_id,
                                 list(scores))
        values = [
            {"period_id": period.id, "cadre_id": c, "indicator_id": i, "score": v,
             "entered_by_id": getattr(user, "id", None)} for (c, i), v in scores.items()
        ]
        db.session.execute(insert(IndicatorScore), values)
        period.inputs_changed_at = clock.instant()  # results computed before are stale
        record_bulk("import", "indicator_score", period, {"指标得分": len(scores), "替换": replaced})
    return {"scores": len(scores), "replaced": replaced}


def _adjustments_already_there(period, values, lines, cadres) -> list[tuple[int, str]]:
    """Rows equal to an adjustment the period already has (same cadre, kind, value and reason):
    the same file imported again would count them twice."""
    def key(cadre_id, kind, value, reason):
        return cadre_id, kind, round(float(value or 0), 6), reason

    ids = sorted({v["cadre_id"] for v in values})
    known = set()
    for part in chunked(ids):
        stmt = select(Adjustment.cadre_id, Adjustment.kind, Adjustment.value, Adjustment.reason).where(
            Adjustment.period_id == period.id, Adjustment.cadre_id.in_(part), Adjustment.status != "rejected")
        known.update(key(*row) for row in db.session.execute(stmt))
    codes = {c.id: c.code for c in cadres.values()}
    return [(line, f"干部“{codes.get(v['cadre_id'])}”已有一条相同的{v['kind']}调整（分值、事由相同），可能是重复导入，"
                   "本次未写入任何数据")
            for v, line in zip(values, lines) if key(v["cadre_id"], v["kind"], v["value"], v["reason"]) in known]


def import_adjustments(period_code: str, data: bytes, filename: str, progress=None, *, user) -> dict:
    """Import adjustments (干部编号, 类型, 分值, 事由); imported ones count as approved."""
    period = _scoring_period(period_code)
    header, rows = read_table(data, filename)
    check_header(header, ADJUSTMENT_HEADER)
    cadres = _cadres(rows)
    actor = user.username if user is not None else SYSTEM
    errors, values, lines = [], [], []
    for line, row in checking(rows, progress):
        row_errors, cadre = _check_cadre(row, cadres, user)
        kind = row.get("类型", "")
        if kind not in ADJUSTMENT_KINDS:
            row_errors.append(f"类型“{kind}”无效，应为 {'/'.join(ADJUSTMENT_KINDS)} 之一")
        value = 0.0
        if kind in ("加分", "减分") or row.get("分值", ""):
            value, err = _number(row.get("分值", ""), "分值")
            if err:
                row_errors.append(err)
        reason = row.get("事由", "")
        if not reason:
            row_errors.append("事由不能为空")
        elif len(reason) > 500:
            row_errors.append("事由过长（最多 500 个字符）")
        if "__extra__" in row:
            row_errors.append(row["__extra__"])
        errors += [(line, e) for e in row_errors]
        if not row_errors:
            values.append(
                {
                    "period_id": period.id,
                    "cadre_id": cadre.id,
                    "kind": kind,
                    "value": value or 0.0,
                    "reason": reason,
                    "status": "approved",
                    "proposed_by": actor,
                    "approved_by": actor,
                }
            )
            lines.append(line)
    if not errors:
        errors = _adjustments_already_there(period, values, lines, cadres)
    if errors:
        raise ImportRejected(errors)
    if not values:
        raise ImportRejected([(None, "文件中没有调整数据")])
    writing(rows, progress)
    with _writing(period, user):
        db.session.execute(insert(Adjustment), values)
        period.inputs_changed_at = clock.instant()  # results computed before are stale
        record_bulk("import", "adjustment", period, {"调整": len(values)})
    return {"adjustments": len(values)}
