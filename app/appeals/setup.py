"""Appeals configuration: the default time limits of PLATFORM.md §2, and the stored limits and
work calendar as the pure values app/appeals/rules.py works on.

`seed_time_limits()` runs from `flask setup` (and the migration inserts the same defaults); it
only adds an urgency that has no row, so an admin's edits survive a second run.
"""

from __future__ import annotations

from sqlalchemy import select

from app.appeals import rules
from app.appeals.models import AppealTimeLimit
from app.core.commands import command
from app.extensions import db
from app.supervision.setup import work_calendar  # noqa: F401  (the 13710 calendar, re-exported)


def seed_time_limits() -> int:
    """Add the default limit of every urgency that has none; returns how many were added."""
    with command(None):
        present = set(db.session.scalars(select(AppealTimeLimit.urgency)))
        added = 0
        for urgency, limits in rules.DEFAULT_LIMITS.items():
            if urgency not in present:
                db.session.add(AppealTimeLimit(
                    urgency=urgency, sign_amount=limits.sign.amount, sign_unit=limits.sign.unit,
                    reply_amount=limits.reply.amount, reply_unit=limits.reply.unit,
                ))
                added += 1
    return added


def time_limits(urgency: str) -> rules.TimeLimits:
    """The stored limits of `urgency` (the default of §2 when no row holds it)."""
    row = db.session.scalar(select(AppealTimeLimit).where(AppealTimeLimit.urgency == urgency))
    if row is None:
        return rules.DEFAULT_LIMITS[urgency]
    return rules.TimeLimits(rules.Limit(row.sign_amount, row.sign_unit), rules.Limit(row.reply_amount, row.reply_unit))
