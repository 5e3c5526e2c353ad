"""Appeal (诉求) use cases: the flow of PLATFORM.md §2 as commands, and the queries beside them.

INTERFACE CONTRACT (the screens, the API, the 12345 link, the evaluation source and the
benchmark build on these names; they stay stable):

Every command takes the acting `user` as a keyword (an AppUser; None = the system: the CLI, an
import, the demo — no role or scope restriction) and `now` (default: the current time). It
runs in one transaction (app/core/commands.command: audited, citizens' names and phones masked
in the audit snapshots), first claims the appeal in the state it read (app/core/claims.py), so
of two users acting at once one wins and the other gets Conflict (409, "该诉求已被他人处理，请刷新
后重试") with nothing changed; an illegal transition, a wrong actor or bad input raises a
DomainError / Forbidden with a Chinese message and changes nothing; an appeal (or assignment)
the user may not see raises NotFound (404), like a missing one. Every hand-over writes an
AppealEvent (who, when, from which unit to which, why).

Commands (→ what they return):
    report_from_grid(*, user, content, occurred_unit_id=None, category_id=None, citizen_name=None,
        citizen_phone=None, urgency=None, received_at=None, now=None) → Appeal
        a 网格员's report: 办理中 at the grid; reviewed by the grid's township.
    create(*, user, source, content, occurred_unit_id, external_number=None, received_at=None,
        category_id=None, citizen_name=None, citizen_phone=None, urgency=None,
        dispatch_unit_id=None, now=None) → Appeal
        a hotline / letter / other appeal: 待分派 at the dispatcher's unit (the system names it
        with dispatch_unit_id, default the root of the place).
    dispatch(appeal_id, unit_id, *, user, note=None, now=None) → AppealAssignment    待分派 → 待签收
    sign(appeal_id, *, user, unit_id=None, now=None) → AppealAssignment
        the user's unit signs its pending assignment (lead/single: → 办理中; assist: its part).
    refuse(appeal_id, reason_kind, reason_text=None, *, user, unit_id=None, now=None) → AppealAssignment
        退单 (职能不符 / 属地不符 / 其他): back to whoever assigned it (→ 待分派 there).
    rule_on_refusal(assignment_id, decision, *, user, unit_id=None, note=None, now=None) → Appeal
        decision "reassign" (unit_id) / "overrule" (the unit must sign) / "take_back"
        (上报 or 吹哨 taken back: 办理中 at the assigner's unit).
    escalate(appeal_id, reason, *, user, now=None) → AppealAssignment      上报 grid → village → township
    whistle_to_department(appeal_id, unit_id, reason, *, user, now=None) → AppealAssignment
    whistle_to_leader(appeal_id, leader_id, reason, *, user, now=None) → Appeal   waits for the leader
    leader_assign(appeal_id, lead_unit_id, assist_unit_ids=(), *, user, note=None, now=None)
        → list[AppealAssignment]   (lead first)
    reply(appeal_id, *, user, contact_whom, contact_at, contact_way, measures, result, finished_at,
        result_note=None, now=None) → AppealReply                          办理中 → 待审核
    review(appeal_id, approve, *, user, note=None, now=None) → Appeal      → 待回访 / → 办理中
    callback(appeal_id, result, *, user, note=None, now=None) → AppealCallback
        满意/基本满意 → 已办结; 不满意 → 办理中 at the same handler (重办, reopen_count + 1).
    merge(appeal_id, master_id, *, user, reason=None, now=None) → Appeal    → 已合并
    to_supervision(appeal_id, *, user, now=None) → SupervisionTask
        转督办 (a 督查员; past the reply deadline unreplied, or reopened twice): an assigned
        supervision item led by the current handler; appeal.supervision_task_id and the
        item's source (“诉求转督办 <number>”) link both ways (appeal_of_task).

Queries:
    get_appeal(appeal_id, user) → Appeal;  appeals_visible_to(user) → SQL condition;
    scope_appeals(stmt, user) → stmt;  history(appeal_id, user) → list[AppealEvent];
    available_actions(appeal, user, now=None) → list[str] (rules.ACTIONS names the user may take now);
    pending_assignment(appeal, unit_id) → AppealAssignment | None;  suggest_unit(appeal) → OrgUnit | None;
    outcome_of(appeal) → Appeal (the master a merged appeal follows, else itself);
    appeal_of_task(task_id) → Appeal | None;  sign_light(appeal, now) / reply_light(appeal, now);
    leaders_in_charge(unit_id) / charged_departments(leader_id) → ids;
    todo_lists(user, now=None, limit=…) → {key: (count, [Appeal])} (keys: TODO_KEYS);
    figures(user, unit_id, date_from, date_to, now=None) and indicator_values(unit_ids, date_from,
    date_to, now=None, weights=…, penalty=…): app/appeals/figures.py, re-exported here.
Building blocks for bulk callers (the hotline import): build_appeal(…) (validated, unsaved),
next_numbers(count, now) (free 诉求编号 SQ-<year>-NNNNNN), category_for_import(name) (a known
category, or a new one marked needs_completion; not committed).
Settings (app/appeals/catalogue.py, re-exported): save_category(name, *, user, default_urgency,
department_id, active, category_id), set_time_limit(urgency, *, user, sign_amount, sign_unit,
reply_amount, reply_unit), add_leader_charge(leader_id, unit_id, *, user),
remove_leader_charge(charge_id, *, user).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update

from app.appeals import rules
from app.appeals.access import (  # noqa: F401  (re-exported API)
    NOT_FOUND,
    actor_kinds,
    acts_for_unit,
    appeals_visible_to,
    claim,
    command,
    default_now,
    get_appeal,
    has_role,
    is_reviewer,
    may_rule,
    require,
    required_text,
    scope_appeals,
    unit_in_scope,
    username,
)
from app.appeals.catalogue import (  # noqa: F401  (re-exported API)
    add_leader_charge,
    category_for_import,
    remove_leader_charge,
    save_category,
    set_time_limit,
)
from app.appeals.figures import figures, indicator_values  # noqa: F401  (re-exported API)
from app.appeals.models import (
    APPEAL_SOURCES,
    CALLBACK_RESULTS,
    REFUSAL_KINDS,
    REPLY_RESULTS,
    Appeal,
    AppealAssignment,
    AppealCallback,
    AppealCategory,
    AppealEvent,
    AppealReply,
    LeaderCharge,
)
from app.appeals.setup import time_limits, work_calendar
from app.core.errors import DomainError, Forbidden, NotFound
from app.core.personal import mask_name, mask_phone
from app.extensions import db
from app.models import AppUser, OrgUnit, SupervisionTask, TaskAssignment, TimeLimitRule
from app.security import roles as R
from app.security.scope import unit_visible_to
from app.supervision import deadlines as supervision_deadlines
from app.supervision.setup import ORDINARY_RULE, rule_of

NUMBER_PREFIX = "SQ"
PLACE_KINDS = ("grid", "village", "township")
TARGET_KINDS = ("grid", "village", "township", "department")
SUPERVISION_SOURCE = "诉求转督办"


# ---------------------------------------------------------------- small helpers

def _event(appeal: Appeal, action: str, user, at: dt.datetime, *, from_unit_id=None, to_unit_id=None,
           reason=None, detail=None) -> AppealEvent:
    event = AppealEvent(
        appeal_id=appeal.id, action=action, actor_id=getattr(user, "id", None), actor_name=username(user),
        actor_unit_id=getattr(user, "org_unit_id", None), from_unit_id=from_unit_id, to_unit_id=to_unit_id,
        at=at, reason=reason, detail=detail,
    )
    db.session.add(event)
    return event


def _touch(appeal: Appeal, now: dt.datetime) -> None:
    """Stamp a change (the hotline's updates export); merged duplicates follow their master."""
    appeal.updated_at = now
    db.session.execute(update(Appeal).where(Appeal.merged_into_id == appeal.id).values(updated_at=now)
                       .execution_options(synchronize_session=False))


def _unit(unit_id) -> OrgUnit | None:
    return db.session.get(OrgUnit, unit_id) if unit_id is not None else None


def _ancestor(unit: OrgUnit, kind: str) -> OrgUnit | None:
    """The unit itself or its nearest ancestor of `kind`."""
    ids = [int(p) for p in unit.path.strip("/").split("/") if p]
    rows = db.session.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids), OrgUnit.kind == kind)).all()
    return max(rows, key=lambda u: u.path.count("/"), default=None)


