"""Account safety: lockout after repeated failed logins, login audit, a forced password
change on first login, and logout everywhere when a password changes."""

from __future__ import annotations

import datetime as dt

from flask import flash, g, redirect, request, session, url_for
from flask_login import logout_user

from app.extensions import db
from app.services.audit import record

MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
# Endpoints a user who must change the password may still reach.
PASSWORD_CHANGE_ENDPOINTS = {"ResetMyPasswordView.this_form_get", "ResetMyPasswordView.this_form_post",
                             "AuthDBView.logout", "static", "appbuilder.static", "favicon"}


def now() -> dt.datetime:
    return dt.datetime.now()


def is_locked(user) -> bool:
    return bool(user is not None and user.locked_until and user.locked_until > now())


def after_attempt(user, success: bool) -> None:
    """Count a login attempt: lock after MAX_FAILED_LOGINS failures in a row; audit it."""
    if user is None:
        return
    if success:
        user.fail_login_count = 0
        user.locked_until = None
        record(db.session, "login", "ab_user", user.id, None, {"username": user.username, "ip": _ip()})
    else:
        if (user.fail_login_count or 0) >= MAX_FAILED_LOGINS:
            user.locked_until = now() + dt.timedelta(minutes=LOCK_MINUTES)
        record(db.session, "login_failed", "ab_user", user.id, None,
               {"username": user.username, "ip": _ip(), "fail_login_count": user.fail_login_count})
    db.session.commit()


def audit_unknown_user(username: str) -> None:
    record(db.session, "login_failed", "ab_user", None, None, {"username": username[:64], "ip": _ip()})
    db.session.commit()


def _ip() -> str | None:
    return request.remote_addr if request else None


def password_changed(user) -> None:
    """A new password: older sessions end, the first-login obligation is met."""
    user.password_changed_at = now()
    user.must_change_password = False


def mark_session_login() -> None:
    session["auth_at"] = now().timestamp()


def enforce(app_user) -> object | None:
    """Before each request: end stale sessions; send a user who must change the password there."""
    if app_user is None or not getattr(app_user, "is_authenticated", False):
        return None
    changed = getattr(app_user, "password_changed_at", None)
    auth_at = session.get("auth_at")
    if changed is not None and auth_at is not None and changed.timestamp() > auth_at + 1:
        logout_user()
        session.clear()
        flash("密码已修改，请重新登录", "warning")
        return redirect(url_for("AuthDBView.login"))
    if getattr(app_user, "must_change_password", False) and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
        if request.path.startswith("/api/"):
            return {"message": "首次登录须先修改密码"}, 403
        flash("为了账号安全，首次登录请先修改密码", "warning")
        return redirect(url_for("ResetMyPasswordView.this_form_get"))
    return None


def current():
    return getattr(g, "user", None)
