"""Account safety: lockout after repeated failed logins, login audit, a forced password
change on first login, and sessions that end when their credentials are revoked."""

from __future__ import annotations

import datetime as dt

from flask import flash, g, redirect, request, session, url_for
from flask_login import logout_user
from sqlalchemy import case, func, update

from app.core.audit import record
from app.core.clock import instant as now
from app.extensions import db
from app.models import AppUser
from app.security import revocation, throttle
from app.security.revocation import is_locked  # noqa: F401  (the manager asks accounts)

MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
# Failed logins with an unknown user name: one audit row per address and window, the rest
# only counted (auth_throttle), so that guessing names cannot grow the audit log without bound.
UNKNOWN_USER_WINDOW_SECONDS = 900
# Endpoints a user who must change the password may still reach.
PASSWORD_CHANGE_ENDPOINTS = {"ResetMyPasswordView.this_form_get", "ResetMyPasswordView.this_form_post",
                             "AuthDBView.logout", "static", "appbuilder.static", "favicon"}




def login_failed(user) -> int:
    """Count a failed attempt in one UPDATE (parallel guesses each count: no read-modify-write)
    and lock the account once the count reaches MAX_FAILED_LOGINS; a lock ends the user's
    sessions and tokens (the epoch rises in the same statement). Returns the new count."""
    count = func.coalesce(AppUser.fail_login_count, 0) + 1
    reaches = count >= MAX_FAILED_LOGINS
    stmt = (
        update(AppUser)
        .where(AppUser.id == user.id)
        .values(
            fail_login_count=count,
            locked_until=case((reaches, now() + dt.timedelta(minutes=LOCK_MINUTES)), else_=AppUser.locked_until),
            auth_epoch=case((reaches, AppUser.auth_epoch + 1), else_=AppUser.auth_epoch),
        )
        .returning(AppUser.fail_login_count)
        .execution_options(synchronize_session=False)
    )
    new_count = db.session.execute(stmt).scalar_one()
    record(db.session, "login_failed", "ab_user", user.id, None,
           {"username": user.username, "ip": _ip(), "fail_login_count": new_count,
            "locked": new_count >= MAX_FAILED_LOGINS})
    db.session.commit()
    return new_count


def login_succeeded(user) -> None:
    """A successful login: counters in one UPDATE, the lock lifted, audited."""
    db.session.execute(
        update(AppUser)
        .where(AppUser.id == user.id)
        .values(login_count=func.coalesce(AppUser.login_count, 0) + 1, last_login=now(),
                fail_login_count=0, locked_until=None)
        .execution_options(synchronize_session=False)
    )
    # The session is not logged in yet: the person logging in is the actor.
    record(db.session, "login", "ab_user", user.id, None, {"username": user.username, "ip": _ip()}, by=user)
    db.session.commit()


def inactive_attempt(user) -> None:
    record(db.session, "login_failed", "ab_user", user.id, None,
           {"username": user.username, "ip": _ip(), "inactive": True})
    db.session.commit()


def unknown_user(username: str) -> None:
    """Audit the first unknown-name failure of an address per window; count the others only."""
    if throttle.hit(f"unknown:{_ip()}", UNKNOWN_USER_WINDOW_SECONDS) > 1:
        return
    record(db.session, "login_failed", "ab_user", None, None, {
        "username": username[:64], "ip": _ip(),
        "note": f"同一地址 {UNKNOWN_USER_WINDOW_SECONDS // 60} 分钟内其后的未知用户名登录失败只计数，不逐条记录",
    })
    db.session.commit()


def _ip() -> str | None:
    return request.remote_addr if request else None


def password_changed(user) -> None:
    """A new password: the first-login obligation is met (older sessions end by the epoch)."""
    user.password_changed_at = now()
    user.must_change_password = False


def enforce(app_user) -> object | None:
    """Before each request: end a revoked session; send a user who must change the password there."""
    if app_user is None or not getattr(app_user, "is_authenticated", False):
        return None
    if not revocation.session_is_current(app_user):
        logout_user()
        session.clear()
        if request.path.startswith("/api/"):
            return {"message": revocation.REVOKED_MESSAGE}, 401
        flash("登录已失效（密码已修改、账号已停用或锁定、或已退出登录），请重新登录", "warning")
        return redirect(url_for("AuthDBView.login"))
    if getattr(app_user, "must_change_password", False) and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
        if request.path.startswith("/api/"):
            return {"message": "首次登录须先修改密码"}, 403
        flash("为了账号安全，首次登录请先修改密码", "warning")
        return redirect(url_for("ResetMyPasswordView.this_form_get"))
    return None


def current():
    return getattr(g, "user", None)
