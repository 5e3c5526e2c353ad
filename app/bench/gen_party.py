"""The benchmark city's party organizations and members (issue 16): one 党委 per city, county
and township with its organ branch, one branch per village and per department, and six
members per cadre (300,000 for the 50,000-cadre city), each cadre among them, linked.
Plain tuples through the BulkWriter, ids assigned here."""

from __future__ import annotations

import datetime as dt
import random

from app.bench.bulk import BulkWriter
from app.bench.city import City
from app.org.demo import GIVEN, SURNAMES

MEMBERS_PER_CADRE = 6
EDUCATIONS = ("研究生", "大学本科", "大学专科", "中专及以下")
# unit kind -> (weight of the members placed there, education weights, age mean, age sd, 流动 share)
MIX = {
    "village": (0.55, (1, 6, 18, 75), 55, 13, 0.12),
    "township": (0.2, (6, 55, 32, 7), 42, 9, 0.01),
    "department": (0.2, (15, 60, 20, 5), 43, 9, 0.01),
    "county": (0.04, (18, 62, 17, 3), 45, 8, 0.0),
    "city": (0.01, (30, 60, 9, 1), 44, 9, 0.0),
}


def party(writer: BulkWriter, rng: random.Random, city: City, today: dt.date | None = None) -> int:
    """Write the organizations and members; returns the number of members."""
    today = today or dt.date.today()
    kind_of = {u[0]: u[3] for u in city.units}
    orgs, committee, branch_of = [], {}, {}
    ids = iter(range(1, 10**7))

    def org(code, name, kind, parent, unit_id):
        oid = next(ids)
        orgs.append((oid, code, name, kind, parent, unit_id, 0, 1))
        return oid

    for uid, code, name, kind, parent_id, _path, _sort in city.units:
        above = committee.get(parent_id)
        if kind in ("city", "county", "township"):
            committee[uid] = org(f"P{code}", f"中共{name}委员会", "党委", above, uid)
            branch_of[uid] = org(f"P{code}J", f"{name}机关党支部", "党支部", committee[uid], uid)
        else:
            branch_of[uid] = org(f"P{code}", f"{name}党支部", "党支部", above, uid)
    writer.write("party_org", ("id", "code", "name", "kind", "parent_id", "org_unit_id", "sort_order", "version"),
                 orgs, label="党组织")
    total = city.cadre_count * MEMBERS_PER_CADRE
    by_kind = {k: [u for u in city.by_kind.get(k, [])] for k in MIX}
    placements = []  # (unit id, cadre id or None)
    for unit_id, cadre_ids in city.cadres_of.items():
        placements += [(unit_id, cid) for cid in cadre_ids]
    rest = total - len(placements)
    kinds = [k for k in MIX if by_kind[k]]
    weights = [MIX[k][0] for k in kinds]
    for _ in range(rest):
        kind = rng.choices(kinds, weights)[0]
        placements.append((rng.choice(by_kind[kind]), None))

    def rows():
        for mid, (unit_id, cadre_id) in enumerate(placements, start=1):
            kind = kind_of[unit_id] if kind_of[unit_id] in MIX else "department"
            _w, edu, mean, sd, flowing_share = MIX[kind]
            age = min(88, max(20, int(rng.gauss(mean, sd))))
            birth = dt.date(today.year - age, rng.randint(1, 12), rng.randint(1, 28))
            joined = dt.date(birth.year + 18 + rng.randint(1, max(1, age - 19)), rng.randint(1, 12), rng.randint(1, 28))
            if joined >= today:
                joined = today - dt.timedelta(days=rng.randint(30, 300))
            confirmed = joined + dt.timedelta(days=366)
            formal = confirmed <= today and rng.random() > 0.02
            flowing = rng.random() < flowing_share
            yield (mid, f"DY{mid:07d}", rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(("", rng.choice(GIVEN))),
                   "男" if rng.random() < 0.7 else "女", birth.isoformat(), "汉族",
                   rng.choices(EDUCATIONS, edu)[0], joined.isoformat(), confirmed.isoformat() if formal else None,
                   "正式党员" if formal else "预备党员", flowing, "广东省深圳市" if flowing else None, None,
                   branch_of[unit_id], unit_id, f"13{rng.randint(100000000, 999999999)}", cadre_id, 1)

    return writer.write("party_member", ("id", "code", "name", "gender", "birth_date", "ethnicity", "education",
                                         "joined_at", "confirmed_at", "status", "flowing", "flowing_to", "party_post",
                                         "branch_id", "org_unit_id", "phone", "cadre_id", "version"),
                        rows(), label="党员")
