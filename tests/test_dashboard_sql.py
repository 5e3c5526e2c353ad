"""The dashboard's set-based figures agree with the same rules applied in Python, row by row,
on the demo city (supervision items in every state and light), at several instants and for
the city, a county and a township."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Cadre, EvaluationResult, OrgUnit, SupervisionTask
from app.profile import dashboard as D
from app.supervision import deadlines
from app.supervision import lights as L

MOMENTS = [dt.datetime(2023, 6, 1, 9), dt.datetime(2024, 11, 20, 23, 59), dt.datetime(2025, 3, 3), dt.datetime.now()]
UNITS = ["XY", "XY03", "XY03T01"]


def _path(code: str) -> str:
    return db.session.scalar(select(OrgUnit.path).where(OrgUnit.code == code))


def _in(path: str, unit: OrgUnit | None) -> bool:
    return unit is not None and unit.path.startswith(path)


@pytest.mark.parametrize("code", UNITS)
def test_supervision_figures_agree_with_task_light(ctx, code):
    path = _path(code)
    tasks = [t for t in db.session.scalars(select(SupervisionTask).where(SupervisionTask.state != "draft"))
             if _in(path, t.lead_unit) or any(_in(path, u) for u in t.assist_units)]
    assert tasks
    seen = Counter()
    for now in MOMENTS:
        got = D._supervision(path, now)
        lights = Counter(L.task_light(t, now) for t in tasks)
        seen.update(lights)
        assert got["total"] == len(tasks)
        assert {s["state"]: s["count"] for s in got["states"] if s["count"]} == Counter(t.state for t in tasks)
        for light in D.SUPERVISION_LIGHTS:
            assert got[light] == lights[light], (now, light)
    if code in ("XY", "XY03"):  # not vacuous: the city and the county have late items (a township may not)
        assert seen[deadlines.RED] and seen[deadlines.OVERDUE_DONE]


@pytest.mark.parametrize("code", UNITS)
def test_repeated_overdue_agrees_with_task_light(ctx, code):
    path = _path(code)
    for now in MOMENTS:
        late = Counter(
            t.responsible_cadre_id for t in db.session.scalars(select(SupervisionTask))
            if t.responsible_cadre is not None and _in(path, t.responsible_cadre.org_unit)
            and L.task_light(t, now) in (deadlines.RED, deadlines.OVERDUE_DONE)
        )
        expected = sorted(((-k, db.session.get(Cadre, c).code) for c, k in late.items() if k >= D.REPEATED_OVERDUE))
        got = [(-row["overdue"], row["code"]) for row in D._repeated_overdue(path, now)]
        assert got == expected[: D.FLAG_LIMIT], now


@pytest.mark.parametrize("code", UNITS)
def test_top_and_bottom_agree_with_a_sort(ctx, code):
    path = _path(code)
    for period in D.visible_periods(True):
        results = [r for r in db.session.scalars(
            select(EvaluationResult).where(EvaluationResult.period_id == period["id"], EvaluationResult.rank.is_not(None)))
            if _in(path, r.cadre.org_unit)]
        by_cat: dict[str, list] = {}
        for r in results:
            by_cat.setdefault(r.cadre.post_category or "未分类", []).append(r)
        got = D._top_and_bottom(path, period["id"])
        assert set(got) == set(by_cat)
        for cat, rows in by_cat.items():
            ordered = sorted(rows, key=lambda r: (-r.composite, r.cadre.code))
            top = [r.cadre.code for r in ordered[: D.TOP_N]]
            rest = ordered[D.TOP_N:]
            bottom = [r.cadre.code for r in list(reversed(rest))[: D.TOP_N]]
            assert [i["code"] for i in got[cat]["top"]] == top, (period["code"], cat)
            assert [i["code"] for i in got[cat]["bottom"]] == bottom, (period["code"], cat)
            assert got[cat]["count"] == len(rows)
