"""支部联支部: pairings of two branches and their activity log, as commands and scoped queries.

A pairing is visible to the users of either branch's unit subtree (a city organ's staff and
the village's alike); it is made by a user whose scope holds both branches (typically the
city or the county), and either side with write permission logs its activities.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select

from app.core import audit, clock
from app.core.commands import command
from app.core.errors import Conflict, DomainError, NotFound
from app.extensions import db
from app.models import OrgUnit
from app.party.models import PartyOrg
from app.party.models_instructions import Pairing, PairingActivity
from app.security.scope import covers_whole_tree, prefix_of, subtree_ids, unit_in_scope

NOT_FOUND = "结对记录不存在或不在您的管辖范围内"
STALE = "该结对记录已被他人修改，您的操作未保存。请刷新后重试。"
DUPLICATE = "这两个支部已经结对，不能重复结对"
BRANCH = "党支部"


def _name(user) -> str:
    return audit.SYSTEM if user is None else user.username


def scope_pairings(stmt, user):
    """Pairings one of whose branches' units lies in `user`'s subtree."""
    prefix = prefix_of(user)
    if prefix is None or covers_whole_tree(prefix):
        return stmt
    units = subtree_ids(prefix)
    return stmt.where(or_(Pairing.unit_a_id.in_(units), Pairing.unit_b_id.in_(units)))


def list_pairings(user, limit: int = 500) -> list[Pairing]:
    stmt = scope_pairings(select(Pairing), user).order_by(Pairing.active.desc(), Pairing.started_on.desc(),
                                                          Pairing.id.desc()).limit(limit)
    return list(db.session.scalars(stmt))


def get_pairing(pairing_id, user) -> Pairing:
    if not str(pairing_id).isdigit():
        raise NotFound(NOT_FOUND)
    found = db.session.scalar(scope_pairings(select(Pairing).where(Pairing.id == int(pairing_id)), user))
    if found is None:
        raise NotFound(NOT_FOUND)
    return found


def _branch(code: str, user, what: str) -> PartyOrg:
    code = (code or "").strip()
    if not code:
        raise DomainError(f"请选择{what}")
    org = db.session.scalar(select(PartyOrg).where(PartyOrg.code == code))
    if org is None or not unit_in_scope(org.org_unit, prefix_of(user)):
        raise DomainError(f"{what}“{code}”不存在或不在您的管辖范围内")
    if org.kind != BRANCH:
        raise DomainError(f"{what}“{org.name}”是{org.kind}，只有党支部可以结对")
    return org


def _date(value, what: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat((value or "").strip())
    except ValueError:
        raise DomainError(f"请填写有效的{what}（格式：年-月-日）")


def create_pairing(branch_a_code: str, branch_b_code: str, started_on, goal: str | None = None, *, user) -> Pairing:
    """Pair two branches from a start date; both in the user's scope, not the same, not paired yet."""
    a = _branch(branch_a_code, user, "结对支部（甲方）")
    b = _branch(branch_b_code, user, "结对支部（乙方）")
    if a.id == b.id:
        raise DomainError("不能与本支部结对，请选择另一个支部")
    started = _date(started_on, "结对日期")
    if started > clock.now().date():
        raise DomainError("结对日期不能晚于今天")
    existing = db.session.scalar(select(Pairing.id).where(or_(  # one pairing per pair, whichever side comes first
        (Pairing.branch_a_id == a.id) & (Pairing.branch_b_id == b.id),
        (Pairing.branch_a_id == b.id) & (Pairing.branch_b_id == a.id))))
    if existing is not None:
        raise DomainError(DUPLICATE)
    with command(user, STALE, DUPLICATE):
        pairing = Pairing(branch_a_id=a.id, branch_b_id=b.id, unit_a_id=a.org_unit_id, unit_b_id=b.org_unit_id,
                          started_on=started, goal=(goal or "").strip()[:2000] or None, active=True,
                          created_by=_name(user))
        db.session.add(pairing)
    return pairing


def update_pairing(pairing_id, *, user, started_on=None, goal=None, active=None, expected_version=None) -> Pairing:
    """Change a pairing's start date, content or whether it is still active (结对结束)."""
    pairing = get_pairing(pairing_id, user)
    with command(user, STALE):
        if expected_version is not None and int(expected_version) != pairing.version:
            raise Conflict(STALE)
        if started_on is not None:
            started = _date(started_on, "结对日期")
            if started > clock.now().date():
                raise DomainError("结对日期不能晚于今天")
            pairing.started_on = started
        if goal is not None:
            pairing.goal = goal.strip()[:2000] or None
        if active is not None:
            pairing.active = bool(active)
    return pairing


def add_activity(pairing_id, held_on, topic: str, participants: str, outcome: str | None = None, *,
                 user) -> PairingActivity:
    """Log an activity of a pairing (date, topic, participants, outcome)."""
    pairing = get_pairing(pairing_id, user)
    errors = []
    try:
        day = _date(held_on, "活动日期")
    except DomainError as exc:
        errors.append(exc.message)
        day = None
    if day is not None and day < pairing.started_on:
        errors.append("活动日期不能早于结对日期")
    if day is not None and day > clock.now().date():
        errors.append("活动日期不能晚于今天")
    topic = (topic or "").strip()
    participants = (participants or "").strip()
    if not topic:
        errors.append("请填写活动主题")
    elif len(topic) > 200:
        errors.append("活动主题最多 200 个字符")
    if not participants:
        errors.append("请填写参加人员")
    if errors:
        raise DomainError("；".join(errors))
    with command(user, STALE):
        activity = PairingActivity(pairing_id=pairing.id, held_on=day, topic=topic, participants=participants[:2000],
                                   outcome=(outcome or "").strip()[:4000] or None, created_by=_name(user))
        db.session.add(activity)
    return activity


def delete_activity(pairing_id, activity_id, *, user) -> None:
    pairing = get_pairing(pairing_id, user)
    activity = db.session.get(PairingActivity, int(activity_id)) if str(activity_id).isdigit() else None
    if activity is None or activity.pairing_id != pairing.id:
        raise NotFound("活动记录不存在")
    with command(user, STALE):
        db.session.delete(activity)


def branch_choices(user, limit: int = 2000) -> list[PartyOrg]:
    """The branches a user may pair (党支部 of its scope)."""
    stmt = select(PartyOrg).join(OrgUnit, OrgUnit.id == PartyOrg.org_unit_id).where(PartyOrg.kind == BRANCH)
    prefix = prefix_of(user)
    if prefix is not None:
        stmt = stmt.where(OrgUnit.path.startswith(prefix, autoescape=True))
    return list(db.session.scalars(stmt.order_by(OrgUnit.path, PartyOrg.code).limit(limit)))
