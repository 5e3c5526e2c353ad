"""结构分析 (issue 16, PLATFORM.md §4): every band boundary, the figures against a Python count
of random members, the JSON shape, the page, its export, and scope."""

from __future__ import annotations

import datetime as dt
import io
import random

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, select, text

from app.extensions import db
from app.models import OrgUnit
from app.party import rules
from app.party import structure as S
from app.party.models import MEMBER_EDUCATIONS, PartyStructureCell, PartyStructureDay
from tests.conftest import login
from tests.party_data import clear, member, subtree

AS_OF = dt.date(2026, 6, 15)
JOINED = dt.date(2010, 1, 1)


@pytest.fixture()
def units(app, ctx):
    units = subtree()
    clear(units)
    yield units
    clear(units)


def figures(u, as_of=AS_OF) -> dict:
    return S.structure(u, as_of)


def _ymd(y, m=6, d=15):
    return dt.date(y, m, d)


# ---------------------------------------------------------------- bands, at their boundaries

@pytest.mark.parametrize("birth, band", [
    (_ymd(1996), "≤30"),              # 30 on as_of (birthday today)
    (_ymd(1996, 6, 16), "≤30"),       # 29, birthday tomorrow
    (_ymd(1995, 6, 16), "≤30"),       # 30, 31 tomorrow
    (_ymd(1995), "31–40"),            # 31 today
    (_ymd(1986), "31–40"),            # 40 today
    (_ymd(1985, 6, 16), "31–40"),     # 40, 41 tomorrow
    (_ymd(1985), "41–50"),
    (_ymd(1976), "41–50"),
    (_ymd(1975), "51–60"),
    (_ymd(1966), "51–60"),
    (_ymd(1965, 6, 16), "51–60"),
    (_ymd(1965), "≥61"),              # 61 today
    (_ymd(1930), "≥61"),
])
def test_age_band_boundaries(units, birth, band):
    member(units["town"], birth, min(JOINED, AS_OF), dt.date(2011, 1, 1))
    data = figures(units["town"])
    assert data["total"] == 1
    assert data["age"] == {b: int(b == band) for b in rules.AGE_BANDS}
    assert rules.age_band(birth, AS_OF) == band


@pytest.mark.parametrize("confirmed, band", [
    (_ymd(2021, 6, 16), "<5"),        # 4 years, 5 tomorrow
    (_ymd(2021), "5–10"),             # exactly 5 years ago
    (_ymd(2016), "5–10"),             # exactly 10
    (_ymd(2015, 6, 16), "5–10"),
    (_ymd(2015), "11–20"),            # 11
    (_ymd(2006), "11–20"),            # exactly 20
    (_ymd(2005), "21–30"),
    (_ymd(1996), "21–30"),            # exactly 30
    (_ymd(1995, 6, 16), "21–30"),
    (_ymd(1995), ">30"),              # 31
])
def test_party_age_band_boundaries(units, confirmed, band):
    member(units["town"], dt.date(1960, 1, 1), confirmed - dt.timedelta(days=365), confirmed)
    data = figures(units["town"])
    assert data["party_age"] == {b: int(b == band) for b in rules.PARTY_AGE_BANDS}
    assert data["status"] == {"正式党员": 1, "预备党员": 0}


def test_a_probationary_member_counts_in_under_five_and_as_probationary(units):
    member(units["town"], dt.date(1980, 1, 1), dt.date(1990, 1, 1), None, status="预备党员")
    data = figures(units["town"])
    assert data["party_age"]["<5"] == 1 and data["status"] == {"正式党员": 0, "预备党员": 1}


def test_confirmed_after_as_of_was_probationary_then(units):
    member(units["town"], dt.date(1980, 1, 1), dt.date(2025, 9, 1), dt.date(2026, 9, 1))
    data = figures(units["town"])
    assert data["status"] == {"正式党员": 0, "预备党员": 1} and data["party_age"]["<5"] == 1
    later = figures(units["town"], dt.date(2026, 9, 1))  # 转正 on as_of: 正式 then
    assert later["status"] == {"正式党员": 1, "预备党员": 0} and later["party_age"]["<5"] == 1


def test_members_joined_after_as_of_are_not_counted(units):
    member(units["town"], dt.date(1990, 1, 1), AS_OF, None)                       # joined on as_of: counted
    member(units["town"], dt.date(1990, 1, 1), AS_OF + dt.timedelta(days=1), None)  # the day after: not
    assert figures(units["town"])["total"] == 1
    assert figures(units["town"], AS_OF + dt.timedelta(days=1))["total"] == 2
    assert figures(units["town"], AS_OF - dt.timedelta(days=1))["total"] == 0


