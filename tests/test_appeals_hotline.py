"""The 12345 link (PLATFORM.md §3): work orders in by file (CLI and the dispatchers' upload,
a background job) and by JSON (POST /api/v1/appeals/hotline), with the same rules — every bad
row listed in Chinese, all or nothing, idempotent on 工单编号, unknown categories added to the
catalogue — and the answers back (export-hotline, GET /api/v1/appeals/hotline/updates)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from app.appeals import hotline as H
from app.appeals import services as S
from app.core.errors import ImportRejected
from app.extensions import db
from app.models import Appeal, AppealCategory, AppealEvent, AppUser, OrgUnit
from app.org.units import create_unit
from app.org.users import create_user
from app.security import roles as R
from tests.conftest import api_token, login
from tests.jobs_support import follow_job

GRID = "XY03T01V01G91"
PASSWORD = "Str0ng!Passw0rd"


@pytest.fixture(scope="module")
def people(app):
    """A grid of 罗山县, dispatchers of the county and of the city, and the township's liaison."""
    with app.app_context():
        village = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "XY03T01V01"))
        create_unit(GRID, "测试网格", "grid", village)
        create_user("hl_disp", PASSWORD, R.DISPATCHER, "XY03")
        create_user("hl_disp_city", PASSWORD, R.DISPATCHER, "XY")
        create_user("hl_liaison", PASSWORD, R.LIAISON, "XY03T01")
    return {"dispatcher": "hl_disp", "city": "hl_disp_city", "liaison": "hl_liaison"}


def _user(name: str) -> AppUser:
    return db.session.scalar(select(AppUser).where(AppUser.username == name))


def _number() -> str:
    return "12345-" + uuid.uuid4().hex[:10]


def _row(number=None, received="2026-11-20 09:30", name="张三", phone="13812345678", category="道路破损",
         content="路面塌陷", place=GRID, urgency="一般") -> list[str]:
    return [_number() if number is None else number, received, name, phone, category, content, place, urgency]


def _csv(*rows) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(H.HEADER)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _xlsx(*rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(H.HEADER)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(Appeal).where(Appeal.source == H.SOURCE))


def test_good_rows_start_to_dispatch_at_the_dispatcher(ctx, people):
    user = _user(people["dispatcher"])
    first, second = _row(), _row(urgency="紧急", received="2026-11-21 08:00")
    counts = H.import_hotline(_csv(first, second), "h.csv", user=user)
    assert counts["created"] == 2 and counts["skipped"] == 0 and counts["dispatch_unit"] == "XY03"
    appeal = db.session.scalar(select(Appeal).where(Appeal.external_number == second[0]))
    assert appeal.state == "to_dispatch" and appeal.source == "12345热线"
    assert appeal.handler_unit.code == "XY03" and appeal.reviewer_unit_id == appeal.handler_unit_id
    assert appeal.occurred_unit.code == GRID and appeal.citizen_name == "张三"
    assert appeal.received_at == dt.datetime(2026, 11, 21, 8, 0)
    assert appeal.reply_deadline == dt.datetime(2026, 11, 22, 8, 0)  # 紧急: 24 hours from receipt
    assert appeal.number.startswith("SQ-")
    event = db.session.scalar(select(AppealEvent).where(AppealEvent.appeal_id == appeal.id))
    assert event.action == "create" and second[0] in event.reason
    # the imported appeal goes on like any other: the dispatcher dispatches it
    S.dispatch(appeal.id, db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == "XY03T01")), user=user)
    assert db.session.get(Appeal, appeal.id).state == "to_sign"


