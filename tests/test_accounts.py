"""Lockout, login audit, forced first-login password change, logout everywhere."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import AppUser, AuditLog
from app.services.users import create_user
from tests.conftest import login

GOOD = "Str0ng!Passw0rd"


def _user(app, name):
    with app.app_context():
        return db.session.scalar(select(AppUser).where(AppUser.username == name))


def test_lockout_after_repeated_failures_even_with_the_right_password(client, app):
    with app.app_context():
        create_user("lockme", GOOD, "县区领导", "XY03")
    for _ in range(6):
        client.post("/login/", data={"username": "lockme", "password": "wrong-password"})
    assert _user(app, "lockme").locked_until is not None
    response = client.post("/login/", data={"username": "lockme", "password": GOOD}, follow_redirects=True)
    assert "已锁定" in response.get_data(as_text=True)
    assert client.get("/cadres/list/").status_code in (302, 403)
    with app.app_context():
        actions = db.session.scalars(select(AuditLog.action).where(AuditLog.table_name == "ab_user",
                                                                   AuditLog.new_values.contains("lockme"))).all()
    assert actions.count("login_failed") >= 6


def test_successful_login_is_audited(client, app):
    login(client, "ld_luoshan")
    with app.app_context():
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "login")
                                .order_by(AuditLog.id.desc()))
        assert "ld_luoshan" in row.new_values


def test_first_login_forces_a_password_change(client, app):
    with app.app_context():
        create_user("newbie", GOOD, "县区领导", "XY03", must_change_password=True)
    login(client, "newbie", GOOD)
    response = client.get("/cadres/list/")
    assert response.status_code == 302 and "resetmypassword" in response.headers["Location"].lower()
    client.post("/resetmypassword/form", data={"password": "N3w!Passw0rdX", "conf_password": "N3w!Passw0rdX"})
    assert client.get("/cadres/list/").status_code == 200
    assert _user(app, "newbie").must_change_password is False


def test_password_change_ends_other_sessions(app):
    with app.app_context():
        create_user("twosessions", GOOD, "县区领导", "XY03")
    first, second = app.test_client(), app.test_client()
    login(first, "twosessions", GOOD)
    login(second, "twosessions", GOOD)
    assert second.get("/cadres/list/").status_code == 200
    import time
    time.sleep(1.1)
    first.post("/resetmypassword/form", data={"password": "An0ther!Pass", "conf_password": "An0ther!Pass"})
    assert first.get("/cadres/list/").status_code == 200  # the session that changed it stays
    assert second.get("/cadres/list/").status_code == 302  # every other session is logged out
