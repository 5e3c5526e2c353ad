"""Credentials can be revoked: a per-user epoch (ab_user.auth_epoch) carried by every session
and every API token.

A password change, a lockout, a deactivation and a logout raise the user's epoch with one
atomic UPDATE; a session cookie or a JWT (access or refresh) issued under an older epoch is
refused on its next request. Flask's session is a signed cookie kept by the browser, so the
server cannot delete it: the epoch in the database is what refuses a replayed one.
"""

from __future__ import annotations

from flask import current_app, g, session
from flask_login import user_logged_in
from sqlalchemy import event, inspect, update

from app.core import clock
from app.models import AppUser

CLAIM = "auth_epoch"  # the JWT claim
SESSION_KEY = "auth_epoch"
REVOKED_MESSAGE = "登录凭证已失效（密码已修改、账号已停用或锁定、或已退出登录），请重新登录"


def is_locked(user) -> bool:
    """Locked out after repeated failed logins (app/security/accounts.py counts them)."""
    return bool(user is not None and user.locked_until and user.locked_until > clock.instant())


def revoke(db_session, user_id: int) -> None:
    """End every session and token of the user (in the caller's transaction)."""
    db_session.execute(
        update(AppUser).where(AppUser.id == user_id).values(auth_epoch=AppUser.auth_epoch + 1)
        .execution_options(synchronize_session=False)
    )


@event.listens_for(AppUser, "before_update")
def _revoke_on_credential_change(_mapper, _connection, user) -> None:
    """Whatever path changes a password, deactivates or locks a user (FAB's reset views, the
    user form, `users create` on an existing name), its UPDATE also raises the epoch.

    The new value is an SQL expression, so two changes at once both count."""
    state = inspect(user)

    def changed_to(key, test) -> bool:
        # `added` is empty when the same value was set again; an old value that was never
        # loaded counts as a change (one more epoch is harmless).
        history = state.attrs[key].history
        return bool(history.added) and test(history.added[0])

    if (
        changed_to("password", lambda _new: True)
        or changed_to("active", lambda new: not new)
        or changed_to("locked_until", lambda new: new is not None)
    ):
        user.auth_epoch = AppUser.auth_epoch + 1


# --- what a login was granted under --------------------------------------------------------

def note_login(user_id: int, epoch: int) -> None:
    """Remember the epoch read with the row whose password was just checked: the session or
    token of this login carries it (a change that lands meanwhile then ends it at once)."""
    g.setdefault("_auth_epochs", {})[str(user_id)] = epoch


def _epoch_for(identity) -> int:
    noted = g.get("_auth_epochs", {}).get(str(identity))
    if noted is not None:
        return noted
    sm = current_app.appbuilder.sm
    return sm.get_user_by_id(int(identity)).auth_epoch


def keep_this_session(user) -> None:
    """After the user's own change: this session takes the new epoch and stays."""
    session[SESSION_KEY] = user.auth_epoch


def session_is_current(user) -> bool:
    return session.get(SESSION_KEY) == user.auth_epoch


def _on_web_login(_app, user, **_extra) -> None:
    session[SESSION_KEY] = _epoch_for(user.id)


# --- JWT: the epoch is a claim, checked when FAB loads the token's user --------------------

def _claims(identity) -> dict:
    return {CLAIM: _epoch_for(identity)}


def _load_token_user(_header, data):
    """FAB's load_user_jwt plus the checks: active, not locked, the token's epoch current.
    Runs for every JWT request, the refresh endpoint included (one query, as FAB's did)."""
    user = current_app.appbuilder.sm.get_user_by_id(int(data["sub"]))
    if user is None or not user.is_active or is_locked(user):
        return None
    if data.get(CLAIM) != user.auth_epoch:
        return None
    g.user = user
    note_login(user.id, user.auth_epoch)  # a refreshed access token carries the same epoch
    return user


def _refused(_header, _data):
    return {"message": REVOKED_MESSAGE}, 401


def init_app(app) -> None:
    """Wire the epoch into FAB's JWT manager and Flask-Login's login signal."""
    jwt_manager = app.appbuilder.sm.jwt_manager
    jwt_manager.additional_claims_loader(_claims)
    jwt_manager.user_lookup_loader(_load_token_user)
    jwt_manager.user_lookup_error_loader(_refused)
    user_logged_in.connect(_on_web_login, app)