def _root(unit: OrgUnit) -> OrgUnit:
    first = int(unit.path.strip("/").split("/")[0])
    return db.session.get(OrgUnit, first)


def _limits(appeal: Appeal) -> rules.TimeLimits:
    return time_limits(appeal.urgency)


def _new_assignment(appeal: Appeal, unit: OrgUnit, kind: str, role: str, user, now: dt.datetime,
                    from_unit_id: int | None, overruled: bool = False) -> AppealAssignment:
    deadline = rules.sign_deadline(now, _limits(appeal), work_calendar())
    assignment = AppealAssignment(
        appeal=appeal, appeal_id=appeal.id, org_unit=unit, org_unit_id=unit.id, role=role, kind=kind,
        assigned_by_id=getattr(user, "id", None), assigned_from_unit_id=from_unit_id, assigned_at=now,
        appeal_received_at=appeal.received_at,
        sign_deadline=deadline, state="pending", overruled=overruled,
    )
    db.session.add(assignment)
    if role in ("single", "lead"):
        appeal.sign_deadline = deadline
    return assignment


def _end_open_assignments(appeal: Appeal, now: dt.datetime, roles=("single", "lead", "assist")) -> None:
    """Hand-over: the assignments still pending or signed end (the next unit takes over)."""
    for assignment in appeal.assignments:
        if assignment.state in ("pending", "signed") and assignment.role in roles:
            assignment.state, assignment.ended_at = "ended", now


def _rule_pending_refusals(appeal: Appeal, ruling: str, now: dt.datetime) -> None:
    for assignment in appeal.assignments:
        if assignment.state == "refused" and assignment.ruled_at is None:
            assignment.ruled_at, assignment.ruling = now, ruling


def pending_assignment(appeal: Appeal, unit_id: int | None) -> AppealAssignment | None:
    """The assignment of `unit_id` waiting for its signature (None: the lead's or single one)."""
    for assignment in appeal.assignments:
        if assignment.state != "pending":
            continue
        if unit_id is None and assignment.role in ("single", "lead"):
            return assignment
        if unit_id is not None and assignment.org_unit_id == unit_id:
            return assignment
    return None


def outcome_of(appeal: Appeal) -> Appeal:
    """The appeal whose outcome this one shares: the master of a merged duplicate, else itself."""
    seen = set()
    while appeal.merged_into_id is not None and appeal.id not in seen:
        seen.add(appeal.id)
        appeal = db.session.get(Appeal, appeal.merged_into_id)
    return appeal


def sign_light(appeal: Appeal, now: dt.datetime | None = None) -> str | None:
    """The 签收 light of a 待签收 appeal (None in other states)."""
    if appeal.state != rules.TO_SIGN:
        return None
    return rules.light(appeal.sign_deadline, None, default_now(now))


def reply_light(appeal: Appeal, now: dt.datetime | None = None) -> str | None:
    """The 答复 light: green/yellow/red while unreplied, done/overdue_done once replied;
    None for merged appeals."""
    if appeal.state == rules.MERGED:
        return None
    return rules.light(appeal.reply_deadline, appeal.replied_at, default_now(now))


# ---------------------------------------------------------------- numbers and new appeals

def next_numbers(count: int = 1, now: dt.datetime | None = None) -> list[str]:
    """`count` free consecutive 诉求编号 of the year: SQ-2026-000001, … (one more than the
    highest of that form). Two callers at once may draw the same: the unique key then
    refuses the later commit (create retries)."""
    prefix = f"{NUMBER_PREFIX}-{default_now(now).year}-"
    top = db.session.scalar(select(func.max(Appeal.number)).where(Appeal.number >= prefix, Appeal.number < prefix + "~"))
    last = int(top[len(prefix):]) if top and top[len(prefix):].isdigit() else 0
    return [f"{prefix}{last + i:06d}" for i in range(1, count + 1)]


