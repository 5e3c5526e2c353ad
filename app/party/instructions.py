"""工作指令 use cases: draft, preview the recipients, send (recipients resolved and kept), open
(read receipt), reply, 催办, rates per unit with drill-down, and 转督办.

Each command takes the acting user (None: the system) and runs in app/core/commands.command().
Who sees what:
- a recipient sees its own copy (inbox), nothing else of the instruction's recipients;
- a sender-side user (a role that may send) sees the instructions it sent (every copy) and
  those whose copies reached units of its subtree (those copies only);
- anything else is NotFound (404), like a missing row.
A draft is edited by its sender only; a sent instruction never changes (its 督办 link aside).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask_appbuilder.security.sqla.models import Role
from sqlalchemy import and_, exists, func, or_, select, true

from app.core import clock
from app.core.claims import claim
from app.core.commands import command
from app.core.errors import Conflict, DomainError, Forbidden, NotFound
from app.extensions import db
from app.models import POST_CATEGORIES, AppUser, Attachment, Cadre, OrgUnit
from app.party import instruction_targets as T
from app.party.models import PartyMember, PartyOrg
from app.party.models_instructions import (
    Instruction,
    InstructionCopy,
    InstructionCopyMember,
    InstructionReminder,
)
from app.security import roles as R
from app.security.scope import prefix_of, subtree_ids, unit_in_scope
from app.supervision.access import save_attachments

SENDER_ROLES = {R.ADMIN, R.STAFF, R.SUPERVISOR, R.LEADER}
NOT_FOUND = "工作指令不存在或不在您的管辖范围内"
COPY_NOT_FOUND = "该工作指令不存在或不是发给您的"
STALE = "该工作指令已被他人修改，您的操作未保存。请刷新后重试。"
TAKEN = "该工作指令已被他人处理（可能已下发），请刷新后重试"
INSTRUCTION_FILES = "party_instruction"
REPLY_FILES = "party_instruction_copy"
MAX_TARGET_UNITS = 50


def _roles(user) -> set[str]:
    return {r.name for r in getattr(user, "roles", None) or []}


def may_send(user) -> bool:
    return user is None or bool(_roles(user) & SENDER_ROLES)


def may_supervise(user) -> bool:
    """Whether `user` may turn an instruction into a 督查事项 (督查员 or 系统管理员)."""
    return user is None or bool(_roles(user) & {R.SUPERVISOR, R.ADMIN})


def _require_sender(user) -> None:
    if not may_send(user):
        raise Forbidden("您的角色不能下发工作指令")


def _name(user) -> str:
    from app.core import audit

    return audit.SYSTEM if user is None else user.username


# ---------------------------------------------------------------- drafts

@dataclass
class Draft:
    """A draft's fields as given by a form, the API or a test."""

    title: str = ""
    content: str = ""
    reply_required: bool = False
    reply_due: dt.date | None = None
    unit_codes: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    post_categories: list[str] = field(default_factory=list)
    member_status: list[str] = field(default_factory=list)
    member_flowing: str | bool | None = None
    member_age_bands: list[str] = field(default_factory=list)


def _checked(draft: Draft, user) -> tuple[dict, list[OrgUnit], T.TargetFilters]:
    """The draft's values checked (every problem at once, in Chinese)."""
    errors = []
    title = (draft.title or "").strip()
    content = (draft.content or "").strip()
    if not title:
        errors.append("请填写指令标题")
    elif len(title) > 200:
        errors.append("指令标题最多 200 个字符")
    if not content:
        errors.append("请填写指令内容")
    if draft.reply_required and draft.reply_due is None:
        errors.append("要求反馈时请填写反馈截止日期")
    if draft.reply_due is not None and draft.reply_due < clock.now().date():
        errors.append("反馈截止日期不能早于今天")
    codes = []
    for code in draft.unit_codes or ():
        code = (code or "").strip()
        if code and code not in codes:
            codes.append(code)
    units = []
    if not codes:
        errors.append("请至少选择一个发送范围（单位）")
    elif len(codes) > MAX_TARGET_UNITS:
        errors.append(f"发送范围最多 {MAX_TARGET_UNITS} 个单位")
    else:
        found = {u.code: u for u in db.session.scalars(select(OrgUnit).where(OrgUnit.code.in_(codes)))}
        prefix = prefix_of(user)
        for code in codes:
            unit = found.get(code)
            if unit is None:
                errors.append(f"单位“{code}”不存在")
            elif not unit_in_scope(unit, prefix):
                errors.append(f"单位“{unit.name}”不在您的管辖范围内，不能向其发送指令")
            else:
                units.append(unit)
    filters, problems = T.parse_filters(
        draft.roles, draft.post_categories, draft.member_status, draft.member_flowing, draft.member_age_bands,
        known_roles=R.ALL_ROLES, known_categories=POST_CATEGORIES)
    errors += problems
    if errors:
        raise DomainError("；".join(errors))
    values = {"title": title, "content": content, "reply_required": bool(draft.reply_required),
              "reply_due": draft.reply_due if draft.reply_required else None, "filters": filters.to_json()}
    return values, units, filters


