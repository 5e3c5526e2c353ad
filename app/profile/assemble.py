"""The 特写 (one cadre, one close-up): its assembly from the database and its narrative.

`build_profile` issues a fixed number of queries whatever the length of the cadre's history
(one per kind of fact: cadre, career, rewards, results with their periods, dimension scores,
peer averages, adjustments, conclusion, result uses, supervision items, findings) and returns
plain values only (str, int, float, bool, None, lists and dicts), ready for a template, JSON
or a Word document. `narrative` turns those values into plain Chinese sentences; every
figure it quotes is a figure the page shows.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from sqlalchemy import case, select

from app.core import clock
from app.evaluation.scoring import INCOMPETENT, UNDETERMINED, round_half_up
from app.extensions import db
from app.models import (
    FINDING_STATES,
    PERIOD_STATES,
    TASK_STATES,
    Adjustment,
    Cadre,
    CadreConclusion,
    CareerRecord,
    EvaluationPeriod,
    EvaluationResult,
    Finding,
    OrgUnit,
    ResultUse,
    RewardPenalty,
    SupervisionTask,
    TaskAssignment,
    finding_cadre,
)
from app.security.scope import apply_unit_scope, prefix_of
from app.supervision import deadlines, lights
from app.supervision.findings import rectification_overdue_condition

PUBLISHED = "published"
OPEN_TASK_STATES = lights.OPEN_STATES
SEVERE, SERIOUS = "严重", "较重"


def num(value, places: int = 2) -> float | None:
    """A figure as the page shows it: rounded half-up, None stays None."""
    return None if value is None else round_half_up(float(value), places)


def _iso(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


# ---------------------------------------------------------------- assembly


def build_profile(cadre_id: int, *, user, unpublished: bool = False, now: dt.datetime | None = None) -> dict | None:
    """Return the profile of a cadre in the current user's scope, or None (missing or out of scope).

    unpublished: also show results of periods not yet published (Result.can_read_unpublished).
    now: the instant the supervision lights are computed at (default: now).
    """
    now = now or clock.instant()
    cadre = _cadre(cadre_id, prefix_of(user))
    if cadre is None:
        return None
    history, peer_stats = _history(cadre_id, unpublished)
    latest = history[-1] if history else None
    dimensions, peer = _dimensions(latest, peer_stats, cadre["post_category"])
    latest_period_id = latest["period"]["id"] if latest else None
    return {
        "cadre": cadre,
        "career": _career(cadre_id),
        "rewards": _rewards(cadre_id),
        "history": history,
        "groups": _group_names(history),
        "latest": latest,
        "dimensions": dimensions,
        "peer": peer,
        "adjustments": _adjustments(cadre_id, latest_period_id),
        "conclusion": _conclusion(cadre_id, latest_period_id),
        "result_uses": _result_uses(cadre_id, [h["period"]["id"] for h in history]),
        "supervision": _supervision(cadre_id, now),
        "findings": _findings(cadre_id, now),
        "as_of": now.strftime("%Y-%m-%d %H:%M"),
    }


def _cadre(cadre_id: int, prefix: str | None) -> dict | None:
    """The cadre and its unit (one query, through the row scope of `prefix`)."""
    stmt = apply_unit_scope(
        select(Cadre, OrgUnit).join(OrgUnit, Cadre.org_unit_id == OrgUnit.id).where(Cadre.id == cadre_id),
        Cadre.org_unit_id,
        prefix,
    )
    row = db.session.execute(stmt).first()
    if row is None:
        return None
    c, unit = row
    return {
        "id": c.id, "code": c.code, "name": c.name, "gender": c.gender, "ethnicity": c.ethnicity,
        "birth_date": _iso(c.birth_date), "native_place": c.native_place,
        "party_join_date": _iso(c.party_join_date), "education": c.education,
        "position": c.position, "rank": c.rank, "post_category": c.post_category,
        "position_start": _iso(c.position_start), "status": c.status,
        "unit": {"id": unit.id, "code": unit.code, "name": unit.name},
    }


def _career(cadre_id: int) -> list[dict]:
    stmt = (
        select(CareerRecord.start_date, CareerRecord.end_date, CareerRecord.unit_name, CareerRecord.position)
        .where(CareerRecord.cadre_id == cadre_id)
        .order_by(CareerRecord.start_date, CareerRecord.id)
    )
    return [{"start_date": _iso(s), "end_date": _iso(e), "unit_name": u, "position": p}
            for s, e, u, p in db.session.execute(stmt)]


def _rewards(cadre_id: int) -> list[dict]:
    stmt = (
        select(RewardPenalty.kind, RewardPenalty.date, RewardPenalty.title, RewardPenalty.issuer)
        .where(RewardPenalty.cadre_id == cadre_id)
        .order_by(RewardPenalty.date, RewardPenalty.id)
    )
    return [{"kind": k, "date": _iso(d), "title": t, "issuer": i} for k, d, t, i in db.session.execute(stmt)]


def _appeals_summary(inputs) -> str | None:
    """The 诉求 figures of the cadre's unit behind 诉求办理实绩, as compute stored them (None:
    the scheme has no such indicator)."""
    from app.appeals.indicator import summary

    if not isinstance(inputs, dict) or "appeals" not in inputs:
        return None
    return summary(inputs["appeals"])


def _history(cadre_id: int, unpublished: bool) -> tuple[list[dict], dict]:
    """Every visible result of the cadre with its period, oldest first, and the latest period's
    peer figures as compute stored them (one query)."""
    R, P = EvaluationResult, EvaluationPeriod
    stmt = (
        select(R.id, R.sanping, R.group_scores, R.indicator_scores, R.adjustment, R.composite, R.rank,
               R.peer_count, R.percentile, R.delta, R.grade, R.veto, R.undetermined, R.flags, R.dimension_scores,
               R.inputs, P.id, P.code, P.name, P.kind, P.start_date, P.end_date, P.state, P.scheme_id, P.peer_stats)
        .join(P, R.period_id == P.id)
        .where(R.cadre_id == cadre_id)
        .order_by(P.end_date, P.start_date, P.id)
    )
    if not unpublished:
        stmt = stmt.where(P.state == PUBLISHED)
    out, peer_stats = [], {}
    for row in db.session.execute(stmt):
        (rid, sanping, groups, indicators, adjustment, composite, rank, peers, percentile, delta, grade,
         veto, undetermined, flags, dims, inputs, pid, code, name, kind, start, end, state, scheme_id, stats) = row
        out.append({
            "result_id": rid,
            "period": {"id": pid, "code": code, "name": name, "kind": kind, "start_date": _iso(start),
                       "end_date": _iso(end), "state": state, "state_label": PERIOD_STATES.get(state, state),
                       "scheme_id": scheme_id},
            "sanping": num(sanping),
            "group_scores": {k: num(v) for k, v in (groups or {}).items()},
            "indicator_scores": {k: num(v) for k, v in (indicators or {}).items()},
            "adjustment": num(adjustment),
            "composite": num(composite),
            "rank": rank,
            "peer_count": peers,
            "percentile": None if percentile is None else num(percentile * 100, 1),
            "delta": num(delta),
            "grade": grade,
            "veto": bool(veto),
            "undetermined": bool(undetermined),
            "flags": flags,
            "dimensions": {k: num(v) for k, v in (dims or {}).items()},
            "appeals": _appeals_summary(inputs),
        })
        peer_stats = stats or {}  # rows come oldest first: the last one is the latest period's
    return out, peer_stats


def _group_names(history: list[dict]) -> list[str]:
    """Rater group names that scored the cadre, in the order of the schemes (the trend's lines):
    compute writes each result's group scores in its scheme's order, latest period first, then
    groups only older periods had (no query)."""
    ordered: dict[str, None] = {}
    for h in reversed(history):
        ordered.update((name, None) for name in h["group_scores"])
    return list(ordered)


def _dimensions(latest: dict | None, peer_stats: dict, category: str | None) -> tuple[list[dict], dict]:
    """The latest period's dimension scores against the peer group's averages, and the peer
    group's composite average: figures compute stored on the period (no query here)."""
    peer = {"category": category, "count": 0, "avg_composite": None}
    if latest is None:
        return [], peer
    stats = peer_stats.get(category or "", {})
    peer.update(count=int(stats.get("count") or 0), avg_composite=num(stats.get("avg_composite")))
    averages = {name: num(avg) for name, avg in (stats.get("dims") or {}).items()}
    dims = []
    for name, score in latest["dimensions"].items():
        avg = averages.get(name)
        diff = None if score is None or avg is None else round_half_up(score - avg)
        dims.append({"name": name, "score": score, "peer_avg": avg, "diff": diff})
    return dims, peer


def _adjustments(cadre_id: int, period_id: int | None) -> list[dict]:
    """The approved adjustments of the latest period (those that count in the composite)."""
    if period_id is None:
        return []
    stmt = (
        select(Adjustment.kind, Adjustment.value, Adjustment.reason)
        .where(Adjustment.cadre_id == cadre_id, Adjustment.period_id == period_id, Adjustment.status == "approved")
        .order_by(Adjustment.id)
    )
    return [{"kind": k, "value": num(v), "reason": r} for k, v, r in db.session.execute(stmt)]


def _conclusion(cadre_id: int, period_id: int | None) -> dict | None:
    """The written conclusion of the latest period (version 0 = none written yet)."""
    if period_id is None:
        return None
    row = db.session.execute(
        select(CadreConclusion.text, CadreConclusion.version, CadreConclusion.updated_by, CadreConclusion.updated_at)
        .where(CadreConclusion.cadre_id == cadre_id, CadreConclusion.period_id == period_id)
    ).first()
    if row is None:
        return {"period_id": period_id, "text": "", "version": 0, "updated_by": None, "updated_at": None}
    text, version, by, at = row
    return {"period_id": period_id, "text": text, "version": version, "updated_by": by, "updated_at": _iso(at)}


def _result_uses(cadre_id: int, period_ids: list[int]) -> list[dict]:
    if not period_ids:
        return []
    stmt = (
        select(EvaluationPeriod.code, EvaluationPeriod.name, ResultUse.suggestion, ResultUse.decision,
               ResultUse.note, ResultUse.decided_by)
        .join(EvaluationPeriod, ResultUse.period_id == EvaluationPeriod.id)
        .where(ResultUse.cadre_id == cadre_id, ResultUse.period_id.in_(period_ids))
        .order_by(EvaluationPeriod.end_date, ResultUse.id)
    )
    return [{"period_code": c, "period_name": n, "suggestion": s, "decision": d or "待决定", "note": note,
             "decided_by": by} for c, n, s, d, note, by in db.session.execute(stmt)]


def _supervision(cadre_id: int, now: dt.datetime) -> dict:
    """Items the cadre is responsible for, with their assignments' milestones (one query), and
    their lights by the same rules as the supervision screens (services.supervision_lights)."""
    T, A = SupervisionTask, TaskAssignment
    stmt = (
        select(T.id, T.code, T.title, T.category, T.state, T.complete_due, T.submitted_at,
               A.acknowledge_due, A.signed_at, A.first_report_due, A.first_report_at, A.next_report_due)
        .outerjoin(A, A.task_id == T.id)
        .where(T.responsible_cadre_id == cadre_id, T.state != "draft")
        .order_by(T.complete_due.desc(), T.id.desc(), A.id)
    )
    tasks: dict[int, SimpleNamespace] = {}
    for tid, code, title, category, state, due, submitted, *milestones in db.session.execute(stmt):
        task = tasks.get(tid)
        if task is None:
            task = tasks[tid] = SimpleNamespace(id=tid, code=code, title=title, category=category, state=state,
                                                complete_due=due, submitted_at=submitted, assignments=[])
        if any(m is not None for m in milestones):
            keys = ("acknowledge_due", "signed_at", "first_report_due", "first_report_at", "next_report_due")
            task.assignments.append(SimpleNamespace(**dict(zip(keys, milestones))))
    counts = {"total": 0, "open": 0, "completed": 0, "terminated": 0, "red": 0, "yellow": 0,
              "overdue_done": 0}
    items = []
    for task in tasks.values():
        counts["total"] += 1
        counts["open"] += task.state in OPEN_TASK_STATES
        counts["completed"] += task.state == "completed"
        counts["terminated"] += task.state == "terminated"
        light = lights.task_light(task, now)
        late = lights.days_late(task, now) if light else None
        if light in ("red", "yellow", "overdue_done"):
            counts[light] += 1
        items.append({"id": task.id, "code": task.code, "title": task.title, "category": task.category,
                      "state": task.state, "state_label": TASK_STATES.get(task.state, task.state),
                      "complete_due": _iso(task.complete_due), "submitted_at": _iso(task.submitted_at),
                      "light": light, "light_label": deadlines.LIGHT_LABELS.get(light, "—"), "days_late": late})
    counts["overdue"] = counts["red"] + counts["overdue_done"]
    return {**counts, "items": items}


def _findings(cadre_id: int, now: dt.datetime) -> dict:
    """Findings naming the cadre (one query), by severity, with overdue rectifications (the
    rule of supervision and of the 督查实绩 score: app/supervision/findings.py)."""
    F = Finding
    late = case((rectification_overdue_condition(now), True), else_=False)
    stmt = (
        select(F.id, F.found_on, F.category, F.severity, F.description, F.state, F.deadline, F.continuous,
               late, F.accountability)
        .join(finding_cadre, finding_cadre.c.finding_id == F.id)
        .where(finding_cadre.c.cadre_id == cadre_id)
        .order_by(F.found_on.desc(), F.id.desc())
    )
    counts = {"total": 0, "一般": 0, SERIOUS: 0, SEVERE: 0, "open": 0, "severe_open": 0, "rectification_overdue": 0}
    items = []
    for fid, found, category, severity, text, state, deadline, continuous, late_, measures in db.session.execute(stmt):
        overdue = bool(late_)
        counts["total"] += 1
        counts[severity] = counts.get(severity, 0) + 1
        counts["open"] += state != "closed"
        counts["severe_open"] += severity == SEVERE and state != "closed"
        counts["rectification_overdue"] += overdue
        items.append({"id": fid, "found_on": _iso(found), "category": category, "severity": severity,
                      "description": text, "state": state, "state_label": FINDING_STATES.get(state, state),
                      "deadline": "持续整改" if continuous else _iso(deadline), "rectification_overdue": overdue,
                      "accountability": measures})
    return {**counts, "items": items}


# ---------------------------------------------------------------- narrative


def _f(x: float) -> str:
    return f"{x:.2f}"


def _versus(diff: float) -> str:
    if diff > 0:
        return f"高于同类平均 {_f(diff)} 分"
    if diff < 0:
        return f"低于同类平均 {_f(-diff)} 分"
    return "与同类平均持平"


def narrative(profile: dict) -> list[str]:
    """Plain Chinese sentences on the profile, each quoting a figure the page shows."""
    latest = profile["latest"]
    if latest is None:
        return ["暂无可查看的考评结果。"] + _supervision_sentences(profile)
    out = [_standing_sentence(profile, latest)]
    out += _dimension_sentences(profile["dimensions"])
    out.append(_trend_sentence(profile["history"]))
    out.append(_grade_sentence(latest))
    out += _supervision_sentences(profile)
    return out


def _standing_sentence(profile: dict, latest: dict) -> str:
    period, category = latest["period"], profile["cadre"]["post_category"] or "未分类"
    head = f"{period['name']}综合得分 {_f(latest['composite'])} 分" if latest["composite"] is not None \
        else f"{period['name']}无综合得分"
    if latest["rank"] is None:
        return f"{head}，本期不参与同类排名（{category}，{latest['peer_count']} 人）。"
    return (f"{head}，在同类干部（{category}，{latest['peer_count']} 人）中排名第 {latest['rank']} 位，"
            f"位于前 {latest['percentile']:.1f}%。")


def _dimension_sentences(dims: list[dict]) -> list[str]:
    compared = [d for d in dims if d["diff"] is not None]
    if not compared:
        return []
    # Ties go to the dimension listed first in the scheme (stable max/min).
    best = max(compared, key=lambda d: d["diff"])
    worst = min(compared, key=lambda d: d["diff"])
    if best["diff"] == 0 and worst["diff"] == 0:
        return ["各维度得分均与同类平均持平。"]
    if best["diff"] > 0:
        out = [f"五维度中“{best['name']}”最突出，得分 {_f(best['score'])} 分，{_versus(best['diff'])}。"]
    else:
        out = [f"各维度均未高于同类平均，“{best['name']}”最接近，得分 {_f(best['score'])} 分，{_versus(best['diff'])}。"]
    if worst is not best:
        if worst["diff"] < 0:
            out.append(f"“{worst['name']}”相对薄弱，得分 {_f(worst['score'])} 分，{_versus(worst['diff'])}。")
        else:
            out.append(f"各维度均不低于同类平均，“{worst['name']}”领先最少，得分 {_f(worst['score'])} 分，"
                       f"{_versus(worst['diff'])}。")
    return out


def _trend_sentence(history: list[dict]) -> str:
    points = [(h["period"]["name"], h["composite"]) for h in history if h["composite"] is not None]
    if len(points) < 2:
        return "仅有一个考评期的结果，暂无纵向比较。"
    values = [v for _, v in points]
    steps = [b - a for a, b in zip(values, values[1:])]
    total = round_half_up(values[-1] - values[0])
    steady = len(steps) > 1  # "持续" needs at least two steps in the same direction
    if total > 0:
        word = ("持续上升" if steady else "上升") if all(s >= 0 for s in steps) else "总体上升"
    elif total < 0:
        word = ("持续下降" if steady else "下降") if all(s <= 0 for s in steps) else "总体下降"
    else:
        word = "保持不变" if all(st == 0 for st in steps) else "有所波动、首末持平"
    span = f"{points[0][0]}至{points[-1][0]}共 {len(points)} 个考评期"
    return f"{span}综合得分{word}，由 {_f(values[0])} 分变为 {_f(values[-1])} 分（{'+' if total > 0 else ''}{_f(total)} 分）。"


def _grade_sentence(latest: dict) -> str:
    if latest["veto"]:
        return f"本期存在一票否决事项，等次为{INCOMPETENT}。"
    if latest["undetermined"] or latest["grade"] == UNDETERMINED:
        return f"本期定为{UNDETERMINED}。"
    return f"本期考评等次为{latest['grade']}。"


def _supervision_sentences(profile: dict) -> list[str]:
    out = []
    s = profile["supervision"]
    if s["total"]:
        if s["overdue"]:
            out.append(f"作为责任人承办督查事项 {s['total']} 项，其中已超期 {s['red']} 项、"
                       f"超期已完成 {s['overdue_done']} 项。")
        else:
            out.append(f"作为责任人承办督查事项 {s['total']} 项，均未超期。")
    f = profile["findings"]
    if f["total"]:
        text = f"涉及本人的督查发现问题 {f['total']} 个，其中严重 {f[SEVERE]} 个、较重 {f[SERIOUS]} 个"
        if f["rectification_overdue"]:
            text += f"，整改超期 {f['rectification_overdue']} 个"
        out.append(text + "。")
    return out
