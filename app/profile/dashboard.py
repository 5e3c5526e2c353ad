"""The county leader's dashboard (领导看板): figures of one period over one unit subtree.

Each figure is one aggregate query over the subtree whose path is given (the user's scope,
or a unit inside it), whatever the number of cadres: grade distribution per post category,
top and bottom three of each peer group (window functions), red flags, supervision summary.
Plain values out, for a template.
"""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import and_, case, func, or_, select

from app.core import clock
from app.evaluation.scoring import BASIC, COMPETENT, EXCELLENT, INCOMPETENT, UNDETERMINED
from app.extensions import db
from app.models import (
    FINDING_STATES,
    TASK_STATES,
    UNIT_KINDS,
    Cadre,
    EvaluationPeriod,
    EvaluationResult,
    Finding,
    OrgUnit,
    SupervisionTask,
)
from app.profile.assemble import OPEN_TASK_STATES, PUBLISHED, SEVERE, num
from app.security.scope import apply_cadre_scope, apply_unit_scope, task_touches_subtree
from app.supervision import deadlines, lights

GRADES = (EXCELLENT, COMPETENT, BASIC, INCOMPETENT, UNDETERMINED)
TOP_N = 3
REPEATED_OVERDUE = 2
FLAG_LIMIT = 50
SUPERVISION_LIGHTS = (deadlines.RED, deadlines.YELLOW, deadlines.OVERDUE_DONE, deadlines.GREEN, deadlines.DONE)
TREND_PERIODS = 8  # the trend chart shows this many latest periods
OWN_LEVEL = "本级"  # the unit's own cadres and items, beside its sub-units


def visible_periods(unpublished: bool) -> list[dict]:
    """Computed periods the user may read, newest first (one query)."""
    P = EvaluationPeriod
    stmt = select(P.id, P.code, P.name, P.state).where(P.computed_at.is_not(None))
    if not unpublished:
        stmt = stmt.where(P.state == PUBLISHED)
    stmt = stmt.order_by(P.end_date.desc(), P.id.desc())
    return [{"id": i, "code": c, "name": n, "state": s} for i, c, n, s in db.session.execute(stmt)]


CACHE_SECONDS = 60
_CACHE_ENTRIES = 256
_cache: dict = {}


def cached_dashboard(path: str, period: dict | None, periods: list[dict] | None = None) -> dict:
    """build_dashboard, kept for a minute per (subtree, period, state of the data).

    A city dashboard aggregates 50,000 cadres and 30,000 items (hundreds of milliseconds);
    leaders read it far more often than the data changes. The key holds the newest audit
    entry, so any audited change (an import, a compute, a workflow step, a publication)
    shows at once; the minute bounds the rest (the lights move with the clock). The page
    states the time its figures were taken (`as_of`)."""
    from app.models import AuditLog

    version = db.session.scalar(select(func.max(AuditLog.id)))
    trend_key = tuple((p["id"], p["state"]) for p in periods or [])
    key = (path, period["id"] if period else None, period["state"] if period else None, trend_key, version)
    hit = _cache.get(key)
    now = time.monotonic()
    if hit is not None and hit[0] > now:
        return hit[1]
    data = build_dashboard(path, period, periods=periods)
    if len(_cache) >= _CACHE_ENTRIES:
        _cache.clear()
    _cache[key] = (now + CACHE_SECONDS, data)
    return data


def build_dashboard(path: str, period: dict | None, now: dt.datetime | None = None,
                    periods: list[dict] | None = None) -> dict:
    """Every figure of the dashboard for the units whose path starts with `path`.

    `periods` (the periods the reader may see, newest first) feed the trend over periods."""
    now = now or clock.instant()
    out = {"as_of": now.strftime("%Y-%m-%d %H:%M:%S"), "cadres": _cadre_count(path), "supervision": _supervision(path, now), "findings": _findings(path)}
    out["repeated_overdue"] = _repeated_overdue(path, now)
    out["severe_findings"] = _severe_findings(path)
    out["trend"] = _trend(path, (periods or [])[:TREND_PERIODS])
    out["units"] = _sub_units(path, period["id"] if period else None, now)
    if period is None:
        out.update(categories=[], grade_totals=dict.fromkeys(GRADES, 0), ranked={}, flagged=[], evaluated=0)
        return out
    categories, totals = _grade_distribution(path, period["id"])
    out.update(categories=categories, grade_totals=totals, evaluated=sum(totals.values()))
    out["ranked"] = _top_and_bottom(path, period["id"])
    out["flagged"] = _flagged_results(path, period["id"])
    return out