def create_draft(draft: Draft, *, user, attachments=()) -> Instruction:
    """A new 草稿 of `user` (a sender role; the target units inside its scope)."""
    _require_sender(user)
    values, units, _ = _checked(draft, user)
    if user is not None and user.org_unit_id is None:
        raise Forbidden("您的账号未绑定单位，不能下发工作指令")
    with command(user, STALE):
        instruction = Instruction(state="draft", sender_id=user.id if user else None,
                                  sender_unit_id=user.org_unit_id if user else units[0].id, **values)
        instruction.target_units = units
        db.session.add(instruction)
        db.session.flush()
        save_attachments(INSTRUCTION_FILES, instruction.id, attachments, user)
    return instruction


def _own_draft(instruction_id, user) -> Instruction:
    instruction = _get(instruction_id)
    if instruction is None or (user is not None and instruction.sender_id != user.id):
        raise NotFound(NOT_FOUND)
    return instruction


def update_draft(instruction_id, draft: Draft, *, user, expected_version=None, attachments=()) -> Instruction:
    """Change a draft (its sender only); a sent instruction is refused; a stale copy is a 409."""
    _require_sender(user)
    instruction = _own_draft(instruction_id, user)
    if instruction.state != "draft":
        raise DomainError("工作指令已下发，不能再修改")
    values, units, _ = _checked(draft, user)
    with command(user, STALE):
        if expected_version is not None and int(expected_version) != instruction.version:
            raise Conflict(STALE)
        claim(instruction, "state", ("draft",), TAKEN)
        for key, value in values.items():
            setattr(instruction, key, value)
        instruction.target_units = units
        save_attachments(INSTRUCTION_FILES, instruction.id, attachments, user)
    return instruction


def delete_draft(instruction_id, *, user) -> None:
    _require_sender(user)
    instruction = _own_draft(instruction_id, user)
    if instruction.state != "draft":
        raise DomainError("工作指令已下发，不能删除")
    with command(user, STALE):
        claim(instruction, "state", ("draft",), TAKEN)
        db.session.execute(Attachment.__table__.delete().where(
            Attachment.owner_table == INSTRUCTION_FILES, Attachment.owner_id == instruction.id))
        db.session.delete(instruction)


# ---------------------------------------------------------------- resolution

@dataclass
class Resolution:
    """The recipients an instruction resolves to now."""

    users: dict[int, int]  # user id -> unit id the copy counts under
    secretary: dict[int, T.SecretaryCopy]
    orphans: list[str]  # branches with matching members and no secretary account
    members: int  # matching party members (member filters only)

    @property
    def count(self) -> int:
        return len(self.users)


def _in_subtrees(column, units):
    return or_(*[column.in_(subtree_ids(u.path)) for u in units])


def _user_conditions(filters: T.TargetFilters, sender_id):
    conditions = [AppUser.active.is_(True)]
    if sender_id is not None:
        conditions.append(AppUser.id != sender_id)
    if filters.roles:
        conditions.append(AppUser.roles.any(Role.name.in_(filters.roles)))
    if filters.post_categories:
        conditions.append(AppUser.cadre_id.in_(select(Cadre.id).where(Cadre.post_category.in_(filters.post_categories))))
    return conditions


