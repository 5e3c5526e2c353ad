"""Helpers of the instruction and pairing tests: a few branches, secretaries and members on the
demo city (罗山县 XY03 and 光山县 XY04), made through the ORM by the system."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.extensions import db
from app.models import AppUser, Cadre, OrgUnit, PartyMember, PartyOrg
from app.org.users import create_user
from app.security import roles as R

PASSWORD = "Str0ng!Passw0rd"


def unit(code: str) -> OrgUnit:
    return db.session.scalar(select(OrgUnit).where(OrgUnit.code == code))


def user(username: str) -> AppUser:
    return db.session.scalar(select(AppUser).where(AppUser.username == username))


def branch(code: str, name: str, unit_code: str, secretary: str | None = None, kind: str = "党支部",
           parent: PartyOrg | None = None) -> PartyOrg:
    org = db.session.scalar(select(PartyOrg).where(PartyOrg.code == code))
    if org is None:
        org = PartyOrg(code=code, name=name, kind=kind, org_unit_id=unit(unit_code).id,
                       parent_id=parent.id if parent else None,
                       secretary_id=user(secretary).id if secretary else None)
        db.session.add(org)
        db.session.commit()
    return org


def member(code: str, name: str, org: PartyOrg, birth: dt.date, status: str = "正式党员", flowing: bool = False,
           joined: dt.date = dt.date(2010, 7, 1)) -> PartyMember:
    m = PartyMember(code=code, name=name, gender="男", birth_date=birth, education="大学本科", joined_at=joined,
                    confirmed_at=None if status == "预备党员" else joined, status=status, flowing=flowing,
                    branch_id=org.id, org_unit_id=org.org_unit_id)
    db.session.add(m)
    db.session.commit()
    return m


def cadre_code(unit_code: str) -> str:
    return db.session.scalar(select(Cadre.code).join(OrgUnit, OrgUnit.id == Cadre.org_unit_id)
                             .where(OrgUnit.code == unit_code).order_by(Cadre.code))


def build() -> dict:
    """Senders, recipients, branches with and without secretaries, members of every kind."""
    today = dt.date.today()
    people = {
        "sender": ("ins_sender", R.STAFF, "XY03", None),
        "sup": ("ins_sup", R.SUPERVISOR, "XY03", None),
        "city": ("ins_city", R.STAFF, "XY", None),
        "out_sender": ("ins_out", R.STAFF, "XY04", None),
        "r_town": ("ins_r_town", R.LIAISON, "XY03T01", cadre_code("XY03T01")),
        "r_village": ("ins_r_village", R.LIAISON, "XY03T01V01", cadre_code("XY03T01V01")),
        "r_leader": ("ins_r_leader", R.LEADER, "XY03T02", cadre_code("XY03T02")),
        "sec1": ("ins_sec1", R.LIAISON, "XY03T01V01", None),
        "sec2": ("ins_sec2", R.LIAISON, "XY03T02", None),
        "sec_out": ("ins_sec_out", R.LIAISON, "XY04T01", None),
        "r_out": ("ins_r_out", R.LIAISON, "XY04T01", None),
    }
    users = {key: create_user(name, PASSWORD, role, code, cadre) for key, (name, role, code, cadre) in people.items()}
    b1 = branch("INS-B1", "测试村党支部", "XY03T01V01", "ins_sec1")
    b2 = branch("INS-B2", "测试乡镇机关党支部", "XY03T02", "ins_sec2")
    b3 = branch("INS-B3", "无书记党支部", "XY03T01")
    b4 = branch("INS-B4", "光山测试党支部", "XY04T01", "ins_sec_out")
    committee = branch("INS-W1", "测试乡镇党委", "XY03T01", kind="党委")

    def years_ago(n, days=0):
        return today.replace(year=today.year - n) - dt.timedelta(days=days)

    members = {
        "m1": member("INS-M1", "流动甲", b1, years_ago(25), flowing=True),
        "m2": member("INS-M2", "正式乙", b1, years_ago(45)),
        "m3": member("INS-M3", "预备丙", b2, years_ago(30), status="预备党员"),  # 30 today: ≤30
        "m4": member("INS-M4", "流动丁", b2, years_ago(31), flowing=True),  # 31 today: 31–40
        "m5": member("INS-M5", "流动戊", b3, years_ago(61), flowing=True),  # no secretary
        "m6": member("INS-M6", "光山己", b4, years_ago(50), flowing=True),  # another county
        "m7": member("INS-M7", "年长庚", b1, years_ago(61, days=-1)),  # 61 tomorrow: 51–60 today
    }
    return {"users": {k: u.id for k, u in users.items()}, "branches": {"b1": b1.id, "b2": b2.id, "b3": b3.id,
            "b4": b4.id, "w1": committee.id}, "members": {k: m.id for k, m in members.items()}}
