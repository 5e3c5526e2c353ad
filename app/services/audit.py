"""The audit trail: every ORM change of an audited model is recorded in one place.

A `before_flush` listener writes who, when, table, row, old -> new for models that set
`__audited__ = True`, whatever path made the change (form, API, CLI, import).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import decimal
import json

from flask import g, has_request_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from app.models import AuditLog

cli_actor: contextvars.ContextVar[str | None] = contextvars.ContextVar("cli_actor", default=None)


def actor() -> tuple[int | None, str]:
    """(user id, username) of whoever makes the change: the request user, or the CLI."""
    if has_request_context():
        user = getattr(g, "user", None)
        if user is not None and getattr(user, "is_authenticated", False):
            return user.id, user.username
    return None, cli_actor.get() or "命令行"


def _plain(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _columns(obj) -> list[str]:
    return [c.key for c in inspect(obj).mapper.column_attrs]


def _snapshot(obj) -> dict:
    return {key: _plain(getattr(obj, key)) for key in _columns(obj)}


def _changes(obj) -> tuple[dict, dict]:
    state = inspect(obj)
    old, new = {}, {}
    for key in _columns(obj):
        hist = state.attrs[key].history
        if hist.has_changes():
            old[key] = _plain(hist.deleted[0]) if hist.deleted else None
            new[key] = _plain(hist.added[0]) if hist.added else None
    return old, new


def record(session: Session, action: str, table: str, row_id, old=None, new=None) -> None:
    """Append one audit row in the session's transaction."""
    user_id, username = actor()
    session.add(
        AuditLog(
            at=dt.datetime.now(),
            user_id=user_id,
            username=username,
            action=action,
            table_name=table,
            row_id=None if row_id is None else str(row_id),
            old_values=json.dumps(old, ensure_ascii=False) if old else None,
            new_values=json.dumps(new, ensure_ascii=False) if new else None,
        )
    )


def _audited(obj) -> bool:
    return getattr(type(obj), "__audited__", False)


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, flush_context, instances) -> None:
    pending = session.info.setdefault("audit_new", [])
    for obj in session.new:
        if _audited(obj):
            pending.append(obj)
    for obj in session.dirty:
        if _audited(obj) and session.is_modified(obj, include_collections=False):
            old, new = _changes(obj)
            new.pop("version", None)
            old.pop("version", None)
            if new:
                record(session, "update", obj.__tablename__, obj.id, old, new)
    for obj in session.deleted:
        if _audited(obj):
            record(session, "delete", obj.__tablename__, obj.id, _snapshot(obj), None)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, flush_context) -> None:
    pending = session.info.pop("audit_new", [])
    for obj in pending:
        user_id, username = actor()
        session.execute(
            AuditLog.__table__.insert().values(
                at=dt.datetime.now(),
                user_id=user_id,
                username=username,
                action="create",
                table_name=obj.__tablename__,
                row_id=str(obj.id),
                old_values=None,
                new_values=json.dumps(_snapshot(obj), ensure_ascii=False),
            )
        )
