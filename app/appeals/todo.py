"""What waits on a user among appeals (我的待办), as SQL conditions on Appeal, one per kind.

Each kind is (key, condition, order); services.todo_lists counts and lists them, the provider
in app/appeals/menu.py turns them into to-do groups with their lights.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, exists, or_, select

from app.appeals import rules
from app.appeals.access import has_role
from app.appeals.models import Appeal, AppealAssignment
from app.security import roles as R
from app.supervision.deadlines import YELLOW_WINDOW


def _unruled(*conditions):
    """A refusal waiting for its ruling, on an appeal already narrowed down (per-row EXISTS)."""
    a = AppealAssignment
    return exists().where(a.appeal_id == Appeal.id, a.state == "refused", a.ruled_at.is_(None), *conditions)


def _refused_from(*conditions):
    """Appeals with a refusal waiting for its ruling, found from the assignments' side (the
    index on assigned_from_unit_id, state): never a scan of every appeal."""
    a = AppealAssignment
    return Appeal.id.in_(select(a.appeal_id).where(a.state == "refused", a.ruled_at.is_(None), *conditions))


def todo_conditions(user, now: dt.datetime) -> list[tuple[str, object, tuple]]:
    """[(key, condition, order)] of the kinds that concern `user`'s roles (none for the system)."""
    if user is None or not user.org_unit_id:
        return []
    unit = user.org_unit_id
    out = []
    a = AppealAssignment
    handles = has_role(user, R.GRID_WORKER, R.LIAISON)
    if handles:
        mine = select(a.appeal_id).where(a.org_unit_id == unit, a.state == "pending")
        out.append(("appeal_to_sign", Appeal.id.in_(mine), (Appeal.sign_deadline, Appeal.id)))
        out.append(("appeal_due", and_(Appeal.state == rules.HANDLING, Appeal.handler_unit_id == unit,
                                       Appeal.reply_deadline <= now + YELLOW_WINDOW),
                    (Appeal.reply_deadline, Appeal.id)))
    refusals = []
    if has_role(user, R.DISPATCHER):
        out.append(("appeal_to_dispatch", and_(Appeal.state == rules.TO_DISPATCH, Appeal.handler_unit_id == unit,
                                               Appeal.leader_id.is_(None), ~_unruled()),
                    (Appeal.received_at, Appeal.id)))
        refusals.append(_refused_from(a.assigned_from_unit_id == unit, a.kind == "dispatch"))
    if handles:
        refusals.append(_refused_from(a.assigned_from_unit_id == unit, a.kind.in_(("escalate", "whistle"))))
    if has_role(user, R.LEADER):
        refusals.append(and_(Appeal.leader_id == user.id, Appeal.state.in_(rules.OPEN_STATES),
                             _unruled(a.kind == "leader")))
        out.append(("appeal_whistles", and_(Appeal.state == rules.TO_DISPATCH, Appeal.leader_id == user.id,
                                            ~_unruled()), (Appeal.reply_deadline, Appeal.id)))
    if refusals:
        out.append(("appeal_refusals", or_(*refusals), (Appeal.reply_deadline, Appeal.id)))
    reviews = []
    if has_role(user, R.DISPATCHER):
        reviews.append(and_(Appeal.reviewer_kind == "dispatcher", Appeal.reviewer_unit_id == unit))
    if has_role(user, R.LIAISON):
        reviews.append(and_(Appeal.reviewer_kind == "township", Appeal.reviewer_unit_id == unit))
    if reviews:
        reviews = or_(*reviews)
        out.append(("appeal_reviews", and_(Appeal.state == rules.TO_REVIEW, reviews), (Appeal.updated_at, Appeal.id)))
        out.append(("appeal_callbacks", and_(Appeal.state == rules.TO_CALLBACK, reviews),
                    (Appeal.updated_at, Appeal.id)))
    order = {key: i for i, key in enumerate(("appeal_to_sign", "appeal_due", "appeal_to_dispatch", "appeal_refusals",
                                             "appeal_whistles", "appeal_reviews", "appeal_callbacks"))}
    return sorted(out, key=lambda item: order[item[0]])
