"""Who the acting user is with respect to one appeal, the appeal's row scope, and the
transaction every appeal command runs in.

Services receive the acting `user` (an AppUser; None = the CLI, imports, the demo: the system,
unrestricted). An appeal the user may not see raises NotFound, exactly like a missing one.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.appeals import rules
from app.appeals.models import Appeal, AppealAssignment
from app.core import audit, claims, clock, commands
from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.models import OrgUnit
from app.security import roles as R
from app.security.scope import appeal_touches_subtree, prefix_of, unit_visible_to

NOT_FOUND = "诉求不存在或不在您的管辖范围内"
STALE = "该诉求已被他人修改，您的操作未保存。请刷新后重试。"
TAKEN = "该诉求已被他人处理，请刷新后重试"
DUPLICATE = "诉求编号或工单编号与已有诉求重复，未保存。"


def role_names(user) -> set[str]:
    return {role.name for role in getattr(user, "roles", None) or []}


def has_role(user, *names: str) -> bool:
    return user is not None and bool(role_names(user) & set(names))


def username(user) -> str:
    return user.username if user is not None else audit.SYSTEM


def default_now(now: dt.datetime | None) -> dt.datetime:
    return now if now is not None else clock.now()


def command(user):
    """The appeal commands' transaction (app/core/commands.py) with their Chinese 409s."""
    return commands.command(user, STALE, DUPLICATE)


def claim(obj, column: str, expected) -> None:
    """One winner: hold the row while `column` still has an `expected` value (app/core/claims.py)."""
    claims.claim(obj, column, expected, TAKEN)


# ---------------------------------------------------------------- scope

def appeals_visible_to(user, form: str = "gather"):
    """SQL condition on Appeal: the rows `user` may see (an appeal belongs to the unit it
    happened in and to every unit it was assigned to; the user sees those of its subtree).
    `form`: "walk" for walking an ordered index, "place" for the part that happened in the
    subtree only (scope.appeal_touches_subtree)."""
    return appeal_touches_subtree(prefix_of(user), form=form)


def scope_appeals(stmt, user, form: str = "gather"):
    """Restrict a select of Appeal to what `user` may see (`form`: appeals_visible_to)."""
    return stmt if user is None else stmt.where(appeals_visible_to(user, form=form))


def get_appeal(appeal_id, user) -> Appeal:
    """The appeal if `user` may see it, else NotFound (missing and out of scope alike)."""
    try:
        appeal_id = int(appeal_id)
    except (TypeError, ValueError):
        raise NotFound(NOT_FOUND)
    appeal = db.session.scalar(scope_appeals(select(Appeal).where(Appeal.id == appeal_id), user))
    if appeal is None:
        raise NotFound(NOT_FOUND)
    return appeal


def unit_in_scope(unit_id, user, what: str) -> OrgUnit:
    """A unit of the user's subtree, else a Chinese refusal naming `what`."""
    unit = db.session.get(OrgUnit, unit_id) if unit_id is not None else None
    if unit is None or not unit.active or not unit_visible_to(unit, user):
        raise DomainError(f"{what}不存在或不在您的管辖范围内")
    return unit


# ---------------------------------------------------------------- actor kinds

def acts_for_unit(user, unit_id: int | None) -> set[str]:
    """GRID / UNIT when the user is the 网格员 / liaison of `unit_id`; SYSTEM for None."""
    if user is None:
        return {rules.SYSTEM}
    kinds = set()
    if unit_id is not None and user.org_unit_id == unit_id:
        if has_role(user, R.GRID_WORKER):
            kinds.add(rules.GRID)
        if has_role(user, R.LIAISON):
            kinds.add(rules.UNIT)
    return kinds


def actor_kinds(user, appeal: Appeal) -> set[str]:
    """What `user` is with respect to `appeal` (a visible one): its handler (GRID/UNIT),
    dispatcher, reviewer, 分管领导, supervisor; SYSTEM for None."""
    if user is None:
        return {rules.SYSTEM}
    kinds = acts_for_unit(user, appeal.handler_unit_id)
    if has_role(user, R.DISPATCHER):
        kinds.add(rules.DISPATCHER)
    if is_reviewer(user, appeal):
        kinds.add(rules.REVIEWER)
    if has_role(user, R.LEADER) and appeal.leader_id == user.id:
        kinds.add(rules.LEADER)
    if has_role(user, R.SUPERVISOR):
        kinds.add(rules.SUPERVISOR)
    return kinds


def is_reviewer(user, appeal: Appeal) -> bool:
    """The dispatcher of the appeal's dispatch unit (or of an ancestor), or for a grid report
    the liaison of the grid's township."""
    if user is None:
        return True
    if appeal.reviewer_kind == "dispatcher":
        unit = appeal.reviewer_unit
        return has_role(user, R.DISPATCHER) and unit is not None and unit_visible_to(unit, user)
    return has_role(user, R.LIAISON) and user.org_unit_id == appeal.reviewer_unit_id


def may_rule(user, assignment: AppealAssignment, appeal: Appeal) -> bool:
    """Whether `user` rules on the refusal of `assignment`: whoever assigned it, or a colleague
    of the same kind at the unit it was assigned from."""
    if user is None or user.id == assignment.assigned_by_id:
        return True
    if assignment.kind == "leader":
        return has_role(user, R.LEADER) and appeal.leader_id == user.id
    if assignment.kind == "dispatch":
        unit = assignment.assigned_from_unit
        return has_role(user, R.DISPATCHER) and unit is not None and unit_visible_to(unit, user)
    return bool(acts_for_unit(user, assignment.assigned_from_unit_id))


def require(action: str, appeal: Appeal, kinds) -> None:
    """Refuse (DomainError, Chinese) an action not legal from the appeal's state for `kinds`."""
    message = rules.action_error(action, appeal.state, kinds)
    if message is not None:
        raise DomainError(f"诉求{appeal.number}：{message}")


def required_text(value, message: str, limit: int | None = None) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    if not text:
        raise DomainError(message)
    if limit is not None and len(text) > limit:
        raise DomainError(f"{message.replace('请填写', '').replace('不能为空', '')}过长（最多 {limit} 个字符）")
    return text