def build_appeal(*, source: str, content, occurred_unit: OrgUnit, received_at: dt.datetime, number: str,
                 category: AppealCategory | None = None, urgency: str | None = None, citizen_name=None,
                 citizen_phone=None, external_number=None, created_by=None) -> Appeal:
    """A validated, unsaved appeal (no state, handler or reviewer yet): the shared part of
    report_from_grid, create and bulk imports. Raises DomainError on bad input."""
    if source not in APPEAL_SOURCES:
        raise DomainError(f"诉求来源应为 {'/'.join(APPEAL_SOURCES)} 之一")
    if occurred_unit.kind not in PLACE_KINDS:
        raise DomainError("发生地应为网格、村社区或乡镇街道")
    urgency = urgency or (category.default_urgency if category is not None else None) or "一般"
    if urgency not in rules.URGENCIES:
        raise DomainError(f"紧急程度应为 {'/'.join(rules.URGENCIES)} 之一")
    if not isinstance(received_at, dt.datetime):
        raise DomainError("受理时间无效")
    content = required_text(content, "请填写诉求内容")
    name = (citizen_name or "").strip() or None
    phone = (citizen_phone or "").strip() or None
    if name and len(name) > 50:
        raise DomainError("诉求人姓名过长（最多 50 个字符）")
    if phone and (len(phone) > 30 or not any(ch.isdigit() for ch in phone)):
        raise DomainError("联系电话无效")
    external = (external_number or "").strip() or None
    if external and len(external) > 64:
        raise DomainError("工单编号过长（最多 64 个字符）")
    deadline = rules.reply_deadline(received_at.replace(microsecond=0), time_limits(urgency), work_calendar())
    return Appeal(
        number=number, source=source, external_number=external, received_at=received_at.replace(microsecond=0),
        category=category, category_id=category.id if category is not None else None, content=content,
        occurred_unit=occurred_unit, occurred_unit_id=occurred_unit.id, citizen_name=name, citizen_phone=phone,
        urgency=urgency, reply_deadline=deadline, reopen_count=0, callback_count=0, satisfied_count=0, basic_count=0,
        created_by_id=getattr(created_by, "id", None),
    )


def _category(category_id) -> AppealCategory | None:
    if category_id in (None, ""):
        return None
    category = db.session.get(AppealCategory, category_id)
    if category is None or not category.active:
        raise DomainError("诉求类别不存在或已停用")
    return category


def _save_new(make, now: dt.datetime, user) -> Appeal:
    """Insert a new appeal with the next free number, retrying when a racing insert took it."""
    from app.core.errors import Conflict

    for attempt in range(5):
        try:
            with command(user):
                appeal = make(next_numbers(1, now)[0])
            return appeal
        except Conflict:
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def report_from_grid(*, user, content, occurred_unit_id=None, category_id=None, citizen_name=None,
                     citizen_phone=None, urgency=None, received_at=None, now=None) -> Appeal:
    """上报 by a 网格员: the appeal starts 办理中 at the grid (微事不出格); the grid's township reviews."""
    now = default_now(now)
    if user is not None:
        if not has_role(user, R.GRID_WORKER):
            raise Forbidden("只有网格员可以上报网格诉求")
        if occurred_unit_id not in (None, user.org_unit_id):
            raise Forbidden("网格员只能上报本网格的诉求")
        occurred_unit_id = user.org_unit_id
    grid = _unit(occurred_unit_id)
    if grid is None or grid.kind != "grid":
        raise DomainError("网格上报须发生在网格（请确认账号绑定的网格）")
    township = _ancestor(grid, "township")
    if township is None:
        raise DomainError("该网格没有所属乡镇街道，无法确定审核单位")
    category = _category(category_id)

    def make(number: str) -> Appeal:
        appeal = build_appeal(source="网格上报", content=content, occurred_unit=grid, received_at=received_at or now,
                              number=number, category=category, urgency=urgency, citizen_name=citizen_name,
                              citizen_phone=citizen_phone, created_by=user)
        appeal.state, appeal.handler_unit_id = rules.HANDLING, grid.id
        appeal.reviewer_kind, appeal.reviewer_unit_id = "township", township.id
        appeal.created_at = appeal.updated_at = now
        db.session.add(appeal)
        db.session.flush()
        _event(appeal, "report", user, now, to_unit_id=grid.id)
        return appeal

    return _save_new(make, now, user)


def create(*, user, source, content, occurred_unit_id, external_number=None, received_at=None, category_id=None,
           citizen_name=None, citizen_phone=None, urgency=None, dispatch_unit_id=None, now=None) -> Appeal:
    """登记 a hotline, letter or other appeal: 待分派 at the dispatcher's unit, which dispatches,
    reviews and calls back."""
    now = default_now(now)
    if source == "网格上报":
        raise DomainError("网格上报的诉求由网格员上报")
    if user is not None:
        if not has_role(user, R.DISPATCHER):
            raise Forbidden("只有热线调度员可以登记诉求")
        dispatch_unit_id = user.org_unit_id
    place = unit_in_scope(occurred_unit_id, user, "发生地")
    dispatcher_unit = _unit(dispatch_unit_id) if dispatch_unit_id is not None else _root(place)
    if dispatcher_unit is None or not place.path.startswith(dispatcher_unit.path):
        raise DomainError("发生地不在调度单位的管辖范围内")
    category = _category(category_id)
    external = (external_number or "").strip() or None
    if external and db.session.scalar(select(Appeal.id).where(Appeal.source == source,
                                                              Appeal.external_number == external)):
        raise DomainError(f"{source}工单编号“{external}”已存在")

    def make(number: str) -> Appeal:
        appeal = build_appeal(source=source, content=content, occurred_unit=place, received_at=received_at or now,
                              number=number, category=category, urgency=urgency, citizen_name=citizen_name,
                              citizen_phone=citizen_phone, external_number=external, created_by=user)
        appeal.state, appeal.handler_unit_id = rules.TO_DISPATCH, dispatcher_unit.id
        appeal.reviewer_kind, appeal.reviewer_unit_id = "dispatcher", dispatcher_unit.id
        appeal.created_at = appeal.updated_at = now
        db.session.add(appeal)
        db.session.flush()
        _event(appeal, "create", user, now, to_unit_id=dispatcher_unit.id, detail={"source": source})
        return appeal

    return _save_new(make, now, user)


