"""我的待办 across domains: each domain contributes what waits on a user.

A domain registers a provider in its menu.py (`register_provider("appeals", provider)`); the to-do
page, the landing page and the navigation bar's count ask every provider, in registration
order. A provider takes the acting user and the request's clock and returns its groups (empty
when nothing waits or the user's role has nothing to do there); it runs a bounded number of
queries whatever the data's size.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TodoItem:
    """One thing to do: what, where it is done, by when, and why it waits (in Chinese)."""

    title: str
    url: str
    due: dt.datetime | None = None
    note: str = ""
    light: str | None = None  # green / yellow / red, as the supervision lights


@dataclass(frozen=True)
class TodoGroup:
    """A kind of thing to do (签收, 反馈, 审核 …): its total and its first items."""

    key: str
    title: str
    count: int
    items: list[TodoItem] = field(default_factory=list)
    url: str | None = None  # the list screen with all of them
    hint: str = ""


Provider = Callable[[object, dt.datetime], list[TodoGroup]]
_PROVIDERS: dict[str, Provider] = {}


def register_provider(name: str, provider: Provider) -> None:
    _PROVIDERS[name] = provider


def providers() -> dict[str, Provider]:
    return dict(_PROVIDERS)


def collect(user, now: dt.datetime) -> list[TodoGroup]:
    """Every group of every domain for `user`, in registration order."""
    return [group for provider in _PROVIDERS.values() for group in provider(user, now)]


def total(user, now: dt.datetime) -> int:
    return sum(group.count for group in collect(user, now))


# The navigation bar's count, per user, kept for a short while: every page shows it, and the
# providers run a few queries each. The to-do page itself always counts afresh (remember()).
COUNT_TTL_SECONDS = 60
_counts: dict[int, tuple[float, int]] = {}


def remember(user, count: int) -> None:
    if len(_counts) > 10_000:
        _counts.clear()
    _counts[user.id] = (time.monotonic() + COUNT_TTL_SECONDS, count)


def forget(user) -> None:
    """Drop a user's kept count (something of theirs was just done)."""
    _counts.pop(getattr(user, "id", None), None)


def cached_total(user, now: dt.datetime) -> int:
    """What waits on `user`, counted at most once a minute."""
    hit = _counts.get(user.id)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    count = total(user, now)
    remember(user, count)
    return count
