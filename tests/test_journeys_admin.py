"""The admin's journeys of issue 14, through the HTTP client: the audit log names the real
person and reads in Chinese; dates and times are written to the minute everywhere; the user
form; the landing page and its to-do counts; the org tree; the admin screens' labels."""

from __future__ import annotations

import datetime as dt
import re

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
    html = client.get("/auditlog/list/?psize_AuditLogView=100").get_data(as_text=True)
    table = html[html.index("<table class=\"table table-bordered"):]
    for raw in ("rectifying", "awaiting_verification", "signed_at", "inspection_id", "org_unit_id"):
        assert raw not in table, raw
    assert "整改中" in table and "待验收" in table
    assert not re.search(r"单位：\d+", table), "a unit shown by its id"
    shown = set(re.findall(r"<b>(?:单位|主办单位)</b>：([^<；]+)", table))
    assert shown and shown <= unit_names, shown
    assert not ISO_T.search(table) and not LONG_FLOAT.search(table)
    assert "<details" in table, "long entries are not folded"
    assert "系统管理员（市）（admin）" in table, "the person's name is not shown"


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
    assert re.search(r"<td>\d{4}-\d{2}-\d{2} \d{2}:\d{2}</td>", audit)
    assert app.jinja_env.filters["dt"](dt.datetime(2026, 12, 5, 5, 11, 58)) == "2026-12-05 05:11"