def test_born_on_29_february(units):
    member(units["town"], dt.date(2000, 2, 29), dt.date(2020, 1, 1), dt.date(2021, 1, 1))
    assert figures(units["town"], dt.date(2031, 2, 28))["age"]["≤30"] == 1      # not yet 31 in a common year
    assert figures(units["town"], dt.date(2031, 3, 1))["age"]["31–40"] == 1
    assert figures(units["town"], dt.date(2032, 2, 29))["age"]["31–40"] == 1    # a leap as_of: 32


def test_gender_education_and_flowing(units):
    for i, education in enumerate(MEMBER_EDUCATIONS):
        member(units["V01"], dt.date(1980, 1, 1), JOINED, dt.date(2011, 1, 1), education=education,
               gender="女" if i % 2 else "男", flowing=i == 0)
    data = figures(units["town"])
    assert data["education"] == {e: 1 for e in MEMBER_EDUCATIONS}
    assert data["gender"] == {"男": 2, "女": 2} and data["flowing"] == {"是": 1, "否": 3}


# ---------------------------------------------------------------- against a Python count

def _python_count(members, as_of) -> dict:
    out = S.empty_figures()
    for m in members:
        if m["joined"] > as_of:
            continue
        out["total"] += 1
        out["gender"][m["gender"]] += 1
        out["age"][rules.band(rules.full_years(m["birth"], as_of), rules.AGE_LOWER, rules.AGE_BANDS)] += 1
        out["education"][m["education"]] += 1
        out["party_age"][rules.party_age_band(m["status"], m["confirmed"], as_of)] += 1
        formal = m["status"] == "正式党员" and m["confirmed"] is not None and m["confirmed"] <= as_of
        out["status"]["正式党员" if formal else "预备党员"] += 1
        out["flowing"]["是" if m["flowing"] else "否"] += 1
    return out


def test_figures_match_a_python_count_of_random_members(units):
    rng = random.Random(16)
    made = []
    for _ in range(400):
        where = rng.choice(["town", "V01", "V02"])
        birth = dt.date(rng.randint(1935, 2006), rng.randint(1, 12), rng.randint(1, 28))
        if rng.random() < 0.03:
            birth = dt.date(rng.choice([1960, 1964, 1996, 2000]), 2, 29)
        joined = birth + dt.timedelta(days=rng.randint(18 * 366, 60 * 365))
        probationary = rng.random() < 0.1
        confirmed = None if probationary else joined + dt.timedelta(days=rng.randint(365, 400))
        m = {"where": where, "birth": birth, "joined": joined, "confirmed": confirmed,
             "status": "预备党员" if probationary else "正式党员", "gender": rng.choice(["男", "女"]),
             "education": rng.choice(MEMBER_EDUCATIONS), "flowing": rng.random() < 0.15}
        made.append(m)
        member(units[where], birth, joined, confirmed, status=m["status"], gender=m["gender"],
               education=m["education"], flowing=m["flowing"], commit=False)
    db.session.commit()
    for as_of in (dt.date(2026, 6, 15), dt.date(2001, 2, 28), dt.date(2016, 3, 1), dt.date(2040, 2, 29)):
        data = figures(units["town"], as_of)
        expected = _python_count(made, as_of)
        assert {k: data[k] for k in expected} == expected, as_of
        children = {c["unit"]: c for c in data["children"]}
        assert set(children) == {units["V01"].code, units["V02"].code}
        for key in ("V01", "V02"):
            want = _python_count([m for m in made if m["where"] == key], as_of)
            got = children[units[key].code]
            assert {k: got[k] for k in want} == want, (key, as_of)
        assert data["total"] >= children[units["V01"].code]["total"] + children[units["V02"].code]["total"]
    assert figures(units["town"], dt.date(2026, 6, 15))["total"] > 200


# ---------------------------------------------------------------- JSON, page, export, scope

FIGURE_KEYS = {"total", "gender", "age", "education", "party_age", "status", "flowing"}


