"""Fixed data for the 特写 tests: one scheme, six periods and a handful of cadres of 罗山县
(unit XY03T02) with known results, supervision items and findings. Codes carry a random tag
so that the rows never collide with other tests' rows in the shared session database.

The subject A (乡镇党政副职) has published results 2021–2023 and an unpublished 2024 result:

    period   composite  rank  grade  delta
    2021年度   82.50     3/4   称职    —
    2022年度   85.00     2/4   称职    +2.50
    2023年度   91.20     1/4   优秀    +6.20
    2024年度   70.00     1/1   基本称职 (评分中: only for Result.read_unpublished)

2023 dimension scores (A, B, C, D; peer averages 87.00 85.00 85.00 84.00 87.50):
    德 90 88 86 84   能 88 86 84 82   勤 92 85 83 80   绩 95 84 80 77   廉 86 90 88 86
B 86.00 称职, C 83.00 称职, D 78.40 vetoed (不称职). S1 and S5 (乡镇党政正职) have 1 and 5
periods of history (2019–2023) for the query-count test; N has no result at all.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select

from app.evaluation.compute import peer_stats
from app.extensions import db
from app.models import (
    Adjustment,
    Cadre,
    CareerRecord,
    Dimension,
    EvaluationPeriod,
    EvaluationResult,
    EvaluationScheme,
    Finding,
    Inspection,
    OrgUnit,
    RaterGroup,
    RewardPenalty,
    SupervisionTask,
    TimeLimitRule,
)

DIMS = ("德", "能", "勤", "绩", "廉")
GROUPS = ("组织评价", "领导和同事评价", "群众评价")
DEPUTY, HEAD = "乡镇党政副职", "乡镇党政正职"
UNIT = "XY03T02"

# cadre key -> period year -> (composite, rank, peer count, grade, delta, veto)
RESULTS = {
    "A": {2021: (82.5, 3, 4, "称职", None, False), 2022: (85.0, 2, 4, "称职", 2.5, False),
          2023: (91.2, 1, 4, "优秀", 6.2, False), 2024: (70.0, 1, 1, "基本称职", -21.2, False)},
    "B": {2021: (84.0, 1, 4, "称职", None, False), 2022: (86.0, 1, 4, "称职", 2.0, False),
          2023: (86.0, 2, 4, "称职", 0.0, False)},
    "C": {2021: (83.0, 2, 4, "称职", None, False), 2022: (80.0, 3, 4, "称职", -3.0, False),
          2023: (83.0, 3, 4, "称职", 3.0, False)},
    "D": {2021: (70.0, 4, 4, "基本称职", None, False), 2022: (72.0, 4, 4, "基本称职", 2.0, False),
          2023: (78.4, 4, 4, "不称职", 6.4, True)},
    "S1": {2023: (88.0, 1, 2, "称职", None, False)},
    "S5": {2019: (80.0, 1, 1, "称职", None, False), 2020: (81.0, 1, 1, "称职", 1.0, False),
           2021: (82.0, 1, 1, "称职", 1.0, False), 2022: (83.0, 1, 1, "称职", 1.0, False),
           2023: (84.0, 2, 2, "称职", 1.0, False)},
}
DIM_2023 = {
    "A": (90, 88, 92, 95, 86), "B": (88, 86, 85, 84, 90), "C": (86, 84, 83, 80, 88), "D": (84, 82, 80, 77, 86),
    "S1": (85, 85, 85, 85, 85), "S5": (80, 80, 80, 80, 80),
}
NAMES = {"A": "特写甲", "B": "特写乙", "C": "特写丙", "D": "特写丁", "S1": "特写一期", "S5": "特写五期",
         "N": "特写无结果"}


def _dims_for(key: str, year: int) -> tuple:
    if year == 2023:
        return DIM_2023[key]
    base = RESULTS[key][year][0]
    return (base,) * 5


def build(now: dt.datetime | None = None) -> dict:
    """Create the fixed data (inside an app context); returns ids and codes by key."""
    now = now or dt.datetime.now().replace(microsecond=0)
    tag = uuid.uuid4().hex[:6]
    unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == UNIT))
    scheme = EvaluationScheme(name=f"特写测试方案{tag}", sanping_weight=0.8, trim_min=5)
    scheme.dimensions = [Dimension(name=d, weight=0.2, sort=i) for i, d in enumerate(DIMS)]
    scheme.rater_groups = [RaterGroup(name=g, kind="scores", weight=w, sort=i)
                           for i, (g, w) in enumerate(zip(GROUPS, (0.5, 0.3, 0.2)))]
    db.session.add(scheme)
    periods, previous = {}, None
    for year in range(2019, 2025):
        period = EvaluationPeriod(
            code=f"PF{tag}-{year}", name=f"{year}年度", kind="年度", scheme=scheme,
            start_date=dt.date(year, 1, 1), end_date=dt.date(year, 12, 31), previous=previous,
            state="published" if year < 2024 else "scoring", computed_at=now,
        )
        db.session.add(period)
        periods[year], previous = period, period
    cadres = {}
    for key, name in NAMES.items():
        cadres[key] = Cadre(
            code=f"PF{tag}{key}", name=name, gender="男", ethnicity="汉族", birth_date=dt.date(1980, 5, 1),
            native_place="河南信阳", education="大学本科", org_unit_id=unit.id, position="副镇长", rank="副科",
            post_category=DEPUTY if key in ("A", "B", "C", "D", "N") else HEAD, position_start=dt.date(2020, 1, 1), status="在职",
        )
    db.session.add_all(cadres.values())
    db.session.flush()
    rows_by_period = {year: [] for year in periods}
    for key, per_year in RESULTS.items():
        for year, (composite, rank, peers, grade, delta, veto) in per_year.items():
            adjustment = 1.0 if (key, year) == ("A", 2023) else 0.0  # A's approved 加分 below
            result = EvaluationResult(
                period_id=periods[year].id, cadre_id=cadres[key].id, sanping=composite + 0.5,
                group_scores={"组织评价": composite + 1, "领导和同事评价": composite, "群众评价": composite - 1},
                indicator_scores={}, composite_raw=composite - adjustment, adjustment=adjustment,
                composite=composite, rank=rank,
                peer_count=peers, percentile=rank / peers, delta=delta, grade=grade, veto=veto,
                undetermined=False, computed_at=now,
                dimension_scores={d: float(s) for d, s in zip(DIMS, _dims_for(key, year))},
            )
            db.session.add(result)
            rows_by_period[year].append({"cadre_id": cadres[key].id, "composite": composite, "undetermined": False,
                                         "dimension_scores": result.dimension_scores})
    categories = {c.id: c.post_category for c in cadres.values()}
    for year, period in periods.items():  # what compute stores for the profiles' peer comparison
        period.peer_stats = peer_stats(rows_by_period[year], categories)
    a = cadres["A"]
    db.session.add_all([
        CareerRecord(cadre_id=a.id, start_date=dt.date(2015, 3, 1), end_date=dt.date(2020, 1, 1),
                     unit_name="罗山县委办公室", position="科员"),
        CareerRecord(cadre_id=a.id, start_date=dt.date(2020, 1, 1), unit_name="现单位", position="副镇长"),
        RewardPenalty(cadre_id=a.id, kind="奖励", date=dt.date(2022, 6, 1), title="市级先进个人", issuer="中共信阳市委"),
        Adjustment(period_id=periods[2023].id, cadre_id=a.id, kind="加分", value=1.0, reason="重点项目攻坚",
                   status="approved"),
        Adjustment(period_id=periods[2023].id, cadre_id=a.id, kind="减分", value=-2.0, reason="尚未审批的减分",
                   status="proposed"),
    ])
    _supervision(tag, unit, cadres, now)
    db.session.commit()
    return {
        "tag": tag, "unit": UNIT,
        "ids": {k: c.id for k, c in cadres.items()},
        "codes": {k: c.code for k, c in cadres.items()},
        "periods": {y: p.code for y, p in periods.items()},
        "period_ids": {y: p.id for y, p in periods.items()},
    }


def _supervision(tag: str, unit, cadres: dict, now: dt.datetime) -> None:
    """A: one item completed late, one open and overdue, one on track, one terminated;
    one 严重 finding overdue for rectification and one closed 一般 finding."""
    rule = TimeLimitRule(name=f"特写测试规则{tag}")
    db.session.add(rule)
    db.session.flush()
    a = cadres["A"]

    def task(n, state, due, submitted=None):
        return SupervisionTask(
            code=f"PF{tag}T{n}", title=f"特写测试事项{n}", category="督实事", rule_id=rule.id, lead_unit_id=unit.id,
            responsible_cadre_id=a.id, state=state, assigned_at=due - dt.timedelta(days=7), complete_due=due,
            original_complete_due=due, submitted_at=submitted,
            completed_at=submitted + dt.timedelta(days=1) if state == "completed" and submitted else None,
        )

    db.session.add_all([
        task(1, "completed", dt.datetime(2023, 3, 1), dt.datetime(2023, 3, 5, 10)),
        task(2, "in_progress", now - dt.timedelta(days=3)),
        task(3, "in_progress", now + dt.timedelta(days=10)),
        task(4, "terminated", now - dt.timedelta(days=30)),
    ])
    inspection = Inspection(code=f"PF{tag}I", date=dt.date(2023, 5, 1), place="特写测试地点", mode="明察",
                            org_unit_id=unit.id)
    db.session.add(inspection)
    db.session.flush()
    severe = Finding(inspection_id=inspection.id, org_unit_id=unit.id, description="特写测试严重问题",
                     category="作风问题", severity="严重", deadline=dt.date(2023, 6, 1), state="rectifying",
                     found_on=dt.date(2023, 5, 1))
    minor = Finding(inspection_id=inspection.id, org_unit_id=unit.id, description="特写测试一般问题",
                    category="台账问题", severity="一般", deadline=dt.date(2023, 6, 1), state="closed",
                    found_on=dt.date(2023, 5, 1), closed_at=dt.datetime(2023, 5, 20))
    severe.cadres = [a]
    minor.cadres = [a]
    db.session.add_all([severe, minor])
