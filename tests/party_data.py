"""Helpers of the party tests: a small unit subtree of its own in the demo city (a township
under 罗山县 with two villages), branches in it, and members written directly."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy import select

from app.extensions import db
from app.models import OrgUnit
from app.party.models import PartyMember, PartyOrg

_codes = itertools.count(1)


def unit(code: str) -> OrgUnit:
    return db.session.scalar(select(OrgUnit).where(OrgUnit.code == code))


def subtree(town: str = "XY03T90") -> dict[str, OrgUnit]:
    """A township `town` under 罗山县 (XY03) with villages V01 and V02, each with a branch
    (the township's own branch too); made once per module database."""
    from app.org.units import create_unit

    if unit(town) is None:
        county = unit("XY03")
        t = create_unit(town, f"测试镇{town[-2:]}", "township", county, 90)
        for v in ("V01", "V02"):
            create_unit(f"{town}{v}", f"测试村{town[-2:]}{v}", "village", t, 1)
        db.session.commit()
    units = {"town": unit(town), "V01": unit(f"{town}V01"), "V02": unit(f"{town}V02")}
    for u in units.values():
        if db.session.scalar(select(PartyOrg).where(PartyOrg.code == f"P{u.code}")) is None:
            db.session.add(PartyOrg(code=f"P{u.code}", name=f"{u.name}党支部", kind="党支部", org_unit_id=u.id))
    db.session.commit()
    return units


def branch(u: OrgUnit) -> PartyOrg:
    return db.session.scalar(select(PartyOrg).where(PartyOrg.code == f"P{u.code}"))


def member(u: OrgUnit, birth: dt.date, joined: dt.date, confirmed: dt.date | None = None, *,
           status: str | None = None, gender: str = "男", education: str = "大学本科", flowing: bool = False,
           commit: bool = True) -> PartyMember:
    """A member of `u`'s branch written as is (the tests choose dates the import would refuse)."""
    m = PartyMember(code=f"T{next(_codes):06d}", name="测试党员", gender=gender, birth_date=birth, education=education,
                    joined_at=joined, confirmed_at=confirmed, status=status or ("正式党员" if confirmed else "预备党员"),
                    flowing=flowing, branch_id=branch(u).id, phone="13812345678")
    db.session.add(m)
    if commit:
        db.session.commit()
    return m


def clear(units: dict[str, OrgUnit]) -> None:
    ids = [u.id for u in units.values()]
    db.session.execute(PartyMember.__table__.delete().where(PartyMember.org_unit_id.in_(ids)))
    db.session.commit()