def test_every_bad_row_is_listed_and_nothing_is_written(ctx, people):
    user = _user(people["dispatcher"])
    before = _count()
    dupe = _number()
    rows = [
        _row(),                                           # 2: good
        _row(number=""),                                  # 3
        _row(number=dupe), _row(number=dupe),             # 4 good, 5 repeats 4
        _row(received="2026-13-45 08:00"),                # 6
        _row(received="2099-01-01 08:00"),                # 7
        _row(content=""),                                 # 8
        _row(place="NOPE"),                               # 9
        _row(place="XY04T01"),                            # 10: another county
        _row(place="XY03D01"),                            # 11: a department
        _row(urgency="特急"),                             # 12
        _row(phone="call me"),                            # 13
        _row(category=""),                                # 14
        _row(received=""),                                # 15
    ]
    with pytest.raises(ImportRejected) as refused:
        H.import_hotline(_csv(*rows), "bad.csv", user=user)
    errors = dict(refused.value.errors)
    expected = {3: "工单编号不能为空", 5: "与第 4 行重复", 6: "受理时间“2026-13-45 08:00”格式错误", 7: "晚于当前时间",
                8: "诉求内容不能为空", 9: "发生地编码“NOPE”不存在或不在您的管辖范围内",
                10: "发生地编码“XY04T01”不存在或不在您的管辖范围内", 11: "应为网格、村社区或乡镇街道",
                12: "紧急程度“特急”无效", 13: "联系电话格式错误", 14: "诉求类别不能为空", 15: "受理时间不能为空"}
    for line, fragment in expected.items():
        assert fragment in errors.get(line, ""), (line, errors.get(line))
    assert 2 not in errors and 4 not in errors
    assert "导入被拒绝，未写入任何数据" in refused.value.message
    assert _count() == before


def test_header_and_file_kind_are_checked(ctx, people):
    user = _user(people["dispatcher"])
    with pytest.raises(ImportRejected) as refused:
        H.import_hotline("工单编号,受理时间\nA,2026-11-20 08:00\n".encode(), "h.csv", user=user)
    assert "缺少列：诉求人、联系电话、诉求类别、诉求内容、发生地编码、紧急程度" in refused.value.message
    with pytest.raises(ImportRejected) as refused:
        H.import_hotline(b"x", "h.txt", user=user)
    assert "只支持 .xlsx 或 .csv 文件" in refused.value.message


def test_the_same_numbers_are_skipped_and_counted(ctx, people):
    user = _user(people["dispatcher"])
    rows = [_row(), _row()]
    assert H.import_hotline(_xlsx(*rows), "h.xlsx", user=user)["created"] == 2
    before = _count()
    again = H.import_hotline(_xlsx(*rows, _row()), "h.xlsx", user=user)
    assert (again["created"], again["skipped"]) == (1, 2)
    assert _count() == before + 1


def test_an_unknown_category_is_added_for_completion(ctx, people):
    name = "新类别" + uuid.uuid4().hex[:6]
    counts = H.import_hotline(_csv(_row(category=name, urgency="复杂"), _row(category=name)), "h.csv",
                              user=_user(people["dispatcher"]))
    assert counts["categories_added"] == [name]
    category = db.session.scalar(select(AppealCategory).where(AppealCategory.name == name))
    assert category.needs_completion and category.default_urgency == "复杂"
    assert db.session.scalar(select(func.count()).select_from(Appeal).where(Appeal.category_id == category.id)) == 2


def test_an_empty_urgency_takes_the_categorys_default(ctx, people):
    name = "默认紧急" + uuid.uuid4().hex[:6]
    H.import_hotline(_csv(_row(category=name, urgency="紧急")), "h.csv", user=_user(people["dispatcher"]))
    row = _row(category=name, urgency="")
    H.import_hotline(_csv(row), "h.csv", user=_user(people["dispatcher"]))
    assert db.session.scalar(select(Appeal.urgency).where(Appeal.external_number == row[0])) == "紧急"


