"""溯源: a result traced to the inputs it was computed from (services.eval_trace), on the
results screen (/results/<id>/trace) and in the API (/api/v1/results/<id>/trace)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import EvaluationResult
from tests.conftest import PASSWORD, api_token, login
from tests.jobs_support import follow_job
from tests.test_eval_views import cadre_in, new_period, sheet_body, sheet_url


@pytest.fixture(scope="module")
def traced(app):
    """A period of its own in 罗山县: two 组织评价 sheets, a ballot, an indicator score and an
    approved adjustment for one cadre, computed by city staff."""
    p = new_period(app)
    cadre = cadre_in(app, "XY03T", offset=3)
    staff, city = login(app.test_client(), "kpy_luoshan"), login(app.test_client(), "kpy_city")
    for value in (86, 90):
        assert staff.post(sheet_url(p), json=sheet_body(p, cadre.id, value)).status_code == 200
    ballot = staff.post(f"/entry/ballot/{p['id']}/{p['groups']['群众评价']}",
                        json={"cadre_id": cadre.id, "values": {"excellent": 30, "competent": 8, "unknown": 2}})
    assert ballot.status_code == 200
    entered = str(p["indicators"]["项目建设实绩"])
    assert staff.post(f"/entry/indicator/{p['id']}",
                      json={"cadre_id": cadre.id, "values": {entered: "91.5"}}).status_code == 200
    staff.post(f"/adjustments/propose/{p['id']}", data={"cadre": cadre.id, "kind": "加分", "value": "2",
                                                        "reason": "获市级表彰"})
    from app.models import Adjustment

    with app.app_context():
        adjustment = db.session.scalar(select(Adjustment.id).where(Adjustment.period_id == p["id"]))
    city.post(f"/adjustments/approve/{adjustment}")
    assert "已计算" in follow_job(city, app, city.post(f"/periods/compute/{p['id']}"))  # a background job
    with app.app_context():
        result = db.session.scalar(select(EvaluationResult.id).where(EvaluationResult.period_id == p["id"],
                                                                     EvaluationResult.cadre_id == cadre.id))
    assert result is not None
    return {"period": p, "cadre": cadre, "result": result, "staff": staff}


def test_a_fresh_result_matches_its_inputs(app, traced):
    from app.evaluation.trace import trace

    with app.app_context():
        t = trace(traced["result"])
    assert t["matches"] is True, [c for c in t["checks"] if not c["matches"]]
    assert t["stored"]["sheets"] == {"组织评价": 2} and t["current"]["sheets"] == {"组织评价": 2}
    assert t["current"]["ballots"] == {"群众评价": 40}
    assert t["current"]["indicators"] == {"项目建设实绩": 91.5}
    assert t["current"]["adjustments"] == 1
    assert [a["approved_by"] for a in t["adjustments"]] == ["kpy_city"] and t["adjustments"][0]["reason"] == "获市级表彰"
    assert sorted(s["values"]["德"] for s in t["sheets"]) == [86, 90] and all(s["created_at"] for s in t["sheets"])
    assert len(t["supervision"]) == 5 and t["audit"] == []


def test_the_page_and_the_api_show_the_trace(traced):
    staff, rid = traced["staff"], traced["result"]
    page = staff.get(f"/results/{rid}/trace")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "考评结果溯源" in text and traced["cadre"].name in text and "一致：" in text and "获市级表彰" in text
    listing = staff.get(f"/results/list/?period={traced['period']['code']}").get_data(as_text=True)
    assert f"/results/{rid}/trace" in listing and "溯源" in listing
    assert f"/results/{rid}/trace" in staff.get(f"/results/show/{rid}").get_data(as_text=True)
    headers = api_token(staff.application.test_client(), "kpy_luoshan")
    body = staff.application.test_client().get(f"/api/v1/results/{rid}/trace", headers=headers).get_json()
    assert body["result"]["matches"] is True and body["result"]["cadre"]["code"] == traced["cadre"].code


def test_a_changed_input_shows_the_mismatch_and_the_audit_entry(app, traced):
    from app.evaluation.trace import trace

    p, cadre, staff, rid = traced["period"], traced["cadre"], traced["staff"], traced["result"]
    assert staff.post(sheet_url(p), json=sheet_body(p, cadre.id, 60)).status_code == 200
    with app.app_context():
        t = trace(rid)
    assert t["matches"] is False and t["period_stale"] is True
    wrong = [c for c in t["checks"] if not c["matches"]]
    assert wrong == [{"item": "评分表·组织评价", "stored": 2, "current": 3, "matches": False}]
    created = [a for a in t["audit"] if a["table"] == "score_sheet"]
    assert len(created) == 1 and created[0]["action"] == "create" and created[0]["username"] == "kpy_luoshan"
    assert any(a["table"] == "sheet_score" and "60" in a["new"] for a in t["audit"])
    text = staff.get(f"/results/{rid}/trace").get_data(as_text=True)
    assert "不一致" in text and "评分表·组织评价" in text and "组织部考评员（罗山县）" in text  # by name (issue 14)

    # Another cadre's new sheet is not this result's business.
    other = cadre_in(app, "XY03T", offset=4)
    assert staff.post(sheet_url(p), json=sheet_body(p, other.id, 70)).status_code == 200
    with app.app_context():
        assert len(trace(rid)["audit"]) == len(t["audit"])


def test_out_of_scope_or_unpublished_is_not_found(app, traced):
    from app.org.users import create_user

    with app.app_context():
        create_user("trace_kpy_gs", PASSWORD, "组织部考评员", "XY04")
    rid = traced["result"]
    for username in ("trace_kpy_gs", "ld_luoshan", "dcy_luoshan"):  # another county; unpublished results
        client = login(app.test_client(), username)
        assert client.get(f"/results/{rid}/trace").status_code == 404, username
        headers = api_token(app.test_client(), username)
        assert app.test_client().get(f"/api/v1/results/{rid}/trace", headers=headers).status_code == 404, username
    assert traced["staff"].get("/results/99999999/trace").status_code == 404
    client = login(app.test_client(), "llr_luoshan_t01")  # liaisons have no results at all
    assert client.get(f"/results/{rid}/trace").status_code in (302, 403)