def resolve(units, filters: T.TargetFilters, sender_id, as_of: dt.date) -> Resolution:
    """The users the target reaches today (set-based: a few queries whatever the size)."""
    if not units:
        return Resolution({}, {}, [], 0)
    if not filters.by_members:
        stmt = select(AppUser.id, AppUser.org_unit_id).where(
            _in_subtrees(AppUser.org_unit_id, units), *_user_conditions(filters, sender_id))
        return Resolution(dict(db.session.execute(stmt).all()), {}, [], 0)
    rows = db.session.execute(
        select(PartyOrg.name, PartyOrg.org_unit_id, PartyOrg.secretary_id, func.count(PartyMember.id))
        .select_from(PartyMember).join(PartyOrg, PartyOrg.id == PartyMember.branch_id).where(*_member_conditions(units, filters, as_of))
        .group_by(PartyOrg.id, PartyOrg.code, PartyOrg.name, PartyOrg.org_unit_id, PartyOrg.secretary_id)
        .order_by(PartyOrg.code)
    ).all()
    copies, orphans = T.secretary_copies(rows)
    if copies:  # the user filters (and being active, not the sender) apply to the secretaries
        allowed = set(db.session.scalars(select(AppUser.id).where(
            AppUser.id.in_(list(copies)), *_user_conditions(filters, sender_id))))
        copies = {uid: c for uid, c in copies.items() if uid in allowed}
    return Resolution({uid: c.unit_id for uid, c in copies.items()}, copies, orphans, sum(r[3] for r in rows))


def _member_conditions(units, filters: T.TargetFilters, as_of: dt.date) -> list:
    """SQL conditions on party members: in the subtrees and matching the member filters."""
    member = [_in_subtrees(PartyMember.org_unit_id, units)]
    if filters.member_status:
        member.append(PartyMember.status.in_(filters.member_status))
    if filters.member_flowing is not None:
        member.append(PartyMember.flowing.is_(filters.member_flowing))
    if filters.member_age_bands:
        bands = []
        for band in filters.member_age_bands:
            after, on_or_before = T.birth_bounds(band, as_of)
            parts = []
            if after is not None:
                parts.append(PartyMember.birth_date > after)
            if on_or_before is not None:
                parts.append(PartyMember.birth_date <= on_or_before)
            bands.append(and_(*parts))
        member.append(or_(*bands))
    return member


def preview(instruction_id, *, user) -> Resolution:
    """What sending would do now: "将发送给 N 人" (the sender's draft only)."""
    instruction = _own_draft(instruction_id, user)
    return resolve(instruction.target_units, T.TargetFilters.from_json(instruction.filters),
                   instruction.sender_id, clock.now().date())


def send(instruction_id, *, user, expected_version=None, expected_count=None, now=None) -> Instruction:
    """草稿 → 已下发: the recipients resolved now are kept as copies (未读).

    `expected_count`: the count the sender saw in the preview; a different count now (the
    register changed meanwhile) is refused so that nobody sends to people they did not see."""
    _require_sender(user)
    now = now or clock.now()
    instruction = _own_draft(instruction_id, user)
    if instruction.state != "draft":
        raise DomainError("工作指令已下发，不能重复下发")
    with command(user, TAKEN):
        if expected_version is not None and int(expected_version) != instruction.version:
            raise Conflict(STALE)
        claim(instruction, "state", ("draft",), TAKEN)
        prefix = prefix_of(user)
        if not all(unit_in_scope(u, prefix) for u in instruction.target_units):
            raise Forbidden("发送范围中有单位已不在您的管辖范围内，请修改后再发送")
        found = resolve(instruction.target_units, T.TargetFilters.from_json(instruction.filters),
                        instruction.sender_id, now.date())
        if found.count == 0:
            raise DomainError("按所选范围和条件没有找到任何接收人，未下发")
        if expected_count is not None and int(expected_count) != found.count:
            raise Conflict(f"接收人已变化：预览时为 {int(expected_count)} 人，现在为 {found.count} 人。请重新确认后再发送")
        _write_copies(instruction, found, now.date())
        instruction.state = "sent"
        instruction.sent_at = now
        instruction.recipient_count = found.count
    return instruction


