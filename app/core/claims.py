"""One winner when two people act on the same row at once: claim the row in the state you read.

A command reads a row, checks what it wants to check, and then claims the row before it
changes anything: a conditional UPDATE that sets a column to itself where the column still
has the value the command read. PostgreSQL locks the row (a racing command waits, then its
condition matches nothing), SQLite takes its write lock; either way the checks that follow
the claim read the latest committed state and nobody interleaves before the commit. No row
matched: someone moved it first, and the loser gets a Conflict (409) that changed nothing.

Used inside app/core/commands.py's command() by the supervision commands, the evaluation
period's state machine, score entry, adjustments, compute, result use and scheme replacement.
"""

from __future__ import annotations

from sqlalchemy import update

from app.core.errors import Conflict
from app.extensions import db


def claim(obj, column: str, expected, message: str) -> None:
    """Hold `obj`'s row for the running transaction while `column` still has an `expected`
    value (a tuple of values, or None for "not set yet"), then reload what the session holds.

    Call it before any change of the transaction (the reload drops unflushed changes), once
    per row, in the same order everywhere. Raises Conflict(`message`) when the row moved on;
    the caller rolls back.
    """
    table = type(obj).__table__
    col = table.c[column]
    condition = col.is_(None) if expected is None else col.in_(expected)
    result = db.session.execute(update(table).where(table.c.id == obj.id, condition).values({col: col}))
    if result.rowcount != 1:
        raise Conflict(message)
    db.session.expire_all()
    db.session.refresh(obj)  # loaded now, so that the audit sees its old values
