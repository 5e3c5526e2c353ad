"""How dates, times and numbers are written for people: the one place pages and exports ask.

An instant is written `2026-12-05 05:11` (minutes are what an office reads; seconds and
microseconds are noise); a date-only value `2026-12-05` with no meaningless 00:00. ISO text
read back from JSON (the audit trail) is written the same way. Pure: no Flask, no database.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re

DATETIME_FORMAT = "%Y-%m-%d %H:%M"
DATE_FORMAT = "%Y-%m-%d"
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([+-]\d{2}:?\d{2}|Z)?)?$")


def datetime_text(value) -> str:
    """`2026-12-05 05:11` for an instant, `2026-12-05` for a date, "" for None; ISO text is
    parsed first; anything else is returned as text."""
    value = _parsed(value)
    if isinstance(value, str):
        return value
    if isinstance(value, dt.datetime):
        return value.strftime(DATETIME_FORMAT)
    if isinstance(value, dt.date):
        return value.strftime(DATE_FORMAT)
    return str(value)


def date_text(value) -> str:
    """The day only (a deadline, a birth date): `2026-12-05`."""
    value = _parsed(value)
    if isinstance(value, str):
        return value
    if isinstance(value, dt.datetime):
        value = value.date()
    return value.strftime(DATE_FORMAT) if isinstance(value, dt.date) else str(value)


def _parsed(value):
    """None and "" as ""; ISO text as its date or datetime; other text as itself; else unchanged."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        parsed = parse_iso(value)
        return value if parsed is None else parsed
    return value


def deadline_text(value) -> str:
    """A deadline: a date as itself; an instant at midnight (the moment after its last day,
    as deadlines are computed) as that last day; another instant to the minute."""
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return date_text(value - dt.timedelta(microseconds=1))
    return datetime_text(value)


def parse_iso(text: str):
    """A date or datetime from ISO text (`2026-12-05`, `2026-12-05T05:11:58.831757`), else None."""
    text = text.strip()
    if not _ISO.match(text):
        return None
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def number_text(value, places: int = 2) -> str:
    """A number rounded to `places` decimals without trailing zeros: 87.456789 → 87.46, 90.0 → 90."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return str(value)
    quantum = decimal.Decimal(1).scaleb(-places)
    rounded = decimal.Decimal(str(value)).quantize(quantum, rounding=decimal.ROUND_HALF_UP)
    text = format(rounded, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def display(value) -> str:
    """Any plain value as a person reads it: dates and times as above, numbers rounded,
    booleans 是/否, None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (dt.date, dt.datetime)):
        return datetime_text(value)
    if isinstance(value, (float, decimal.Decimal)):
        return number_text(value)
    if isinstance(value, str):
        return datetime_text(value) if parse_iso(value) is not None else value
    return str(value)
