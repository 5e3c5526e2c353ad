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
from app.evaluation import scoring
from app.evaluation.compute import appeal_figures, supervision_counts
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
    entered = {i.id: i.name for i in scheme.indicators if i.source == "entered"}
    with_appeals = any(i.source == "appeals" for i in scheme.indicators)

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
    if with_appeals:  # the figures of the cadre's unit (subtree) behind 诉求办理实绩
        unit_id = result.org_unit_id or cadre.org_unit_id
        current["appeals"] = list(appeal_figures(period, [unit_id], now).get(unit_id) or ())
    checks = _compare(result.inputs, current)
    audit = _audit(result, sheets, ballots, indicators, adjustments)
    steps = arithmetic(result, scheme, sheets, ballots, adjustments)
    _name_people(sheets, ballots, indicators, adjustments, audit)
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
        "appeals": _appeal_lines(current.get("appeals")) if with_appeals else None,
        "dimensions": list(dims.values()),
        "audit": audit,
        "steps": steps,
    }


# ---------------------------------------------------------------- the inputs of today


def _sheets(result, groups, dims) -> list[dict]:
    stmt = (
        select(ScoreSheet.id, ScoreSheet.group_id, ScoreSheet.created_at, ScoreSheet.entered_by_id, SheetScore.id,
               SheetScore.dimension_id, SheetScore.value)
        .outerjoin(SheetScore, SheetScore.sheet_id == ScoreSheet.id)
        .where(ScoreSheet.period_id == result.period_id, ScoreSheet.cadre_id == result.cadre_id)
        .order_by(ScoreSheet.group_id, ScoreSheet.id, SheetScore.dimension_id)
    )
    out: dict[int, dict] = {}
    for sid, gid, created, by, score_id, did, value in db.session.execute(stmt):
        sheet = out.setdefault(sid, {"id": sid, "group": groups[gid].name if gid in groups else str(gid),
                                     "in_scheme": gid in groups, "created_at": _iso(created), "values": {},
                                     "score_ids": [], "entered_by_id": by})
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
        out.append({"id": b.id, "group": groups[b.group_id].name, "votes": votes, "total": sum(votes.values()),
                    "entered_by_id": b.entered_by_id})
    return out


def _indicators(result, entered) -> list[dict]:
    rows = db.session.scalars(select(IndicatorScore).where(IndicatorScore.period_id == result.period_id,
                                                           IndicatorScore.cadre_id == result.cadre_id))
    return [{"id": s.id, "name": entered[s.indicator_id], "score": float(s.score), "entered_by_id": s.entered_by_id}
            for s in rows if s.indicator_id in entered]


def _adjustments(result) -> list[dict]:
    rows = db.session.scalars(select(Adjustment).where(Adjustment.period_id == result.period_id,
                                                       Adjustment.cadre_id == result.cadre_id)
                              .order_by(Adjustment.id))
    return [{"id": a.id, "kind": a.kind, "value": a.value, "reason": a.reason, "status": a.status,
             "status_label": a.status_label, "proposed_by": a.proposed_by, "approved_by": a.approved_by,
             "created_at": _iso(a.created_at)} for a in rows]


def _name_people(sheets, ballots, indicators, adjustments, audit) -> None:
    """Who entered each input, by name and unit (entered_by; adjustments' proposer and approver;
    the audit's users): （未记录） where no user is recorded."""
    from app.org.users import people_by_id, people_by_username

    by_id = people_by_id(row["entered_by_id"] for rows in (sheets, ballots, indicators) for row in rows)
    for rows in (sheets, ballots, indicators):
        for row in rows:
            row["entered_by"] = by_id.get(row.pop("entered_by_id"), "（未记录）")
    names = people_by_username([a[k] for a in adjustments for k in ("proposed_by", "approved_by")]
                               + [a["username"] for a in audit])
    for a in adjustments:
        a["proposed_by_name"] = names.get(a["proposed_by"], a["proposed_by"] or "")
        a["approved_by_name"] = names.get(a["approved_by"], a["approved_by"] or "")
    for a in audit:
        a["person"] = names.get(a["username"], a["username"] or "")


# ---------------------------------------------------------------- the arithmetic, step by step


def _f(x) -> str:
    """A number as the arithmetic shows it: two decimals, never rounded before C (display only)."""
    return "—" if x is None else f"{float(x):.2f}"


def _w(x) -> str:
    return f"{float(x):g}"