def _in_subtree(stmt, column, path: str):
    return apply_unit_scope(stmt, column, prefix=path)


def _cadre_count(path: str) -> int:
    stmt = _in_subtree(select(func.count(Cadre.id)).where(Cadre.status == "在职"), Cadre.org_unit_id, path)
    return db.session.scalar(stmt) or 0


def _grade_distribution(path: str, period_id: int) -> tuple[list[dict], dict]:
    """Post category -> grade -> count (one GROUP BY)."""
    R = EvaluationResult
    stmt = (
        select(Cadre.post_category, R.grade, func.count(R.id))
        .join(Cadre, R.cadre_id == Cadre.id)
        .where(R.period_id == period_id)
        .group_by(Cadre.post_category, R.grade)
    )
    rows: dict = {}
    totals = dict.fromkeys(GRADES, 0)
    for category, grade, count in db.session.execute(_in_subtree(stmt, Cadre.org_unit_id, path)):
        row = rows.setdefault(category or "未分类", dict.fromkeys(GRADES, 0))
        row[grade] = row.get(grade, 0) + count
        totals[grade] = totals.get(grade, 0) + count
    categories = [{"category": c, "grades": g, "total": sum(g.values())} for c, g in sorted(rows.items())]
    return categories, totals


def _top_and_bottom(path: str, period_id: int) -> dict[str, dict]:
    """Post category -> {top: [...], bottom: [...]} among the ranked results in the subtree.

    One window sort per category: (composite ASC, code DESC) is exactly the reverse of
    (composite DESC, code) because codes are unique (NULLs too: each database puts them at
    the same end of both orders), so a result's place from the bottom is n + 1 - its place
    from the top. Units are joined only to the few rows kept."""
    R = EvaluationResult
    by_cat = Cadre.post_category
    # the window sorts narrow rows (ids and sort keys); names and units join to the few kept
    inner = (
        select(
            R.id.label("result_id"), Cadre.id.label("cadre_id"), by_cat.label("category"),
            func.row_number().over(partition_by=by_cat, order_by=(R.composite.desc(), Cadre.code)).label("top"),
            func.count().over(partition_by=by_cat).label("n"),
        )
        .join(Cadre, R.cadre_id == Cadre.id)
        .where(R.period_id == period_id, R.rank.is_not(None))
    )
    sub = _in_subtree(inner, Cadre.org_unit_id, path).subquery()
    kept = select(sub).where(or_(sub.c.top <= TOP_N, sub.c.top > sub.c.n - TOP_N)).subquery()
    stmt = (
        select(kept.c.cadre_id, Cadre.code, Cadre.name, kept.c.category, OrgUnit.name.label("unit"), R.composite,
               R.rank, R.peer_count, R.grade, kept.c.top, (kept.c.n + 1 - kept.c.top).label("bottom"), kept.c.n)
        .join(R, R.id == kept.c.result_id)
        .join(Cadre, Cadre.id == kept.c.cadre_id)
        .join(OrgUnit, OrgUnit.id == Cadre.org_unit_id)
        .order_by(kept.c.category, kept.c.top)
    )
    out: dict[str, dict] = {}
    for row in db.session.execute(stmt).mappings():
        group = out.setdefault(row["category"] or "未分类", {"top": [], "bottom": [], "count": row["n"]})
        item = {"cadre_id": row["cadre_id"], "code": row["code"], "name": row["name"], "unit": row["unit"],
                "composite": num(row["composite"]), "rank": row["rank"], "peer_count": row["peer_count"],
                "grade": row["grade"]}
        if row["top"] <= TOP_N:
            group["top"].append(item)
        if row["bottom"] <= TOP_N and row["top"] > TOP_N:  # small groups: nobody is both
            group["bottom"].append((row["bottom"], item))
    for group in out.values():
        group["bottom"] = [item for _, item in sorted(group["bottom"], key=lambda p: p[0])]
    return dict(sorted(out.items()))


