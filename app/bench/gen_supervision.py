"""Supervision of the generated city: items (with their assignments and assisting units),
inspections and findings (with the cadres concerned), for each period's year.

Most items and findings of past years are closed; a few stay open past their deadline, so
that the red-light list and the open-findings counts have something to show."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select

from app.bench import PERIODS
from app.bench.bulk import BulkWriter
from app.bench.city import City
from app.extensions import db
from app.models import FINDING_STATES, SEVERITIES, TASK_CATEGORIES, TimeLimitRule

TASKS_PER_YEAR = 10_000
FINDINGS_PER_YEAR = 20_000
FINDINGS_PER_INSPECTION = 4
TOPICS = ("重点项目建设", "人居环境整治", "安全生产隐患排查", "防汛抗旱准备", "耕地保护", "信访积案化解",
          "营商环境优化", "乡村振兴示范", "民生实事落实", "基层党建提升", "河湖长制落实", "森林防火")
FINDING_CATEGORIES = ("作风建设", "项目推进", "民生实事", "安全生产", "生态环保", "基层治理")
TASK_COLUMNS = ("id", "code", "title", "content", "source", "category", "rule_id", "lead_unit_id",
                "responsible_cadre_id", "leader_in_charge", "state", "manual_deadline", "assigned_at", "complete_due",
                "original_complete_due", "submitted_at", "completed_at", "terminated_at", "version")
ASSIGNMENT_COLUMNS = ("id", "task_id", "org_unit_id", "is_lead", "acknowledge_due", "first_report_due",
                      "next_report_due", "signed_at", "signed_by", "first_report_at", "last_report_at",
                      "completion_reported_at")
FINDING_COLUMNS = ("id", "inspection_id", "org_unit_id", "description", "category", "severity", "requirement",
                   "continuous", "deadline", "state", "found_on", "rectified_at", "closed_at", "accountability",
                   "version")


def _ts(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat(sep=" ")


def supervision(writer: BulkWriter, rng: random.Random, city: City, scale: float) -> None:
    rules = _rules()
    tasks, assignments, assists = [], [], []
    inspections, findings, links = [], [], []
    for _code, _name, year in PERIODS:
        for _ in range(max(20, round(TASKS_PER_YEAR * scale))):
            _task(rng, city, rules, year, tasks, assignments, assists)
        for _ in range(max(40, round(FINDINGS_PER_YEAR * scale))):
            _finding(rng, city, year, inspections, findings, links)
    writer.write("supervision_task", TASK_COLUMNS, tasks, label="督查事项")
    writer.write("task_assignment", ASSIGNMENT_COLUMNS, assignments, label="事项交办单位")
    writer.write("task_assist_unit", ("task_id", "org_unit_id"), assists, label="协办单位")
    writer.write("inspection", ("id", "code", "date", "place", "team", "mode", "org_unit_id", "created_by"),
                 inspections, label="督查检查")
    writer.write("finding", FINDING_COLUMNS, findings, label="发现问题")
    writer.write("finding_cadre", ("finding_id", "cadre_id"), links, label="问题涉及干部")


def _rules() -> dict[str, int]:
    """The three default 13710 rules (added when missing): name -> id."""
    try:
        from app.supervision.setup import DEFAULT_RULES
    except ImportError:  # the supervision module not there yet: the same three 13710 rules
        DEFAULT_RULES = {
            "普通事项": dict(acknowledge_days=1, first_report_days=3, complete_days=7, complete_months=0),
            "重大复杂事项": dict(acknowledge_days=1, first_report_days=3, complete_days=0, complete_months=1),
            "长期事项": dict(acknowledge_days=1, first_report_days=3, complete_days=0, complete_months=0, long_term=True),
        }
    existing = dict(db.session.execute(select(TimeLimitRule.name, TimeLimitRule.id)).all())
    for name, values in DEFAULT_RULES.items():
        if name not in existing:
            db.session.add(TimeLimitRule(name=name, active=True, **{"report_interval_days": 7, **values}))
    db.session.commit()
    return dict(db.session.execute(select(TimeLimitRule.name, TimeLimitRule.id)).all())


def _task(rng, city: City, rules: dict, year: int, tasks: list, assignments: list, assists: list) -> None:
    tid = len(tasks) + 1
    kinds = city.by_kind
    lead = rng.choice(kinds["department"] if rng.random() < 0.5 else kinds["township"] + kinds["county"])
    county = city.county_of.get(lead)
    others = [u for u in rng.sample(kinds["department"] + kinds["township"], 6)
              if u != lead and city.county_of.get(u) == county][: rng.choice((0, 0, 1, 2))]
    assigned = dt.datetime(year, 1, 1, 9) + dt.timedelta(days=rng.randint(0, 350), hours=rng.randint(0, 8))
    r = rng.random()
    rule_name, due = ("普通事项", assigned + dt.timedelta(days=7)) if r < 0.7 else (
        ("重大复杂事项", assigned + dt.timedelta(days=30)) if r < 0.95 else ("长期事项", assigned + dt.timedelta(days=180)))
    state = rng.choices(("completed", "terminated", "in_progress", "pending_review", "assigned"),
                        (92, 2, 4, 1, 1))[0]
    submitted = assigned + dt.timedelta(days=rng.randint(2, 10 if rule_name == "普通事项" else 40))
    if state not in ("completed", "pending_review"):
        submitted = None
    cadres = city.cadres_of.get(lead) or [None]
    tasks.append((
        tid, f"DC{year}-{tid:06d}", f"{city.unit_name[lead]}{rng.choice(TOPICS)}", "按市委部署推进落实，按期反馈进展。",
        rng.choice(("市委常委会议定事项", "市政府常务会议定事项", "领导批示")), rng.choice(TASK_CATEGORIES),
        rules[rule_name], lead, rng.choice(cadres) if rng.random() < 0.7 else None, "市委副书记",
        state, due.date().isoformat() if rule_name == "长期事项" else None, _ts(assigned), _ts(due), _ts(due),
        _ts(submitted), _ts(submitted + dt.timedelta(days=1)) if state == "completed" else None,
        _ts(assigned + dt.timedelta(days=5)) if state == "terminated" else None, 1,
    ))
    for unit in [lead, *others]:
        signed = assigned + dt.timedelta(hours=rng.randint(1, 30))
        first = assigned + dt.timedelta(days=rng.randint(2, 4))
        assignments.append((
            len(assignments) + 1, tid, unit, unit == lead, _ts(assigned + dt.timedelta(days=1)),
            _ts(assigned + dt.timedelta(days=3)),
            _ts(assigned + dt.timedelta(days=7)) if rule_name == "长期事项" else None,
            _ts(signed), "承办联络员", _ts(first), _ts(first),
            _ts(submitted) if unit == lead and submitted else None,
        ))
        if unit != lead:
            assists.append((tid, unit))


def _finding(rng, city: City, year: int, inspections: list, findings: list, links: list) -> None:
    kinds = city.by_kind
    if len(findings) % FINDINGS_PER_INSPECTION == 0:
        r = rng.random()
        unit = rng.choice(kinds["township"] if r < 0.35 else kinds["village"] if r < 0.75 else kinds["department"])
        day = dt.date(year, 1, 1) + dt.timedelta(days=rng.randint(0, 330))
        iid = len(inspections) + 1
        inspections.append((iid, f"JC{year}-{iid:06d}", day.isoformat(), city.unit_name[unit],
                            f"市委督查室第{rng.randint(1, 6)}组", rng.choice(("明察", "暗访")), unit, "bench_supervisor_city"))
    iid, day, unit = inspections[-1][0], dt.date.fromisoformat(inspections[-1][2]), inspections[-1][6]
    fid = len(findings) + 1
    severity = rng.choices(SEVERITIES, (70, 22, 8))[0]
    continuous = rng.random() < 0.1
    state = rng.choices(tuple(FINDING_STATES), (3, 4, 3, 90))[0]
    rectified = dt.datetime.combine(day, dt.time(10)) + dt.timedelta(days=rng.randint(5, 40))
    findings.append((
        fid, iid, unit, f"{city.unit_name[unit]}{rng.choice(TOPICS)}工作存在问题", rng.choice(FINDING_CATEGORIES), severity,
        "限期整改到位", continuous, None if continuous else (day + dt.timedelta(days=30)).isoformat(), state,
        day.isoformat(), _ts(rectified) if state in ("awaiting_verification", "closed") else None,
        _ts(rectified + dt.timedelta(days=3)) if state == "closed" else None,
        "约谈" if severity == "严重" and rng.random() < 0.5 else None, 1,
    ))
    cadres = city.cadres_of.get(unit) or []
    if cadres and rng.random() < 0.7:
        for cid in rng.sample(cadres, min(len(cadres), 2 if rng.random() < 0.15 else 1)):
            links.append((fid, cid))
