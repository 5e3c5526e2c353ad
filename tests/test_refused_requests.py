"""A refused request changes nothing (issue 12, point 5).

- Two ids in one route: an extension decided through another item's URL is a 404 and no
  decision is saved (before: saved, then 404). Reports and attachments of an item
  (/api/v1/tasks/<pk>/reports/<rid>, …/attachments/<aid>): tests/test_shared_items.py.
- JSON from outside: a scheme (upload, form, CLI) or an API body nested 100,000 deep or
  holding NaN/Infinity is a Chinese 400 and changes nothing (before: RecursionError 500, or
  the NaN stored).
"""

from __future__ import annotations

import io
import json
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, EvaluationScheme, ExtensionRequest, SupervisionTask
from app.supervision import tasks as S
from tests.conftest import api_token, login, run_cli
from tests.supervision_data import make_task, now, user
from tests.test_eval_services import scheme_json
from tests.test_eval_views import scheme_form

DEEP = "[" * 100_000 + "]" * 100_000


# ---------------------------------------------------------------- two ids in one route


def _pending_extension(app) -> dict:
    with app.app_context():
        row = make_task(sign=True)
        task = db.session.get(SupervisionTask, row["id"])
        new_date = (task.complete_due + timedelta(days=10)).date()
        request = S.request_extension(row["id"], row["assignments"]["XY03T01"], new_date, "需要更多时间",
                                      user=user("llr_luoshan_t01"), now=now())
        return {"task": row["id"], "rid": request.id, "due": task.complete_due, "version": task.version}


def _unchanged(app, ext: dict) -> None:
    with app.app_context():
        request = db.session.get(ExtensionRequest, ext["rid"])
        assert request.state == "pending" and request.decided_by is None
        task = db.session.get(SupervisionTask, ext["task"])
        assert (task.complete_due, task.version) == (ext["due"], ext["version"])
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.table_name == "extension_request", AuditLog.row_id == str(ext["rid"]),
            AuditLog.action == "update")) == 0


@pytest.mark.parametrize("approve", [True, False])
def test_an_extension_decided_through_another_items_url_is_404_and_not_saved(app, approve):
    ext = _pending_extension(app)
    with app.app_context():
        other = make_task(sign=True)["id"]  # an item the supervisor may run, of another request
    client = app.test_client()
    headers = api_token(client, "dcy_luoshan")
    answer = client.post(f"/api/v1/tasks/{other}/extensions/{ext['rid']}", headers=headers,
                         json={"approve": approve, "note": "驳回理由"})
    assert answer.status_code == 404, answer.get_data(as_text=True)
    assert answer.get_json()["message"] == "延期申请不存在或不在您的管辖范围内"
    _unchanged(app, ext)
    page = login(app.test_client(), "dcy_luoshan").post(
        f"/tasks/{other}/extension/{ext['rid']}", data={"decision": "approve" if approve else "reject", "note": "x"})
    assert page.status_code == 404
    _unchanged(app, ext)
    done = client.post(f"/api/v1/tasks/{ext['task']}/extensions/{ext['rid']}", headers=headers,
                       json={"approve": approve, "note": "驳回理由"})
    assert done.status_code == 200  # through its own item it is decided


# ---------------------------------------------------------------- schemes


def _schemes(app, name: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(EvaluationScheme)
                                 .where(EvaluationScheme.name == name))


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


BAD_SCHEMES = {
    "deep": lambda name: DEEP.encode(),
    "deep-inside": lambda name: json.dumps({**scheme_json(name), "name": name})[:-1].encode()
    + b', "x": ' + DEEP.encode() + b"}",
    "nan": lambda name: json.dumps({**scheme_json(name), "adjustment_cap": float("nan")}).encode(),
    "infinity": lambda name: json.dumps({**scheme_json(name), "sanping_weight": float("inf")}).encode(),
    "1e999": lambda name: json.dumps(scheme_json(name)).replace('"trim_min": 5', '"trim_min": 5, "x": 1e999').encode(),
    "nan-as-text": lambda name: json.dumps({**scheme_json(name), "adjustment_cap": "NaN"}).encode(),
}
REASONS = {"deep": "嵌套层数过深", "deep-inside": "嵌套层数过深", "nan": "NaN", "infinity": "Infinity",
           "1e999": "超出范围", "nan-as-text": "有限的数字"}


@pytest.mark.parametrize("case", list(BAD_SCHEMES))
def test_a_hostile_scheme_upload_is_a_chinese_400(app, case):
    name = f"恶意方案{uuid.uuid4().hex[:6]}"
    client = login(app.test_client(), "kpy_city")
    answer = client.post("/schemes/upload/", data={"file": (io.BytesIO(BAD_SCHEMES[case](name)), "s.json")},
                         content_type="multipart/form-data")
    assert answer.status_code == 400, answer.status_code
    page = _text(answer.get_data(as_text=True))
    assert "导入被拒绝" in page or "不是有效的 JSON" in page, page[:300]
    assert REASONS[case] in page
    assert _schemes(app, name) == 0


@pytest.mark.parametrize("field, value", [("adjustment_cap", "nan"), ("sanping_weight", "inf"),
                                          ("excellent_min", "-Infinity")])
def test_the_scheme_form_refuses_nan_and_infinity(app, field, value):
    name = f"表单方案{uuid.uuid4().hex[:6]}"
    client = login(app.test_client(), "kpy_city")
    answer = client.post("/schemes/form/", data={**scheme_form(name), field: value})
    assert answer.status_code == 400
    assert "有限的数字" in _text(answer.get_data(as_text=True))
    assert _schemes(app, name) == 0


def test_the_cli_refuses_a_deep_scheme_in_chinese(fresh_db_url, tmp_path):
    run_cli(fresh_db_url, "setup")
    path = tmp_path / "deep.json"
    path.write_text(DEEP)
    result = run_cli(fresh_db_url, "eval", "import-scheme", str(path), check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-500:]
    assert "嵌套层数过深" in result.stderr


# ---------------------------------------------------------------- API bodies


def _write_routes(app) -> list[tuple[str, str]]:
    """(method, url) of every /api/v1 route that takes a body, keys filled with 1."""
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        url = re.sub(r"<[^>]+>", "1", rule.rule)
        out += [(m, url) for m in sorted((rule.methods or set()) & {"POST", "PUT", "PATCH"})]
    return sorted(set(out))


def test_every_api_write_refuses_a_deep_body_with_a_chinese_400(app):
    client = app.test_client()
    headers = {**api_token(client, "admin"), "Content-Type": "application/json"}
    routes = _write_routes(app)
    assert ("POST", "/api/v1/tasks/") in routes and ("POST", "/api/v1/security/login") in routes
    for method, url in routes:
        answer = client.open(url, method=method, headers=headers, data=DEEP)
        assert answer.status_code == 400, (method, url, answer.status_code)
        assert "嵌套层数过深" in answer.get_json()["message"], (method, url)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_an_api_body_with_nan_or_infinity_is_a_chinese_400(app, value):
    client = app.test_client()
    headers = {**api_token(client, "dcy_luoshan"), "Content-Type": "application/json"}
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(SupervisionTask))
    fields = {"code": f"NAN{uuid.uuid4().hex[:6]}", "title": "@", "lead_unit": "XY03T01", "rule": "普通事项",
              "category": "督实事"}
    body = json.dumps(fields, ensure_ascii=False).replace('"@"', value)  # json.dumps would write NaN itself
    answer = client.post("/api/v1/tasks/", headers=headers, data=body)
    assert answer.status_code == 400 and "请求体不是有效的 JSON" in answer.get_json()["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SupervisionTask)) == before
