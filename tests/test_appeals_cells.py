"""The figures' kept cells (app/appeals/cells.py) against a count in Python of every appeal and
hand-over of the demo city: after the demo, after writes through every path (the services, a
bulk SQL UPDATE and DELETE, a unit moved in the tree), and as the clock moves on."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import select, text

from app.appeals import cells, rules
from app.appeals import services as S
from app.appeals.models import Appeal, AppealAssignment, AppealFigureCell, AppealFigureDirty
from app.extensions import db
from app.models import AppUser, OrgUnit
from app.org.units import place_unit

FROM, TO = dt.date(2020, 1, 1), dt.date(2030, 12, 31)


def _user(name: str) -> AppUser:
    return db.session.scalar(select(AppUser).where(AppUser.username == name))


def _unit(code: str) -> OrgUnit:
    return db.session.scalar(select(OrgUnit).where(OrgUnit.code == code))


def _expected(unit: OrgUnit, date_from: dt.date, date_to: dt.date, now: dt.datetime) -> dict:
    """{"": figures of the unit's subtree, child id: figures of the child's} counted row by row."""
    start = dt.datetime.combine(date_from, dt.time.min)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min)
    paths = dict(db.session.execute(select(OrgUnit.id, OrgUnit.path)).all())
    children = db.session.execute(select(OrgUnit.id, OrgUnit.path).where(OrgUnit.parent_id == unit.id,
                                                                        OrgUnit.active.is_(True))).all()
    groups = {"": unit.path, **{str(cid): path for cid, path in children}}
    out = {k: dict.fromkeys(("received", "reply_due", "reply_on_time", "callbacks", "satisfied", "basic",
                             "called_back", "reopened", "reopens", "sign_on_time", "sign_counted", "refusals",
                             *rules.LEVELS), 0) for k in groups}
    targets: dict[int, set] = {}
    for appeal_id, unit_id in db.session.execute(select(AppealAssignment.appeal_id, AppealAssignment.org_unit_id)):
        targets.setdefault(appeal_id, set()).add(unit_id)
    for a in db.session.scalars(select(Appeal).where(Appeal.received_at >= start, Appeal.received_at < end)):
        members = [paths[u] for u in {a.occurred_unit_id, *targets.get(a.id, ())}]
        live = a.state != rules.MERGED
        for k, prefix in groups.items():
            if not any(p.startswith(prefix) for p in members):
                continue
            f = out[k]
            f["received"] += 1
            f["reply_due"] += live and (a.replied_at is not None or a.reply_deadline < now)
            f["reply_on_time"] += live and a.replied_at is not None and a.replied_at <= a.reply_deadline
            f["callbacks"] += a.callback_count
            f["satisfied"] += a.satisfied_count
            f["basic"] += a.basic_count
            f["called_back"] += a.callback_count > 0
            f["reopened"] += a.reopen_count > 0
            f["reopens"] += a.reopen_count
            if a.resolved_level:
                f[a.resolved_level] += 1
    for s in db.session.scalars(select(AppealAssignment).where(AppealAssignment.appeal_received_at >= start,
                                                               AppealAssignment.appeal_received_at < end)):
        for k, prefix in groups.items():
            if not paths[s.org_unit_id].startswith(prefix):
                continue
            f = out[k]
            f["sign_on_time"] += s.signed_at is not None and s.signed_at <= s.sign_deadline
            f["sign_counted"] += s.signed_at is not None or s.sign_deadline < (s.refused_at or s.ended_at or now)
            f["refusals"] += s.refused_at is not None
    return out


def _shown(figures: dict) -> dict:
    return {
        "received": figures["received"], "reply_due": figures["reply"]["due"],
        "reply_on_time": figures["reply"]["on_time"], "callbacks": figures["satisfaction"]["callbacks"],
        "satisfied": figures["satisfaction"]["satisfied"], "basic": figures["satisfaction"]["basic"],
        "called_back": figures["reopen"]["called_back"], "reopened": figures["reopen"]["reopened"],
        "reopens": figures["reopen"]["reopens"], "sign_on_time": figures["sign"]["on_time"],
        "sign_counted": figures["sign"]["counted"], "refusals": figures["refusals"], **figures["levels"],
    }


def _check(code: str, now: dt.datetime, date_from: dt.date = FROM, date_to: dt.date = TO) -> dict:
    unit = _unit(code)
    got = S.figures(_user("admin"), unit.id, date_from, date_to, now=now)
    shown = {"": _shown(got), **{str(c["unit_id"]): _shown(c) for c in got["children"]}}
    expected = _expected(unit, date_from, date_to, now)
    assert shown == expected
    return expected


def _cells() -> list:
    cell = AppealFigureCell.__table__
    return sorted(tuple(row) for row in db.session.execute(select(cell)))


def test_cells_equal_a_count_of_every_row_of_the_demo(ctx):
    now = dt.datetime.now()
    totals = _check("XY", now)  # the whole city: every county and city department
    assert totals[""]["received"] > 100 and totals[""]["reply_due"] > 0 and totals[""]["sign_counted"] > 0
    assert sum(totals[""][level] for level in rules.LEVELS) > 0
    _check("XY03", now)  # a county: its townships and departments
    # A later clock: more replies and signings overdue, nothing written.
    later = now + dt.timedelta(days=40)
    assert _check("XY", later)[""]["reply_due"] >= totals[""]["reply_due"]
    # One day, and a range that starts and ends inside the data.
    first = db.session.scalar(select(Appeal.received_at).order_by(Appeal.received_at).limit(1)).date()
    _check("XY", now, first, first)
    _check("XY03", now, first + dt.timedelta(days=3), first + dt.timedelta(days=20))


@pytest.mark.parametrize("whole_day_above", [cells.WHOLE_DAY_ABOVE, 0], ids=["by-ancestors", "whole-days"])
def test_every_write_path_shows_at_once_and_cells_equal_a_rebuild(ctx, monkeypatch, whole_day_above):
    monkeypatch.setattr(cells, "WHOLE_DAY_ABOVE", whole_day_above)
    now = dt.datetime.now()
    _check("XY", now)
    rng = random.Random(15 + whole_day_above)
    appeals = db.session.scalars(select(Appeal).order_by(Appeal.id)).all()
    units = db.session.scalars(select(OrgUnit.id).where(OrgUnit.kind.in_(("village", "township", "grid")))).all()
    # Bulk SQL, past every service: a reply, a call-back, a merge, a move, a new receipt day.
    for a in rng.sample(appeals, 12):
        db.session.execute(text("UPDATE appeal SET replied_at = :t, callback_count = callback_count + 1, "
                                "satisfied_count = satisfied_count + 1, resolved_level = :lv WHERE id = :id"),
                           {"t": a.reply_deadline - dt.timedelta(hours=1), "lv": rules.LEVELS[a.id % 5], "id": a.id})
    for a in rng.sample(appeals, 6):
        db.session.execute(text("UPDATE appeal SET occurred_unit_id = :u, received_at = :r WHERE id = :id"),
                           {"u": rng.choice(units), "r": a.received_at - dt.timedelta(days=9), "id": a.id})
        db.session.execute(text("UPDATE appeal_assignment SET appeal_received_at = :r WHERE appeal_id = :id"),
                           {"r": a.received_at - dt.timedelta(days=9), "id": a.id})
    signed = db.session.scalars(select(AppealAssignment.id).where(AppealAssignment.signed_at.is_(None))).all()
    for assignment_id in rng.sample(signed, min(5, len(signed))):
        db.session.execute(text("UPDATE appeal_assignment SET signed_at = sign_deadline WHERE id = :id"),
                           {"id": assignment_id})
    victim = rng.choice(db.session.scalars(select(AppealAssignment.id)).all())
    db.session.execute(text("DELETE FROM appeal_assignment WHERE id = :id"), {"id": victim})
    db.session.commit()
    assert db.session.scalar(select(AppealFigureDirty.unit_id).limit(1)) is not None  # the triggers noted them
    _check("XY", now)
    _check("XY03", now)
    assert db.session.scalar(select(AppealFigureDirty.unit_id).limit(1)) is None
    kept = _cells()
    cells.rebuild()
    db.session.commit()
    assert _cells() == kept


def test_a_unit_moved_in_the_tree_takes_its_appeals_along(ctx):
    now = dt.datetime.now()
    before = _check("XY", now)
    counties = db.session.scalars(select(OrgUnit).where(OrgUnit.kind == "county")).all()
    busy = max(counties, key=lambda c: before[str(c.id)]["received"])
    other = next(c for c in counties if c.id != busy.id)
    place = db.session.scalar(select(OrgUnit).join(Appeal, Appeal.occurred_unit_id == OrgUnit.id)
                              .where(OrgUnit.path.startswith(busy.path)).limit(1))
    town = db.session.get(OrgUnit, int(place.path.strip("/").split("/")[2]))  # the township above the place
    assert town.kind == "township" and before[str(busy.id)]["received"] > 0
    town.parent = other
    place_unit(town, user=None)
    db.session.commit()
    after = _check("XY", now)
    assert after[str(other.id)]["received"] > before[str(other.id)]["received"]
    assert after[""] == before[""]
