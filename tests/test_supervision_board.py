"""督查总览: exact figures on fixed data in a township of its own, every figure's link opens
a list of exactly that many rows, scope of the unit picker, and set-based queries."""

from __future__ import annotations

import html
import re
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import event

from app.extensions import db
from app.org.units import create_unit
from app.supervision import findings as F
from app.supervision import tasks as S
from app.supervision.board import build_board
from app.supervision.setup import seed_defaults
from tests.conftest import login
from tests.supervision_data import list_count, now, tag, unit, user


def _at(days_ago: int, hour: int) -> datetime:
    return datetime.combine(now().date() - timedelta(days=days_ago), time(hour))


def _task(lead, assist=(), assigned=None, signed=None, submitted=None, approved=None, terminated=None):
    sup = user("dcy_luoshan")
    t = S.create_task("BD" + tag(), "总览测试事项", lead_unit_id=lead.id, rule_name="普通事项",
                      assist_unit_ids=[u.id for u in assist], user=sup)
    if assigned:
        S.assign(t.id, user=sup, now=assigned)
    if signed:
        for a in t.assignments:
            S.sign(a.id, user=None, now=signed)
    if submitted:
        S.submit_completion(next(a.id for a in t.assignments if a.is_lead), "完成", user=None, now=submitted)
    if approved:
        S.approve_completion(t.id, user=sup, now=approved)
    if terminated:
        S.terminate(t.id, "不再督办", user=sup, now=terminated)
    return t.code


@pytest.fixture(scope="module")
def township(app):
    """A township T (own items) with villages A and B, and nothing else in it."""
    with app.app_context():
        seed_defaults()
        code = "BT" + tag()[:6]
        t = create_unit(code, "总览测试镇" + code, "township", unit("XY03"), 99)
        a = create_unit(code + "A", "甲村", "village", t, 1)
        b = create_unit(code + "B", "乙村", "village", t, 2)
        codes = {
            "red": _task(a, assigned=_at(20, 9)),
            "green": _task(a, assist=(b,), assigned=_at(1, 9), signed=_at(1, 10)),
            "ontime": _task(b, assigned=_at(10, 9), signed=_at(10, 10), submitted=_at(9, 9), approved=_at(9, 10)),
            "late": _task(b, assigned=_at(30, 9), signed=_at(30, 10), submitted=_at(20, 9), approved=_at(20, 10)),
            "review": _task(t, assigned=_at(3, 9), signed=_at(3, 10), submitted=_at(2, 9)),
            "terminated": _task(a, assigned=_at(3, 9), terminated=_at(2, 9)),
            "draft": _task(a),
        }
        sup = user("dcy_luoshan")
        today = now().date()
        inspection = F.create_inspection("BI" + tag(), today - timedelta(days=5), "总览测试", None, "明察", t.id, user=sup)
        F.add_finding(inspection.id, a.id, "逾期未整改", "作风建设", "一般", deadline=today - timedelta(days=1), user=sup)
        severe = F.add_finding(inspection.id, b.id, "按期整改", "安全生产", "严重", deadline=today + timedelta(days=5), user=sup)
        F.start_rectification(severe.id)
        F.report_rectification(severe.id, "已整改", now=now() - timedelta(hours=1))
        F.verify(severe.id, user=sup)
        F.add_finding(inspection.id, b.id, "持续整改", "作风建设", "较重", continuous=True, user=sup)
        return {"code": code, "a": code + "A", "b": code + "B", "tasks": codes}


def test_board_figures_on_fixed_data(app, township):
    with app.app_context():
        board = build_board(unit(township["code"]), user("dcy_luoshan"), now())
    t = board["tasks"]
    assert (t["open"], t["green"], t["yellow"], t["red"], t["review"]) == (3, 1, 0, 1, 1)
    assert (t["completed"], t["ontime"], t["rate"]) == (2, 1, 50.0)
    rows = {row["code"]: row for row in board["units"]}
    assert list(rows) == [township["code"], township["a"], township["b"]]
    assert (rows[township["code"]]["open"], rows[township["code"]]["review"]) == (1, 1)
    assert (rows[township["a"]]["open"], rows[township["a"]]["red"], rows[township["a"]]["completed"]) == (2, 1, 0)
    assert (rows[township["b"]]["open"], rows[township["b"]]["completed"], rows[township["b"]]["rate"]) == (0, 2, 50.0)
    f = board["findings"]
    assert (f["total"], f["open"], f["overdue_open"], f["reported"], f["ontime"], f["closed"], f["rate"]) == (
        3, 2, 1, 1, 1, 1, 100.0)
    assert rows[township["a"]]["findings"]["overdue_open"] == 1 and rows[township["b"]]["findings"]["open"] == 1
    matrix = board["matrix"]
    assert matrix["categories"] == ["作风建设", "安全生产"]
    assert matrix["cells"]["作风建设"] == {"一般": 1, "较重": 1, "严重": 0}
    assert matrix["cells"]["安全生产"] == {"一般": 0, "较重": 0, "严重": 1}


def test_every_figure_links_to_a_list_of_that_many_rows(client, township):
    login(client, "dcy_luoshan")
    page = client.get(f"/supervision/board/?unit={township['code']}").get_data(as_text=True)
    assert 'id="board-data"' in page and "echarts.min.js" in page and "<script>" not in page
    links = re.findall(r'href="(/(?:tasks|findings)/list/\?[^"]*)"[^>]*>\s*(?:<span class="sv-figure-value">)?(\d+)<',
                       page)
    assert len(links) > 30
    for href, figure in links:
        listing = client.get(html.unescape(href)).get_data(as_text=True)
        assert list_count(listing) == int(figure), href
    red = client.get(f"/tasks/list/?unit={township['code']}&light=red").get_data(as_text=True)
    assert township["tasks"]["red"] in red and township["tasks"]["green"] not in red


def test_board_unit_picker_stays_inside_the_scope(client, township):
    login(client, "dcy_luoshan")
    assert client.get("/supervision/board/?unit=XY04").status_code == 404
    assert client.get("/supervision/board/?unit=NOSUCH").status_code == 404
    login(client, "dcy_city")
    page = client.get("/supervision/board/").get_data(as_text=True)
    for county in ("浉河区", "罗山县", "光山县", "息县"):
        assert county in page
    login(client, "ld_guangshan")
    assert client.get(f"/supervision/board/?unit={township['code']}").status_code == 404


def test_board_queries_do_not_grow_with_the_data(app, township):
    """The same number of statements for a township and for the whole city."""
    def statements(unit_code: str, username: str) -> int:
        seen = []
        with app.app_context():
            the_unit, the_user = unit(unit_code), user(username)
            engine = db.engine

            def count(*_args):
                seen.append(1)

            event.listen(engine, "before_cursor_execute", count)
            try:
                build_board(the_unit, the_user, now())
            finally:
                event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    assert statements(township["code"], "dcy_luoshan") == statements("XY", "dcy_city") <= 10
