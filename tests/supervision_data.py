"""Factories for the supervision screen/API tests: items and findings made through the
services, at instants relative to the real clock (the screens light items at `now`)."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import AppUser, Cadre, OrgUnit, SupervisionTask
from app.supervision import findings as F
from app.supervision import tasks as S


def now() -> datetime:
    return datetime.now().replace(microsecond=0)


def tag() -> str:
    return uuid.uuid4().hex[:8]


def user(name: str) -> AppUser:
    return db.session.scalar(select(AppUser).where(AppUser.username == name))


def unit(code: str) -> OrgUnit:
    return db.session.scalar(select(OrgUnit).where(OrgUnit.code == code))


def cadre_in(code: str) -> Cadre:
    return db.session.scalar(select(Cadre).where(Cadre.org_unit_id == unit(code).id).order_by(Cadre.id))


def make_task(lead="XY03T01", assist=("XY03D01",), by="dcy_luoshan", ago: float | None = 0, sign=False,
              rule="普通事项", **fields) -> dict:
    """A task made by a supervisor; assigned `ago` days back (None: a draft); `sign` signs
    every assignment an hour after assignment (as the system)."""
    sup = user(by) if by else None
    code = "VT" + tag()
    task = S.create_task(code, "界面测试事项" + code, lead_unit_id=unit(lead).id, rule_name=rule,
                         assist_unit_ids=[unit(c).id for c in assist], category="督实事", user=sup, **fields)
    if ago is not None:
        at = now() - timedelta(days=ago)
        S.assign(task.id, user=sup, now=at)
        if sign:
            for a in task.assignments:
                S.sign(a.id, user=None, now=at + timedelta(hours=1))
    return {"id": task.id, "code": code, "assignments": {a.org_unit.code: a.id for a in task.assignments}}


def make_finding(unit_code="XY03T01", by="dcy_luoshan", severity="一般", category="作风建设",
                 deadline: date | None = None, continuous=False, cadres=(), found_on: date | None = None) -> dict:
    sup = user(by) if by else None
    found_on = found_on or now().date() - timedelta(days=5)
    inspection = F.create_inspection("VI" + tag(), found_on, "测试检查地点", "测试组", "明察", unit(unit_code).id, user=sup)
    if deadline is None and not continuous:
        deadline = now().date() + timedelta(days=10)
    finding = F.add_finding(inspection.id, unit(unit_code).id, "界面测试问题" + tag(), category, severity,
                            cadre_ids=[c.id for c in cadres], deadline=deadline, continuous=continuous,
                            user=sup, found_on=found_on)
    return {"id": finding.id, "inspection": inspection.id, "inspection_code": inspection.code,
            "description": finding.description}


def task_state(task_id: int) -> tuple:
    db.session.expire_all()
    t = db.session.get(SupervisionTask, task_id)
    return t.state, t.version


def page_text(response) -> str:
    return response.get_data(as_text=True)


def list_count(html: str) -> int:
    """The record count FAB prints above a list (0 when the list is empty)."""
    match = re.search(r"记录数目[:：]?\s*(?:</strong>)?\s*(\d+)", html)
    return int(match.group(1)) if match else 0


def flashes(html: str) -> list[str]:
    return [re.sub(r"\s+|<[^>]+>", " ", m).strip() for m in re.findall(r'class="alert alert-[a-z]+[^"]*"[^>]*>(.*?)</div>', html, re.S)]
