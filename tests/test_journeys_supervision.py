"""Issue 14, the services and screens behind the supervision journeys (no browser):
late milestones by name (point 9), inspection dates and editing (point 4), draft deadline
warnings (point 4), automatic 事项编号 and attachment preview (point 11)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

UNIT = "XY03T01"
SUPERVISOR = "dcy_luoshan"
LIAISON = "llr_luoshan_t01"
T0 = dt.datetime(2026, 3, 2, 9, 0)  # a Monday, no holiday near


def _unit_id(code: str = UNIT) -> int:
    from app.extensions import db
    from app.models import OrgUnit

    return db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == code))


def _task(code: str, rule: str = "普通事项", **fields):
    from app.extensions import db
    from app.supervision import tasks as S

    task = S.create_task(code, f"事项 {code}", lead_unit_id=_unit_id(), category="督实事", rule_name=rule, **fields)
    db.session.commit()
    return task


# ---------------------------------------------------------------- point 9

def test_late_milestones_are_named(ctx):
    from app.extensions import db
    from app.supervision import tasks as S

    task = _task("DC-J1-S-LATE")
    S.assign(task.id, now=T0)
    db.session.commit()
    lead = next(a for a in task.assignments if a.is_lead)
    # Not signed, not reported: 签收 and 首次反馈 late, the completion (7 days) not yet.
    at = lead.first_report_due + dt.timedelta(days=1, hours=1)
    assert at < task.complete_due
    text = S.late_text(task, at)
    assert text.startswith("签收超期 ") and "、首次反馈超期 2 天" in text, text
    assert "办结" not in text
    S.sign(lead.id, now=T0 + dt.timedelta(hours=1))
    db.session.commit()
    assert S.late_text(task, at) == "首次反馈超期 2 天"
    assert S.late_milestones(task, at) == [("first_report", 2)]
    # After the completion deadline, the completion is named too, the most late first.
    after = task.complete_due + dt.timedelta(hours=1)
    names = [name for name, _ in S.late_milestones(task, after)]
    assert names[0] == "first_report" and "complete" in names
    assert "办结超期 1 天" in S.late_text(task, after)
    assert S.late_text(task, T0) == ""