def _write_copies(instruction: Instruction, found: Resolution, as_of: dt.date) -> None:
    rows = []
    for uid, unit_id in sorted(found.users.items()):
        sec = found.secretary.get(uid)
        rows.append({"instruction_id": instruction.id, "user_id": uid, "org_unit_id": unit_id,
                     "reason": "branch" if sec else "user", "state": "unread",
                     "branches": "、".join(sec.branches)[:500] if sec else None, "reminders": 0, "version": 1})
    db.session.execute(InstructionCopy.__table__.insert(), rows)
    if found.secretary:  # each secretary's copy lists the matching members of its branches, set-based
        units, filters = instruction.target_units, T.TargetFilters.from_json(instruction.filters)
        listed = (
            select(InstructionCopy.id, PartyMember.id, PartyMember.code, PartyMember.name, PartyOrg.name)
            .select_from(PartyMember).join(PartyOrg, PartyOrg.id == PartyMember.branch_id)
            .join(InstructionCopy, and_(InstructionCopy.user_id == PartyOrg.secretary_id,
                                        InstructionCopy.instruction_id == instruction.id))
            .where(*_member_conditions(units, filters, as_of))
        )
        db.session.execute(InstructionCopyMember.__table__.insert().from_select(
            ["copy_id", "member_id", "member_code", "member_name", "branch_name"], listed))


# ---------------------------------------------------------------- who sees what

def _get(instruction_id) -> Instruction | None:
    return db.session.get(Instruction, int(instruction_id)) if str(instruction_id).isdigit() else None


def _copies_in_scope(user):
    """SQL condition on copies: those a sender-side `user` sees of an instruction it did not send."""
    prefix = prefix_of(user)
    return true() if prefix is None else InstructionCopy.org_unit_id.in_(subtree_ids(prefix))


def visible_instructions(user):
    """A select of the instructions `user` sees from the sender's side: its own (drafts
    included) and the sent ones that reached its subtree."""
    stmt = select(Instruction)
    if user is None:
        return stmt
    if not may_send(user):
        return stmt.where(Instruction.id.is_(None))
    reached = exists().where(InstructionCopy.instruction_id == Instruction.id, _copies_in_scope(user))
    return stmt.where(or_(Instruction.sender_id == user.id, and_(Instruction.state == "sent", reached)))


def get_instruction(instruction_id, *, user) -> Instruction:
    """An instruction `user` sees from the sender's side, else NotFound."""
    if not str(instruction_id).isdigit():
        raise NotFound(NOT_FOUND)
    found = db.session.scalar(visible_instructions(user).where(Instruction.id == int(instruction_id)))
    if found is None:
        raise NotFound(NOT_FOUND)
    return found


def sees_every_copy(instruction: Instruction, user) -> bool:
    return user is None or instruction.sender_id == user.id


def copy_scope(instruction: Instruction, user):
    """SQL condition: the copies of `instruction` that `user` (sender side) sees."""
    base = InstructionCopy.instruction_id == instruction.id
    return base if sees_every_copy(instruction, user) else and_(base, _copies_in_scope(user))


def list_instructions(user, limit: int = 200) -> list[Instruction]:
    stmt = visible_instructions(user).order_by(Instruction.id.desc()).limit(limit)
    return list(db.session.scalars(stmt))


def inbox(user, limit: int = 200) -> list[InstructionCopy]:
    """The copies addressed to `user`, newest first."""
    stmt = (select(InstructionCopy).where(InstructionCopy.user_id == user.id)
            .order_by(InstructionCopy.id.desc()).limit(limit))
    return list(db.session.scalars(stmt))


def own_copy(copy_id, user) -> InstructionCopy:
    """The copy if it is addressed to `user`, else NotFound (another's copy looks missing)."""
    copy = db.session.get(InstructionCopy, int(copy_id)) if str(copy_id).isdigit() else None
    if copy is None or user is None or copy.user_id != user.id:
        raise NotFound(COPY_NOT_FOUND)
    return copy


def copy_members(copy_id: int) -> list[InstructionCopyMember]:
    return list(db.session.scalars(select(InstructionCopyMember).where(InstructionCopyMember.copy_id == copy_id)
                                   .order_by(InstructionCopyMember.branch_name, InstructionCopyMember.member_code)))