def suggest_unit(appeal: Appeal) -> OrgUnit | None:
    """The catalogue's suggestion for dispatching: the category's department, else the
    township of the place."""
    if appeal.category is not None and appeal.category.department_id is not None:
        return appeal.category.department
    return _ancestor(appeal.occurred_unit, "township")


# ---------------------------------------------------------------- dispatch, sign, refuse

def _target(unit_id, user, what: str, kinds=TARGET_KINDS) -> OrgUnit:
    unit = unit_in_scope(unit_id, user, what)
    if unit.kind not in kinds:
        raise DomainError(f"{what}“{unit.name}”的类型不能承办诉求")
    return unit


def dispatch(appeal_id, unit_id, *, user, note=None, now=None) -> AppealAssignment:
    """分派 a 待分派 appeal to a unit (→ 待签收 there); a refusal waiting for a ruling is
    thereby ruled "reassign"."""
    now = default_now(now)
    appeal = get_appeal(appeal_id, user)
    kinds = actor_kinds(user, appeal)
    require("dispatch", appeal, kinds)
    if appeal.leader_id is not None:
        raise DomainError(f"诉求{appeal.number}已吹哨至分管领导，由分管领导指派")
    target = _target(unit_id, user, "承办单位")
    with command(user):
        claim(appeal, "state", (rules.TO_DISPATCH,))
        from_unit = appeal.handler_unit_id
        _rule_pending_refusals(appeal, "reassign", now)
        assignment = _new_assignment(appeal, target, "dispatch", "single", user, now, from_unit)
        appeal.state, appeal.handler_unit_id = rules.TO_SIGN, target.id
        _touch(appeal, now)
        _event(appeal, "dispatch", user, now, from_unit_id=from_unit, to_unit_id=target.id,
               reason=(note or "").strip() or None)
    return assignment


def _own_pending(appeal: Appeal, user, unit_id, verb: str) -> AppealAssignment:
    unit_id = user.org_unit_id if user is not None else unit_id
    assignment = pending_assignment(appeal, unit_id)
    if assignment is None:
        raise DomainError(f"诉求{appeal.number}没有待本单位{verb}的交办")
    if user is not None and not acts_for_unit(user, assignment.org_unit_id):
        raise Forbidden(f"只有本单位承办联络员或网格员可以{verb}")
    return assignment


def _legal_for(assignment: AppealAssignment, appeal: Appeal, verb: str) -> tuple[str, ...]:
    """States the appeal may be in for an assignment's sign/refusal: 待签收 for the lead's or a
    single one; any open working state for an assisting unit's part."""
    if assignment.role == "assist":
        states = (rules.TO_SIGN, rules.HANDLING, rules.TO_REVIEW)
    else:
        states = (rules.TO_SIGN,)
    if appeal.state not in states:
        raise DomainError(f"诉求{appeal.number}当前状态为“{rules.state_label(appeal.state)}”，不能{verb}")
    return states


def sign(appeal_id, *, user, unit_id=None, now=None) -> AppealAssignment:
    """签收: the user's unit signs its pending assignment; the lead's or single one moves the
    appeal to 办理中 at that unit."""
    now = default_now(now)
    appeal = get_appeal(appeal_id, user)
    assignment = _own_pending(appeal, user, unit_id, "签收")
    states = _legal_for(assignment, appeal, "签收")
    with command(user):
        claim(appeal, "state", states)
        claim(assignment, "state", ("pending",))
        assignment.state, assignment.signed_at = "signed", now
        assignment.signed_by_id = getattr(user, "id", None)
        if assignment.role in ("single", "lead"):
            appeal.state, appeal.handler_unit_id = rules.HANDLING, assignment.org_unit_id
        _touch(appeal, now)
        _event(appeal, "sign", user, now, to_unit_id=assignment.org_unit_id,
               detail={"role": assignment.role, "late": not rules.on_time(assignment.sign_deadline, now)})
    return assignment


def refuse(appeal_id, reason_kind, reason_text=None, *, user, unit_id=None, now=None) -> AppealAssignment:
    """退单 with a reason (职能不符 / 属地不符 / 其他: text required): the refusal goes back to
    whoever assigned it (the lead's or single one: → 待分派 at the assigning unit, or in the
    分管领导's queue); an overruled assignment may not be refused again."""
    now = default_now(now)
    appeal = get_appeal(appeal_id, user)
    assignment = _own_pending(appeal, user, unit_id, "退单")
    states = _legal_for(assignment, appeal, "退单")
    if reason_kind not in REFUSAL_KINDS:
        raise DomainError(f"退单理由应为 {'/'.join(REFUSAL_KINDS)} 之一")
    text = (reason_text or "").strip() or None
    if reason_kind == "其他" and not text:
        raise DomainError("退单理由为“其他”时须说明具体原因")
    if assignment.overruled:
        raise DomainError("退单已被驳回，本单位须签收办理")
    with command(user):
        claim(appeal, "state", states)
        claim(assignment, "state", ("pending",))
        assignment.state, assignment.refused_at = "refused", now
        assignment.refusal_kind, assignment.refusal_text = reason_kind, text
        if assignment.role in ("single", "lead"):
            appeal.state, appeal.handler_unit_id = rules.TO_DISPATCH, assignment.assigned_from_unit_id
        _touch(appeal, now)
        _event(appeal, "refuse", user, now, from_unit_id=assignment.org_unit_id,
               to_unit_id=assignment.assigned_from_unit_id, reason=text,
               detail={"kind": reason_kind, "assignment_id": assignment.id})
    return assignment