def arithmetic(result, scheme, sheets, ballots, adjustments) -> list[dict]:
    """The computation of the result written out with its numbers (DESIGN.md section 5):
    S[g,d] from the sheets, S[g], 三评 T, the indicators (督查实绩 from its counts), the
    composite C0, the adjustments A, and C. T, S[g], I_k, C0, A and C are the stored values
    (what was computed); S[g,d] is worked out again from today's sheets with the same rule."""
    dims = [(d.name, d.weight) for d in scheme.dimensions]
    group_scores = result.group_scores or {}
    indicator_scores = result.indicator_scores or {}
    steps = []
    for g in scheme.rater_groups:
        stored = group_scores.get(g.name)
        if g.kind == "scores":
            details, by_dim = _dimension_lines(g.name, dims, sheets, scheme.trim_min)
            terms = [f"{_w(w)}×{_f(by_dim[n])}" for n, w in dims if by_dim.get(n) is not None]
            present = sum(w for n, w in dims if by_dim.get(n) is not None)
            formula = " + ".join(terms) if abs(present - 1) < 1e-9 else f"({' + '.join(terms)}) ÷ {_w(present)}"
        else:
            details = []
            ballot = next((b for b in ballots if b["group"] == g.name), None)
            points = {scoring.EXCELLENT: g.points_excellent, scoring.COMPETENT: g.points_competent,
                      scoring.BASIC: g.points_basic, scoring.INCOMPETENT: g.points_incompetent}
            points = {k: (v if v is not None else scoring.DEFAULT_VOTE_POINTS[k]) for k, v in points.items()}
            if ballot is None:
                formula = "无测评票"
            else:
                cast = sum(ballot["votes"][k] for k in points)
                formula = ("(" + " + ".join(f"{_w(p)}×{ballot['votes'][k]}" for k, p in points.items())
                           + f") ÷ {cast}（不含“不了解” {ballot['votes'][scoring.UNKNOWN_VOTE]} 票）")
        steps.append({"key": "group", "label": f"组得分 S[{g.name}]", "formula": formula,
                      "value": _f(stored) if stored is not None else "缺评", "details": details})
    present = [(g.weight, group_scores.get(g.name), g.name) for g in scheme.rater_groups
               if group_scores.get(g.name) is not None]
    total_w = sum(w for w, _, _ in present)
    t_formula = "(" + " + ".join(f"{_w(w)}×{_f(x)}" for w, x, _ in present) + f") ÷ {_w(total_w)}" if present else "无"
    missing = [g.name for g in scheme.rater_groups if group_scores.get(g.name) is None]
    steps.append({"key": "sanping", "label": "三评得分 T", "formula": t_formula, "value": _f(result.sanping),
                  "note": f"缺评：{'、'.join(missing)}，权重在其余评价组间重新分配" if missing else "", "details": []})
    supervision = (result.inputs or {}).get("supervision") or [0, 0, 0, 0, 0]
    penalties = (scheme.penalty_overdue_task, scheme.penalty_general, scheme.penalty_serious, scheme.penalty_severe,
                 scheme.penalty_overdue_rectification)
    for ind in scheme.indicators:
        value = indicator_scores.get(ind.name)
        if ind.source == "supervision":
            lost = " − ".join(f"{_w(p)}×{n}（{label}）" for p, n, label in zip(penalties, supervision, SUPERVISION_LABELS))
            formula = f"max(0, 100 − {lost})"
        elif ind.source == "appeals":
            formula = _appeals_formula(scheme, (result.inputs or {}).get("appeals"))
        else:
            formula = "录入得分" if value is not None else "未录入（缺指标，权重重新分配）"
        steps.append({"key": "indicator", "label": f"实绩指标 I[{ind.name}]", "formula": formula,
                      "value": _f(value) if value is not None else "缺", "details": []})
    parts = [(scheme.sanping_weight, result.sanping, "T")] + [
        (i.weight, indicator_scores.get(i.name), i.name) for i in scheme.indicators]
    used = [(w, x) for w, x, _ in parts if x is not None]
    used_w = sum(w for w, _ in used)
    c0 = " + ".join(f"{_w(w)}×{_f(x)}" for w, x in used)
    steps.append({"key": "composite", "label": "调整前综合分 C0 = α·T + Σ v·I",
                  "formula": c0 if abs(used_w - 1) < 1e-9 else f"({c0}) ÷ {_w(used_w)}",
                  "value": _f(result.composite_raw), "details": []})
    approved = [a for a in adjustments if a["status"] == "approved"]
    plus = [a["value"] for a in approved if a["kind"] == "加分"]
    minus = [abs(a["value"]) for a in approved if a["kind"] == "减分"]
    signed = " ".join([*(f"+{_f(v)}" for v in plus), *(f"−{_f(v)}" for v in minus)]) or "0"
    steps.append({"key": "adjustment", "label": "调整分 A", "formula": f"限制在 ±{_w(scheme.adjustment_cap)} 以内：{signed}",
                  "value": _f(result.adjustment),
                  "note": "；".join(f"{a['kind']}：{a['reason']}" for a in approved if a["kind"] not in ("加分", "减分")),
                  "details": []})
    c_formula = (f"四舍五入到两位小数（限制在 0–100）：{_f(result.composite_raw)} {'+' if result.adjustment >= 0 else '−'} "
                 f"{_f(abs(result.adjustment))}" if result.composite_raw is not None else "无")
    steps.append({"key": "final", "label": "综合得分 C = C0 + A", "formula": c_formula, "value": _f(result.composite),
                  "details": []})
    return steps


