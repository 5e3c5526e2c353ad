"""The admin's journeys of issue 14, through the HTTP client: the audit log names the real
person and reads in Chinese; dates and times are written to the minute everywhere; the user
form; the landing page and its to-do counts; the org tree; the admin screens' labels."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AppUser, AuditLog, OrgUnit
from tests.conftest import api_token, login

ISO_T = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
SECONDS = re.compile(r"\d{2}:\d{2}:\d{2}")
LONG_FLOAT = re.compile(r"\d+\.\d{5,}")


def _latest(app, **where) -> AuditLog:
    with app.app_context():
        stmt = select(AuditLog).filter_by(**where).order_by(AuditLog.id.desc()).limit(1)
        row = db.session.scalar(stmt)
        db.session.expunge_all()
        return row


# ---------------------------------------------------------------- 5. the audit log

def test_a_browser_login_is_recorded_as_the_person_not_the_command_line(client, app):
    login(client, "admin_luoshan")
    row = _latest(app, action="login")
    assert row.username == "admin_luoshan" and row.user_id is not None, (row.username, row.user_id)


def test_an_api_change_is_recorded_as_the_api_user(client, app):
    headers = api_token(client, "kpy_luoshan")
    with app.app_context():
        from app.models import Cadre

        cadre = db.session.scalar(select(Cadre).join(OrgUnit, Cadre.org_unit_id == OrgUnit.id)
                                  .where(OrgUnit.code.startswith("XY03")).limit(1))
        cadre_id = cadre.id
    r = client.put(f"/api/v1/cadres/{cadre_id}", json={"phone": "13800000000"}, headers=headers)
    assert r.status_code == 200, r.get_data(as_text=True)
    row = _latest(app, table_name="cadre", action="update")
    assert row.row_id == str(cadre_id) and row.username == "kpy_luoshan"


def test_a_failed_login_is_not_blamed_on_the_command_line(client, app):
    client.post("/login/", data={"username": "dcy_luoshan", "password": "wrong-Passw0rd!"})
    row = _latest(app, action="login_failed")
    assert row.username != "命令行"


def test_the_audit_log_reads_in_chinese_with_names_rounded_numbers_and_folded_entries(client, app):
    with app.app_context():
        unit_names = set(db.session.scalars(select(OrgUnit.name)))
    login(client, "admin")
    # the supervision findings' entries (the demo's later domains write many entries after them)
    html = client.get("/auditlog/list/?_flt_0_table_name=finding&psize_AuditLogView=100").get_data(as_text=True)
    table = html[html.index("<table class=\"table table-bordered"):]
    for raw in ("rectifying", "awaiting_verification", "signed_at", "inspection_id", "org_unit_id"):
        assert raw not in table, raw
    assert "整改中" in table and "待验收" in table
    assert not re.search(r"单位：\d+", table), "a unit shown by its id"
    shown = set(re.findall(r"<b>(?:单位|主办单位)</b>：([^<；]+)", table))
    assert shown and shown <= unit_names, shown
    assert not ISO_T.search(table) and not LONG_FLOAT.search(table)
    assert "<details" in table, "long entries are not folded"
    latest = client.get("/auditlog/list/?psize_AuditLogView=100").get_data(as_text=True)  # admin's own login
    assert "系统管理员（市）（admin）" in latest, "the person's name is not shown"
    latest = latest[latest.index("<table class=\"table table-bordered"):]
    assert not re.findall(r"<b>[A-Za-z_]+</b>", latest), "a field shown by its column name"


def test_the_audit_log_stays_scoped_for_a_county_admin(client, app):
    login(client, "admin_luoshan")
    html = client.get("/auditlog/list/?psize_AuditLogView=100").get_data(as_text=True)
    with app.app_context():
        others = [u.name for u in db.session.scalars(select(OrgUnit).where(OrgUnit.kind == "county",
                                                                           OrgUnit.code != "XY03"))]
    table = html[html.index("<table class=\"table table-bordered"):]
    assert "罗山县" in html
    assert not [name for name in others if f"{name}（#" in table]
    r = client.get("/auditlog/export/csv")
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert "操作人" in body and "awaiting_verification" not in body and not ISO_T.search(body)


# ---------------------------------------------------------------- 16. dates and times

def test_formats_write_minutes_and_dates_without_midnight():
    from app.core import formats

    assert formats.datetime_text(dt.datetime(2026, 12, 5, 5, 11, 58, 831757)) == "2026-12-05 05:11"
    assert formats.datetime_text("2026-12-05T05:11:58") == "2026-12-05 05:11"
    assert formats.datetime_text(dt.date(2026, 12, 5)) == "2026-12-05"
    assert formats.deadline_text(dt.datetime(2026, 12, 6)) == "2026-12-05"
    assert formats.number_text(87.45678912345678) == "87.46" and formats.number_text(90.0) == "90"


def test_exports_and_pages_show_dates_to_the_minute(client, app):
    from app.core.tabular import write_csv

    body = write_csv(["时间"], [[dt.datetime(2026, 12, 5, 5, 18, 33, 831757)]]).decode("utf-8-sig")
    assert "2026-12-05 05:18" in body and "33.831757" not in body and "05:18:33" not in body
    login(client, "admin")
    tasks = client.get("/tasks/export/csv").get_data(as_text=True)
    assert not ISO_T.search(tasks) and not SECONDS.search(tasks), tasks[:400]
    with app.app_context():
        user_id = db.session.scalar(select(AppUser.id).where(AppUser.username == "admin"))
    show = client.get(f"/users/show/{user_id}").get_data(as_text=True)
    assert not SECONDS.search(show), re.findall(r".{20}\d{2}:\d{2}:\d{2}.{10}", show)
    audit = client.get("/auditlog/list/").get_data(as_text=True)
    assert re.search(r"<td[^>]*>\d{4}-\d{2}-\d{2} \d{2}:\d{2}</td>", audit)
    assert app.jinja_env.filters["dt"](dt.datetime(2026, 12, 5, 5, 11, 58)) == "2026-12-05 05:11"


# ---------------------------------------------------------------- 6. 新增用户

def _user_form(app, **fields) -> dict:
    with app.app_context():
        role_id = app.appbuilder.sm.find_role("县区领导").id
        unit_id = db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == "XY03"))
    data = {"username": "wangfang", "first_name": "王芳", "org_unit": str(unit_id), "roles": [str(role_id)],
            "active": "y", "password": "Str0ng!Passw0rd", "conf_password": "Str0ng!Passw0rd"}
    data.update(fields)
    return data


def test_the_user_form_has_one_name_an_optional_email_and_names_a_taken_user_name(client, app):
    login(client, "admin")
    form = client.get("/users/add").get_data(as_text=True)
    assert 'name="first_name"' in form and 'name="last_name"' not in form
    assert re.search(r'<label for="first_name"[^>]*>\s*姓名', form)
    r = client.post("/users/add", data=_user_form(app), follow_redirects=True)
    assert r.status_code == 200
    with app.app_context():
        user = db.session.scalar(select(AppUser).where(AppUser.username == "wangfang"))
        assert user is not None, r.get_data(as_text=True)[-3000:]
        assert (user.first_name, user.last_name) == ("王芳", "") and user.must_change_password
        count = db.session.scalar(select(db.func.count()).select_from(AppUser))
    again = client.post("/users/add", data=_user_form(app, first_name="王芳二"))
    body = again.get_data(as_text=True)
    assert again.status_code == 200 and "用户名 wangfang 已被使用" in body
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(AppUser)) == count
    login(client, "wangfang", "Str0ng!Passw0rd")
    first = client.get("/cadres/list/")
    assert first.status_code == 302 and "/resetmypassword/form" in first.headers["Location"]


# ---------------------------------------------------------------- 7. landing on 我的待办

@pytest.fixture(scope="module")
def liaison_work(app):
    """Something waiting on 桥北镇's liaison whatever the demo holds (it differs by database):
    an item to sign and a finding to rectify."""
    from tests.supervision_data import make_finding, make_task

    with app.app_context():
        make_task(lead="XY03T01", assist=(), ago=0)
        make_finding("XY03T01")


def test_login_lands_on_the_todo_page_with_counts_per_kind_and_a_badge(client, app, liaison_work):
    login(client, "llr_luoshan_t01")
    landing = client.get("/")
    assert landing.status_code == 302 and landing.headers["Location"].endswith("/todo/")
    todo = client.get("/todo/").get_data(as_text=True)
    total = int(re.search(r"共 (\d+) 项", todo).group(1))
    kinds = re.findall(r'data-kind="(\w+)">\s*<span class="todo-count">(\d+)</span><span class="todo-title">([^<]+)<',
                       todo)
    assert {k for k, _, _ in kinds} >= {"to_sign", "reports_due", "findings_to_rectify"}, kinds
    assert sum(int(n) for _, n, _ in kinds) == total > 0
    page = client.get("/tasks/list/").get_data(as_text=True)
    badge = re.search(r'href="/todo/">.*?<span class="badge todo-badge"[^>]*>(\d+)</span>', page, re.S)
    assert badge and int(badge.group(1)) == total


def test_a_leader_lands_on_the_dashboard(client):
    login(client, "ld_luoshan")
    landing = client.get("/")
    assert landing.status_code == 302 and landing.headers["Location"].endswith("/dashboard/")


# ---------------------------------------------------------------- 17. the org tree

def test_the_org_tree_is_nested_with_counts_and_scoped(client, app):
    from app.models import Cadre

    with app.app_context():
        luoshan = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "XY03"))
        in_service = db.session.scalar(
            select(db.func.count()).select_from(Cadre).join(OrgUnit, OrgUnit.id == Cadre.org_unit_id)
            .where(OrgUnit.path.startswith(luoshan.path), Cadre.status == "在职"))
        towns = list(db.session.scalars(select(OrgUnit.name).where(OrgUnit.parent_id == luoshan.id)))
    login(client, "ld_luoshan")
    menu = client.get("/dashboard/").get_data(as_text=True)
    assert 'href="/orgunits/tree/"' in menu
    html = client.get("/orgunits/tree/").get_data(as_text=True)
    top = re.search(r'<li data-code="XY03">\s*<details open><summary>(.*?)</summary>(.*)', html, re.S)
    assert top, html[:2000]
    assert f"在职干部 <b>{in_service}</b> 人" in top.group(1)
    assert all(f'<span class="ou-name">{name}</span>' in top.group(2) for name in towns)
    assert "光山县" not in html and "信阳市" not in html.split("</nav>")[-1]
    assert client.get("/orgunits/tree/?root=XY04").status_code == 404
    assert client.get("/orgunits/tree/?root=XY03T01").status_code == 200


def test_a_big_subtree_is_cut_by_levels_with_a_way_down(app):
    from app.org.tree import unit_tree

    with app.app_context():
        nodes, count = unit_tree(user=None, max_nodes=20)
        assert count > 20 and nodes[0].code == "XY"
        counties = nodes[0].children
        assert counties and all(not c.children for c in counties) and any(c.more for c in counties)


# ---------------------------------------------------------------- 18. admin screens

def test_roles_are_described_in_chinese_by_screen_and_action_without_fab_internals(client):
    login(client, "admin")
    html = client.get("/roles/list/").get_data(as_text=True)
    table = html[html.index('<table class="table table-bordered'):]
    for internal in ("can_", "muldelete", "HomeView", "AuthDBView", "menu_access", "菜单", "action_check",
                     "UserDBModelView", "ResetMyPasswordView"):
        assert internal not in table, internal
    assert "干部名册（含任职经历、奖惩） · 查看、编辑、导入" in table
    assert "审计日志 · 查看" in table
    users = client.get("/users/list/").get_data(as_text=True)
    assert ">True<" not in users and "[系统管理员]" not in users


def test_a_dictionary_in_the_audit_log_is_labelled_and_rounded():
    import json
    from types import SimpleNamespace

    from app.core import audit_labels

    stats = {"县区党政正职": {"count": 20, "avg_composite": 88.35350000000001, "dims": {"德": 86.10595238095239}}}
    for stored in (json.dumps({"peer_stats": stats}), json.dumps({"peer_stats": str(stats)})):  # new and older rows
        entry = SimpleNamespace(table_name="evaluation_period", old_values=None, new_values=stored)
        (label, text), = audit_labels.changes(entry, {})
        assert label == "同类统计" and text == "县区党政正职（人数 20，平均综合得分 88.35，各维度平均分（德 86.11））"
    html = audit_labels.changes_html([(f"字段{i}", "值" * 50) for i in range(5)])
    assert html.startswith("<details") and "（共 5 项）" in html
