"""Personal data (PLATFORM.md §5): how citizens' names and phones and members' phones are
shown where the full value is not allowed — lists, exports, the API's list endpoints and audit
snapshots. Pure: no Flask, no database.

A name keeps its first character (张*, 欧阳** → 欧**); a phone keeps its first three and last
four digits (138****5678); anything shorter is masked whole. Empty stays empty.
"""

from __future__ import annotations

MASK = "*"


def mask_name(name: str | None) -> str:
    """张三 → 张*, 欧阳修文 → 欧***; a one-character name → *."""
    name = (name or "").strip()
    if not name:
        return ""
    if len(name) == 1:
        return MASK
    return name[0] + MASK * (len(name) - 1)


def mask_phone(phone: str | None) -> str:
    """13812345678 → 138****5678; 0571-88887777 → 057*****7777 (digits only kept);
    fewer than eight digits → all stars."""
    digits = "".join(ch for ch in (phone or "") if ch.isdigit())
    if not digits:
        return ""
    if len(digits) < 8:
        return MASK * len(digits)
    return digits[:3] + MASK * (len(digits) - 7) + digits[-4:]