def test_the_json_has_exactly_the_shape_of_platform_section_4(app, client, units):
    town, v02 = units["town"].code, units["V02"].code
    member(units["V02"], dt.date(1990, 3, 1), dt.date(2015, 3, 1), dt.date(2016, 3, 1))
    login(client, "kpy_luoshan")
    response = client.get(f"/party/structure.json?unit={town}&as_of=2026-06-15")
    assert response.status_code == 200 and response.mimetype == "application/json"
    data = response.get_json()
    assert set(data) == {"unit", "as_of", "children"} | FIGURE_KEYS
    assert data["unit"] == town and data["as_of"] == "2026-06-15" and data["total"] == 1
    assert list(data["gender"]) == ["男", "女"]
    assert list(data["age"]) == ["≤30", "31–40", "41–50", "51–60", "≥61"]
    assert list(data["education"]) == ["研究生", "大学本科", "大学专科", "中专及以下"]
    assert list(data["party_age"]) == ["<5", "5–10", "11–20", "21–30", ">30"]
    assert list(data["status"]) == ["正式党员", "预备党员"] and list(data["flowing"]) == ["是", "否"]
    assert all(set(c) == {"unit", "name"} | FIGURE_KEYS for c in data["children"])
    v02 = next(c for c in data["children"] if c["unit"] == v02)
    assert v02["total"] == 1 and v02["age"]["31–40"] == 1 and v02["party_age"]["5–10"] == 1
    whole = client.get("/party/structure.json").get_json()  # default: the user's own unit, today
    assert whole["unit"] == "XY03" and whole["as_of"] == dt.date.today().isoformat()
    assert whole["total"] > sum(c["total"] for c in whole["children"])  # the county's own organ branch too
    assert whole["total"] > 100  # the demo's members of 罗山县


def test_a_change_shows_at_once_through_the_kept_cells(app, client, units):
    town = units["town"].code
    first = member(units["V01"], dt.date(1990, 3, 1), dt.date(2015, 3, 1), dt.date(2016, 3, 1))
    login(client, "kpy_luoshan")
    url = f"/party/structure.json?unit={town}&as_of=2026-06-15"
    assert client.get(url).get_json()["total"] == 1
    assert client.get(url).get_json()["total"] == 1  # read from the cells this time
    member(units["V02"], dt.date(1980, 3, 1), dt.date(2005, 3, 1), dt.date(2006, 3, 1))
    again = client.get(url).get_json()
    assert again["total"] == 2 and again["age"]["41–50"] == 1
    # A bulk UPDATE that bypasses the ORM (no audit, no listener) is seen too: the triggers.
    db.session.execute(text("UPDATE party_member SET birth_date = :d WHERE id = :id"),
                       {"d": dt.date(1960, 1, 1), "id": first.id})
    db.session.commit()
    moved = client.get(url).get_json()
    assert moved["age"]["≥61"] == 1 and moved["age"]["31–40"] == 0
    db.session.execute(text("DELETE FROM party_member WHERE id = :id"), {"id": first.id})
    db.session.commit()
    assert client.get(url).get_json()["total"] == 1


def _root():
    return db.session.scalar(select(OrgUnit).where(OrgUnit.parent_id.is_(None)))


def _forget_days():
    db.session.execute(delete(PartyStructureCell.__table__))
    db.session.execute(delete(PartyStructureDay.__table__))
    db.session.commit()


def test_cells_match_a_count_afresh_after_changes_and_moves(app, units):
    rng = random.Random(7)
    places = [units["V01"], units["V02"], units["town"]]
    made = [member(rng.choice(places), dt.date(1950 + rng.randrange(50), 1 + rng.randrange(12), 1),
                   dt.date(2000, 1, 1), dt.date(2001, 1, 1)) for _ in range(30)]
    _forget_days()
    root = _root()
    before = S.structure(root, AS_OF)  # the whole tree: the day counted whole and kept
    assert db.session.scalar(select(PartyStructureDay.as_of)) == AS_OF
    town_before = S.structure(units["town"], AS_OF)  # read from the kept cells
    for m in made[:10]:  # changes after the day was counted: births, moves between units
        db.session.execute(text("UPDATE party_member SET birth_date = :d, org_unit_id = :u WHERE id = :id"),
                           {"d": dt.date(1940 + rng.randrange(60), 6, 1), "u": rng.choice(places).id, "id": m.id})
    db.session.execute(text("DELETE FROM party_member WHERE id = :id"), {"id": made[10].id})
    db.session.commit()
    after, town_after = S.structure(root, AS_OF), S.structure(units["town"], AS_OF)  # changed units counted again
    assert after["total"] == before["total"] - 1 and town_after["total"] == town_before["total"] - 1 == 29
    assert town_after != town_before
    _forget_days()
    assert S.structure(units["town"], AS_OF) == town_after  # a subtree on a day not kept: counted afresh
    assert S.structure(root, AS_OF) == after  # the whole tree counted whole again


