"""The clock every rule reads: now to the second (deadlines, lights, stamps)."""

from __future__ import annotations

import datetime as dt


def now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def instant() -> dt.datetime:
    """Now to the microsecond: stamps compared with each other (an input changed after a
    compute in the same second still makes its results stale)."""
    return dt.datetime.now()