def rule_on_refusal(assignment_id, decision, *, user, unit_id=None, note=None, now=None) -> Appeal:
    """The assigner's ruling on a 退单: "reassign" to `unit_id` (a dispatcher: any unit of its
    scope; a township: a department; a 分管领导: a department in charge), "overrule" (the same
    unit must sign: it may not refuse again), or "take_back" (a 上报 or 吹哨: the assigning unit
    handles it again)."""
    now = default_now(now)
    assignment = db.session.get(AppealAssignment, assignment_id) if str(assignment_id).isdigit() else None
    if assignment is None:
        raise NotFound(NOT_FOUND)
    appeal = get_appeal(assignment.appeal_id, user)
    if assignment.state != "refused" or assignment.ruled_at is not None:
        raise DomainError("该交办没有待处理的退单")
    if not may_rule(user, assignment, appeal):
        raise Forbidden("只有交办该诉求的单位可以处理退单")
    if decision not in ("reassign", "overrule", "take_back"):
        raise DomainError("请选择：改派、驳回退单或收回办理")
    main = assignment.role in ("single", "lead")
    states = (rules.TO_DISPATCH,) if main else (rules.TO_SIGN, rules.HANDLING, rules.TO_REVIEW)
    if appeal.state not in states:
        raise DomainError(f"诉求{appeal.number}当前状态为“{rules.state_label(appeal.state)}”，不能处理该退单")
    target = None
    if decision == "reassign":
        target = _reassign_target(assignment, appeal, unit_id, user)
    if decision == "take_back" and (assignment.kind not in ("escalate", "whistle") or not main):
        raise DomainError("只有上报或吹哨的诉求可以收回办理")
    with command(user):
        claim(appeal, "state", states)
        claim(assignment, "ruled_at", None)
        assignment.ruled_at, assignment.ruling = now, decision
        from_unit = assignment.assigned_from_unit_id
        if decision == "take_back":
            appeal.state, appeal.handler_unit_id = rules.HANDLING, from_unit
            to_unit = from_unit
        else:
            unit = target if target is not None else assignment.org_unit
            _new_assignment(appeal, unit, assignment.kind, assignment.role, user, now, from_unit,
                            overruled=decision == "overrule")
            if main:
                appeal.state, appeal.handler_unit_id = rules.TO_SIGN, unit.id
            to_unit = unit.id
        _touch(appeal, now)
        _event(appeal, "rule", user, now, from_unit_id=assignment.org_unit_id, to_unit_id=to_unit,
               reason=(note or "").strip() or None, detail={"decision": decision, "assignment_id": assignment.id})
    return appeal


def _reassign_target(assignment: AppealAssignment, appeal: Appeal, unit_id, user) -> OrgUnit:
    if unit_id is None:
        raise DomainError("改派须选择新的承办单位")
    if unit_id == assignment.org_unit_id:
        raise DomainError("改派的单位不能是退单的单位；如须原单位办理请驳回退单")
    if assignment.kind == "escalate":
        raise DomainError("上报只能报送上级单位；请驳回退单或收回办理")
    if assignment.kind == "dispatch":
        return _target(unit_id, user, "承办单位")
    if assignment.kind == "whistle":
        return _department_for(_unit(assignment.assigned_from_unit_id), unit_id)
    target = _unit(unit_id)
    if target is None or target.kind != "department":
        raise DomainError("分管领导只能指派部门")
    _check_charge(user, [target])
    if any(a.org_unit_id == target.id and a.state in ("pending", "signed") for a in appeal.assignments):
        raise DomainError(f"“{target.name}”已在办理该诉求")
    return target


# ---------------------------------------------------------------- 上报 and 吹哨

def _handling(appeal_id, user, action: str) -> Appeal:
    appeal = get_appeal(appeal_id, user)
    require(action, appeal, actor_kinds(user, appeal))
    return appeal


def escalate(appeal_id, reason, *, user, now=None) -> AppealAssignment:
    """上报 an appeal a grid or village cannot solve to its parent (village / township), with a
    reason (→ 待签收 there; the reply deadline runs on)."""
    now = default_now(now)
    appeal = _handling(appeal_id, user, "escalate")
    handler = appeal.handler_unit
    wanted = rules.ESCALATES_TO.get(handler.kind)
    if wanted is None:
        raise DomainError("只有网格、村社区可以上报上级；乡镇街道请吹哨")
    parent = _unit(handler.parent_id)
    if parent is None or parent.kind != wanted:
        raise DomainError(f"“{handler.name}”没有可上报的上级单位")
    reason = required_text(reason, "上报须说明理由")
    return _hand_over(appeal, parent, "escalate", reason, user, now)


def _hand_over(appeal: Appeal, target: OrgUnit, kind: str, reason: str, user, now) -> AppealAssignment:
    with command(user):
        claim(appeal, "state", (rules.HANDLING,))
        from_unit = appeal.handler_unit_id
        _end_open_assignments(appeal, now, roles=("single", "lead"))
        assignment = _new_assignment(appeal, target, kind, "single", user, now, from_unit)
        appeal.state, appeal.handler_unit_id = rules.TO_SIGN, target.id
        _touch(appeal, now)
        _event(appeal, "escalate" if kind == "escalate" else "whistle_to_department", user, now,
               from_unit_id=from_unit, to_unit_id=target.id, reason=reason)
    return assignment


def _department_for(township: OrgUnit | None, unit_id) -> OrgUnit:
    """A department a township may whistle to: one of its county's or of the city's."""
    department = _unit(unit_id)
    if township is None or department is None or department.kind != "department" or not department.active:
        raise DomainError("吹哨只能报送县区或市直部门")
    county = _unit(township.parent_id)
    allowed = {township.parent_id, county.parent_id if county is not None else None} - {None}
    if department.parent_id not in allowed:
        raise DomainError(f"“{department.name}”不是本县区或市直部门")
    return department


