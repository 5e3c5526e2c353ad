"""Pure appeal rules (PLATFORM.md §2): plain values in, plain values out. No Flask, no database.

- States and who may do which action from which state (`ACTIONS`, `check_action`).
- Deadlines: hours are calendar hours from the event; N working days end at 23:59:59 of the
  N-th working day after the event's day on the 13710 work calendar (the event's own day never
  counts; supervision's `WorkCalendar` and its working-day count are reused). A deadline is
  the last instant still on time: done at or before it is on time.
- Lights green / yellow / red as supervision's (`deadlines.light`, 24 h yellow window).
- The level an appeal was resolved at, from the resolving unit's kind and its parent's.
- The figures of §2 as functions of counts, and the evaluation indicator
  `100·(0.3·签收及时率 + 0.4·按时答复率 + 0.3·满意率) − 2·重办件数`, clamped to [0, 100].
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from app.supervision import deadlines
from app.supervision.deadlines import WorkCalendar

# ---------------------------------------------------------------- states and actions

TO_DISPATCH, TO_SIGN, HANDLING, TO_REVIEW, TO_CALLBACK, CLOSED, MERGED = (
    "to_dispatch", "to_sign", "handling", "to_review", "to_callback", "closed", "merged",
)
STATE_LABELS = {
    TO_DISPATCH: "待分派", TO_SIGN: "待签收", HANDLING: "办理中", TO_REVIEW: "待审核",
    TO_CALLBACK: "待回访", CLOSED: "已办结", MERGED: "已合并",
}
OPEN_STATES = (TO_DISPATCH, TO_SIGN, HANDLING, TO_REVIEW, TO_CALLBACK)
ENDED_STATES = (CLOSED, MERGED)

# Actor kinds (who the acting user is with respect to one appeal; services decide which):
GRID = "grid"  # the 网格员 of the handling grid
UNIT = "unit"  # the liaison of the unit the action concerns (handler, assigned unit)
DISPATCHER = "dispatcher"  # a 热线调度员 of the appeal's dispatch unit
REVIEWER = "reviewer"  # whoever reviews: the dispatcher, or the township's liaison for grid reports
ASSIGNER = "assigner"  # who made a refused assignment (its ruling)
LEADER = "leader"  # the 分管领导 a whistle waits for
SUPERVISOR = "supervisor"  # a 督查员 (转督办)
SYSTEM = "system"  # the CLI, imports, the demo: any action

# action -> (label, states it may start from, actor kinds that may take it)
ACTIONS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "report": ("上报诉求", (), (GRID,)),
    "create": ("登记诉求", (), (DISPATCHER,)),
    "dispatch": ("分派", (TO_DISPATCH,), (DISPATCHER,)),
    "sign": ("签收", (TO_SIGN, HANDLING, TO_REVIEW), (UNIT, GRID)),  # an assisting unit may sign later
    "refuse": ("退单", (TO_SIGN, HANDLING, TO_REVIEW), (UNIT, GRID)),
    "rule_on_refusal": ("处理退单", (TO_DISPATCH, TO_SIGN, HANDLING, TO_REVIEW), (ASSIGNER, DISPATCHER, LEADER)),
    "escalate": ("上报上级", (HANDLING,), (GRID, UNIT)),
    "whistle_to_department": ("吹哨部门", (HANDLING,), (GRID, UNIT)),  # a township's only (services check)
    "whistle_to_leader": ("吹哨分管领导", (HANDLING,), (GRID, UNIT)),
    "leader_assign": ("指派牵头及协办部门", (TO_DISPATCH,), (LEADER,)),
    "reply": ("答复", (HANDLING,), (GRID, UNIT)),
    "review": ("审核答复", (TO_REVIEW,), (REVIEWER,)),
    "callback": ("回访", (TO_CALLBACK,), (REVIEWER,)),
    "merge": ("合并", OPEN_STATES, (DISPATCHER,)),
    "to_supervision": ("转督办", (TO_SIGN, HANDLING, TO_REVIEW, TO_CALLBACK), (SUPERVISOR,)),
}
ACTION_LABELS = {name: spec[0] for name, spec in ACTIONS.items()} | {
    "approve": "审核通过", "return": "退回重办", "reopen": "重办", "overrule": "驳回退单",
    "reassign": "改派", "take_back": "收回办理", "close": "办结",
}


def state_label(state: str) -> str:
    return STATE_LABELS.get(state, state)


def action_error(action: str, state: str | None, actor_kinds) -> str | None:
    """Why `action` may not be taken from `state` by an actor of any of `actor_kinds`
    (Chinese), or None when it may. SYSTEM may take any action from a legal state."""
    label, states, actors = ACTIONS[action]
    kinds = set(actor_kinds)
    if states and state not in states:
        return f"诉求当前状态为“{state_label(state)}”，不能{label}"
    if SYSTEM not in kinds and not kinds & set(actors):
        return f"您无权对该诉求{label}"
    return None


# ---------------------------------------------------------------- deadlines

HOURS, WORKING_DAYS = "hours", "working_days"
UNIT_LABELS = {HOURS: "小时", WORKING_DAYS: "个工作日"}


@dataclass(frozen=True)
class Limit:
    """A time limit: `amount` hours or working days."""

    amount: int
    unit: str

    def __post_init__(self) -> None:
        if self.unit not in UNIT_LABELS:
            raise ValueError("时限单位应为 小时 或 工作日")
        if self.amount < 1:
            raise ValueError("时限至少为 1")

    def __str__(self) -> str:
        return f"{self.amount} {UNIT_LABELS[self.unit]}"


@dataclass(frozen=True)
class TimeLimits:
    sign: Limit
    reply: Limit


DEFAULT_LIMITS = {
    "紧急": TimeLimits(Limit(2, HOURS), Limit(24, HOURS)),
    "一般": TimeLimits(Limit(1, WORKING_DAYS), Limit(7, WORKING_DAYS)),
    "复杂": TimeLimits(Limit(1, WORKING_DAYS), Limit(15, WORKING_DAYS)),
}
URGENCIES = tuple(DEFAULT_LIMITS)
_WORKING = deadlines.Rule(working_days=True)
LAST_SECOND = time(23, 59, 59)


def nth_working_day_after(day: date, n: int, cal: WorkCalendar) -> date:
    """The n-th working day after `day` (n ≥ 1; `day` itself never counts)."""
    if n < 1:
        raise ValueError("工作日数至少为 1")
    return deadlines.add_days(day, n, _WORKING, cal)


def due(start: datetime, limit: Limit, cal: WorkCalendar) -> datetime:
    """The deadline of `limit` counted from `start`: start + N hours, or 23:59:59 of the N-th
    working day after start's day."""
    if limit.unit == HOURS:
        return start + timedelta(hours=limit.amount)
    return datetime.combine(nth_working_day_after(start.date(), limit.amount, cal), LAST_SECOND, tzinfo=start.tzinfo)