def _appeal_lines(figures) -> list[dict]:
    """The figures behind 诉求办理实绩 as (item, count) lines, then the three rates."""
    from app.appeals.indicator import FIGURE_LABELS, rates

    if not figures:
        return []
    lines = [{"item": label, "count": n} for label, n in zip(FIGURE_LABELS, figures)]
    sign, reply, satisfaction, _reopened = rates(figures)
    for label, rate in (("签收及时率", sign), ("按时答复率", reply), ("满意率", satisfaction)):
        lines.append({"item": label, "count": "—（无可计算的件）" if rate is None else f"{rate * 100:.2f}%"})
    return lines


def _appeals_formula(scheme, figures) -> str:
    """诉求办理实绩 written out with the stored figures and the scheme's weights."""
    from app.appeals.indicator import rate_terms

    if not figures:
        return "本单位考评期内无诉求（缺指标，权重重新分配）"
    weights = {"sign": scheme.appeal_weight_sign, "reply": scheme.appeal_weight_reply,
               "satisfaction": scheme.appeal_weight_satisfaction}
    terms, used = [], 0.0
    for key, label, num, den in rate_terms(figures):
        if den:
            terms.append(f"{_w(weights[key])}×{num}/{den}（{label}）")
            used += weights[key]
        else:
            terms.append(f"{label}无可计算的件，不计")
    present = [t for t in terms if "不计" not in t]
    if not present:
        return "无可计算的签收、答复或回访（缺指标，权重重新分配）"
    inner = " + ".join(present)
    if abs(used - 1) > 1e-9:
        inner = f"({inner}) ÷ {_w(used)}"
    skipped = "；".join(t for t in terms if "不计" in t)
    reopened = figures[-1]
    text = f"min(100, max(0, 100×{inner} − {_w(scheme.appeal_penalty_reopen)}×{reopened}（重办次数）))"
    return f"{text}；{skipped}" if skipped else text


def _dimension_lines(group: str, dims, sheets, trim_min: int) -> tuple[list[dict], dict]:
    """S[g,d] of one scores group, per dimension, from today's sheets, with the trimming shown."""
    lines, by_dim = [], {}
    for name, _weight in dims:
        values = [s["values"][name] for s in sheets if s["group"] == group and s["in_scheme"] and name in s["values"]]
        if not values:
            continue
        n, total, high, low = len(values), sum(values), max(values), min(values)
        by_dim[name] = scoring.dimension_score(n, total, high, low, trim_min)
        if n >= max(trim_min, 3):
            formula = f"({_f(total)} − 最高 {_f(high)} − 最低 {_f(low)}) ÷ ({n} − 2)"
        else:
            formula = f"{_f(total)} ÷ {n}（不足 {max(trim_min, 3)} 张，不去最高最低）"
        lines.append({"label": f"S[{group},{name}]（{n} 张）", "formula": formula, "value": _f(by_dim[name])})
    return lines, by_dim


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
    if "appeals" in current:
        from app.appeals.indicator import FIGURE_LABELS

        before, now = list(stored.get("appeals") or []), current["appeals"]
        for i, label in enumerate(FIGURE_LABELS):
            line(f"诉求·{label}", before[i] if i < len(before) else 0, now[i] if i < len(now) else 0)
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