def whistle_to_department(appeal_id, unit_id, reason, *, user, now=None) -> AppealAssignment:
    """吹哨 by a township to one county (or city) department (→ 待签收 there), with a reason."""
    now = default_now(now)
    appeal = _handling(appeal_id, user, "whistle_to_department")
    if appeal.handler_unit.kind != "township":
        raise DomainError("只有乡镇街道可以吹哨；网格、村社区请上报上级")
    department = _department_for(appeal.handler_unit, unit_id)
    reason = required_text(reason, "吹哨须说明理由")
    return _hand_over(appeal, department, "whistle", reason, user, now)


def leaders_in_charge(unit_id: int) -> list[int]:
    """The user ids of the 分管领导 of a department."""
    return list(db.session.scalars(select(LeaderCharge.leader_id).where(LeaderCharge.org_unit_id == unit_id)))


def charged_departments(leader_id: int) -> list[int]:
    """The department ids a leader is in charge of."""
    return list(db.session.scalars(select(LeaderCharge.org_unit_id).where(LeaderCharge.leader_id == leader_id)))


def whistle_to_leader(appeal_id, leader_id, reason, *, user, now=None) -> Appeal:
    """吹哨 by a township to the 分管领导 of the departments concerned, with a reason: the appeal
    waits (待分派) in the leader's queue until the leader names the lead and assisting ones."""
    now = default_now(now)
    appeal = _handling(appeal_id, user, "whistle_to_leader")
    township = appeal.handler_unit
    if township.kind != "township":
        raise DomainError("只有乡镇街道可以吹哨；网格、村社区请上报上级")
    leader = db.session.get(AppUser, leader_id) if leader_id is not None else None
    if leader is None or not leader.active or not has_role(leader, R.LEADER) or not charged_departments(leader.id):
        raise DomainError("所选账号不是分管部门的县区领导")
    leader_unit = _unit(leader.org_unit_id)
    if leader_unit is None or not township.path.startswith(leader_unit.path):
        raise DomainError(f"“{leader.first_name or leader.username}”不是本县区的分管领导")
    reason = required_text(reason, "吹哨须说明理由")
    with command(user):
        claim(appeal, "state", (rules.HANDLING,))
        _end_open_assignments(appeal, now, roles=("single", "lead"))
        appeal.state, appeal.leader_id = rules.TO_DISPATCH, leader.id
        _touch(appeal, now)
        _event(appeal, "whistle_to_leader", user, now, from_unit_id=township.id, to_unit_id=leader.org_unit_id,
               reason=reason, detail={"leader_id": leader.id, "leader": leader.username})
    return appeal


def _check_charge(user, departments) -> None:
    if user is None:
        return
    mine = set(charged_departments(user.id))
    outside = [d.name for d in departments if d.id not in mine]
    if outside:
        raise DomainError("以下部门不是您分管的部门：" + "、".join(outside))


def leader_assign(appeal_id, lead_unit_id, assist_unit_ids=(), *, user, note=None, now=None) -> list[AppealAssignment]:
    """The 分管领导 names one lead and any assisting departments (of those in charge): each
    signs its own part; the lead replies for all (→ 待签收 at the lead)."""
    now = default_now(now)
    appeal = get_appeal(appeal_id, user)
    require("leader_assign", appeal, actor_kinds(user, appeal))
    if appeal.leader_id is None:
        raise DomainError(f"诉求{appeal.number}没有吹哨至分管领导")
    ids = [i for i in dict.fromkeys(assist_unit_ids or ()) if i != lead_unit_id]
    if lead_unit_id in (assist_unit_ids or ()):
        raise DomainError("牵头部门不能同时是协办部门")
    departments = [_unit(i) for i in [lead_unit_id, *ids]]
    if any(d is None or d.kind != "department" or not d.active for d in departments):
        raise DomainError("牵头和协办单位须为部门")
    _check_charge(user, departments)
    busy = {a.org_unit_id for a in appeal.assignments if a.state in ("pending", "signed")}
    with command(user):
        claim(appeal, "state", (rules.TO_DISPATCH,))
        _rule_pending_refusals(appeal, "reassign", now)
        from_unit = getattr(user, "org_unit_id", None) or appeal.handler_unit_id
        made = [_new_assignment(appeal, departments[0], "leader", "lead", user, now, from_unit)]
        made += [_new_assignment(appeal, d, "leader", "assist", user, now, from_unit)
                 for d in departments[1:] if d.id not in busy]
        appeal.state, appeal.handler_unit_id = rules.TO_SIGN, departments[0].id
        _touch(appeal, now)
        _event(appeal, "leader_assign", user, now, from_unit_id=from_unit, to_unit_id=departments[0].id,
               reason=(note or "").strip() or None,
               detail={"lead": departments[0].name, "assist": [d.name for d in departments[1:]]})
    return made


# ---------------------------------------------------------------- reply, review, call-back

def _moment(value, what: str, now: dt.datetime) -> dt.datetime:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(0))
    if not isinstance(value, dt.datetime):
        raise DomainError(f"请填写{what}")
    if value.replace(microsecond=0) > now:
        raise DomainError(f"{what}不能晚于当前时间")
    return value.replace(microsecond=0)


def reply(appeal_id, *, user, contact_whom, contact_at, contact_way, measures, result, finished_at,
          result_note=None, now=None) -> AppealReply:
    """答复 by the handling unit (the lead for all), with its four required parts: 联系群众情况
    (whom, when, how), 解决措施, 办理结果 (未解决并说明 needs its explanation), 完成时间 (→ 待审核)."""
    now = default_now(now)
    appeal = _handling(appeal_id, user, "reply")
    whom = required_text(contact_whom, "请填写联系群众情况：联系了谁", 100)
    contact_moment = _moment(contact_at, "联系群众的时间", now)
    way = required_text(contact_way, "请填写联系群众情况：联系方式", 50)
    measures = required_text(measures, "请填写解决措施")
    if result not in REPLY_RESULTS:
        raise DomainError(f"办理结果应为 {'/'.join(REPLY_RESULTS)} 之一")
    note = (result_note or "").strip() or None
    if result == "未解决并说明" and not note:
        raise DomainError("办理结果为“未解决并说明”时须说明原因")
    finished = _moment(finished_at, "完成时间", now)
    unsigned = [a.org_unit.name for a in appeal.assignments if a.role == "assist" and a.state == "pending"]
    if unsigned:
        raise DomainError("以下协办单位尚未签收，牵头单位暂不能答复：" + "、".join(unsigned))
    with command(user):
        claim(appeal, "state", (rules.HANDLING,))
        row = AppealReply(
            appeal_id=appeal.id, org_unit_id=appeal.handler_unit_id, contact_whom=whom, contact_at=contact_moment,
            contact_way=way, measures=measures, result=result, result_note=note, finished_at=finished,
            submitted_by_id=getattr(user, "id", None), submitted_at=now,
        )
        db.session.add(row)
        appeal.state = rules.TO_REVIEW
        _touch(appeal, now)
        _event(appeal, "reply", user, now, from_unit_id=appeal.handler_unit_id, to_unit_id=appeal.reviewer_unit_id,
               detail={"result": result, "late": not rules.on_time(appeal.reply_deadline, now)})
    return row