def sign_deadline(assigned_at: datetime, limits: TimeLimits, cal: WorkCalendar) -> datetime:
    """An assignment's 签收 deadline, from the moment of that assignment."""
    return due(assigned_at, limits.sign, cal)


def reply_deadline(received_at: datetime, limits: TimeLimits, cal: WorkCalendar) -> datetime:
    """An appeal's 答复 deadline, from receipt (not restarted by escalation, whistle or 退单)."""
    return due(received_at, limits.reply, cal)


def on_time(deadline: datetime, done_at: datetime) -> bool:
    return done_at <= deadline


GREEN, YELLOW, RED, DONE, OVERDUE_DONE = (
    deadlines.GREEN, deadlines.YELLOW, deadlines.RED, deadlines.DONE, deadlines.OVERDUE_DONE,
)
LIGHT_LABELS = deadlines.LIGHT_LABELS
_ONE_SECOND = timedelta(seconds=1)


def light(deadline: datetime | None, done_at: datetime | None, now: datetime) -> str | None:
    """Green / yellow (≤ 24 h left) / red (past), or done / overdue_done, as supervision's
    lights. `deadline` is the last on-time instant (supervision's `due` is the first late one)."""
    if deadline is None:
        return None
    return deadlines.light(deadline + _ONE_SECOND, done_at, now)


# ---------------------------------------------------------------- where it was resolved

LEVELS = ("网格", "村社区", "乡镇街道", "县区部门", "市直部门")


def resolved_level(unit_kind: str, parent_kind: str | None) -> str | None:
    """The 微事不出格、小事不出村、大事不出乡 level of the unit that resolved an appeal."""
    if unit_kind == "grid":
        return "网格"
    if unit_kind == "village":
        return "村社区"
    if unit_kind == "township":
        return "乡镇街道"
    if unit_kind == "department":
        return "市直部门" if parent_kind == "city" else "县区部门"
    return None


ESCALATES_TO = {"grid": "village", "village": "township"}  # 上报: grid → village → township


# ---------------------------------------------------------------- figures and the indicator

def rate(part: int, whole: int) -> float | None:
    """part / whole, None when nothing counts (whole == 0)."""
    return None if not whole else part / whole


def sign_rate(signed_on_time: int, signed_or_overdue: int) -> float | None:
    """签收及时率 = assignments signed by their deadline / assignments signed or overdue."""
    return rate(signed_on_time, signed_or_overdue)


def reply_rate(replied_on_time: int, reply_due: int) -> float | None:
    """按时答复率 = replied by the deadline / appeals whose reply was due (or was made)."""
    return rate(replied_on_time, reply_due)


def satisfaction_rate(satisfied: int, basically_satisfied: int, callbacks: int) -> float | None:
    """满意率 = (满意 + 基本满意) / call-backs."""
    return rate(satisfied + basically_satisfied, callbacks)


def reopen_rate(reopened: int, called_back: int) -> float | None:
    """重办率 = appeals reopened at least once / appeals called back."""
    return rate(reopened, called_back)


def shares(counts: dict[str, int]) -> dict[str, float | None]:
    """Each key's share of the total (None when the total is 0)."""
    whole = sum(counts.values())
    return {key: rate(value, whole) for key, value in counts.items()}


DEFAULT_WEIGHTS = (0.3, 0.4, 0.3)  # 签收及时率, 按时答复率, 满意率
DEFAULT_PENALTY = 2.0  # per 重办


def indicator(
    sign: float | None, reply: float | None, satisfaction: float | None, reopened: int,
    weights: tuple[float, float, float] = DEFAULT_WEIGHTS, penalty: float = DEFAULT_PENALTY,
) -> float | None:
    """诉求办理实绩: 100·(w1·sign + w2·reply + w3·satisfaction) − penalty·reopened, in [0, 100].

    Rates are fractions (0–1). A rate that is None (nothing counted: no assignment, no reply
    due, no call-back) is left out and the weights of the others are renormalized; all three
    None gives None (no value: the unit had no appeals). `reopened` is the number of 重办.
    """
    if min(weights) < 0 or penalty < 0:
        raise ValueError("权重与扣分不能为负数")
    present = [(w, r) for w, r in zip(weights, (sign, reply, satisfaction)) if r is not None]
    total = sum(w for w, _ in present)
    if not present or total <= 0:
        return None
    value = 100 * sum(w * r for w, r in present) / total - penalty * reopened
    return max(0.0, min(100.0, value))
