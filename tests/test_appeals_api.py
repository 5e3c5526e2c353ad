"""REST API of appeals (PLATFORM.md §3): the list's fields, masked personal data, scope (404),
every workflow action as a POST, Chinese refusals and a 409 for the loser of a race."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select, update

from app.core import claims
from app.extensions import db
from app.models import Appeal, AppUser, LeaderCharge, OrgUnit
from app.org.units import create_unit
from app.org.users import create_user
from app.security import roles as R
from tests.conftest import api_token

PASSWORD = "Str0ng!Passw0rd"
GRID = "XY03T01V01G92"
USERS = {
    "disp": (R.DISPATCHER, "XY03"), "disp_out": (R.DISPATCHER, "XY04"), "town": (R.LIAISON, "XY03T01"),
    "village": (R.LIAISON, "XY03T01V01"), "grid": (R.GRID_WORKER, GRID), "dept": (R.LIAISON, "XY03D01"),
    "dept2": (R.LIAISON, "XY03D02"), "leader": (R.LEADER, "XY03"), "sup": (R.SUPERVISOR, "XY03"),
    "staff": (R.STAFF, "XY03"),
}


@pytest.fixture(scope="module")
def tokens(app):
    with app.app_context():
        village = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "XY03T01V01"))
        create_unit(GRID, "接口测试网格", "grid", village)
        for key, (role, unit) in USERS.items():
            create_user(f"api_{key}", PASSWORD, role, unit)
        leader = db.session.scalar(select(AppUser).where(AppUser.username == "api_leader"))
        for code in ("XY03D01", "XY03D02"):
            db.session.add(LeaderCharge(leader_id=leader.id,
                                        org_unit_id=db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == code))))
        db.session.commit()
    client = app.test_client()
    return {key: api_token(client, f"api_{key}", PASSWORD) for key in USERS}


def _register(client, tokens, **fields) -> dict:
    body = {"source": "12345热线", "content": "小区门口路灯不亮", "place": GRID, "external_number": uuid.uuid4().hex[:12],
            "citizen_name": "李四", "citizen_phone": "13912345678", "urgency": "一般", **fields}
    answer = client.post("/api/v1/appeals/register", json=body, headers=tokens["disp"])
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def _post(client, tokens, who, pk, action, body=None, status=200):
    answer = client.post(f"/api/v1/appeals/{pk}/{action}", json=body or {}, headers=tokens[who])
    assert answer.status_code == status, (action, answer.get_json())
    return answer.get_json()


def _now() -> str:
    return dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")


def test_the_list_carries_the_fields_with_masked_personal_data(client, tokens):
    made = _register(client, tokens)
    answer = client.get("/api/v1/appeals/", headers=tokens["disp"])
    assert answer.status_code == 200
    item = next(i for i in answer.get_json()["result"] if i["id"] == made["id"])
    assert item["number"] == made["result"]["number"] and item["source"] == "12345热线"
    assert item["state"] == "to_dispatch" and item["state_label"] == "待分派"
    assert item["handler_unit_code"] == "XY03" and item["occurred_unit_code"] == GRID
    assert item["sign_deadline"] is None
    assert dt.datetime.fromisoformat(item["reply_deadline"]) > dt.datetime.fromisoformat(item["received_at"])
    assert item["resolved_level"] is None and item["reopen_count"] == 0
    assert item["citizen_name"] == "李*" and item["citizen_phone"] == "139****5678"
    assert "李四" not in answer.get_data(as_text=True) and "13912345678" not in answer.get_data(as_text=True)


def test_one_appeal_shows_personal_data_only_to_its_handling_and_reviewing_units(client, tokens):
    made = _register(client, tokens)
    mine = client.get(f"/api/v1/appeals/{made['id']}", headers=tokens["disp"]).get_json()["result"]
    assert mine["citizen_name"] == "李四" and mine["citizen_phone"] == "13912345678"
    assert "dispatch" in mine["available_actions"]
    other = client.get(f"/api/v1/appeals/{made['id']}", headers=tokens["staff"])
    assert other.status_code == 200 and other.get_json()["result"]["citizen_name"] == "李*"


def test_out_of_scope_is_404_for_reads_and_actions(client, tokens):
    made = _register(client, tokens)
    assert client.get(f"/api/v1/appeals/{made['id']}", headers=tokens["disp_out"]).status_code == 404
    refused = client.post(f"/api/v1/appeals/{made['id']}/dispatch", json={"unit": "XY03T01"}, headers=tokens["disp_out"])
    assert refused.status_code == 404 and "诉求不存在或不在您的管辖范围内" in refused.get_json()["message"]
    ids = [i["id"] for i in client.get("/api/v1/appeals/", headers=tokens["disp_out"]).get_json()["result"]]
    assert made["id"] not in ids
    assert client.get(f"/api/v1/appeals/{made['id']}/history", headers=tokens["disp_out"]).status_code == 404


def test_a_hotline_appeal_travels_by_whistle_and_back_with_a_reopen(client, tokens):
    pk = _register(client, tokens)["id"]
    assert _post(client, tokens, "disp", pk, "dispatch", {"unit": "XY03T01"})["result"]["state"] == "to_sign"
    assert _post(client, tokens, "town", pk, "sign")["result"]["state"] == "handling"
    whistled = _post(client, tokens, "town", pk, "whistle", {"unit": "XY03D01", "reason": "需要部门处理"})
    assert whistled["result"]["handler_unit"] == "XY03D01"
    _post(client, tokens, "dept", pk, "sign")
    reply = {"contact_whom": "李四", "contact_at": _now(), "contact_way": "电话", "measures": "已更换灯泡",
             "result": "已解决", "finished_at": _now()}
    assert _post(client, tokens, "dept", pk, "reply", reply, 201)["result"]["state"] == "to_review"
    assert _post(client, tokens, "disp", pk, "review", {"approve": True})["result"]["state"] == "to_callback"
    assert _post(client, tokens, "disp", pk, "callback", {"result": "不满意"}, 201)["result"]["state"] == "handling"
    _post(client, tokens, "dept", pk, "reply", reply, 201)
    _post(client, tokens, "disp", pk, "review", {"approve": True})
    assert _post(client, tokens, "disp", pk, "callback", {"result": "满意"}, 201)["result"]["state"] == "closed"
    item = client.get(f"/api/v1/appeals/{pk}", headers=tokens["disp"]).get_json()["result"]
    assert item["reopen_count"] == 1 and item["resolved_level"] == "县区部门"
    history = client.get(f"/api/v1/appeals/{pk}/history", headers=tokens["disp"]).get_json()["result"]
    actions = [h["action"] for h in history]
    assert actions[:4] == ["create", "dispatch", "sign", "whistle_to_department"]
    assert any(h["to_unit"] == "XY03D01" and h["reason"] == "需要部门处理" for h in history)


def test_a_grid_report_escalates_and_a_refusal_is_ruled(client, tokens):
    made = client.post("/api/v1/appeals/report", json={"content": "井盖缺失"}, headers=tokens["grid"])
    assert made.status_code == 201, made.get_json()
    pk = made.get_json()["id"]
    assert _post(client, tokens, "grid", pk, "escalate", {"reason": "需村里协调"})["result"]["handler_unit"] == "XY03T01V01"
    _post(client, tokens, "village", pk, "sign")
    _post(client, tokens, "village", pk, "escalate", {"reason": "需乡镇处理"})
    refused = _post(client, tokens, "town", pk, "refuse", {"reason_kind": "其他", "reason": "应由村里处理"})
    assert refused["result"]["state"] == "to_dispatch"
    ruled = _post(client, tokens, "village", pk, "rule", {"decision": "overrule"})
    assert ruled["result"]["state"] == "to_sign"
    again = client.post(f"/api/v1/appeals/{pk}/refuse", json={"reason_kind": "职能不符"}, headers=tokens["town"])
    assert again.status_code == 400 and "退单已被驳回" in again.get_json()["message"]


def test_a_whistle_to_the_leader_who_names_lead_and_assist(client, tokens):
    pk = _register(client, tokens)["id"]
    _post(client, tokens, "disp", pk, "dispatch", {"unit": "XY03T01"})
    _post(client, tokens, "town", pk, "sign")
    _post(client, tokens, "town", pk, "whistle", {"leader": "api_leader", "reason": "涉及多个部门"})
    named = _post(client, tokens, "leader", pk, "leader-assign", {"lead": "XY03D01", "assist": ["XY03D02"]})
    assert named["result"]["state"] == "to_sign" and named["result"]["handler_unit"] == "XY03D01"
    _post(client, tokens, "dept2", pk, "sign")  # the assisting department signs its part
    _post(client, tokens, "dept", pk, "sign")
    detail = client.get(f"/api/v1/appeals/{pk}", headers=tokens["disp"]).get_json()["result"]
    assert {(a["unit"], a["role"], a["state"]) for a in detail["assignments"] if a["kind"] == "leader"} == {
        ("XY03D01", "lead", "signed"), ("XY03D02", "assist", "signed")}


def test_merge_and_to_supervision(client, tokens):
    master = _register(client, tokens)["id"]
    duplicate = _register(client, tokens)["id"]
    master_number = client.get(f"/api/v1/appeals/{master}", headers=tokens["disp"]).get_json()["result"]["number"]
    merged = _post(client, tokens, "disp", duplicate, "merge", {"master": master_number, "reason": "重复来电"})
    assert merged["result"]["state"] == "merged"
    late = _register(client, tokens, received_at="2026-01-05 09:00")["id"]
    _post(client, tokens, "disp", late, "dispatch", {"unit": "XY03T01"})
    turned = _post(client, tokens, "sup", late, "to-supervision", status=201)
    assert turned["result"]["supervision_task"]["code"]
    detail = client.get(f"/api/v1/appeals/{late}", headers=tokens["sup"]).get_json()["result"]
    assert detail["supervision_task"] == turned["result"]["supervision_task"]["code"]


def test_refusals_are_chinese_and_change_nothing(client, tokens):
    pk = _register(client, tokens)["id"]
    wrong_role = client.post(f"/api/v1/appeals/{pk}/dispatch", json={"unit": "XY03T01"}, headers=tokens["town"])
    assert wrong_role.status_code in (401, 403)
    bad_unit = client.post(f"/api/v1/appeals/{pk}/dispatch", json={"unit": "NOPE"}, headers=tokens["disp"])
    assert bad_unit.status_code == 400 and "承办单位“NOPE”不存在" in bad_unit.get_json()["message"]
    too_early = client.post(f"/api/v1/appeals/{pk}/review", json={"approve": True}, headers=tokens["disp"])
    assert too_early.status_code == 400 and "不能审核答复" in too_early.get_json()["message"]
    assert client.post(f"/api/v1/appeals/{pk}/review", json={}, headers=tokens["disp"]).status_code == 400
    state = client.get(f"/api/v1/appeals/{pk}", headers=tokens["disp"]).get_json()["result"]["state"]
    assert state == "to_dispatch"


def test_the_loser_of_a_race_gets_a_chinese_409(app, client, tokens, monkeypatch):
    pk = _register(client, tokens)["id"]
    _post(client, tokens, "disp", pk, "dispatch", {"unit": "XY03T01"})
    original = claims.claim

    def someone_else_first(obj, column, expected, message):
        """Another user's sign commits between this request's read and its claim."""
        if isinstance(obj, Appeal):
            with db.engine.begin() as conn:
                conn.execute(update(Appeal.__table__).where(Appeal.__table__.c.id == obj.id).values(state="handling"))
        return original(obj, column, expected, message)

    monkeypatch.setattr(claims, "claim", someone_else_first)
    lost = client.post(f"/api/v1/appeals/{pk}/sign", json={}, headers=tokens["town"])
    assert lost.status_code == 409 and "已被他人处理" in lost.get_json()["message"]
    monkeypatch.setattr(claims, "claim", original)
    with app.app_context():
        row = db.session.get(Appeal, pk)
        assert [a.state for a in row.assignments] == ["pending"]  # the loser changed nothing
