"""Credentials can be revoked, and passwords (issue 12, points 2 and 3).

A password change (own or by an admin, or `users create` on an existing name), a lockout, a
deactivation and a logout end every session and every API token (access and refresh) of the
user issued before it; a saved session cookie replayed after logout is refused. The own
password change asks for the current password and refuses the current one as the new one;
failed logins are counted atomically; the login rate limit is one count for every worker;
unknown user names do not grow the audit log without bound.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from app.extensions import db
from app.models import AppUser, AuditLog
from app.org.users import create_user
from app.security import accounts
from tests.conftest import PASSWORD, login

GOOD = "Str0ng!Passw0rd"
NEW = "N3w!Passw0rd-c"
UNIT = "XY03"
STAFF = "组织部考评员"


# ---------------------------------------------------------------- helpers


def _make_user(app, name, password=GOOD, role=STAFF, unit=UNIT, must_change=False):
    with app.app_context():
        create_user(name, password, role, unit, must_change_password=must_change)


def _user(app, name) -> AppUser:
    with app.app_context():
        user = db.session.scalar(select(AppUser).where(AppUser.username == name))
        db.session.expunge(user)
        return user


def _tokens(app, name, password=GOOD) -> tuple[str, str]:
    response = app.test_client().post("/api/v1/security/login", json={
        "username": name, "password": password, "provider": "db", "refresh": True})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    return body["access_token"], body["refresh_token"]


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _api_status(app, access: str) -> int:
    return app.test_client().get("/api/v1/cadres/", headers=_bearer(access)).status_code


def _refresh(app, refresh: str):
    return app.test_client().post("/api/v1/security/refresh", headers=_bearer(refresh))


def _signed_in(app, name, password=GOOD):
    return login(app.test_client(), name, password)


def _is_sent_to_login(client) -> bool:
    response = client.get("/cadres/list/")
    return response.status_code == 302 and "/login/" in response.headers["Location"]


class Holder:
    """A user signed in everywhere before the event: a browser session, a saved copy of its
    cookie, an access token and a refresh token."""

    def __init__(self, app, name, password=GOOD):
        self.app = app
        self.browser = _signed_in(app, name, password)
        assert self.browser.get("/cadres/list/").status_code == 200
        self.cookie = self.browser.get_cookie("session").value
        self.access, self.refresh = _tokens(app, name, password)
        assert _api_status(app, self.access) == 200
        assert _refresh(app, self.refresh).status_code == 200

    def assert_all_refused(self) -> None:
        assert _is_sent_to_login(self.browser), "the other session must end"
        replay = self.app.test_client()
        replay.set_cookie("session", self.cookie)
        assert _is_sent_to_login(replay), "a saved copy of the session cookie must be refused"
        api = self.app.test_client().get("/api/v1/cadres/", headers=_bearer(self.access))
        assert api.status_code == 401 and "重新登录" in api.get_json()["message"]
        assert _refresh(self.app, self.refresh).status_code == 401


def _client_from(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _change_own_password(client, current, new):
    return client.post("/resetmypassword/form", data={"current_password": current, "password": new,
                                                      "conf_password": new})


# ---------------------------------------------------------------- 2. revocation


def test_own_password_change_ends_every_other_session_and_token(app):
    _make_user(app, "cr_own")
    holder = Holder(app, "cr_own")
    changer = _signed_in(app, "cr_own")
    response = _change_own_password(changer, GOOD, NEW)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert check_password_hash(_user(app, "cr_own").password, NEW)

    assert changer.get("/cadres/list/").status_code == 200  # the session that changed it stays
    holder.assert_all_refused()
    access, refresh = _tokens(app, "cr_own", NEW)
    assert _api_status(app, access) == 200
    refreshed = _refresh(app, refresh)
    assert refreshed.status_code == 200
    assert _api_status(app, refreshed.get_json()["access_token"]) == 200


def test_admin_reset_ends_every_session_and_token(app):
    _make_user(app, "cr_reset")
    _make_user(app, "cr_admin", role="系统管理员", unit="XY")
    holder = Holder(app, "cr_reset")
    admin = _signed_in(app, "cr_admin")
    target = _user(app, "cr_reset")
    response = admin.post(f"/resetpassword/form?pk={target.id}", data={"password": NEW, "conf_password": NEW})
    assert response.status_code == 302
    assert check_password_hash(_user(app, "cr_reset").password, NEW)
    holder.assert_all_refused()
    assert admin.get("/cadres/list/").status_code == 200  # the admin's own session is not touched


def test_deactivation_through_the_user_form_ends_every_session_and_token(app):
    _make_user(app, "cr_inactive")
    _make_user(app, "cr_admin2", role="系统管理员", unit="XY")
    holder = Holder(app, "cr_inactive")
    with app.app_context():
        user = db.session.scalar(select(AppUser).where(AppUser.username == "cr_inactive"))
        form = {"username": user.username, "first_name": user.first_name, "last_name": "x",
                "email": user.email, "org_unit": str(user.org_unit_id), "cadre": "",
                "roles": [str(role.id) for role in user.roles]}  # "active" unchecked
    admin = _signed_in(app, "cr_admin2")
    response = admin.post(f"/users/edit/{user.id}", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert _user(app, "cr_inactive").active is False
    holder.assert_all_refused()

    # Reactivated, the old session, cookie and tokens stay dead.
    with app.app_context():
        db.session.get(AppUser, user.id).active = True
        db.session.commit()
    holder.assert_all_refused()


def test_lockout_ends_every_session_and_token(app):
    _make_user(app, "cr_locked")
    holder = Holder(app, "cr_locked")
    guesser = app.test_client()
    for _ in range(accounts.MAX_FAILED_LOGINS):
        guesser.post("/login/", data={"username": "cr_locked", "password": "Wrong!Passw0rd"})
    assert accounts.is_locked(_user(app, "cr_locked"))
    holder.assert_all_refused()


def test_logout_ends_every_session_and_token_and_a_replayed_cookie(app):
    _make_user(app, "cr_logout")
    holder = Holder(app, "cr_logout")
    leaving = _signed_in(app, "cr_logout")
    saved = leaving.get_cookie("session").value
    leaving.get("/logout/")
    replay = app.test_client()
    replay.set_cookie("session", saved)
    assert _is_sent_to_login(replay)
    holder.assert_all_refused()
    # A new login works as before.
    assert _signed_in(app, "cr_logout").get("/cadres/list/").status_code == 200


def test_users_create_on_an_existing_name_ends_its_sessions_and_tokens(app):
    """`flask users create` on an existing name sets a new password (app/services/users.py)."""
    _make_user(app, "cr_cli")
    holder = Holder(app, "cr_cli")
    _make_user(app, "cr_cli", password=NEW)
    holder.assert_all_refused()


def test_a_token_of_an_inactive_user_stops_at_once_even_without_a_new_epoch(app):
    """A deactivation written straight to the row (no ORM event) still stops the token: the
    token's user is loaded and checked on every request."""
    _make_user(app, "cr_rawinactive")
    access, _refresh_token = _tokens(app, "cr_rawinactive")
    with app.app_context():
        db.session.execute(AppUser.__table__.update().where(AppUser.username == "cr_rawinactive")
                           .values(active=False))
        db.session.commit()
    assert _api_status(app, access) == 401