def test_only_the_newest_days_are_kept(app, units):
    member(units["V01"], dt.date(1990, 3, 1), dt.date(2015, 3, 1), dt.date(2016, 3, 1))
    _forget_days()
    root = _root()
    for day in range(1, 6):
        S.structure(root, dt.date(2026, 6, day))
    days = db.session.scalars(select(PartyStructureDay.as_of).order_by(PartyStructureDay.as_of)).all()
    assert len(days) == S.KEPT_DAYS and days == [dt.date(2026, 6, d) for d in range(6 - S.KEPT_DAYS, 6)]
    cells = db.session.scalars(select(PartyStructureCell.as_of).distinct()).all()
    assert sorted(cells) == days
    S.structure(units["town"], dt.date(2026, 5, 1))  # a subtree on a day not kept: nothing kept
    assert db.session.scalars(select(PartyStructureDay.as_of).order_by(PartyStructureDay.as_of)).all() == days


def test_the_page_shows_the_figures_charts_and_one_click_down(app, client, units):
    town, v01 = units["town"].code, units["V01"].code
    member(units["V01"], dt.date(1990, 3, 1), dt.date(2015, 3, 1), dt.date(2016, 3, 1))
    login(client, "ld_luoshan")
    html = client.get(f"/party/structure?unit={town}&as_of=2026-06-15").get_data(as_text=True)
    assert "党员结构分析" in html and "vendor/echarts/echarts.min.js" in html and 'id="structure-data"' in html
    assert f"/party/structure?unit={v01}&amp;as_of=2026-06-15" in html
    assert "chart-age" in html and "chart-party_age" in html


def test_the_export_is_a_workbook_of_the_unit_and_its_children(app, client, units):
    codes = {k: u.code for k, u in units.items()}
    member(units["V01"], dt.date(1990, 3, 1), dt.date(2015, 3, 1), dt.date(2016, 3, 1))
    login(client, "kpy_luoshan")
    response = client.get(f"/party/structure.xlsx?unit={codes['town']}&as_of=2026-06-15")
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.data)).worksheets[0].iter_rows(values_only=True))
    assert rows[0][:3] == ("单位编码", "单位名称", "党员总数") and "年龄·≤30" in rows[0]
    assert rows[1][0] == codes["town"] and rows[1][2] == 1
    assert {r[0] for r in rows[2:]} == {codes["V01"], codes["V02"]}


@pytest.mark.parametrize("username, url, status", [
    ("ld_guangshan", "/party/structure.json?unit=XY03", 404),      # another county
    ("ld_guangshan", "/party/structure?unit=XY03T01", 404),
    ("ld_guangshan", "/party/structure.xlsx?unit=XY03", 404),
    ("ld_guangshan", "/party/structure.json?unit=NOSUCH", 404),
    ("llr_luoshan_t01", "/party/structure.json?unit=XY03", 404),   # a township liaison: its own subtree only
    ("llr_luoshan_t01", "/party/structure.json?unit=XY03T01", 200),
    ("ld_guangshan", "/party/structure.json?unit=XY04", 200),
    ("ld_guangshan", "/party/structure.json?unit=XY04&as_of=2026-13-01", 400),
    ("dcy_luoshan", "/party/structure.json?unit=XY03", 403),       # 督查员: no 结构分析
])
def test_scope_and_refusals(app, client, username, url, status):
    login(client, username)
    got = client.get(url).status_code
    assert got == status or (status == 403 and got == 302)


def test_an_idle_worker_counts_today_and_tomorrow_ahead(app, units, monkeypatch):
    from app.core import clock
    from app.jobs import kinds
    from app.jobs.worker import Worker

    member(units["V01"], dt.date(1990, 3, 1), dt.date(2015, 3, 1), dt.date(2016, 3, 1))
    _forget_days()
    worker = Worker(app, poll_seconds=0)
    worker.idle()
    today = clock.now().date()
    days = db.session.scalars(select(PartyStructureDay.as_of).order_by(PartyStructureDay.as_of)).all()
    assert days == [today, today + dt.timedelta(days=1)]
    ran = []

    def broken():
        ran.append(1)
        raise RuntimeError("boom")

    monkeypatch.setattr(kinds, "IDLE_TASKS", (broken,))
    worker.idle()  # within JOB_IDLE_SECONDS of the last: nothing runs
    assert ran == []
    worker.idle_at = None
    worker.idle()  # a failing task is logged; the worker carries on
    assert ran == [1]