def test_the_cli_imports_and_exports_the_same(app, people, tmp_path):
    rows = [_row(), _row(number="")]
    path = tmp_path / "bad.csv"
    path.write_bytes(_csv(*rows))
    runner = app.test_cli_runner()
    with app.app_context():
        before = _count()
        bad = runner.invoke(args=["appeals", "import-hotline", str(path)])
        assert bad.exit_code == 1 and "第 3 行：工单编号不能为空" in bad.stderr
        assert _count() == before
        good = _row()
        path.write_bytes(_csv(good))
        done = runner.invoke(args=["appeals", "import-hotline", str(path)])
        assert done.exit_code == 0 and "新增 1 件，跳过已导入 0 件，待分派单位 XY" in done.stdout
        again = runner.invoke(args=["appeals", "import-hotline", str(path)])
        assert "新增 0 件，跳过已导入 1 件" in again.stdout
        out = tmp_path / "updates.xlsx"
        since = (dt.datetime.now() - dt.timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M")
        exported = runner.invoke(args=["appeals", "export-hotline", "--since", since, str(out)])
        assert exported.exit_code == 0, exported.stderr
        sheet = load_workbook(out).active
        rows_out = list(sheet.iter_rows(values_only=True))
        assert list(rows_out[0]) == H.UPDATE_HEADER
        assert any(r[0] == good[0] and r[1] == "待分派" for r in rows_out[1:])
        wrong = runner.invoke(args=["appeals", "export-hotline", "--since", "昨天", str(out)])
        assert wrong.exit_code == 1 and "起始时间“昨天”格式错误" in wrong.stderr


def test_the_api_takes_a_json_list_with_the_same_rules(app, client, people):
    headers = api_token(client, people["dispatcher"], PASSWORD)
    number = _number()
    record = dict(zip(H.HEADER, _row(number=number)))
    bad = client.post("/api/v1/appeals/hotline", json=[record, {**record, "工单编号": ""}], headers=headers)
    assert bad.status_code == 422
    body = bad.get_json()
    assert body["errors"] == [{"row": 2, "message": "工单编号不能为空"}]
    with app.app_context():
        assert not db.session.scalar(select(Appeal.id).where(Appeal.external_number == number))
    good = client.post("/api/v1/appeals/hotline", json=[record], headers=headers)
    assert good.status_code == 201 and good.get_json()["result"]["created"] == 1
    again = client.post("/api/v1/appeals/hotline", json=[record], headers=headers)
    assert again.get_json()["result"] == {**again.get_json()["result"], "created": 0, "skipped": 1}
    assert client.post("/api/v1/appeals/hotline", json={"工单编号": "x"}, headers=headers).status_code == 422
    odd = client.post("/api/v1/appeals/hotline", json=[{**record, "工单编号": _number(), "备注": "x"}], headers=headers)
    assert odd.status_code == 422 and "无法识别的字段：备注" in odd.get_json()["errors"][0]["message"]
    nested = client.post("/api/v1/appeals/hotline", json=[{**record, "工单编号": {"a": 1}}], headers=headers)
    assert nested.status_code == 422
    assert "字段须为文本或数字：工单编号" in [e["message"] for e in nested.get_json()["errors"]]
    nul = client.post("/api/v1/appeals/hotline", json=[{**record, "工单编号": _number(), "诉求内容": "a\x00b"}],
                      headers=headers)
    assert nul.status_code == 400  # the app refuses a NUL character in any request and "非法字符（NUL）：诉求内容" in messages
    liaison = api_token(client, people["liaison"], PASSWORD)
    assert client.post("/api/v1/appeals/hotline", json=[record], headers=liaison).status_code in (401, 403)


def test_the_upload_is_a_background_job_with_the_same_rules(app, client, people):
    login(client, people["dispatcher"], PASSWORD)
    good, bad = _row(), _row(place="NOPE")
    response = client.post("/appeals/hotline/upload/", data={"file": (io.BytesIO(_csv(good, bad)), "h.csv")},
                           content_type="multipart/form-data")
    page = follow_job(client, app, response)
    assert "导入被拒绝，未写入任何数据" in page and "发生地编码“NOPE”不存在" in page
    with app.app_context():
        assert not db.session.scalar(select(Appeal.id).where(Appeal.external_number == good[0]))
    response = client.post("/appeals/hotline/upload/", data={"file": (io.BytesIO(_csv(good)), "h.csv")},
                           content_type="multipart/form-data")
    page = follow_job(client, app, response)
    assert "导入成功：新增 1 件，跳过已导入 0 件" in page
    assert client.get("/appeals/hotline/template/").status_code == 200
    login(client, people["liaison"], PASSWORD)
    assert client.get("/appeals/hotline/upload/").status_code in (302, 403)


def test_updates_since_carry_state_unit_reply_and_callback(app, client, people):
    with app.app_context():
        user = _user(people["dispatcher"])
        number = _number()
        H.import_hotline(_csv(_row(number=number)), "h.csv", user=user)
        appeal = db.session.scalar(select(Appeal).where(Appeal.external_number == number))
        town = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "XY03T01"))
        later = dt.datetime.now().replace(microsecond=0) + dt.timedelta(seconds=2)
        S.dispatch(appeal.id, town.id, user=user, now=later)
        liaison = _user(people["liaison"])
        S.sign(appeal.id, user=liaison, now=later)
        S.reply(appeal.id, user=liaison, contact_whom="张三", contact_at=later, contact_way="电话", measures="已修复路面",
                result="已解决", finished_at=later, now=later)
        waiting = {u["工单编号"]: u for u in H.hotline_updates(later, user=user)}[number]
        assert waiting["状态"] == "待审核" and waiting["答复内容"] == ""  # not an answer before its review
        S.review(appeal.id, True, user=user, now=later)
        S.callback(appeal.id, "满意", user=user, now=later)
        rows = {u["工单编号"]: u for u in H.hotline_updates(later, user=user)}
        assert rows[number]["状态"] == "已办结" and rows[number]["办理单位"] == town.name
        assert "已修复路面" in rows[number]["答复内容"] and rows[number]["回访结果"] == "满意"
        assert rows[number]["答复时间"] == later.isoformat()
        assert number not in {u["工单编号"] for u in H.hotline_updates(later + dt.timedelta(seconds=1), user=user)}
        other = create_user("hl_disp_other", PASSWORD, R.DISPATCHER, "XY04")
        assert number not in {u["工单编号"] for u in H.hotline_updates(later, user=other)}  # scope
    headers = api_token(client, people["dispatcher"], PASSWORD)
    answer = client.get(f"/api/v1/appeals/hotline/updates?since={later:%Y-%m-%d %H:%M:%S}", headers=headers)
    assert answer.status_code == 200
    assert any(u["工单编号"] == number and u["状态"] == "已办结" for u in answer.get_json()["result"])
    assert client.get("/api/v1/appeals/hotline/updates?since=bad", headers=headers).status_code == 400
    assert client.get("/api/v1/appeals/hotline/updates", headers=headers).status_code == 400


def test_ten_thousand_rows_import_quickly_in_few_statements(ctx, people):
    """Set-based: a handful of statements whatever the size (one lookup per table, bulk inserts)."""
    import time

    from sqlalchemy import event

    rows = [_row(number=f"BULK-{uuid.uuid4().hex[:6]}-{i:05d}", category=f"批量类别{i % 7}") for i in range(10_000)]
    data = _csv(*rows)
    statements = []

    def count(*_args, **_kwargs):
        statements.append(1)

    event.listen(db.engine, "before_execute", count)
    try:
        started = time.perf_counter()
        counts = H.import_hotline(data, "bulk.csv", user=_user(people["city"]))
        elapsed = time.perf_counter() - started
    finally:
        event.remove(db.engine, "before_execute", count)
    assert counts["created"] == 10_000
    assert len(statements) < 40, len(statements)
    # ≤ 10 s is the target (`flask bench` measures it: 2.8 s at 2,000 cadres on a loaded SQLite);
    # here only what no shared test machine should miss: per-row round trips would take minutes
    assert elapsed < 30, elapsed