def _flagged_results(path: str, period_id: int) -> list[dict]:
    """Results with a veto or graded 不称职."""
    R = EvaluationResult
    stmt = (
        select(Cadre.id, Cadre.code, Cadre.name, Cadre.post_category, OrgUnit.name, R.composite, R.grade, R.veto)
        .join(Cadre, R.cadre_id == Cadre.id)
        .join(OrgUnit, Cadre.org_unit_id == OrgUnit.id)
        .where(R.period_id == period_id, or_(R.veto.is_(True), R.grade == INCOMPETENT))
        .order_by(Cadre.code)
        .limit(FLAG_LIMIT)
    )
    return [{"cadre_id": i, "code": c, "name": n, "category": cat, "unit": u, "composite": num(comp),
             "grade": g, "veto": bool(v)} for i, c, n, cat, u, comp, g, v in
            db.session.execute(_in_subtree(stmt, Cadre.org_unit_id, path))]


def _tasks_in_subtree(stmt, path: str):
    """Items whose lead unit or an assisting unit lies in the subtree (as on the task screens)."""
    return stmt.where(task_touches_subtree(path))


def _supervision(path: str, now: dt.datetime) -> dict:
    """Items of the subtree: counts by state and by light (one query; lights as on the task screens)."""
    T = SupervisionTask
    # 按期完成 (done, the last light) is what is left of the lit items: the lights exclude each other
    flags = [func.sum(case((lights.light_condition(light, now), 1), else_=0)) for light in SUPERVISION_LIGHTS[:-1]]
    lit = func.sum(case((and_(T.state.in_(lights.LIT_STATES), T.complete_due.is_not(None)), 1), else_=0))
    stmt = select(T.state, func.count(T.id), lit, *flags).where(T.state != "draft").group_by(T.state)
    by_state = {key: 0 for key in TASK_STATES if key != "draft"}
    totals = {"total": 0, "open": 0, **dict.fromkeys(SUPERVISION_LIGHTS, 0)}
    for state, count, lit_count, *per_light in db.session.execute(_tasks_in_subtree(stmt, path)):
        per_light.append(int(lit_count or 0) - sum(int(v or 0) for v in per_light))
        by_state[state] = count
        totals["total"] += count
        totals["open"] += count if state in OPEN_TASK_STATES else 0
        for light, value in zip(SUPERVISION_LIGHTS, per_light):
            totals[light] += int(value or 0)
    states = [{"state": k, "label": TASK_STATES[k], "count": v} for k, v in by_state.items()]
    return {**totals, "states": states}


def _findings(path: str) -> dict:
    """Findings on units of the subtree by state and severity (one GROUP BY)."""
    stmt = select(Finding.state, Finding.severity, func.count(Finding.id)).group_by(Finding.state, Finding.severity)
    by_state = dict.fromkeys(FINDING_STATES, 0)
    by_severity = {"一般": 0, "较重": 0, SEVERE: 0}
    rows = db.session.execute(_in_subtree(stmt, Finding.org_unit_id, path)).all()
    for state, severity, count in rows:
        by_state[state] = by_state.get(state, 0) + count
        by_severity[severity] = by_severity.get(severity, 0) + count
    severe_open = 0
    for state, severity, count in rows:
        severe_open += count if severity == SEVERE and state != "closed" else 0
    states = [{"state": k, "label": FINDING_STATES.get(k, k), "count": v} for k, v in by_state.items()]
    return {"total": sum(by_state.values()), "states": states, "severity": by_severity, "severe_open": severe_open}