# ---------------------------------------------------------------- 3. passwords


def test_forced_change_refuses_the_current_password_and_the_published_demo_one(app):
    _make_user(app, "cr_first_demo", password=PASSWORD, must_change=True)
    client = _signed_in(app, "cr_first_demo", PASSWORD)
    page = _change_own_password(client, PASSWORD, PASSWORD).get_data(as_text=True)
    assert "不能使用公开的演示密码" in page
    _make_user(app, "cr_first", must_change=True)
    client = _signed_in(app, "cr_first")
    page = _change_own_password(client, GOOD, GOOD).get_data(as_text=True)
    assert "新密码不能与当前密码相同" in page
    for name, current in (("cr_first_demo", PASSWORD), ("cr_first", GOOD)):
        user = _user(app, name)
        assert user.must_change_password is True and check_password_hash(user.password, current)
    assert _change_own_password(client, GOOD, NEW).status_code == 302
    assert client.get("/cadres/list/").status_code == 200


def test_own_change_asks_for_the_current_password(app):
    _make_user(app, "cr_current")
    client = _signed_in(app, "cr_current")
    assert "当前密码" in client.get("/resetmypassword/form").get_data(as_text=True)
    wrong = _change_own_password(client, "Wrong!Passw0rd", NEW)
    assert wrong.status_code == 200 and "当前密码不正确" in wrong.get_data(as_text=True)
    missing = client.post("/resetmypassword/form", data={"password": NEW, "conf_password": NEW})
    assert missing.status_code == 200 and "请输入当前密码" in missing.get_data(as_text=True)
    user = _user(app, "cr_current")
    assert check_password_hash(user.password, GOOD)  # nothing changed
    assert user.fail_login_count == 1  # a wrong current password counts like a failed login
    assert client.get("/cadres/list/").status_code == 200


