"""Who an instruction goes to: the rules, on plain values (no Flask, no SQL).

A target is one or more unit subtrees plus filters, every filter narrowing (AND); inside a
filter the chosen values are alternatives (OR):

- roles: the user holds one of the roles;
- post categories: the user's linked cadre has one of the post categories (a user without a
  linked cadre does not match);
- party-member filters (status, 流动, age band): the members of the subtrees that match; the
  recipients are then the secretaries (书记) of the branches holding such members, each copy
  carrying the list of those members — and the user filters above apply to the secretaries.

No filter at all: every active user of the subtrees. The sender never receives its own copy.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

AGE_BANDS = ("≤30", "31–40", "41–50", "51–60", "≥61")
_BAND_BOUNDS = {"≤30": (None, 30), "31–40": (31, 40), "41–50": (41, 50), "51–60": (51, 60), "≥61": (61, None)}
MEMBER_STATUSES = ("正式党员", "预备党员")
FLOWING_CHOICES = {"是": True, "否": False}


@dataclass(frozen=True)
class TargetFilters:
    """The filters as chosen; empty tuples (and flowing None) mean "any"."""

    roles: tuple[str, ...] = ()
    post_categories: tuple[str, ...] = ()
    member_status: tuple[str, ...] = ()
    member_flowing: bool | None = None
    member_age_bands: tuple[str, ...] = ()

    @property
    def by_members(self) -> bool:
        """Whether the recipients are branch secretaries (a party-member filter is set)."""
        return bool(self.member_status or self.member_age_bands or self.member_flowing is not None)

    def to_json(self) -> dict:
        return {"roles": list(self.roles), "post_categories": list(self.post_categories),
                "member_status": list(self.member_status),
                "member_flowing": None if self.member_flowing is None else ("是" if self.member_flowing else "否"),
                "member_age_bands": list(self.member_age_bands)}

    @classmethod
    def from_json(cls, raw: dict | None) -> TargetFilters:
        raw = raw or {}
        flowing = raw.get("member_flowing")
        return cls(tuple(raw.get("roles") or ()), tuple(raw.get("post_categories") or ()),
                   tuple(raw.get("member_status") or ()), FLOWING_CHOICES.get(flowing) if flowing else None,
                   tuple(raw.get("member_age_bands") or ()))


def parse_filters(roles=(), post_categories=(), member_status=(), member_flowing=None, member_age_bands=(), *,
                  known_roles=(), known_categories=()) -> tuple[TargetFilters, list[str]]:
    """The filters from a form's values, and every problem in Chinese (none: the list is empty)."""
    errors: list[str] = []

    def pick(values, allowed, what):
        chosen = []
        for value in values or ():
            value = (value or "").strip()
            if not value:
                continue
            if value not in allowed:
                errors.append(f"{what}“{value}”不存在，应为：{'、'.join(allowed)}")
            elif value not in chosen:
                chosen.append(value)
        return tuple(sorted(chosen, key=list(allowed).index))

    flowing_raw = (member_flowing or "").strip() if isinstance(member_flowing, str) else member_flowing
    if flowing_raw in (None, "", "不限"):
        flowing = None
    elif isinstance(flowing_raw, bool):
        flowing = flowing_raw
    elif flowing_raw in FLOWING_CHOICES:
        flowing = FLOWING_CHOICES[flowing_raw]
    else:
        flowing = None
        errors.append("是否流动党员应为“是”“否”或不限")
    filters = TargetFilters(
        roles=pick(roles, tuple(known_roles), "角色"),
        post_categories=pick(post_categories, tuple(known_categories), "岗位类别"),
        member_status=pick(member_status, MEMBER_STATUSES, "党员类别"),
        member_flowing=flowing,
        member_age_bands=pick(member_age_bands, AGE_BANDS, "年龄段"),
    )
    return filters, errors