def _severe_findings(path: str) -> list[dict]:
    """严重 findings not yet closed (销号)."""
    stmt = (
        select(Finding.id, Finding.found_on, Finding.description, Finding.state, OrgUnit.name, OrgUnit.code)
        .join(OrgUnit, Finding.org_unit_id == OrgUnit.id)
        .where(Finding.severity == SEVERE, Finding.state != "closed")
        .order_by(Finding.found_on.desc(), Finding.id.desc())
        .limit(FLAG_LIMIT)
    )
    return [{"id": i, "found_on": f.isoformat() if f else None, "description": d,
             "state_label": FINDING_STATES.get(s, s), "unit": u, "unit_code": code}
            for i, f, d, s, u, code in db.session.execute(_in_subtree(stmt, Finding.org_unit_id, path))]


def _repeated_overdue(path: str, now: dt.datetime) -> list[dict]:
    """Cadres of the subtree responsible for at least two overdue items (red or done late).

    Counted from the items' side (each item's light once), then only the cadres that qualify
    are joined to their units and scoped."""
    T = SupervisionTask
    late = or_(lights.light_condition(deadlines.RED, now), lights.light_condition(deadlines.OVERDUE_DONE, now))
    overdue = func.count(T.id)
    per_cadre = apply_cadre_scope(
        select(T.responsible_cadre_id.label("cadre_id"), overdue.label("overdue")).where(late),
        T.responsible_cadre_id, prefix=path,
    )
    per_cadre = per_cadre.group_by(T.responsible_cadre_id).having(overdue >= REPEATED_OVERDUE).subquery()
    stmt = (
        select(Cadre.id, Cadre.code, Cadre.name, OrgUnit.name, per_cadre.c.overdue)
        .join(Cadre, Cadre.id == per_cadre.c.cadre_id)
        .join(OrgUnit, Cadre.org_unit_id == OrgUnit.id)
        .order_by(per_cadre.c.overdue.desc(), Cadre.code)
        .limit(FLAG_LIMIT)
    )
    return [{"cadre_id": i, "code": c, "name": n, "unit": u, "overdue": int(k)}
            for i, c, n, u, k in db.session.execute(stmt)]


def _trend(path: str, periods: list[dict]) -> list[dict]:
    """Per period (oldest first): results in the subtree, their mean composite and grade counts
    (one GROUP BY over the given periods)."""
    if not periods:
        return []
    R = EvaluationResult
    stmt = (
        select(R.period_id, R.grade, func.count(R.id), func.sum(R.composite), func.count(R.composite))
        .join(Cadre, R.cadre_id == Cadre.id)
        .where(R.period_id.in_([p["id"] for p in periods]))
        .group_by(R.period_id, R.grade)
    )
    per: dict[int, dict] = {p["id"]: {"n": 0, "sum": 0.0, "scored": 0, "grades": dict.fromkeys(GRADES, 0)}
                            for p in periods}
    for period_id, grade, count, total, scored in db.session.execute(_in_subtree(stmt, Cadre.org_unit_id, path)):
        row = per[period_id]
        row["n"] += count
        row["sum"] += float(total or 0)
        row["scored"] += scored
        row["grades"][grade] = row["grades"].get(grade, 0) + count
    out = []
    for p in reversed(periods):
        row = per[p["id"]]
        if not row["n"]:
            continue
        mean = round(row["sum"] / row["scored"], 2) if row["scored"] else None
        out.append({"code": p["code"], "name": p["name"], "evaluated": row["n"], "mean": mean,
                    "grades": row["grades"]})
    return out


def _fold_to_children(prefix: str, rows, children: dict[int, dict], keys: tuple[str, ...]) -> None:
    """Add per-unit rows (path, *values) to the child of `prefix` each unit lies under (or to
    the unit's own level, key None)."""
    for path, *values in rows:
        rest = path[len(prefix):].strip("/")
        child = int(rest.split("/", 1)[0]) if rest else None
        target = children.get(child)
        if target is None:
            continue
        for key, value in zip(keys, values):
            target[key] = (target[key] or 0) + (value or 0)