def copy_members_of(instruction_id: int) -> list[InstructionCopyMember]:
    """Every member listed on any copy of an instruction."""
    return list(db.session.scalars(
        select(InstructionCopyMember).join(InstructionCopy, InstructionCopy.id == InstructionCopyMember.copy_id)
        .where(InstructionCopy.instruction_id == instruction_id)))


def copy_reminders(copy_id: int) -> list[InstructionReminder]:
    return list(db.session.scalars(select(InstructionReminder).where(InstructionReminder.copy_id == copy_id)
                                   .order_by(InstructionReminder.id.desc())))


# ---------------------------------------------------------------- receipts and replies

def open_copy(copy_id, *, user, now=None) -> InstructionCopy:
    """The recipient opens its copy: 未读 → 已读 is recorded the first time."""
    copy = own_copy(copy_id, user)
    if copy.state == "unread":
        try:
            with command(user, STALE):
                claim(copy, "state", ("unread",), STALE)
                copy.state = "read"
                copy.read_at = now or clock.now()
        except Conflict:  # opened twice at once: the other request recorded it
            db.session.expire_all()
            copy = own_copy(copy_id, user)
    return copy


def reply(copy_id, text: str, *, user, attachments=(), expected_version=None, now=None) -> InstructionCopy:
    """已读 → 已反馈 with the reply text and attachments (once)."""
    copy = own_copy(copy_id, user)
    text = (text or "").strip()
    if copy.state == "replied":
        raise DomainError("您已反馈过该工作指令，不能重复反馈")
    if copy.state != "read":
        raise DomainError("请先打开并阅读工作指令后再反馈")
    if not text:
        raise DomainError("请填写反馈内容")
    if len(text) > 5000:
        raise DomainError("反馈内容最多 5000 个字符")
    with command(user, STALE):
        if expected_version is not None and int(expected_version) != copy.version:
            raise Conflict(STALE)
        claim(copy, "state", ("read",), "该工作指令已反馈，请刷新后查看")
        copy.state = "replied"
        copy.reply = text
        copy.replied_at = now or clock.now()
        save_attachments(REPLY_FILES, copy.id, attachments, user)
    return copy


# ---------------------------------------------------------------- 催办

def chaseable(instruction: Instruction):
    """SQL condition: copies still waiting (unread; or, when a reply is required, not replied)."""
    if instruction.reply_required:
        return InstructionCopy.state.in_(("unread", "read"))
    return InstructionCopy.state == "unread"


def remind(instruction_id, *, user, copy_id=None, message=None, now=None) -> int:
    """催办 the waiting copies the user sees (or one of them); returns how many were chased."""
    _require_sender(user)
    now = now or clock.now()
    instruction = get_instruction(instruction_id, user=user)
    if instruction.state != "sent":
        raise DomainError("工作指令尚未下发，不能催办")
    stmt = select(InstructionCopy).where(copy_scope(instruction, user), chaseable(instruction))
    if copy_id is not None:
        stmt = stmt.where(InstructionCopy.id == int(copy_id))
    targets = list(db.session.scalars(stmt.order_by(InstructionCopy.id)))
    if not targets:
        if copy_id is not None:
            raise DomainError("该接收人已阅读或已反馈，无需催办")
        raise DomainError("没有需要催办的接收人（均已阅读或已反馈）")
    what = "反馈" if instruction.reply_required else "阅读"
    text = (message or "").strip()[:500] or f"请及时{what}工作指令“{instruction.title}”。"
    with command(user, STALE):
        for copy in targets:
            copy.reminders = (copy.reminders or 0) + 1
            copy.last_reminded_at = now
            db.session.add(InstructionReminder(copy_id=copy.id, message=text, created_at=now,
                                               created_by=_name(user)))
    return len(targets)


# ---------------------------------------------------------------- rates

@dataclass
class RateRow:
    unit: OrgUnit | None  # None: the root unit itself (本级)
    total: int
    read: int
    replied: int

    @property
    def read_rate(self) -> float:
        return T.rate(self.read, self.total)

    @property
    def reply_rate(self) -> float:
        return T.rate(self.replied, self.total)


def default_root(instruction: Instruction, user) -> OrgUnit:
    """Where the rates start: the sender's unit for the sender, else the viewer's unit."""
    if user is None or instruction.sender_id == user.id or user.org_unit is None:
        return instruction.sender_unit
    return user.org_unit