def test_parallel_wrong_guesses_each_count(app):
    _make_user(app, "cr_parallel")
    guesses = 6
    barrier = threading.Barrier(guesses)

    def guess(_):
        client = app.test_client()
        barrier.wait()
        return client.post("/login/", data={"username": "cr_parallel", "password": "Wrong!Passw0rd"}).status_code

    with ThreadPoolExecutor(guesses) as pool:
        assert list(pool.map(guess, range(guesses))) == [302] * guesses
    user = _user(app, "cr_parallel")
    assert user.fail_login_count == guesses
    assert accounts.is_locked(user)
    with app.app_context():
        failed = db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "login_failed", AuditLog.row_id == str(user.id)))
    assert failed == guesses


def _roomy_window(about: int, need: float) -> int:
    """A window length near `about` seconds whose current clock-aligned window has at least
    `need` seconds left (no waiting for the next window)."""
    now = time.time()
    return next(w for w in range(about, about + 10 * int(need) + 10) if w - now % w >= need)


def test_unknown_user_names_do_not_grow_the_audit_log_without_bound(app, monkeypatch):
    def audit_rows() -> int:
        with app.app_context():
            return db.session.scalar(select(func.count()).select_from(AuditLog))

    monkeypatch.setattr(accounts, "UNKNOWN_USER_WINDOW_SECONDS", _roomy_window(900, 60))
    client = _client_from(app, "10.20.30.40")
    before = audit_rows()
    for i in range(40):
        client.post("/login/", data={"username": f"nobody_{i}", "password": "Wrong!Passw0rd"})
    assert audit_rows() - before == 1  # the first one of this address and window

    from app.models import AuthThrottle

    with app.app_context():  # the others are counted in the throttle table
        assert db.session.scalar(select(func.sum(AuthThrottle.hits)).where(
            AuthThrottle.key == "unknown:10.20.30.40")) == 40


def test_login_rate_limit_holds_for_both_doors_with_a_chinese_429(app, monkeypatch):
    monkeypatch.setitem(app.config, "AUTH_RATE_LIMITED", True)
    monkeypatch.setitem(app.config, "AUTH_RATE_LIMIT", f"10 per {_roomy_window(3600, 60)} second")
    client = _client_from(app, "10.20.30.41")
    codes = [client.post("/api/v1/security/login", json={"username": "nobody", "password": "x", "provider": "db"})
             .status_code for _ in range(6)]
    codes += [client.post("/login/", data={"username": "nobody", "password": "x"}).status_code for _ in range(4)]
    assert 429 not in codes
    api = client.post("/api/v1/security/login", json={"username": "nobody", "password": "x", "provider": "db"})
    assert api.status_code == 429 and "登录尝试过于频繁" in api.get_json()["message"]
    web = client.post("/login/", data={"username": "nobody", "password": "x"})
    assert web.status_code == 429 and "登录尝试过于频繁" in web.get_data(as_text=True)
    other = _client_from(app, "10.20.30.42")
    assert other.post("/login/", data={"username": "nobody", "password": "x"}).status_code == 302


def test_login_rate_limit_is_one_count_for_every_gunicorn_worker(app, database_url, monkeypatch, tmp_path):
    """A real gunicorn with 2 workers and this test's own app object, on one database: 16
    parallel API logins let exactly 10 through, and the next login answers 429 in both."""
    from tests.reliability_support import Browser, Gunicorn

    _make_user(app, "cr_limit")
    limit = f"10 per {_roomy_window(3600, 120)} second"
    monkeypatch.setenv("AUTH_RATE_LIMIT", limit)
    monkeypatch.setitem(app.config, "AUTH_RATE_LIMITED", True)
    monkeypatch.setitem(app.config, "AUTH_RATE_LIMIT", limit)
    with Gunicorn(database_url, tmp_path / "gunicorn.log") as server:
        def api_login(_):
            status, _body = Browser(server.base).json("POST", "/api/v1/security/login", {
                "username": "cr_limit", "password": GOOD, "provider": "db"})
            return status

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(api_login, range(16)))
        assert sorted(statuses) == [200] * 10 + [429] * 6, statuses
        status, html = Browser(server.base).post_form("/login/", {"username": "cr_limit", "password": GOOD})
        assert status == 429 and "登录尝试过于频繁" in html
    refused = app.test_client().post("/api/v1/security/login", json={
        "username": "cr_limit", "password": GOOD, "provider": "db"})
    assert refused.status_code == 429 and "登录尝试过于频繁" in refused.get_json()["message"]
