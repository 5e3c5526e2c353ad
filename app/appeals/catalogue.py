"""The appeals' settings as commands: the 高频事项 catalogue (dispatchers and admins), the time
limits per urgency and the 分管领导 charges (admins). Same contract as app/appeals/services.py:
the acting `user` is passed in (None: the system), Chinese refusals change nothing."""

from __future__ import annotations

from sqlalchemy import select

from app.appeals import rules
from app.appeals.access import command, has_role
from app.appeals.models import AppealCategory, AppealTimeLimit, LeaderCharge
from app.core.errors import DomainError, Forbidden, NotFound
from app.extensions import db
from app.models import AppUser, OrgUnit
from app.security import roles as R
from app.security.scope import unit_visible_to


def _require(user, *roles_allowed: str, what: str) -> None:
    if user is not None and not has_role(user, *roles_allowed):
        raise Forbidden(f"您无权{what}")


def _department(unit_id, user) -> OrgUnit | None:
    if unit_id in (None, ""):
        return None
    unit = db.session.get(OrgUnit, unit_id)
    if unit is None or unit.kind != "department" or not unit_visible_to(unit, user):
        raise DomainError("建议承办部门不存在、不是部门或不在您的管辖范围内")
    return unit


def save_category(name, *, user, default_urgency="一般", department_id=None, active=True,
                  category_id=None) -> AppealCategory:
    """Add (category_id None) or change a 高频事项; a saved category no longer needs completion."""
    _require(user, R.DISPATCHER, R.ADMIN, what="维护高频事项目录")
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise DomainError("事项名称不能为空，且最多 100 个字符")
    if default_urgency not in rules.URGENCIES:
        raise DomainError(f"默认紧急程度应为 {'/'.join(rules.URGENCIES)} 之一")
    department = _department(department_id, user)
    clash = select(AppealCategory.id).where(AppealCategory.name == name)
    if category_id is not None:
        clash = clash.where(AppealCategory.id != category_id)
    if db.session.scalar(clash) is not None:
        raise DomainError(f"高频事项“{name}”已存在")
    with command(user):
        if category_id is None:
            category = AppealCategory(name=name)
            db.session.add(category)
        else:
            category = db.session.get(AppealCategory, category_id)
            if category is None:
                raise NotFound("高频事项不存在")
        category.name, category.default_urgency = name, default_urgency
        category.department_id = department.id if department is not None else None
        category.active, category.needs_completion = bool(active), False
    return category


def category_for_import(name: str) -> AppealCategory:
    """The category named `name`, added to the catalogue (marked 待完善 for the dispatcher)
    when unknown — for the hotline import, inside its own transaction (not committed here)."""
    name = (name or "").strip()[:100]
    if not name:
        raise DomainError("诉求类别不能为空")
    category = db.session.scalar(select(AppealCategory).where(AppealCategory.name == name))
    if category is None:
        category = AppealCategory(name=name, default_urgency="一般", needs_completion=True, active=True)
        db.session.add(category)
    return category


def set_time_limit(urgency, *, user, sign_amount, sign_unit, reply_amount, reply_unit) -> AppealTimeLimit:
    """Change the 签收 and 答复 limits of one urgency (admins). Existing appeals keep their deadlines."""
    _require(user, R.ADMIN, what="修改诉求时限")
    if urgency not in rules.URGENCIES:
        raise DomainError(f"紧急程度应为 {'/'.join(rules.URGENCIES)} 之一")
    try:
        limits = rules.TimeLimits(rules.Limit(int(sign_amount), sign_unit), rules.Limit(int(reply_amount), reply_unit))
    except (TypeError, ValueError) as exc:
        raise DomainError(f"时限无效：{exc}")
    with command(user):
        row = db.session.scalar(select(AppealTimeLimit).where(AppealTimeLimit.urgency == urgency))
        if row is None:
            row = AppealTimeLimit(urgency=urgency)
            db.session.add(row)
        row.sign_amount, row.sign_unit = limits.sign.amount, limits.sign.unit
        row.reply_amount, row.reply_unit = limits.reply.amount, limits.reply.unit
    return row


def add_leader_charge(leader_id, unit_id, *, user) -> LeaderCharge:
    """分管: a 县区领导 in charge of a department of their county (admins of that scope)."""
    _require(user, R.ADMIN, what="维护分管领导")
    leader = db.session.get(AppUser, leader_id) if leader_id is not None else None
    if leader is None or not has_role(leader, R.LEADER):
        raise DomainError("分管领导须为县区领导账号")
    unit = db.session.get(OrgUnit, unit_id) if unit_id is not None else None
    if unit is None or unit.kind != "department" or not unit_visible_to(unit, user):
        raise DomainError("分管单位须为您管辖范围内的部门")
    leader_unit = db.session.get(OrgUnit, leader.org_unit_id) if leader.org_unit_id else None
    if leader_unit is None or not unit.path.startswith(leader_unit.path):
        raise DomainError(f"“{unit.name}”不在该领导所在单位的范围内")
    if db.session.scalar(select(LeaderCharge.id).where(LeaderCharge.leader_id == leader.id,
                                                       LeaderCharge.org_unit_id == unit.id)):
        raise DomainError("该领导已分管此部门")
    with command(user):
        charge = LeaderCharge(leader_id=leader.id, org_unit_id=unit.id)
        db.session.add(charge)
    return charge


def remove_leader_charge(charge_id, *, user) -> None:
    _require(user, R.ADMIN, what="维护分管领导")
    charge = db.session.get(LeaderCharge, charge_id) if charge_id is not None else None
    if charge is None or not unit_visible_to(charge.org_unit, user):
        raise NotFound("分管关系不存在或不在您的管辖范围内")
    with command(user):
        db.session.delete(charge)