def rates(instruction: Instruction, root: OrgUnit, *, user) -> tuple[RateRow, list[RateRow]]:
    """(the root subtree's totals, one row per child unit with copies, 本级 first)."""
    counts = db.session.execute(
        select(OrgUnit.path, InstructionCopy.state, func.count())
        .join(OrgUnit, OrgUnit.id == InstructionCopy.org_unit_id)
        .where(copy_scope(instruction, user), OrgUnit.path.startswith(root.path, autoescape=True))
        .group_by(OrgUnit.path, InstructionCopy.state)
    ).all()
    per_child = T.rollup(root.path, counts)
    children = {u.id: u for u in db.session.scalars(select(OrgUnit).where(
        OrgUnit.id.in_([k for k in per_child if k is not None])))}
    rows = [RateRow(None if key is None else children[key], **figures) for key, figures in per_child.items()]
    rows.sort(key=lambda r: (r.unit is not None, r.unit.sort_order if r.unit else 0, r.unit.code if r.unit else ""))
    total = RateRow(root, *(sum(getattr(r, k) for r in rows) for k in ("total", "read", "replied")))
    return total, rows


def copies_at(instruction: Instruction, root: OrgUnit, *, user, state: str | None = None,
              only_root: bool = False, limit: int = 500) -> list[InstructionCopy]:
    """The copies under `root` (or at `root` itself) that `user` sees, for the drill-down list."""
    units = select(OrgUnit.id).where(OrgUnit.id == root.id) if only_root else subtree_ids(root.path)
    stmt = select(InstructionCopy).where(copy_scope(instruction, user), InstructionCopy.org_unit_id.in_(units))
    if state in ("unread", "read", "replied"):
        stmt = stmt.where(InstructionCopy.state == state)
    return list(db.session.scalars(stmt.order_by(InstructionCopy.org_unit_id, InstructionCopy.id).limit(limit)))


def unit_for_rates(instruction: Instruction, code: str | None, *, user) -> OrgUnit:
    """The unit of a drill-down (?unit=CODE): in the viewer's scope (the sender: its own), else NotFound."""
    if not code:
        return default_root(instruction, user)
    unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    scope = prefix_of(user) if not sees_every_copy(instruction, user) else instruction.sender_unit.path
    if unit is None or not (unit_in_scope(unit, scope) or unit_in_scope(unit, prefix_of(user))):
        raise NotFound("单位不存在或不在您的管辖范围内")
    return unit


# ---------------------------------------------------------------- attachments

def attachment_for(attachment_id, *, user) -> Attachment:
    """An instruction's or a reply's attachment, if `user` may read it (else NotFound)."""
    att = db.session.get(Attachment, int(attachment_id)) if str(attachment_id).isdigit() else None
    if att is None or att.owner_table not in (INSTRUCTION_FILES, REPLY_FILES):
        raise NotFound("附件不存在")
    if att.owner_table == INSTRUCTION_FILES:
        received = user is not None and db.session.scalar(select(InstructionCopy.id).where(
            InstructionCopy.instruction_id == att.owner_id, InstructionCopy.user_id == user.id))
        if not received:
            get_instruction(att.owner_id, user=user)
        return att
    copy = db.session.get(InstructionCopy, att.owner_id)
    if copy is None:
        raise NotFound("附件不存在")
    if user is not None and copy.user_id == user.id:
        return att
    instruction = get_instruction(copy.instruction_id, user=user)
    if db.session.scalar(select(InstructionCopy.id).where(copy_scope(instruction, user),
                                                          InstructionCopy.id == copy.id)) is None:
        raise NotFound("附件不存在")
    return att


def attachments_of(owner_table: str, owner_ids) -> dict[int, list]:
    ids = list(owner_ids)
    out: dict[int, list] = {i: [] for i in ids}
    if ids:
        for aid, owner, filename, size in db.session.execute(
                select(Attachment.id, Attachment.owner_id, Attachment.filename, Attachment.size)
                .where(Attachment.owner_table == owner_table, Attachment.owner_id.in_(ids)).order_by(Attachment.id)):
            out[owner].append({"id": aid, "filename": filename, "size": size})
    return out