def _sub_units(path: str, period_id: int | None, now: dt.datetime) -> list[dict]:
    """The direct sub-units of the unit at `path`, each with the figures of its whole subtree
    (cadres, results of the period, overdue items it leads), plus the unit's own level.

    Each figure is one GROUP BY per unit of the subtree, folded here onto the children (a city
    has some 3,700 units: the fold is cheap, one query per figure whatever the size)."""
    unit = db.session.scalar(select(OrgUnit).where(OrgUnit.path == path))
    if unit is None:
        return []
    child_rows = db.session.execute(
        select(OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.kind).where(OrgUnit.parent_id == unit.id)
        .order_by(OrgUnit.sort_order, OrgUnit.code)
    ).all()
    keys = ("cadres", "evaluated", "composite_sum", "scored", EXCELLENT, INCOMPETENT, "red")
    blank = dict.fromkeys(keys, 0)
    children: dict = {None: {"code": None, "name": OWN_LEVEL, "kind": unit.kind, **blank}}
    for cid, code, name, kind in child_rows:
        children[cid] = {"code": code, "name": name, "kind": kind, **blank}
    in_subtree = OrgUnit.path.startswith(path, autoescape=True)
    cadres = (select(OrgUnit.path, func.count(Cadre.id)).join(OrgUnit, Cadre.org_unit_id == OrgUnit.id)
              .where(in_subtree, Cadre.status == "在职").group_by(OrgUnit.path))
    _fold_to_children(path, db.session.execute(cadres), children, ("cadres",))
    if period_id is not None:
        R = EvaluationResult
        results = (
            select(OrgUnit.path, func.count(R.id), func.sum(R.composite), func.count(R.composite),
                   func.sum(case((R.grade == EXCELLENT, 1), else_=0)), func.sum(case((R.grade == INCOMPETENT, 1), else_=0)))
            .join(Cadre, R.cadre_id == Cadre.id).join(OrgUnit, Cadre.org_unit_id == OrgUnit.id)
            .where(in_subtree, R.period_id == period_id).group_by(OrgUnit.path)
        )
        _fold_to_children(path, db.session.execute(results), children,
                          ("evaluated", "composite_sum", "scored", EXCELLENT, INCOMPETENT))
    T = SupervisionTask
    red = (select(OrgUnit.path, func.count(T.id)).join(OrgUnit, T.lead_unit_id == OrgUnit.id)
           .where(in_subtree, lights.light_condition(deadlines.RED, now)).group_by(OrgUnit.path))
    _fold_to_children(path, db.session.execute(red), children, ("red",))
    out = []
    for key, row in children.items():
        if key is None and not any(row[k] for k in keys):
            continue
        scored = row.pop("scored")
        total = row.pop("composite_sum")
        row["mean"] = round(float(total) / scored, 2) if scored else None
        row["kind_label"] = UNIT_KINDS.get(row["kind"], row["kind"])
        out.append(row)
    return out[1:] + out[:1] if out and out[0]["code"] is None else out


def breadcrumbs(unit: OrgUnit | None, scope_prefix: str | None) -> list[dict]:
    """The units from the reader's scope root down to `unit` (each a drill-up link)."""
    if unit is None:
        return []
    ids = [int(x) for x in unit.path.strip("/").split("/") if x]
    stmt = select(OrgUnit.code, OrgUnit.name, OrgUnit.path).where(OrgUnit.id.in_(ids))
    rows = [r for r in db.session.execute(stmt) if scope_prefix is None or r.path.startswith(scope_prefix)]
    rows.sort(key=lambda r: len(r.path))
    return [{"code": c, "name": n} for c, n, _ in rows]


def chart_data(data: dict) -> dict:
    """What dashboard_charts.js draws: grade distribution, lights, trend and sub-units."""
    sup = data["supervision"]
    return {
        "grades": list(GRADES),
        "categories": [{"name": c["category"], "grades": c["grades"]} for c in data.get("categories", [])],
        "lights": [{"key": k, "label": deadlines.LIGHT_LABELS[k], "count": sup[k]} for k in
                   (deadlines.GREEN, deadlines.YELLOW, deadlines.RED, deadlines.OVERDUE_DONE, deadlines.DONE)],
        "trend": data.get("trend", []),
        "units": [{"code": u["code"], "name": u["name"], "mean": u["mean"], "evaluated": u["evaluated"],
                   "red": u["red"]} for u in data.get("units", [])],
    }
