"""/api/v1/tasks/ and /api/v1/findings/: scoped reads, writes only through the services,
the workflow routes, and Chinese refusals with the right status."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Finding, SupervisionTask
from app.supervision.setup import seed_defaults
from tests.conftest import api_token
from tests.supervision_data import make_finding, make_task, now, tag, task_state


@pytest.fixture(scope="module", autouse=True)
def defaults(app):
    with app.app_context():
        seed_defaults()


@pytest.fixture(scope="module")
def rows(app):
    with app.app_context():
        return {
            "in": make_task("XY03T01", ("XY03D01",)),
            "other": make_task("XY03T02", ()),
            "out": make_task("XY04T01", (), by="dcy_city"),
            "f_in": make_finding("XY03T01"),
            "f_out": make_finding("XY04T01", by="dcy_city"),
        }


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(model.id)))


READS = {  # user -> (task keys visible, finding keys visible)
    "dcy_luoshan": ({"in", "other"}, {"f_in"}),
    "ld_luoshan": ({"in", "other"}, {"f_in"}),
    "llr_luoshan_t01": ({"in"}, {"f_in"}),
    "llr_luoshan_d01": ({"in"}, set()),
    "ld_guangshan": ({"out"}, {"f_out"}),
}


@pytest.mark.parametrize("username", sorted(READS))
def test_reads_are_scoped(client, rows, username):
    headers = api_token(client, username)
    tasks, findings = READS[username]
    listing = client.get("/api/v1/tasks/?q=(page_size:200)", headers=headers).get_json()
    codes = {item["code"] for item in listing["result"]}
    for key in ("in", "other", "out"):
        assert (rows[key]["code"] in codes) == (key in tasks), (username, key)
        status = client.get(f"/api/v1/tasks/{rows[key]['id']}", headers=headers).status_code
        assert status == (200 if key in tasks else 404), (username, key)
    for key in ("f_in", "f_out"):
        status = client.get(f"/api/v1/findings/{rows[key]['id']}", headers=headers).status_code
        assert status == (200 if key in findings else 404), (username, key)


def test_items_carry_computed_light_and_assignments(client, rows):
    headers = api_token(client, "dcy_luoshan")
    item = client.get(f"/api/v1/tasks/{rows['in']['id']}", headers=headers).get_json()["result"]
    assert item["state_label"] == "已交办" and item["light"] in ("green", "yellow", "red")
    assert item["lead_unit"]["code"] == "XY03T01" and item["assist_units"] == ["XY03D01"]
    assert [a["unit"] for a in item["assignments"]] == ["XY03T01", "XY03D01"]
    red = client.get("/api/v1/tasks/?q=(page_size:200)&light=red", headers=headers).get_json()["result"]
    assert all(x["light"] == "red" for x in red)


def test_create_update_delete_a_draft_through_the_services(client, app):
    headers = api_token(client, "dcy_luoshan")
    code = "API" + tag()
    body = {"code": code, "title": "接口创建", "rule": "普通事项", "lead_unit": "XY03T01", "assist_units": ["XY03D01"],
            "category": "督大事"}
    created = client.post("/api/v1/tasks/", json=body, headers=headers)
    assert created.status_code == 201, created.get_json()
    pk = created.get_json()["id"]
    version = created.get_json()["result"]["version"]
    updated = client.put(f"/api/v1/tasks/{pk}", json={"title": "接口修改", "version": version}, headers=headers)
    assert updated.status_code == 200 and updated.get_json()["result"]["code"] == code
    stale = client.put(f"/api/v1/tasks/{pk}", json={"title": "旧副本", "version": version}, headers=headers)
    assert stale.status_code == 409 and "已被他人修改" in stale.get_json()["message"]
    assert client.post(f"/api/v1/tasks/{pk}/assign", json={}, headers=headers).status_code == 200
    refused = client.delete(f"/api/v1/tasks/{pk}", headers=headers)
    assert refused.status_code == 400 and "只有草稿可以删除" in refused.get_json()["message"]
    draft = client.post("/api/v1/tasks/", json={**body, "code": code + "D"}, headers=headers).get_json()["id"]
    assert client.delete(f"/api/v1/tasks/{draft}", headers=headers).status_code == 200
    with app.app_context():
        assert db.session.get(SupervisionTask, draft) is None
        assert task_state(pk)[0] == "assigned"


def test_an_out_of_scope_unit_in_a_write_is_refused(client, app, rows):
    headers = api_token(client, "dcy_luoshan")
    before = count(app, SupervisionTask)
    for body in ({"lead_unit": "XY04T01"}, {"lead_unit": "XY03T01", "assist_units": ["XY04T02"]},
                 {"lead_unit": "NOSUCH"}):
        response = client.post("/api/v1/tasks/", json={"code": "X" + tag(), "title": "越权", "rule": "普通事项", **body},
                               headers=headers)
        assert response.status_code == 400 and "管辖范围" in response.get_json()["message"], body
    assert count(app, SupervisionTask) == before
    # moving a draft of one's own county to another county is refused too
    with app.app_context():
        draft = make_task(ago=None)
    moved = client.put(f"/api/v1/tasks/{draft['id']}", json={"lead_unit": "XY04T01"}, headers=headers)
    assert moved.status_code == 400
    assert client.put(f"/api/v1/tasks/{rows['out']['id']}", json={"title": "x"}, headers=headers).status_code == 404
    assert client.delete(f"/api/v1/tasks/{rows['out']['id']}", headers=headers).status_code == 404
    before = count(app, Finding)
    response = client.post("/api/v1/findings/", headers=headers, json={
        "inspection": rows["f_in"]["inspection_code"], "unit": "XY04T01", "description": "越权", "category": "作风建设",
        "severity": "一般", "continuous": True})
    assert response.status_code == 400 and count(app, Finding) == before


@pytest.mark.parametrize("username,expected", [("ld_luoshan", 403), ("llr_luoshan_t01", 403), ("kpy_luoshan", 403)])
def test_roles_without_write_cannot_write(client, app, rows, username, expected):
    headers = api_token(client, username)
    before = count(app, SupervisionTask)
    body = {"code": "R" + tag(), "title": "无权", "rule": "普通事项", "lead_unit": "XY03T01"}
    assert client.post("/api/v1/tasks/", json=body, headers=headers).status_code == expected
    assert client.put(f"/api/v1/tasks/{rows['in']['id']}", json={"title": "x"}, headers=headers).status_code == expected
    assert client.delete(f"/api/v1/tasks/{rows['in']['id']}", headers=headers).status_code == expected
    assert client.post(f"/api/v1/tasks/{rows['in']['id']}/terminate", json={"reason": "x"},
                       headers=headers).status_code == expected
    assert client.post(f"/api/v1/findings/{rows['f_in']['id']}/verify", json={}, headers=headers).status_code == expected
    assert count(app, SupervisionTask) == before


def test_workflow_routes(client, app):
    with app.app_context():
        row = make_task("XY03T01", (), ago=0)
    sup, llr, leader = (api_token(client, u) for u in ("dcy_luoshan", "llr_luoshan_t01", "ld_luoshan"))
    pk = row["id"]
    assert client.post(f"/api/v1/tasks/{pk}/sign", json={}, headers=leader).status_code == 403
    response = client.post(f"/api/v1/tasks/{pk}/approve", json={}, headers=sup)
    assert response.status_code == 400 and "不能审核通过" in response.get_json()["message"]
    assert client.post(f"/api/v1/tasks/{pk}/sign", json={}, headers=llr).get_json()["result"]["state"] == "in_progress"
    again = client.post(f"/api/v1/tasks/{pk}/sign", json={}, headers=llr)
    assert again.status_code == 400 and "不能重复签收" in again.get_json()["message"]
    assert client.post(f"/api/v1/tasks/{pk}/report", headers=llr, json={
        "done_text": "进展", "attachments": [{"filename": "a.txt", "content_base64": "5L2g5aW9"}]}).status_code == 201
    new_date = (now() + timedelta(days=40)).date().isoformat()
    asked = client.post(f"/api/v1/tasks/{pk}/extension", json={"new_date": new_date, "reason": "需协调"}, headers=llr)
    assert asked.status_code == 201
    rid = asked.get_json()["result"]["id"]
    rejected = client.post(f"/api/v1/tasks/{pk}/extensions/{rid}", json={"approve": False}, headers=sup)
    assert rejected.status_code == 400 and "须说明理由" in rejected.get_json()["message"]
    assert client.post(f"/api/v1/tasks/{pk}/extensions/{rid}", json={"approve": True},
                       headers=sup).get_json()["result"]["state"] == "approved"
    assert client.post(f"/api/v1/tasks/{pk}/remind", json={"message": "快"}, headers=sup).status_code == 201
    done = client.post(f"/api/v1/tasks/{pk}/complete", json={"done_text": "完成"}, headers=llr)
    assert done.get_json()["result"]["state"] == "pending_review"
    assert client.post(f"/api/v1/tasks/{pk}/return", json={"reason": "补充"}, headers=sup).status_code == 200
    client.post(f"/api/v1/tasks/{pk}/complete", json={"done_text": "补充完成"}, headers=llr)
    assert client.post(f"/api/v1/tasks/{pk}/approve", json={}, headers=sup).get_json()["result"]["state"] == "completed"
    # another liaison of the county cannot act on an item not addressed to its unit
    other = api_token(client, "llr_luoshan_d01")
    assert client.post(f"/api/v1/tasks/{pk}/sign", json={}, headers=other).status_code == 404


def test_out_of_scope_workflow_route_is_404(client, rows):
    headers = api_token(client, "dcy_luoshan")
    for action in ("assign", "approve", "terminate"):
        assert client.post(f"/api/v1/tasks/{rows['out']['id']}/{action}", json={"reason": "x"},
                           headers=headers).status_code == 404


def test_findings_writes_and_workflow(client, app, rows):
    sup, llr = api_token(client, "dcy_luoshan"), api_token(client, "llr_luoshan_t01")
    created = client.post("/api/v1/findings/", headers=sup, json={
        "inspection": rows["f_in"]["inspection_code"], "unit": "XY03T01", "description": "接口登记的问题",
        "category": "安全生产", "severity": "严重", "deadline": (now() + timedelta(days=7)).date().isoformat()})
    assert created.status_code == 201, created.get_json()
    pk = created.get_json()["id"]
    assert client.put(f"/api/v1/findings/{pk}", json={"state": "closed"}, headers=sup).status_code == 405
    assert client.delete(f"/api/v1/findings/{pk}", headers=sup).status_code == 405
    assert client.post(f"/api/v1/findings/{pk}/start", json={}, headers=sup).status_code == 403
    assert client.post(f"/api/v1/findings/{pk}/start", json={}, headers=llr).get_json()["result"]["state"] == "rectifying"
    assert client.post(f"/api/v1/findings/{pk}/rectification", json={"text": "已整改"},
                       headers=llr).get_json()["result"]["state"] == "awaiting_verification"
    assert client.post(f"/api/v1/findings/{pk}/verify", json={}, headers=sup).get_json()["result"]["state"] == "closed"
    bad = client.post(f"/api/v1/findings/{pk}/accountability", json={"measures": ["罚款"]}, headers=sup)
    assert bad.status_code == 400 and "无效" in bad.get_json()["message"]
    ok = client.post(f"/api/v1/findings/{pk}/accountability", json={"measures": ["约谈"]}, headers=sup)
    assert ok.get_json()["result"]["accountability"] == "约谈"
    item = client.get(f"/api/v1/findings/{pk}", headers=sup).get_json()["result"]
    assert item["state_label"] == "已销号" and item["overdue"] is False