# ---------------------------------------------------------------- 转督办

def to_supervision(instruction_id, *, user, lead_unit_code: str | None = None, rule_name: str = "普通事项",
                   category: str = "督实事", now=None):
    """Turn a sent instruction into a 督查事项 (draft, for a supervisor to assign), linked both
    ways: the instruction keeps the item, the item's 来源 names the instruction."""
    from app.supervision import tasks as st

    instruction = get_instruction(instruction_id, user=user)
    if instruction.state != "sent":
        raise DomainError("只有已下发的工作指令可以转为督办事项")
    if instruction.task_id is not None:
        raise DomainError("该工作指令已转为督办事项，不能重复转办")
    if user is not None and instruction.sender_id != user.id:
        raise Forbidden("只有指令的发送人可以将其转为督办事项")
    code = (lead_unit_code or "").strip()
    lead = next((u for u in instruction.target_units if u.code == code), None) if code \
        else (instruction.target_units[0] if instruction.target_units else None)
    if lead is None:
        raise DomainError("牵头单位应为指令的发送范围之一")
    content = (f"{instruction.content}\n\n（由工作指令“{instruction.title}”转办，"
               f"接收 {instruction.recipient_count} 人）")
    task = st.create_task(st.next_task_code(now), instruction.title[:200], lead_unit_id=lead.id, user=user,
                          content=content, source=source_of(instruction), category=category, rule_name=rule_name)
    with command(user, STALE):
        claim(instruction, "task_id", None, "该工作指令已被他人转为督办事项，请刷新后查看")
        instruction.task_id = task.id
    return task


def source_of(instruction: Instruction) -> str:
    """The 来源 an item made from an instruction carries: names the instruction and its key."""
    return f"工作指令#{instruction.id}"[:100]


def instruction_of_task(task_id: int) -> Instruction | None:
    return db.session.scalar(select(Instruction).where(Instruction.task_id == task_id))


# ---------------------------------------------------------------- to-do

def waiting_copies(user):
    """A select of the copies waiting on `user`: unread, or read with a reply required."""
    return select(InstructionCopy).join(Instruction, Instruction.id == InstructionCopy.instruction_id).where(
        InstructionCopy.user_id == user.id,
        or_(InstructionCopy.state == "unread",
            and_(InstructionCopy.state == "read", Instruction.reply_required.is_(True))))


def summarize(instruction: Instruction, user) -> dict:
    """Totals of the copies `user` sees: total, read, replied, unread, reminded."""
    row = db.session.execute(
        select(func.count(), func.sum(case_read()), func.sum(case_replied()),
               func.sum(InstructionCopy.reminders)).where(copy_scope(instruction, user))
    ).one()
    total, read, replied, reminded = (int(v or 0) for v in row)
    return {"total": total, "read": read, "replied": replied, "unread": total - read, "reminded": reminded,
            "read_rate": T.rate(read, total), "reply_rate": T.rate(replied, total)}


def summaries(instructions, user) -> dict[int, dict]:
    """summarize() of many sent instructions in one grouped query (the list page)."""
    ids = [i.id for i in instructions if i.state == "sent"]
    if not ids:
        return {}
    seen = true() if user is None else or_(Instruction.sender_id == user.id, _copies_in_scope(user))
    rows = db.session.execute(
        select(InstructionCopy.instruction_id, func.count(), func.sum(case_read()), func.sum(case_replied()),
               func.sum(InstructionCopy.reminders))
        .join(Instruction, Instruction.id == InstructionCopy.instruction_id)
        .where(InstructionCopy.instruction_id.in_(ids), seen).group_by(InstructionCopy.instruction_id)
    ).all()
    out = {}
    for iid, *figures in rows:
        total, read, replied, reminded = (int(v or 0) for v in figures)
        out[iid] = {"total": total, "read": read, "replied": replied, "unread": total - read, "reminded": reminded,
                    "read_rate": T.rate(read, total), "reply_rate": T.rate(replied, total)}
    return out


def case_read():
    from sqlalchemy import case

    return case((InstructionCopy.state.in_(("read", "replied")), 1), else_=0)


def case_replied():
    from sqlalchemy import case

    return case((InstructionCopy.state == "replied", 1), else_=0)
