"""Each rule once: the 整改超期 rule of a finding is supervision's (app/supervision/findings.py),
and the 特写, its narrative and the 督查实绩 score all count with it.

A finding whose rectification was reported before its deadline, and which is still awaiting
verification after the deadline passed, is not overdue: the report came in time. The profile
used to recompute the rule from `closed_at` and counted it overdue while the score did not.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from sqlalchemy import select

from app.evaluation.compute import supervision_counts
from app.extensions import db
from app.models import Cadre, OrgUnit
from app.profile.assemble import build_profile, narrative
from app.supervision import findings as F


def _finding(deadline: dt.date, cadre_id: int, unit_id: int, code: str):
    inspection = F.create_inspection(code, deadline - dt.timedelta(days=20), "整改规则测试", "督查组", "明察", unit_id)
    return F.add_finding(inspection.id, unit_id, "整改规则测试问题", "作风", "一般", deadline=deadline,
                         cadre_ids=[cadre_id], found_on=deadline - dt.timedelta(days=20))


def test_rectification_reported_in_time_is_not_overdue_on_the_profile_nor_in_the_score(app):
    with app.app_context():
        unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "XY05T01"))
        cadre = Cadre(code="RULE-C1", name="规则测试干部", gender="男", birth_date=dt.date(1980, 1, 1),
                      org_unit_id=unit.id, position="副镇长", rank="副科", post_category="乡镇党政副职",
                      status="在职")  # a cadre of its own: no other finding names it
        db.session.add(cadre)
        db.session.commit()
        today = dt.date.today()
        deadline = today - dt.timedelta(days=3)
        in_time = _finding(deadline, cadre.id, unit.id, "RULE-IN-TIME")
        F.start_rectification(in_time.id)
        F.report_rectification(in_time.id, "已按期整改", now=dt.datetime.combine(deadline, dt.time(10, 0)))
        late = _finding(deadline, cadre.id, unit.id, "RULE-LATE")
        F.start_rectification(late.id)
        F.report_rectification(late.id, "逾期整改", now=dt.datetime.combine(deadline + dt.timedelta(days=1),
                                                                         dt.time(10, 0)))
        now = dt.datetime.combine(today, dt.time(12, 0))

        assert F.rectification_overdue(db.session.get(type(in_time), in_time.id), now) is False
        assert F.rectification_overdue(db.session.get(type(late), late.id), now) is True
        profile = build_profile(cadre.id, user=None, now=now)
        mine = {item["id"]: item["rectification_overdue"] for item in profile["findings"]["items"]}
        assert mine[in_time.id] is False and mine[late.id] is True
        period = SimpleNamespace(start_date=deadline - dt.timedelta(days=30), end_date=today)  # the score's window
        overdue_in_score = supervision_counts(period, now=now, cadre_id=cadre.id)[cadre.id][4]
        assert profile["findings"]["rectification_overdue"] == overdue_in_score
        assert any(f"整改超期 {profile['findings']['rectification_overdue']} 个" in line
                   for line in narrative(profile))
