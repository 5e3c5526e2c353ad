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

from app.core import clock, personal
from app.models import AuditLog

# The user a running command acts as (app/core/commands.py sets it): (id, username, unit id).
_acting: contextvars.ContextVar[tuple | None] = contextvars.ContextVar("acting_user", default=None)
SYSTEM = "命令行"
ANONYMOUS = "未登录访问者"  # a web request with no logged-in user (e.g. a failed login)


def acting_as(user) -> contextvars.Token:
    """Name `user` (None: the system) as the author of what follows; undo with stop_acting."""
    who = None if user is None else (user.id, user.username, getattr(user, "org_unit_id", None))
    return _acting.set(who)


def stop_acting(token: contextvars.Token) -> None:
    _acting.reset(token)


def _who() -> tuple | None:
    acting = _acting.get()
    if acting is not None:
        return acting
    if has_request_context():
        user = getattr(g, "user", None)
        if user is not None and getattr(user, "is_authenticated", False):
            return user.id, user.username, getattr(user, "org_unit_id", None)
    return None


def actor() -> tuple[int | None, str]:
    """(user id, username) of whoever makes the change: the acting user, else the request's
    user (session or JWT), else the system (the CLI, no request), else an anonymous visitor."""
    who = _who()
    if who is not None:
        return who[0], who[1]
    return None, (ANONYMOUS if has_request_context() else SYSTEM)


def _plain(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):  # a JSON column: kept as JSON, not as Python's text of it
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def _columns(obj) -> list[str]:
    return [c.key for c in inspect(obj).mapper.column_attrs]


# Personal data (PLATFORM.md §5) is kept masked in the trail: a model names its columns of
# citizens' names and phones in `__audit_masked__` (column -> "name" / "phone").
_MASKS = {"name": personal.mask_name, "phone": personal.mask_phone}


def _value(obj, key: str, value):
    kind = getattr(type(obj), "__audit_masked__", {}).get(key)
    if kind is not None and value is not None:
        return _MASKS[kind](value)
    return _plain(value)


def _snapshot(obj) -> dict:
    return {key: _value(obj, key, getattr(obj, key)) for key in _columns(obj)}


def _changes(obj) -> tuple[dict, dict]:
    state = inspect(obj)
    old, new = {}, {}
    for key in _columns(obj):
        hist = state.attrs[key].history
        if hist.has_changes():
            old[key] = _value(obj, key, hist.deleted[0]) if hist.deleted else None
            new[key] = _value(obj, key, hist.added[0]) if hist.added else None
    return old, new


def actor_unit_id() -> int | None:
    """The unit of the user making the change (None: the CLI or the system)."""
    who = _who()
    return who[2] if who is not None else None


# How an audited row names its unit, tried in this order: its own unit column, or the unit of
# the row it belongs to (attribute holding that row's id -> its model's name).
_UNIT_COLUMNS = ("org_unit_id", "lead_unit_id", "occurred_unit_id")
_OWNERS = (("cadre_id", "Cadre"), ("sheet_id", "ScoreSheet"), ("assignment_id", "TaskAssignment"),
           ("finding_id", "Finding"), ("task_id", "SupervisionTask"), ("inspection_id", "Inspection"),
           ("appeal_id", "Appeal"))


def unit_of(session: Session, obj, depth: int = 0) -> int | None:
    """The unit an audited row is about: the audit log's row scope (None: city-wide rows)."""
    from app.models import OrgUnit

    if isinstance(obj, OrgUnit):
        return obj.id
    for column in _UNIT_COLUMNS:
        value = getattr(obj, column, None)
        if value is not None:
            return value
    if depth > 2:
        return None
    for column, model_name in _OWNERS:
        owner_id = getattr(obj, column, None)
        if owner_id is not None:
            model = obj.registry._class_registry.get(model_name)
            with session.no_autoflush:
                owner = session.get(model, owner_id)
            return unit_of(session, owner, depth + 1) if owner is not None else None
    return None


def _unit_of_row(session: Session, table: str, row_id) -> int | None:
    """The unit of the row `table`/`row_id` names, if it is a mapped row that still exists."""
    if row_id is None or not str(row_id).isdigit():
        return None
    for mapper in AuditLog.registry.mappers:
        if getattr(mapper.class_, "__tablename__", None) == table:
            with session.no_autoflush:
                obj = session.get(mapper.class_, int(row_id))
            return unit_of(session, obj) if obj is not None else None
    return None


def record(session: Session, action: str, table: str, row_id, old=None, new=None, *, unit_id=None,
           by=None) -> None:
    """Append one audit row in the session's transaction; its unit is `unit_id`, else the
    unit of the row it names. `by`: the user who acts when the request has none yet (a login)."""
    user_id, username = (by.id, by.username) if by is not None else actor()
    if unit_id is None:
        unit_id = _unit_of_row(session, table, row_id)
    session.add(
        AuditLog(
            at=clock.instant(),
            user_id=user_id,
            username=username,
            action=action,
            table_name=table,
            row_id=None if row_id is None else str(row_id),
            old_values=json.dumps(old, ensure_ascii=False) if old else None,
            new_values=json.dumps(new, ensure_ascii=False) if new else None,
            org_unit_id=unit_id,
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
                record(session, "update", obj.__tablename__, obj.id, old, new, unit_id=unit_of(session, obj))
    for obj in session.deleted:
        if _audited(obj):
            record(session, "delete", obj.__tablename__, obj.id, _snapshot(obj), None, unit_id=unit_of(session, obj))


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, flush_context) -> None:
    pending = session.info.pop("audit_new", [])
    for obj in pending:
        user_id, username = actor()
        session.execute(
            AuditLog.__table__.insert().values(
                at=clock.instant(),
                user_id=user_id,
                username=username,
                action="create",
                table_name=obj.__tablename__,
                row_id=str(obj.id),
                old_values=None,
                new_values=json.dumps(_snapshot(obj), ensure_ascii=False),
                org_unit_id=unit_of(session, obj),
            )
        )
