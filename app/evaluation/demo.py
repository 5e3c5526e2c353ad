"""Demo evaluation data: one scheme (德能勤绩廉, 三评, 实绩) and three chained annual periods
with generated sheets, ballots and indicator scores for every demo cadre, computed; the first
two published. Deterministic (seeded) and written with bulk inserts."""

from __future__ import annotations

import random

from sqlalchemy import insert, select

from app.evaluation import periods as evaluation
from app.evaluation import results as eval_results
from app.extensions import db
from app.models import Adjustment, Ballot, Cadre, EvaluationPeriod, IndicatorScore, ScoreSheet, SheetScore

SCHEME_NAME = "信阳市干部年度综合考评方案（演示）"
PERIODS = [("2023-Y", "2023年度考核"), ("2024-Y", "2024年度考核"), ("2025-Y", "2025年度考核")]
DEMO_ACTOR = "演示数据"


def demo_scheme() -> dict:
    """The demo scheme in the layout of golden scheme.json."""
    return {
        "name": SCHEME_NAME,
        "trim_min": 5,
        "dimensions": [{"name": n, "weight": w} for n, w in
                       (("德", 0.2), ("能", 0.2), ("勤", 0.15), ("绩", 0.3), ("廉", 0.15))],
        "rater_groups": [
            {"name": "组织评价", "kind": "scores", "weight": 0.4},
            {"name": "领导和同事评价", "kind": "scores", "weight": 0.3},
            {"name": "群众评价", "kind": "votes", "weight": 0.3,
             "points": {"优秀": 95, "称职": 85, "基本称职": 75, "不称职": 65}},
        ],
        "sanping_weight": 0.6,
        "indicators": [
            {"name": "项目建设实绩", "weight": 0.15, "source": "entered"},
            {"name": "基层治理实绩", "weight": 0.15, "source": "entered"},
            {"name": "督查实绩", "weight": 0.1, "source": "supervision"},
        ],
        "adjustment_cap": 5,
        "grades": {"excellent_min": 90, "excellent_quota": 0.2, "competent_min": 75, "basic_min": 60},
        "supervision_penalties": {"overdue_task": 5, "general": 2, "serious": 5, "severe": 10,
                                  "overdue_rectification": 3},
    }


def seed_demo_evaluation() -> bool:
    """Create the demo scheme and periods unless they exist; returns whether it created them."""
    if db.session.scalar(select(EvaluationPeriod.id).where(EvaluationPeriod.code == PERIODS[0][0])):
        return False
    rng = random.Random(20260)
    scheme, _ = evaluation.import_scheme(demo_scheme(), user=None)
    cadres = db.session.execute(select(Cadre.id, Cadre.code).order_by(Cadre.code)).all()
    quality = {cid: min(97.0, max(62.0, rng.gauss(85, 6))) for cid, _ in cadres}
    previous = None
    for index, (code, name) in enumerate(PERIODS):
        year = int(code[:4])
        period = evaluation.create_period(code, name, "年度", scheme.name, f"{year}-01-01", f"{year}-12-31", previous, user=None)
        evaluation.open_period(code, user=None)
        for cid in quality:  # cadres drift a little from year to year
            quality[cid] = min(98.0, max(60.0, quality[cid] + rng.gauss(0.5, 2.5)))
        counts = _inputs(rng, period, scheme, quality, pending=index == len(PERIODS) - 1)
        evaluation.record_bulk("seed", "score_sheet", period, counts)
        db.session.commit()
        eval_results.compute_period(code, user=None)
        if index < len(PERIODS) - 1:
            evaluation.lock_period(code, user=None)
            evaluation.publish_period(code, user=None)
            eval_results.generate_result_uses(code, user=None)
        previous = code
    return True


def _clip(x: float) -> float:
    return max(0.0, min(100.0, x))


def _inputs(rng: random.Random, period, scheme, quality: dict, pending: bool) -> dict:
    """Bulk-insert one period's sheets, ballots, indicator scores and adjustments."""
    dims = [d.id for d in scheme.dimensions]
    groups = {g.name: g for g in scheme.rater_groups}
    entered = [i.id for i in scheme.indicators if i.source == "entered"]
    sheets, ballots, indicators, adjustments = [], [], [], []
    for cid, q in quality.items():
        for group_name, bias in (("组织评价", 0.0), ("领导和同事评价", 1.0)):
            for _ in range(rng.randint(5, 7)):
                values = {d: float(round(_clip(rng.gauss(q + bias, 3.5)))) for d in dims}
                sheets.append((cid, groups[group_name].id, values))
        total = rng.randint(30, 50)
        p_excellent = max(0.0, min(0.9, (q - 72) / 25))
        votes = {"excellent": 0, "competent": 0, "basic": 0, "incompetent": 0, "unknown": 0}
        for _ in range(total):
            r = rng.random()
            key = ("excellent" if r < p_excellent else "competent" if r < 0.93 else
                   "basic" if r < 0.97 else "incompetent" if r < 0.985 else "unknown")
            votes[key] += 1
        ballots.append({"period_id": period.id, "cadre_id": cid, "group_id": groups["群众评价"].id, **votes})
        for iid in entered:
            indicators.append({"period_id": period.id, "cadre_id": cid, "indicator_id": iid,
                               "score": round(_clip(rng.gauss(q, 5)), 1)})
        adjustments.extend(_adjustments(rng, period, cid, pending))
    ids = db.session.scalars(
        insert(ScoreSheet).returning(ScoreSheet.id, sort_by_parameter_order=True),
        [{"period_id": period.id, "cadre_id": c, "group_id": g, "version": 1} for c, g, _ in sheets],
    ).all()
    db.session.execute(SheetScore.__table__.insert(), [
        {"sheet_id": sid, "dimension_id": d, "value": v} for sid, (_, _, values) in zip(ids, sheets)
        for d, v in values.items()
    ])
    db.session.execute(Ballot.__table__.insert(), ballots)
    db.session.execute(IndicatorScore.__table__.insert(), indicators)
    if adjustments:
        db.session.execute(insert(Adjustment), adjustments)
    return {"评分表": len(sheets), "票数": len(ballots), "指标得分": len(indicators), "调整": len(adjustments)}


def _adjustments(rng: random.Random, period, cid: int, pending: bool) -> list[dict]:
    r = rng.random()
    base = {"period_id": period.id, "cadre_id": cid, "proposed_by": DEMO_ACTOR}
    if r < 0.04:
        item = {**base, "kind": "加分", "value": float(rng.choice((1, 2, 3))), "reason": "获市级及以上表彰"}
    elif r < 0.06:
        item = {**base, "kind": "减分", "value": float(rng.choice((1, 2))), "reason": "工作失误被通报"}
    elif r < 0.063:
        item = {**base, "kind": "不定等次", "value": 0.0, "reason": "任现职不满半年"}
    elif r < 0.065:
        item = {**base, "kind": "一票否决", "value": 0.0, "reason": "发生重大安全生产责任事故"}
    else:
        return []
    if pending and rng.random() < 0.5:
        return [{**item, "status": "proposed"}]
    return [{**item, "status": "approved", "approved_by": DEMO_ACTOR}]
