"""Login attempts counted in the database, so that every gunicorn worker and app node sees the
same count (Flask-Limiter's `memory://` storage counted per process: two workers allowed twice
the limit). One atomic upsert per attempt (INSERT ... ON CONFLICT DO UPDATE ... RETURNING),
on SQLite and PostgreSQL alike; fixed windows aligned on the clock."""

from __future__ import annotations

import time

import limits
from flask import current_app, render_template, request
from sqlalchemy import delete

from app.core.sql import conflict_insert
from app.extensions import db
from app.models import AuthThrottle

# Both login doors share one budget per address: the web form and the API.
LOGIN_ENDPOINTS = {"AuthDBView.login", "SecurityApi.login"}
KEEP_SECONDS = 86_400  # windows older than a day are deleted when a new window starts


def hit(key: str, window_seconds: int, now: float | None = None) -> int:
    """Count one attempt under `key` in the current window; return the window's count."""
    start = int((time.time() if now is None else now) // window_seconds * window_seconds)
    table = AuthThrottle.__table__
    stmt = (
        conflict_insert(table, db.engine.dialect.name)
        .values(key=key[:160], window_start=start, hits=1)
        .on_conflict_do_update(index_elements=[table.c.key, table.c.window_start],
                               set_={"hits": table.c.hits + 1})
        .returning(table.c.hits)
    )
    # Its own short transaction: the count stays even when the login then fails or rolls back.
    with db.engine.begin() as conn:
        hits = conn.execute(stmt).scalar_one()
        if hits == 1:
            conn.execute(delete(table).where(table.c.window_start < start - KEEP_SECONDS))
    return hits


def peek(key: str, window_seconds: int, now: float | None = None) -> int:
    """The count under `key` in the current window, without counting (e.g. refuse before
    checking a code; count only the wrong ones)."""
    start = int((time.time() if now is None else now) // window_seconds * window_seconds)
    table = AuthThrottle.__table__
    with db.engine.connect() as conn:
        hits = conn.execute(table.select().with_only_columns(table.c.hits)
                            .where(table.c.key == key[:160], table.c.window_start == start)).scalar()
    return hits or 0


def _login_limit() -> limits.RateLimitItem:
    return limits.parse(current_app.config["AUTH_RATE_LIMIT"])


def limit_logins():
    """Before a login POST (web form or API): refuse it with a Chinese 429 once the address
    has used up AUTH_RATE_LIMIT (e.g. "10 per 60 second") in the current window."""
    if request.method != "POST" or request.endpoint not in LOGIN_ENDPOINTS:
        return None
    if not current_app.config.get("AUTH_RATE_LIMITED"):
        return None
    item = _login_limit()
    window = item.get_expiry()
    if hit(f"login:{request.remote_addr}", window) <= item.amount:
        return None
    retry = window - int(time.time()) % window
    message = f"登录尝试过于频繁（每 {window} 秒最多 {item.amount} 次），请 {retry} 秒后再试"
    headers = {"Retry-After": str(retry)}
    if request.path.startswith("/api/"):
        return {"message": message}, 429, headers
    appbuilder = current_app.appbuilder
    page = render_template("error.html", code=429, message=message,
                           base_template=appbuilder.base_template, appbuilder=appbuilder)
    return page, 429, headers


def init_app(app) -> None:
    app.before_request(limit_logins)
