"""The demo city's party organizations and a few thousand members (after the org demo).

Each county has a 县委 (党委) with a 机关党支部; each township a 党委 with a 机关党支部 and one
branch per village; each department a 机关党支部; the city a 市委 with its departments'
branches. Members get realistic spreads (older, less schooled and more often 流动 in the
villages; younger and more schooled in the organs); every cadre is the member of their
unit's branch, linked. Written with bulk inserts (no per-row audit): the seed is fast.
"""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import insert, select

from app.core import clock
from app.extensions import db
from app.models import AppUser, Cadre, OrgUnit
from app.org.demo import GIVEN, SURNAMES
from app.party.models import PartyMember, PartyOrg
from app.party.rules import years_back

# unit kind -> (members per branch, education weights, age (mean, sd), flowing share, 预备 share)
PROFILE = {
    "village": (9, (1, 6, 18, 75), (56, 13), 0.12, 0.04),
    "township": (12, (6, 55, 32, 7), (42, 9), 0.01, 0.05),
    "county": (14, (18, 62, 17, 3), (45, 8), 0.0, 0.03),
    "department": (10, (15, 60, 20, 5), (43, 9), 0.01, 0.04),
    "city": (12, (30, 60, 9, 1), (44, 9), 0.0, 0.03),
}
EDUCATIONS = ("研究生", "大学本科", "大学专科", "中专及以下")
FLOWING_TO = ("广东省深圳市", "浙江省杭州市", "江苏省苏州市", "上海市", "北京市", "郑州市")
# Demo liaisons hold the 书记 account of their unit's organ branch (instructions reach them).
SECRETARY_ACCOUNTS = {"XYD01": "llr_city_d01", "XY03T01": "llr_luoshan_t01", "XY03D01": "llr_luoshan_d01"}