def latest_reply(appeal: Appeal) -> AppealReply | None:
    return db.session.scalar(select(AppealReply).where(AppealReply.appeal_id == appeal.id)
                             .order_by(AppealReply.id.desc()).limit(1))


def review(appeal_id, approve, *, user, note=None, now=None) -> Appeal:
    """The reviewer approves the reply (→ 待回访; the resolved level is kept) or returns it
    with a reason (→ 办理中, same handler)."""
    now = default_now(now)
    appeal = get_appeal(appeal_id, user)
    require("review", appeal, actor_kinds(user, appeal))
    note = (note or "").strip() or None
    if not approve and not note:
        raise DomainError("退回答复须说明理由")
    with command(user):
        claim(appeal, "state", (rules.TO_REVIEW,))
        row = latest_reply(appeal)
        row.decision, row.decided_by_id, row.decided_at, row.decision_note = (
            "approved" if approve else "returned", getattr(user, "id", None), now, note)
        if approve:
            handler = appeal.handler_unit
            parent = _unit(handler.parent_id)
            appeal.state = rules.TO_CALLBACK
            appeal.resolved_level = rules.resolved_level(handler.kind, parent.kind if parent is not None else None)
            appeal.resolved_unit_id = handler.id
            if appeal.replied_at is None:
                appeal.replied_at = row.submitted_at
        else:
            appeal.state = rules.HANDLING
        _touch(appeal, now)
        _event(appeal, "approve" if approve else "return", user, now, from_unit_id=appeal.reviewer_unit_id,
               to_unit_id=appeal.handler_unit_id, reason=note, detail={"reply_id": row.id})
    return appeal


def callback(appeal_id, result, *, user, note=None, now=None) -> AppealCallback:
    """回访: 满意 / 基本满意 close the appeal (已办结); 不满意 reopens it at the same handler as a
    重办 (→ 办理中, reopen_count + 1)."""
    now = default_now(now)
    appeal = get_appeal(appeal_id, user)
    require("callback", appeal, actor_kinds(user, appeal))
    if result not in CALLBACK_RESULTS:
        raise DomainError(f"回访结果应为 {'/'.join(CALLBACK_RESULTS)} 之一")
    note = (note or "").strip() or None
    with command(user):
        claim(appeal, "state", (rules.TO_CALLBACK,))
        row = AppealCallback(appeal_id=appeal.id, result=result, note=note, by_id=getattr(user, "id", None), at=now)
        db.session.add(row)
        appeal.callback_result, appeal.callback_count = result, appeal.callback_count + 1
        appeal.satisfied_count += result == "满意"
        appeal.basic_count += result == "基本满意"
        if result == "不满意":
            appeal.state, appeal.reopen_count = rules.HANDLING, appeal.reopen_count + 1
            appeal.resolved_level = appeal.resolved_unit_id = None
            appeal.closed_at = None
            action = "reopen"
        else:
            appeal.state, appeal.closed_at = rules.CLOSED, now
            action = "callback"
        _touch(appeal, now)
        _event(appeal, action, user, now, to_unit_id=appeal.handler_unit_id, reason=note, detail={"result": result})
    return row


# ---------------------------------------------------------------- merge and 转督办

def merge(appeal_id, master_id, *, user, reason=None, now=None) -> Appeal:
    """A dispatcher merges a duplicate into another appeal (→ 已合并; its open assignments end;
    it follows the master's outcome: outcome_of)."""
    now = default_now(now)
    appeal = get_appeal(appeal_id, user)
    require("merge", appeal, actor_kinds(user, appeal))
    master = get_appeal(master_id, user)
    if master.id == appeal.id:
        raise DomainError("不能将诉求合并到其自身")
    if master.state == rules.MERGED:
        raise DomainError(f"诉求{master.number}本身已合并，请合并到其主诉求")
    with command(user):
        claim(appeal, "state", rules.OPEN_STATES)
        claim(master, "state", tuple(s for s in rules.STATE_LABELS if s != rules.MERGED))
        _end_open_assignments(appeal, now)
        _rule_pending_refusals(appeal, "merged", now)
        appeal.state, appeal.merged_into_id = rules.MERGED, master.id
        db.session.execute(update(Appeal).where(Appeal.merged_into_id == appeal.id)
                           .values(merged_into_id=master.id, updated_at=now)
                           .execution_options(synchronize_session=False))
        appeal.updated_at = now
        text = (reason or "").strip() or None
        _event(appeal, "merge", user, now, reason=text, detail={"master": master.number, "master_id": master.id})
        _event(master, "merged_in", user, now, reason=text, detail={"duplicate": appeal.number, "duplicate_id": appeal.id})
    return appeal


def may_supervise(appeal: Appeal, now: dt.datetime) -> str | None:
    """Why the appeal cannot be turned into a supervision item now (Chinese), or None."""
    if appeal.supervision_task_id is not None:
        return f"诉求{appeal.number}已转督办"
    if appeal.state not in rules.ACTIONS["to_supervision"][1]:
        return f"诉求{appeal.number}当前状态为“{rules.state_label(appeal.state)}”，不能转督办"
    overdue = appeal.replied_at is None and now > appeal.reply_deadline
    if not overdue and appeal.reopen_count < 2:
        return "只有超过答复期限未答复或重办两次及以上的诉求可以转督办"
    return None


