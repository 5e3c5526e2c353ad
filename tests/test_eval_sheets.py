"""评分表 (/scoresheets/list/): one cadre's score sheets, read-only, scoped, in Chinese, with a
fixed number of queries and an index seek (never a scan) at any size."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, func, select

from app.extensions import db
from app.models import Cadre, EvaluationPeriod, OrgUnit, ScoreSheet
from tests.conftest import login
from tests.test_query_counts import count_queries

URL = "/scoresheets/list/"


def _cadre_with_sheets(app, county: str) -> dict:
    """A cadre of the county (by unit code prefix) with sheets in more than one period."""
    with app.app_context():
        periods = func.count(func.distinct(ScoreSheet.period_id))
        row = db.session.execute(
            select(Cadre.id, Cadre.code, Cadre.name, func.count(ScoreSheet.id))
            .join(ScoreSheet, ScoreSheet.cadre_id == Cadre.id)
            .join(OrgUnit, OrgUnit.id == Cadre.org_unit_id)
            .where(OrgUnit.code.startswith(county))
            .group_by(Cadre.id, Cadre.code, Cadre.name)
            .having(periods > 1)
            .order_by(Cadre.id)
            .limit(1)
        ).one()
        return {"id": row[0], "code": row[1], "name": row[2], "sheets": row[3]}


def _count(html: str) -> int:
    match = re.search(r"记录数目:\s*(\d+)", re.sub(r"<[^>]+>", " ", html))
    return int(match.group(1)) if match else 0


@pytest.fixture(scope="module")
def cadres(app):
    return {"in": _cadre_with_sheets(app, "XY03"), "out": _cadre_with_sheets(app, "XY04")}


def test_lists_one_cadres_sheets_in_chinese(app, client, cadres):
    login(client, "kpy_luoshan")
    cadre = cadres["in"]
    html = client.get(f"{URL}?cadre={cadre['id']}&psize_ScoreSheetView=100").get_data(as_text=True)
    assert _count(html) == cadre["sheets"]
    assert f"{cadre['name']}（{cadre['code']}）" in html
    for label in ("评分表", "考评期", "评价组", "录入时间", "各维度得分", "组织评价"):
        assert label in html
    assert re.search(r"德 \d+\.\d\d；能 \d+\.\d\d", html)
    # no select box listing the cadres (search-as-you-type), no write buttons; the period
    # picker lists the periods (other tests add their own)
    without_periods = re.sub(r'<select[^>]*name="period".*?</select>', "", html, flags=re.S)
    assert without_periods.count("<option") < 20
    assert "/scoresheets/edit/" not in html and "/scoresheets/delete/" not in html


def test_period_filter_and_sorting(app, client, cadres):
    login(client, "kpy_city")
    cadre = cadres["in"]
    with app.app_context():
        code, expected = db.session.execute(
            select(EvaluationPeriod.code, func.count(ScoreSheet.id))
            .join(ScoreSheet, ScoreSheet.period_id == EvaluationPeriod.id)
            .where(ScoreSheet.cadre_id == cadre["id"])
            .group_by(EvaluationPeriod.code)
            .order_by(EvaluationPeriod.code)
        ).first()
    html = client.get(f"{URL}?cadre={cadre['id']}&period={code}").get_data(as_text=True)
    assert _count(html) == expected < cadre["sheets"]
    sorted_url = f"{URL}?cadre={cadre['id']}&_oc_ScoreSheetView=group_id&_od_ScoreSheetView=asc"
    assert client.get(sorted_url).status_code == 200
    assert _count(client.get(f"{URL}?cadre={cadre['id']}&period=NOPE").get_data(as_text=True)) == 0


def test_scope_out_of_scope_cadre_is_an_empty_list(client, cadres):
    login(client, "kpy_luoshan")
    html = client.get(f"{URL}?cadre={cadres['out']['id']}").get_data(as_text=True)
    assert _count(html) == 0
    assert "不在您的管辖范围内" in html
    assert cadres["out"]["name"] not in html
    for raw in ("99999999", "abc", "-1", "1 OR 1=1"):
        response = client.get(f"{URL}?cadre={raw}")
        assert response.status_code == 200 and _count(response.get_data(as_text=True)) == 0
    # the city sees both counties
    login(client, "kpy_city")
    assert _count(client.get(f"{URL}?cadre={cadres['out']['id']}").get_data(as_text=True)) > 0


def test_without_a_cadre_the_list_asks_for_one(client):
    login(client, "kpy_city")
    html = client.get(URL).get_data(as_text=True)
    assert _count(html) == 0 and "请先选择一名干部" in html


@pytest.mark.parametrize("user", ["admin", "dcy_luoshan", "ld_luoshan", "llr_luoshan_t01"])
def test_only_score_readers_open_it(client, cadres, user):
    login(client, user)
    assert client.get(f"{URL}?cadre={cadres['in']['id']}").status_code in (302, 403)


def test_in_the_evaluation_menu(client):
    login(client, "kpy_luoshan")
    html = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert URL in html and "评分表" in html


def test_query_count_is_fixed(app, client, cadres):
    login(client, "kpy_city")
    url = f"{URL}?cadre={cadres['in']['id']}"
    count_queries(app, client, url)  # warm caches
    small = count_queries(app, client, url + "&psize_ScoreSheetView=5")
    large = count_queries(app, client, url + "&psize_ScoreSheetView=100")
    assert small == large <= 12


def _sheet_statements(app, client, url) -> list[tuple[str, object]]:
    """(SQL, parameters) of the statements on score_sheet that a page sends."""
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "FROM score_sheet" in statement:
            seen.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def test_the_count_and_the_page_seek_the_index(app, client, cadres):
    """Both statements on score_sheet (FAB's count and the page) seek (period_id, cadre_id)."""
    login(client, "kpy_city")
    statements = _sheet_statements(app, client, f"{URL}?cadre={cadres['in']['id']}")
    assert len(statements) == 2 and any("count(*)" in sql for sql, _ in statements)
    with app.app_context():
        for sql, params in statements:
            with db.engine.connect() as conn:
                if db.engine.dialect.name == "sqlite":
                    rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params).all()
                    plan = " | ".join(r[-1] for r in rows)
                    assert "ix_score_sheet_period_cadre (period_id=? AND cadre_id=?)" in plan, plan
                    assert "SCAN score_sheet" not in plan, plan
                else:
                    conn.exec_driver_sql("ANALYZE score_sheet")  # real statistics, as in production
                    conn.exec_driver_sql("ANALYZE evaluation_period")
                    conn.exec_driver_sql("SET enable_seqscan = off")  # the demo's table is tiny
                    plan = " ".join(r[0].strip() for r in conn.exec_driver_sql("EXPLAIN " + sql, params).all())
                    # a seek on both columns, not a full index scan filtered on cadre_id
                    assert re.search(r"using ix_score_sheet_period_cadre on score_sheet.*?Index Cond: "
                                     r"\(\(period_id = .*?AND \(cadre_id = ", plan), plan