def seed_demo_party(seed: int = 2026) -> dict:
    """Create the demo's party organizations and members unless there are some already."""
    if db.session.scalar(select(PartyOrg.id).limit(1)) is not None:
        return {"orgs": 0, "members": 0}
    rng = random.Random(seed)
    today = clock.now().date()
    units = db.session.execute(select(OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.kind, OrgUnit.parent_id)
                               .order_by(OrgUnit.path)).all()
    by_id = {u.id: u for u in units}
    orgs: list[dict] = []
    committee: dict[int, str] = {}  # unit id -> code of the 党委 that leads it
    branch_of: dict[int, str] = {}  # unit id -> code of the branch its members belong to

    def org(code, name, kind, parent, unit_id, sort=0):
        orgs.append({"code": code, "name": name, "kind": kind, "parent": parent, "org_unit_id": unit_id,
                     "sort_order": sort})
        return code

    for u in units:
        if u.kind == "grid":  # a grid's party members belong to its village's branch
            continue
        parent_committee = committee.get(u.parent_id)
        if u.kind in ("city", "county", "township"):
            head = "中共" + u.name + ("委员会" if u.kind != "township" else "委员会")
            committee[u.id] = org(f"P{u.code}", head, "党委", parent_committee, u.id)
            branch_of[u.id] = org(f"P{u.code}J", f"{u.name}机关党支部", "党支部", committee[u.id], u.id, 1)
        elif u.kind == "village":
            branch_of[u.id] = org(f"P{u.code}", f"中共{u.name}支部委员会", "党支部", parent_committee, u.id)
        else:  # a department: its organ branch under the committee of the unit above
            branch_of[u.id] = org(f"P{u.code}", f"{u.name}机关党支部", "党支部", parent_committee, u.id)
    db.session.execute(insert(PartyOrg.__table__), [
        {k: v for k, v in o.items() if k != "parent"} | {"version": 1} for o in orgs])
    ids = dict(db.session.execute(select(PartyOrg.code, PartyOrg.id)).all())
    for o in orgs:
        if o["parent"]:
            db.session.execute(PartyOrg.__table__.update().where(PartyOrg.id == ids[o["code"]])
                               .values(parent_id=ids[o["parent"]]))
    members = []
    counter = iter(range(1, 10**6))
    cadres_by_unit: dict[int, list] = {}
    for cadre in db.session.execute(select(Cadre.id, Cadre.name, Cadre.gender, Cadre.birth_date, Cadre.ethnicity,
                                           Cadre.education, Cadre.party_join_date, Cadre.org_unit_id, Cadre.position,
                                           Cadre.phone)).all():
        cadres_by_unit.setdefault(cadre.org_unit_id, []).append(cadre)
    secretaries: dict[str, str] = {}  # branch code -> member code
    for unit_id, branch_code in branch_of.items():
        kind = by_id[unit_id].kind
        size, edu_weights, (age_mean, age_sd), flowing_share, probation = PROFILE[kind]
        for cadre in cadres_by_unit.get(unit_id, []):
            code = f"DY{next(counter):06d}"
            joined = cadre.party_join_date or dt.date(cadre.birth_date.year + 25, 7, 1)
            confirmed = joined + dt.timedelta(days=366)
            education = cadre.education if cadre.education in EDUCATIONS else "大学本科"
            post = "书记" if "书记" in (cadre.position or "") else None
            members.append(_row(code, cadre.name, cadre.gender or "男", cadre.birth_date, cadre.ethnicity or "汉族",
                                education, joined, confirmed if confirmed <= today else None,
                                "正式党员" if confirmed <= today else "预备党员", False, None, post,
                                ids[branch_code], unit_id, cadre.phone, cadre.id))
            if post and branch_code not in secretaries:
                secretaries[branch_code] = code
        for _ in range(size + rng.randint(-3, 4)):
            age = min(88, max(19, int(rng.gauss(age_mean, age_sd))))
            birth = years_back(today, age) - dt.timedelta(days=rng.randint(0, 364))
            earliest = years_back(birth, -18) + dt.timedelta(days=30)
            joined = earliest + dt.timedelta(days=rng.randint(0, max(0, (today - earliest).days - 60)))
            if rng.random() < probation:
                joined = today - dt.timedelta(days=rng.randint(30, 330))
                joined = max(joined, earliest)
                confirmed, status = None, "预备党员"
            else:
                confirmed = joined + dt.timedelta(days=365 + rng.randint(0, 40))
                if confirmed > today:
                    confirmed, status = None, "预备党员"
                else:
                    status = "正式党员"
            flowing = rng.random() < flowing_share
            members.append(_row(
                f"DY{next(counter):06d}", rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2)))),
                "男" if rng.random() < 0.7 else "女", birth, "汉族" if rng.random() < 0.95 else "回族",
                rng.choices(EDUCATIONS, edu_weights)[0], joined, confirmed, status, flowing,
                rng.choice(FLOWING_TO) if flowing else None, None, ids[branch_code], unit_id,
                f"13{rng.randint(100000000, 999999999)}", None))
    for start in range(0, len(members), 1000):
        db.session.execute(insert(PartyMember.__table__), members[start:start + 1000])
    member_ids = dict(db.session.execute(select(PartyMember.code, PartyMember.id)).all())
    for branch_code, member_code in secretaries.items():
        db.session.execute(PartyOrg.__table__.update().where(PartyOrg.id == ids[branch_code])
                           .values(secretary_member_id=member_ids[member_code]))
    unit_ids = {u.code: u.id for u in units}
    for unit_code, username in SECRETARY_ACCOUNTS.items():
        user_id = db.session.scalar(select(AppUser.id).where(AppUser.username == username))
        if user_id is not None and unit_ids.get(unit_code) in branch_of:
            db.session.execute(PartyOrg.__table__.update().where(PartyOrg.id == ids[branch_of[unit_ids[unit_code]]])
                               .values(secretary_id=user_id))
    db.session.commit()
    return {"orgs": len(orgs), "members": len(members)}


def _row(code, name, gender, birth, ethnicity, education, joined, confirmed, status, flowing, flowing_to, post,
         branch_id, unit_id, phone, cadre_id) -> dict:
    return {"code": code, "name": name, "gender": gender, "birth_date": birth, "ethnicity": ethnicity,
            "education": education, "joined_at": joined, "confirmed_at": confirmed, "status": status,
            "flowing": flowing, "flowing_to": flowing_to, "party_post": post, "branch_id": branch_id,
            "org_unit_id": unit_id, "phone": phone, "cadre_id": cadre_id, "version": 1}
