"""Tracing a result to its inputs: what it was computed from, what those inputs are now,
and every audited change to them since the computation.

compute stores on each result the counts it read (EvaluationResult.inputs, written by
eval_compute._input_counts); trace() reads the same inputs again for the one cadre and
period and compares them, count by count. Callers check the row scope and the visibility of
unpublished results first (the results screen and API load the result through their filters).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict

from sqlalchemy import and_, or_, select

from app.core.audit_labels import action_label, table_label, values_label
from app.core.errors import NotFound
from app.evaluation.compute import supervision_counts
from app.extensions import db
from app.models import (
    Adjustment,
    AuditLog,
    Ballot,
    EvaluationResult,
    Finding,
    IndicatorScore,
    ScoreSheet,
    SheetScore,
    SupervisionTask,
    finding_cadre,
)

SUPERVISION_LABELS = ("超期事项", "一般问题", "较重问题", "严重问题", "整改超期问题")
VOTE_FIELDS = (("excellent", "优秀"), ("competent", "称职"), ("basic", "基本称职"), ("incompetent", "不称职"),
               ("unknown", "不了解"))
# The tables of a cadre's evaluation inputs: their create/delete snapshots name cadre and period.
INPUT_TABLES = ("score_sheet", "ballot", "indicator_score", "adjustment")


def trace(result_id: int, now: dt.datetime | None = None) -> dict:
    """The result's inputs as of now, the counts stored at compute time, whether each still
    matches, and the audit entries about these inputs after the computation."""
    result = db.session.get(EvaluationResult, result_id)
    if result is None:
        raise NotFound("考评结果不存在")
    period, cadre = result.period, result.cadre
    scheme = period.scheme
    groups = {g.id: g for g in scheme.rater_groups}
    dims = {d.id: d.name for d in scheme.dimensions}
    entered = {i.id: i.name for i in scheme.indicators if i.source != "supervision"}

    sheets = _sheets(result, groups, dims)
    ballots = _ballots(result, groups)
    indicators = _indicators(result, entered)
    adjustments = _adjustments(result)
    supervision = list(supervision_counts(period, now, cadre.id).get(cadre.id, (0, 0, 0, 0, 0)))
    current = {
        "sheets": _sheet_counts(sheets),
        "ballots": {b["group"]: b["total"] for b in ballots},
        "indicators": {i["name"]: i["score"] for i in indicators},
        "adjustments": sum(1 for a in adjustments if a["status"] == "approved"),
        "supervision": supervision,
    }
    checks = _compare(result.inputs, current)
    audit = _audit(result, sheets, ballots, indicators, adjustments)
    for sheet in sheets:
        del sheet["score_ids"], sheet["in_scheme"]
    return {
        "result": {
            "id": result.id, "composite": result.composite, "grade": result.grade, "rank": result.rank,
            "computed_at": _iso(result.computed_at),
        },
        "period": {"id": period.id, "code": period.code, "name": period.name, "state": period.state,
                   "start_date": _iso(period.start_date), "end_date": _iso(period.end_date),
                   "inputs_changed_at": _iso(period.inputs_changed_at)},
        "cadre": {"id": cadre.id, "code": cadre.code, "name": cadre.name, "post_category": cadre.post_category},
        "period_stale": bool(period.inputs_changed_at and period.inputs_changed_at > result.computed_at),
        "stored": result.inputs,
        "current": current,
        "checks": checks,
        "matches": None if result.inputs is None else all(c["matches"] for c in checks),
        "sheets": sheets,
        "ballots": ballots,
        "indicators": indicators,
        "adjustments": adjustments,
        "supervision": [{"item": label, "count": n} for label, n in zip(SUPERVISION_LABELS, supervision)],
        "dimensions": list(dims.values()),
        "audit": audit,
    }


# ---------------------------------------------------------------- the inputs of today


def _sheets(result, groups, dims) -> list[dict]:
    stmt = (
        select(ScoreSheet.id, ScoreSheet.group_id, ScoreSheet.created_at, SheetScore.id, SheetScore.dimension_id,
               SheetScore.value)
        .outerjoin(SheetScore, SheetScore.sheet_id == ScoreSheet.id)
        .where(ScoreSheet.period_id == result.period_id, ScoreSheet.cadre_id == result.cadre_id)
        .order_by(ScoreSheet.group_id, ScoreSheet.id, SheetScore.dimension_id)
    )
    out: dict[int, dict] = {}
    for sid, gid, created, score_id, did, value in db.session.execute(stmt):
        sheet = out.setdefault(sid, {"id": sid, "group": groups[gid].name if gid in groups else str(gid),
                                     "in_scheme": gid in groups, "created_at": _iso(created), "values": {},
                                     "score_ids": []})
        if score_id is not None:
            sheet["score_ids"].append(score_id)
            if did in dims:
                sheet["values"][dims[did]] = value
    return list(out.values())


def _sheet_counts(sheets: list[dict]) -> dict[str, int]:
    """Sheets per group as compute counts them: the most values given to one dimension."""
    per_dim: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for sheet in sheets:
        if sheet["in_scheme"]:
            for dim in sheet["values"]:
                per_dim[sheet["group"]][dim] += 1
    return {group: max(counts.values()) for group, counts in per_dim.items()}


def _ballots(result, groups) -> list[dict]:
    rows = db.session.scalars(select(Ballot).where(Ballot.period_id == result.period_id,
                                                   Ballot.cadre_id == result.cadre_id).order_by(Ballot.group_id))
    out = []
    for b in rows:
        if b.group_id not in groups:
            continue
        votes = {label: getattr(b, field) or 0 for field, label in VOTE_FIELDS}
        out.append({"id": b.id, "group": groups[b.group_id].name, "votes": votes, "total": sum(votes.values())})
    return out


def _indicators(result, entered) -> list[dict]:
    rows = db.session.scalars(select(IndicatorScore).where(IndicatorScore.period_id == result.period_id,
                                                           IndicatorScore.cadre_id == result.cadre_id))
    return [{"id": s.id, "name": entered[s.indicator_id], "score": float(s.score)}
            for s in rows if s.indicator_id in entered]


def _adjustments(result) -> list[dict]:
    rows = db.session.scalars(select(Adjustment).where(Adjustment.period_id == result.period_id,
                                                       Adjustment.cadre_id == result.cadre_id)
                              .order_by(Adjustment.id))
    return [{"id": a.id, "kind": a.kind, "value": a.value, "reason": a.reason, "status": a.status,
             "status_label": a.status_label, "proposed_by": a.proposed_by, "approved_by": a.approved_by,
             "created_at": _iso(a.created_at)} for a in rows]


# ---------------------------------------------------------------- stored vs today


def _compare(stored: dict | None, current: dict) -> list[dict]:
    """One line per count: what compute read, what is there now, and whether they match."""
    stored = stored or {}
    known = bool(stored)
    lines = []

    def line(item, before, now, same=None):
        matches = (before == now) if same is None else same
        lines.append({"item": item, "stored": before if known else None, "current": now,
                      "matches": matches if known else False})

    for kind, label in (("sheets", "评分表"), ("ballots", "测评票数")):
        before, now = stored.get(kind) or {}, current[kind]
        for group in sorted(set(before) | set(now)):
            line(f"{label}·{group}", before.get(group, 0), now.get(group, 0))
    before, now = stored.get("indicators") or {}, current["indicators"]
    for name in sorted(set(before) | set(now)):
        b, n = before.get(name), now.get(name)
        line(f"指标得分·{name}", b, n, same=(b is None and n is None) or (
            b is not None and n is not None and abs(float(b) - float(n)) < 1e-9))
    line("已批准的调整", stored.get("adjustments", 0), current["adjustments"])
    before = list(stored.get("supervision") or [0, 0, 0, 0, 0])
    for i, label in enumerate(SUPERVISION_LABELS):
        line(f"督查·{label}", before[i] if i < len(before) else 0, current["supervision"][i])
    return lines


# ---------------------------------------------------------------- the audit trail since compute


def _mentions(key: str, ids) -> object:
    """A JSON snapshot (json.dumps: '"key": 12, …' or '… "key": 12}') naming one of the ids."""
    patterns = [p for i in ids for p in (f'%"{key}": {int(i)},%', f'%"{key}": {int(i)}}}%')]
    return or_(*(column.like(p) for column in (AuditLog.new_values, AuditLog.old_values) for p in patterns))


def _snapshot_names(row: AuditLog, key: str, value) -> bool:
    for text in (row.new_values, row.old_values):
        try:
            data = json.loads(text) if text else {}
        except ValueError:
            continue
        if isinstance(data, dict) and data.get(key) == value:
            return True
    return False


def _audit(result, sheets, ballots, indicators, adjustments) -> list[dict]:
    """Audit entries after computed_at about this cadre's inputs in this period: its sheets
    (and their values), ballots, indicator scores and adjustments, the supervision items and
    findings behind 督查实绩, and the period's bulk imports (which may include this cadre)."""
    period, cid, since = result.period, result.cadre_id, result.computed_at
    after = AuditLog.at > since
    ids: dict[str, set[int]] = {
        "score_sheet": {s["id"] for s in sheets},
        "sheet_score": {i for s in sheets for i in s["score_ids"]},
        "ballot": {b["id"] for b in ballots},
        "indicator_score": {i["id"] for i in indicators},
        "adjustment": {a["id"] for a in adjustments},
    }
    # Rows created or deleted since (deleted ones are no longer in the tables above).
    for row in db.session.scalars(select(AuditLog).where(after, AuditLog.table_name.in_(INPUT_TABLES),
                                                         _mentions("cadre_id", [cid]))):
        if _snapshot_names(row, "cadre_id", cid) and _snapshot_names(row, "period_id", period.id):
            ids[row.table_name].add(int(row.row_id))
    start = dt.datetime.combine(period.start_date, dt.time.min)
    end = dt.datetime.combine(period.end_date + dt.timedelta(days=1), dt.time.min)
    # Items due within the period whose responsible cadre is (or, before a change, was) this cadre.
    named_tasks = {int(row.row_id) for row in db.session.scalars(
        select(AuditLog).where(after, AuditLog.table_name == "supervision_task",
                               _mentions("responsible_cadre_id", [cid])))
        if _snapshot_names(row, "responsible_cadre_id", cid)}
    ids["supervision_task"] = set(db.session.scalars(
        select(SupervisionTask.id).where(or_(SupervisionTask.responsible_cadre_id == cid,
                                             SupervisionTask.id.in_(named_tasks)),
                                         SupervisionTask.complete_due >= start, SupervisionTask.complete_due < end)))
    ids["finding"] = set(db.session.scalars(
        select(Finding.id).join(finding_cadre, finding_cadre.c.finding_id == Finding.id)
        .where(finding_cadre.c.cadre_id == cid, Finding.found_on >= period.start_date,
               Finding.found_on <= period.end_date)))

    about_rows = [and_(AuditLog.table_name == table, AuditLog.row_id.in_(sorted(str(i) for i in row_ids)))
                  for table, row_ids in ids.items() if row_ids]
    bulk = and_(AuditLog.row_id == f"period:{period.code}", AuditLog.table_name.in_(INPUT_TABLES))
    rows = db.session.scalars(select(AuditLog).where(after, or_(bulk, *about_rows)).order_by(AuditLog.id))
    return [{
        "id": row.id, "at": _iso(row.at), "username": row.username, "action": row.action,
        "action_label": action_label(row.action), "table": row.table_name, "table_label": table_label(row.table_name),
        "row_id": row.row_id, "period_wide": row.row_id == f"period:{period.code}",
        "old": values_label(row.old_values), "new": values_label(row.new_values),
    } for row in rows]


def _iso(value) -> str | None:
    return None if value is None else value.isoformat()
