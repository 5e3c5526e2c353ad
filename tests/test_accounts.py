"""Lockout, login audit, forced first-login password change, logout everywhere."""

from __future__ import annotations

from urllib.parse import urlparse

from sqlalchemy import select

from app.extensions import db
from app.models import AppUser, AuditLog
from app.org.users import create_user
from tests.conftest import api_token, login

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
    client.post("/resetmypassword/form", data={"current_password": GOOD, "password": "N3w!Passw0rdX",
                                               "conf_password": "N3w!Passw0rdX"})
    assert client.get("/cadres/list/").status_code == 200
    assert _user(app, "newbie").must_change_password is False


def test_password_change_ends_other_sessions(app):
    with app.app_context():
        create_user("twosessions", GOOD, "县区领导", "XY03")
    first, second = app.test_client(), app.test_client()
    login(first, "twosessions", GOOD)
    login(second, "twosessions", GOOD)
    assert second.get("/cadres/list/").status_code == 200
    first.post("/resetmypassword/form", data={"current_password": GOOD, "password": "An0ther!Pass",
                                              "conf_password": "An0ther!Pass"})
    assert first.get("/cadres/list/").status_code == 200  # the session that changed it stays
    assert second.get("/cadres/list/").status_code == 302  # every other session is logged out


def test_a_freshly_seeded_demo_account_must_change_its_password_first(tmp_path, monkeypatch):
    """`seed-demo` on a new database: every demo account shares the published password, so the
    first login leads to the password form and nothing else opens until it is changed.
    (The session database of the suite seeds them without the obligation: tests/conftest.py.)"""
    from flask_migrate import upgrade

    from app.demo import ACCOUNTS, DEMO_PASSWORD, seed_demo
    from app.security.sync import sync_roles
    from tests.reliability_support import in_process_app, new_database

    # Only the units, cadres and accounts matter here: skip the slow demo periods and items.
    monkeypatch.setattr("app.evaluation.demo.seed_demo_evaluation", lambda: None)
    monkeypatch.setattr("app.supervision.demo.seed_demo_supervision", lambda: None)
    with new_database(tmp_path) as url:
        application = in_process_app(url)
        try:
            with application.app_context():
                upgrade()
                sync_roles()
                assert seed_demo() is True
                flags = dict(db.session.execute(select(AppUser.username, AppUser.must_change_password)).all())
                assert {name: flags[name] for name, *_ in ACCOUNTS} == {name: True for name, *_ in ACCOUNTS}

            client = application.test_client()
            first = client.post("/login/", data={"username": "kpy_luoshan", "password": DEMO_PASSWORD},
                                follow_redirects=True)
            assert first.request.path == "/resetmypassword/form"
            assert "首次登录请先修改密码" in first.get_data(as_text=True)
            for page in ("/", "/cadres/list/", "/results/list/", "/periods/list/", "/users/userinfo/"):
                response = client.get(page)
                assert response.status_code == 302, page
                assert response.headers["Location"].endswith("/resetmypassword/form"), page
            refused = application.test_client().post("/api/v1/security/login", json={
                "username": "kpy_luoshan", "password": DEMO_PASSWORD, "provider": "db"})
            assert refused.status_code == 403 and "修改初始密码" in refused.get_json()["message"]

            new = "N3w!Passw0rd-kpy"
            client.post("/resetmypassword/form", data={"current_password": DEMO_PASSWORD, "password": new,
                                                       "conf_password": new})
            for page in ("/", "/cadres/list/", "/results/list/", "/periods/list/"):
                response = client.get(page, follow_redirects=True)  # "/" lands on 我的待办
                assert response.status_code == 200 and response.request.path != "/resetmypassword/form", page
            token = api_token(application.test_client(), "kpy_luoshan", new)
            assert application.test_client().get("/api/v1/cadres/", headers=token).status_code == 200
            old = application.test_client().post("/login/", data={"username": "kpy_luoshan",
                                                                  "password": DEMO_PASSWORD})
            assert urlparse(old.headers["Location"]).path == "/login/"  # the published password is void
        finally:
            with application.app_context():
                db.session.remove()
                db.engine.dispose()