def describe(filters: TargetFilters) -> list[str]:
    """The filters in Chinese, one a line (nothing chosen: 全部人员)."""
    lines = []
    if filters.roles:
        lines.append("角色：" + "、".join(filters.roles))
    if filters.post_categories:
        lines.append("岗位类别：" + "、".join(filters.post_categories))
    member = []
    if filters.member_status:
        member.append("、".join(filters.member_status))
    if filters.member_flowing is not None:
        member.append("流动党员" if filters.member_flowing else "非流动党员")
    if filters.member_age_bands:
        member.append("年龄 " + "、".join(filters.member_age_bands))
    if member:
        lines.append("党员条件：" + "；".join(member) + "（发给这些党员所在支部的书记）")
    return lines or ["全部人员"]


# ---------------------------------------------------------------- ages

def age_on(birth: dt.date, as_of: dt.date) -> int:
    """Full years of age at `as_of`."""
    return as_of.year - birth.year - ((as_of.month, as_of.day) < (birth.month, birth.day))


def age_band(age: int) -> str:
    for band, (lo, hi) in _BAND_BOUNDS.items():
        if (lo is None or age >= lo) and (hi is None or age <= hi):
            return band
    raise ValueError(age)


def years_before(day: dt.date, years: int) -> dt.date:
    """The same day `years` earlier (29 February becomes 28 February in a common year)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def birth_bounds(band: str, as_of: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """(born after, born on or before) of the members whose age at `as_of` lies in `band`
    (None: unbounded), so that a band is a range on birth_date in SQL."""
    lo, hi = _BAND_BOUNDS[band]
    on_or_before = years_before(as_of, lo) if lo is not None else None  # age >= lo
    after = years_before(as_of, hi + 1) if hi is not None else None  # age <= hi
    return after, on_or_before


# ---------------------------------------------------------------- branch secretaries' copies

@dataclass
class SecretaryCopy:
    """What one secretary receives: the unit the copy counts under, its branches and how many
    matching members they hold (the member list itself is written set-based at sending)."""

    user_id: int
    unit_id: int
    branches: list[str] = field(default_factory=list)
    members: int = 0


def secretary_copies(rows) -> tuple[dict[int, SecretaryCopy], list[str]]:
    """Group the branches holding matching members by their secretary.

    `rows`: (branch name, branch unit id, secretary user id or None, matching members), in the
    order the branches are to be listed. Returns the copies by secretary (counted under the unit
    of its first branch) and the names of the branches with matching members but no secretary
    account (nobody to send to).
    """
    copies: dict[int, SecretaryCopy] = {}
    orphans: list[str] = []
    for branch_name, unit_id, secretary_id, members in rows:
        if not members:
            continue
        if secretary_id is None:
            if branch_name not in orphans:
                orphans.append(branch_name)
            continue
        copy = copies.get(secretary_id)
        if copy is None:
            copy = copies[secretary_id] = SecretaryCopy(secretary_id, unit_id)
        if branch_name not in copy.branches:
            copy.branches.append(branch_name)
        copy.members += members
    return copies, orphans


# ---------------------------------------------------------------- rates per unit

def rollup(root_path: str, counts) -> dict[int | None, dict[str, int]]:
    """Copies per child unit of the root: {child id (None: the root itself): {"total", "read",
    "replied"}}. `counts`: (unit path, copy state, number) of the copies of the root's subtree;
    a reply counts as read too."""
    out: dict[int | None, dict[str, int]] = {}
    for path, state, n in counts:
        if not path.startswith(root_path):
            continue
        rest = path[len(root_path):].strip("/")
        key = int(rest.split("/")[0]) if rest else None
        row = out.setdefault(key, {"total": 0, "read": 0, "replied": 0})
        row["total"] += n
        if state in ("read", "replied"):
            row["read"] += n
        if state == "replied":
            row["replied"] += n
    return out


def rate(part: int, total: int) -> float:
    """A share in percent, one decimal (0 of 0 is 0)."""
    return round(100.0 * part / total, 1) if total else 0.0
