"""Factories of the appeals tests, on the demo city: grids under a 罗山县 village, the accounts
of every appeals role, a 分管领导's charge, and appeals walked through the flow by the services.

    world()  → the ids and accounts (idempotent; every test module gets its own database)
    grid_appeal(w, ...) / hotline_appeal(w, ...) → an Appeal made at a given instant
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.appeals import services as S
from app.appeals.models import Appeal, AppealCategory, LeaderCharge
from app.core.commands import command
from app.extensions import db
from app.models import AppUser, OrgUnit
from app.org.units import create_unit
from app.org.users import create_user
from app.security import roles as R

PASSWORD = "Demo@2026xy"
TOWN, VILLAGE, GRID, GRID2 = "XY03T01", "XY03T01V01", "XY03T01V01G01", "XY03T01V01G02"
OTHER_TOWN_GRID = "XY03T02V01G01"
DEPT, DEPT2, DEPT3 = "XY03D01", "XY03D02", "XY03D03"
# A Monday; 2026-10-01..07 is the national holiday, 2026-10-10 (Saturday) a make-up working day.
MONDAY = dt.datetime(2026, 11, 2, 9, 0)

ACCOUNTS = (
    ("wgy_g01", R.GRID_WORKER, GRID),
    ("wgy_g02", R.GRID_WORKER, GRID2),
    ("wgy_other", R.GRID_WORKER, OTHER_TOWN_GRID),
    ("llr_v01", R.LIAISON, VILLAGE),
    ("llr_d02", R.LIAISON, DEPT2),
    ("llr_d03", R.LIAISON, DEPT3),
    ("ddy_luoshan", R.DISPATCHER, "XY03"),
    ("ddy_city", R.DISPATCHER, "XY"),
    ("ddy_guangshan", R.DISPATCHER, "XY04"),
)


def unit(code: str) -> OrgUnit:
    return db.session.scalar(select(OrgUnit).where(OrgUnit.code == code))


def user(name: str) -> AppUser:
    return db.session.scalar(select(AppUser).where(AppUser.username == name))


def world() -> dict:
    """Grids, accounts, a category and 罗山县 leader's charge over two departments."""
    if unit(GRID) is None:
        village = unit(VILLAGE)
        create_unit(GRID, "柳杨村第一网格", "grid", village, 1)
        create_unit(GRID2, "柳杨村第二网格", "grid", village, 2)
        create_unit(OTHER_TOWN_GRID, "第二乡镇网格", "grid", unit("XY03T02V01"), 1)
        for name, role, code in ACCOUNTS:
            create_user(name, PASSWORD, role, code)
        with command(None):
            leader = user("ld_luoshan")
            for code in (DEPT, DEPT2):
                db.session.add(LeaderCharge(leader_id=leader.id, org_unit_id=unit(code).id))
            db.session.add(AppealCategory(name="道路破损", default_urgency="一般", department_id=unit(DEPT2).id))
            db.session.add(AppealCategory(name="燃气泄漏", default_urgency="紧急"))
    return {
        "grid": unit(GRID).id, "grid2": unit(GRID2).id, "village": unit(VILLAGE).id, "town": unit(TOWN).id,
        "dept": unit(DEPT).id, "dept2": unit(DEPT2).id, "dept3": unit(DEPT3).id, "county": unit("XY03").id,
        "other_grid": unit(OTHER_TOWN_GRID).id,
        "road": db.session.scalar(select(AppealCategory.id).where(AppealCategory.name == "道路破损")),
        "gas": db.session.scalar(select(AppealCategory.id).where(AppealCategory.name == "燃气泄漏")),
    }


def grid_appeal(at: dt.datetime = MONDAY, worker: str = "wgy_g01", **fields) -> Appeal:
    fields.setdefault("content", "路灯不亮")
    fields.setdefault("citizen_name", "张三丰")
    fields.setdefault("citizen_phone", "13812345678")
    return S.report_from_grid(user=user(worker), received_at=at, now=at, **fields)


def hotline_appeal(w: dict, at: dt.datetime = MONDAY, place: str = "grid", dispatcher: str = "ddy_luoshan",
                   **fields) -> Appeal:
    fields.setdefault("content", "小区门口道路破损")
    fields.setdefault("citizen_name", "李四")
    fields.setdefault("citizen_phone", "13900001111")
    fields.setdefault("source", "12345热线")
    return S.create(user=user(dispatcher), occurred_unit_id=w[place], received_at=at, now=at, **fields)


def reply_parts(at: dt.datetime, result: str = "已解决", **extra) -> dict:
    return dict(contact_whom="诉求人本人", contact_at=at, contact_way="电话", measures="已派人修复",
                result=result, finished_at=at, **extra)


def fresh(appeal_id: int) -> Appeal:
    db.session.expire_all()
    return db.session.get(Appeal, appeal_id)


def h(at: dt.datetime, hours: float) -> dt.datetime:
    return at + dt.timedelta(hours=hours)