def to_supervision(appeal_id, *, user, now=None) -> SupervisionTask:
    """转督办 by a 督查员: an assigned supervision item (普通事项 rule, 13710 milestones from now)
    led by the appeal's current handling unit, linked both ways."""
    now = default_now(now)
    appeal = get_appeal(appeal_id, user)
    require("to_supervision", appeal, actor_kinds(user, appeal))
    reason = may_supervise(appeal, now)
    if reason:
        raise DomainError(reason)
    lead = appeal.handler_unit
    if lead is None or not unit_visible_to(lead, user):
        raise Forbidden("诉求的承办单位不在您的管辖范围内，只能由上级督查员转督办")
    rule = db.session.scalar(select(TimeLimitRule).where(TimeLimitRule.name == ORDINARY_RULE))
    if rule is None or not rule.active:
        raise DomainError(f"时限规则“{ORDINARY_RULE}”不存在或已停用，无法转督办")
    from app.supervision.tasks import next_task_code

    with command(user):
        claim(appeal, "supervision_task_id", None)
        due = supervision_deadlines.milestones(now, rule_of(rule), work_calendar())
        task = SupervisionTask(
            code=next_task_code(now), title=f"{SUPERVISION_SOURCE}：{appeal.number}"[:200],
            content=f"{appeal.content}\n（诉求人：{mask_name(appeal.citizen_name)} {mask_phone(appeal.citizen_phone)}）",
            source=f"{SUPERVISION_SOURCE} {appeal.number}"[:100], category="督难事", rule=rule, rule_id=rule.id,
            lead_unit_id=lead.id, supervisor_id=getattr(user, "id", None), state="assigned", assigned_at=now,
            complete_due=due[supervision_deadlines.COMPLETE], original_complete_due=due[supervision_deadlines.COMPLETE],
        )
        task.assignments.append(TaskAssignment(
            org_unit_id=lead.id, is_lead=True, acknowledge_due=due[supervision_deadlines.ACKNOWLEDGE],
            first_report_due=due[supervision_deadlines.FIRST_REPORT],
        ))
        db.session.add(task)
        db.session.flush()
        appeal.supervision_task_id = task.id
        _touch(appeal, now)
        _event(appeal, "to_supervision", user, now, to_unit_id=lead.id, detail={"task_id": task.id, "task": task.code})
    return task


def appeal_of_task(task_id: int) -> Appeal | None:
    """The appeal a supervision item was turned from (the other way of the link)."""
    return db.session.scalar(select(Appeal).where(Appeal.supervision_task_id == task_id))


# ---------------------------------------------------------------- queries

def history(appeal_id, user) -> list[AppealEvent]:
    """Every event of a visible appeal, oldest first (who, when, from/to which unit, why)."""
    appeal = get_appeal(appeal_id, user)
    return list(db.session.scalars(select(AppealEvent).where(AppealEvent.appeal_id == appeal.id)
                                   .order_by(AppealEvent.at, AppealEvent.id)))


def available_actions(appeal: Appeal, user, now: dt.datetime | None = None) -> list[str]:
    """The actions (rules.ACTIONS names) `user` may take on a visible appeal now, for screens
    (the commands check again)."""
    now = default_now(now)
    kinds = actor_kinds(user, appeal)
    out = []
    for action in ("dispatch", "escalate", "whistle_to_department", "whistle_to_leader", "leader_assign", "reply",
                   "review", "callback", "merge", "to_supervision"):
        if rules.action_error(action, appeal.state, kinds) is None:
            out.append(action)
    handler_kind = appeal.handler_unit.kind if appeal.handler_unit is not None else None
    if handler_kind not in rules.ESCALATES_TO:
        out = [a for a in out if a != "escalate"]
    if handler_kind != "township":
        out = [a for a in out if not a.startswith("whistle")]
    if appeal.leader_id is not None:
        out = [a for a in out if a != "dispatch"]
    else:
        out = [a for a in out if a != "leader_assign"]
    if "to_supervision" in out and may_supervise(appeal, now):
        out.remove("to_supervision")
    unit_id = user.org_unit_id if user is not None else None
    mine = pending_assignment(appeal, unit_id) if user is not None else pending_assignment(appeal, None)
    if mine is not None and (user is None or acts_for_unit(user, mine.org_unit_id)):
        out.append("sign")
        if not mine.overruled:
            out.append("refuse")
    if any(a.state == "refused" and a.ruled_at is None and may_rule(user, a, appeal) for a in appeal.assignments):
        out.append("rule_on_refusal")
    return out


# ---------------------------------------------------------------- to-do

TODO_KEYS = ("appeal_to_sign", "appeal_due", "appeal_to_dispatch", "appeal_refusals", "appeal_whistles",
             "appeal_reviews", "appeal_callbacks")
TODO_TITLES = {
    "appeal_to_sign": "诉求待签收",
    "appeal_due": "诉求待办理（临近或超过答复期限）",
    "appeal_to_dispatch": "诉求待分派",
    "appeal_refusals": "退单待处理",
    "appeal_whistles": "吹哨待分管领导指派",
    "appeal_reviews": "诉求答复待审核",
    "appeal_callbacks": "诉求待回访",
}


def todo_lists(user, now: dt.datetime | None = None, limit: int = 5) -> dict[str, tuple[int, list[Appeal]]]:
    """What waits on `user` among appeals, per TODO_KEYS: (count, the first `limit` appeals,
    most urgent first). Two queries per non-empty kind, whatever the data's size."""
    from app.appeals.todo import todo_conditions

    now = default_now(now)
    out = {}
    for key, condition, order in todo_conditions(user, now):
        count = db.session.scalar(select(func.count()).select_from(Appeal).where(condition))
        if not count:
            continue
        rows = list(db.session.scalars(select(Appeal).where(condition).order_by(*order).limit(limit)))
        out[key] = (count, rows)
    return out
