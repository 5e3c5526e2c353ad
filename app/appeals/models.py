"""The appeals tables (诉求, PLATFORM.md §2): the catalogue, the time limits, the appeal, its
assignments (each hand-over to a unit, signed or refused), its history, replies and call-backs,
and the 分管领导 charge of leaders over departments.

Mapping only (Alembic owns the tables, migration ap15a0000001); the rules are in
app/appeals/rules.py, the use cases in app/appeals/services.py. Citizens' names and phones are
personal data: `__audit_masked__` keeps them masked in the audit trail.
"""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

# Stored values: states are keys (labels for screens), the other choices are stored in Chinese.
APPEAL_STATES = {
    "to_dispatch": "待分派",
    "to_sign": "待签收",
    "handling": "办理中",
    "to_review": "待审核",
    "to_callback": "待回访",
    "closed": "已办结",
    "merged": "已合并",
}
APPEAL_SOURCES = ("网格上报", "12345热线", "来信来访", "其他")
URGENCIES = ("紧急", "一般", "复杂")
LIMIT_UNITS = {"hours": "小时", "working_days": "工作日"}
ASSIGNMENT_ROLES = {"single": "承办", "lead": "牵头", "assist": "协办"}
ASSIGNMENT_STATES = {"pending": "待签收", "signed": "已签收", "refused": "已退单", "ended": "已结束"}
# How an assignment was made (who rules on its refusal and what "reassign" may choose).
ASSIGNMENT_KINDS = {"dispatch": "分派", "escalate": "上报", "whistle": "吹哨", "leader": "领导指派"}
REFUSAL_KINDS = ("职能不符", "属地不符", "其他")
REPLY_RESULTS = ("已解决", "部分解决", "未解决并说明", "解释说明")
REVIEW_DECISIONS = {"approved": "审核通过", "returned": "退回重办"}
CALLBACK_RESULTS = ("满意", "基本满意", "不满意")
RESOLVED_LEVELS = ("网格", "村社区", "乡镇街道", "县区部门", "市直部门")
OPEN_SIGN = "signed_at IS NULL AND refused_at IS NULL AND ended_at IS NULL"
REVIEWER_KINDS = {"dispatcher": "热线调度员", "township": "乡镇街道"}


class AppealCategory(db.Model):
    """A 高频事项 of the catalogue: default urgency and the department it usually goes to."""

    __audited__ = True
    __tablename__ = "appeal_category"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    default_urgency: Mapped[str] = mapped_column(String(4), default="一般")
    department_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_unit.id"))  # suggested department
    # Added by a hotline import with a name the catalogue did not know: the dispatcher completes it.
    needs_completion: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    department = relationship("OrgUnit", lazy="joined")

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return self.name


class AppealTimeLimit(db.Model):
    """签收 and 答复 time limits of one urgency (hours, or working days on the 13710 calendar)."""

    __audited__ = True
    __tablename__ = "appeal_time_limit"

    id: Mapped[int] = mapped_column(primary_key=True)
    urgency: Mapped[str] = mapped_column(String(4), unique=True)
    sign_amount: Mapped[int] = mapped_column(Integer)
    sign_unit: Mapped[str] = mapped_column(String(16))  # hours / working_days
    reply_amount: Mapped[int] = mapped_column(Integer)
    reply_unit: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return self.urgency


class Appeal(db.Model):
    """A citizen's appeal (诉求) and where it stands: the unit handling it, its deadlines, the
    level it was resolved at, how often it was reopened, what it was merged into, and the
    supervision item it was turned into."""

    __audited__ = True
    __audit_masked__ = {"citizen_name": "name", "citizen_phone": "phone"}
    __tablename__ = "appeal"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)  # SQ-2026-000001
    source: Mapped[str] = mapped_column(String(8))
    external_number: Mapped[Optional[str]] = mapped_column(String(64))  # the hotline's 工单编号
    received_at: Mapped[dt.datetime] = mapped_column(DateTime)
    category_id: Mapped[Optional[int]] = mapped_column(ForeignKey("appeal_category.id"), index=True)
    content: Mapped[str] = mapped_column(Text)
    occurred_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))  # grid, village or township
    citizen_name: Mapped[Optional[str]] = mapped_column(String(50))
    citizen_phone: Mapped[Optional[str]] = mapped_column(String(30))
    urgency: Mapped[str] = mapped_column(String(4), default="一般")
    state: Mapped[str] = mapped_column(String(16))
    # The unit that must act now: the dispatcher's unit (待分派), the assigned unit (待签收; the
    # lead's), the handling unit (办理中 … 待回访). While a whistle waits for a 分管领导 it is
    # the whistling township and `leader_id` names the leader.
    handler_unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_unit.id"))
    leader_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    # Who reviews the reply and records the call-back: the dispatcher's unit (hotline, letters)
    # or the township of the grid (grid reports).
    reviewer_kind: Mapped[str] = mapped_column(String(12))
    reviewer_unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_unit.id"))
    sign_deadline: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)  # the pending assignment's
    reply_deadline: Mapped[dt.datetime] = mapped_column(DateTime)  # from receipt, never restarted
    replied_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)  # the approved reply's submission
    closed_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    resolved_level: Mapped[Optional[str]] = mapped_column(String(8))
    resolved_unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_unit.id"))
    reopen_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The call-backs so far (kept with each one, so that figures need not aggregate them): the
    # last result, how many, how many 满意 and 基本满意.
    callback_result: Mapped[Optional[str]] = mapped_column(String(8))
    callback_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    satisfied_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    basic_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    merged_into_id: Mapped[Optional[int]] = mapped_column(ForeignKey("appeal.id"), index=True)
    supervision_task_id: Mapped[Optional[int]] = mapped_column(ForeignKey("supervision_task.id"), index=True)
    created_by_id: Mapped[Optional[int]] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())  # hotline updates
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        UniqueConstraint("source", "external_number", name="uq_appeal_source_external"),
        Index("ix_appeal_state_handler", "state", "handler_unit_id"),
        Index("ix_appeal_handler_state", "handler_unit_id", "state"),
        Index("ix_appeal_received", "received_at"),
        Index("ix_appeal_occurred_received", "occurred_unit_id", "received_at"),
        Index("ix_appeal_reviewer_state", "reviewer_unit_id", "state"),
        Index("ix_appeal_leader_state", "leader_id", "state"),
        Index("ix_appeal_updated", "updated_at"),
        # The figures' part that moves with the clock: appeals not replied to, by deadline.
        Index("ix_appeal_unreplied_deadline", "reply_deadline", sqlite_where=text("replied_at IS NULL"),
              postgresql_where=text("replied_at IS NULL")),
    )

    category = relationship("AppealCategory", lazy="joined")
    occurred_unit = relationship("OrgUnit", foreign_keys=[occurred_unit_id], lazy="joined", innerjoin=True)
    handler_unit = relationship("OrgUnit", foreign_keys=[handler_unit_id], lazy="joined")
    reviewer_unit = relationship("OrgUnit", foreign_keys=[reviewer_unit_id])
    resolved_unit = relationship("OrgUnit", foreign_keys=[resolved_unit_id])
    leader = relationship("AppUser", foreign_keys=[leader_id])
    merged_into = relationship("Appeal", remote_side=[id])
    supervision_task = relationship("SupervisionTask")
    assignments: Mapped[list[AppealAssignment]] = relationship(
        back_populates="appeal", order_by="AppealAssignment.id", lazy="selectin"
    )

    @property
    def state_label(self) -> str:
        return APPEAL_STATES.get(self.state, self.state)

    def __repr__(self) -> str:
        return self.number


class AppealAssignment(db.Model):
    """One hand-over of an appeal to a unit (分派, 上报, 吹哨, a leader's lead/assist): its
    sign deadline, and its signing or its refusal (退单) and the ruling on it."""

    __audited__ = True
    __tablename__ = "appeal_assignment"

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id", ondelete="CASCADE"))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    role: Mapped[str] = mapped_column(String(8), default="single")  # single / lead / assist
    kind: Mapped[str] = mapped_column(String(12))  # dispatch / escalate / whistle / leader
    assigned_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    assigned_from_unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_unit.id"))
    assigned_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # The appeal's receipt, copied: figures pick a unit's assignments of a date range by index
    # (org_unit_id, appeal_received_at) without visiting every appeal of the range.
    appeal_received_at: Mapped[dt.datetime] = mapped_column(DateTime)
    sign_deadline: Mapped[dt.datetime] = mapped_column(DateTime)
    signed_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    signed_by_id: Mapped[Optional[int]] = mapped_column(Integer)
    refused_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    refusal_kind: Mapped[Optional[str]] = mapped_column(String(8))  # 职能不符 / 属地不符 / 其他
    refusal_text: Mapped[Optional[str]] = mapped_column(Text)
    ruled_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)  # the assigner's ruling on the refusal
    ruling: Mapped[Optional[str]] = mapped_column(String(12))  # reassign / overrule / take_back
    overruled: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")  # may not refuse again
    ended_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)  # superseded, merged, handed on
    state: Mapped[str] = mapped_column(String(12), default="pending")  # pending / signed / refused / ended
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_appeal_assignment_appeal", "appeal_id", "id"),
        Index("ix_appeal_assignment_unit_state", "org_unit_id", "state"),
        Index("ix_appeal_assignment_unit_received", "org_unit_id", "appeal_received_at"),
        Index("ix_appeal_assignment_from_state", "assigned_from_unit_id", "state"),
        # The figures' part that moves with the clock: hand-overs neither signed, refused nor ended.
        Index("ix_appeal_assignment_open_sign", "sign_deadline",
              sqlite_where=text(OPEN_SIGN), postgresql_where=text(OPEN_SIGN)),
    )

    appeal: Mapped[Appeal] = relationship(back_populates="assignments")
    org_unit = relationship("OrgUnit", foreign_keys=[org_unit_id], lazy="joined", innerjoin=True)
    assigned_from_unit = relationship("OrgUnit", foreign_keys=[assigned_from_unit_id])

    @property
    def state_label(self) -> str:
        return ASSIGNMENT_STATES.get(self.state, self.state)


class AppealEvent(db.Model):
    """A line of an appeal's history: who did what, when, from which unit to which, and why.

    Written by every action (the history itself: not audited row by row)."""

    __tablename__ = "appeal_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(24))
    actor_id: Mapped[Optional[int]] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(128))
    actor_unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_unit.id"))
    from_unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_unit.id"))
    to_unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_unit.id"))
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    reason: Mapped[Optional[str]] = mapped_column(Text)
    detail: Mapped[Optional[dict]] = mapped_column(JSON)

    __table_args__ = (Index("ix_appeal_event_appeal", "appeal_id", "id"), Index("ix_appeal_event_at", "at"))

    # joined: a history page names every unit in one query
    actor_unit = relationship("OrgUnit", foreign_keys=[actor_unit_id], lazy="joined")
    from_unit = relationship("OrgUnit", foreign_keys=[from_unit_id], lazy="joined")
    to_unit = relationship("OrgUnit", foreign_keys=[to_unit_id], lazy="joined")


class AppealReply(db.Model):
    """答复: its four required parts (联系群众情况, 解决措施, 办理结果, 完成时间) and the review."""

    __audited__ = True
    __tablename__ = "appeal_reply"

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id", ondelete="CASCADE"), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))  # the replying unit
    contact_whom: Mapped[str] = mapped_column(String(100))
    contact_at: Mapped[dt.datetime] = mapped_column(DateTime)
    contact_way: Mapped[str] = mapped_column(String(50))
    measures: Mapped[str] = mapped_column(Text)
    result: Mapped[str] = mapped_column(String(8))
    result_note: Mapped[Optional[str]] = mapped_column(Text)
    finished_at: Mapped[dt.datetime] = mapped_column(DateTime)
    submitted_by_id: Mapped[Optional[int]] = mapped_column(Integer)
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime)
    decision: Mapped[Optional[str]] = mapped_column(String(12))  # approved / returned
    decided_by_id: Mapped[Optional[int]] = mapped_column(Integer)
    decided_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    decision_note: Mapped[Optional[str]] = mapped_column(Text)

    org_unit = relationship("OrgUnit", lazy="joined", innerjoin=True)


class AppealCallback(db.Model):
    """回访: the citizen's verdict on an approved reply (不满意 reopens the appeal)."""

    __audited__ = True
    __tablename__ = "appeal_callback"

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id", ondelete="CASCADE"), index=True)
    result: Mapped[str] = mapped_column(String(8))
    note: Mapped[Optional[str]] = mapped_column(Text)
    by_id: Mapped[Optional[int]] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


class LeaderCharge(db.Model):
    """分管: a county leader in charge of a department (kept by admins)."""

    __audited__ = True
    __tablename__ = "leader_charge"

    id: Mapped[int] = mapped_column(primary_key=True)
    leader_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)

    __table_args__ = (UniqueConstraint("leader_id", "org_unit_id", name="uq_leader_charge_pair"),)

    leader = relationship("AppUser", lazy="joined", innerjoin=True)
    org_unit = relationship("OrgUnit", lazy="joined", innerjoin=True)


# ---------------------------------------------------------------- figure cells (app/appeals/cells.py)

FIGURE_CELLS = ("received", "replied", "on_time", "callbacks", "satisfied", "basic", "called_back", "reopened",
                "reopens", *[f"level{i}" for i in range(len(RESOLVED_LEVELS))], "sign_on_time", "sign_settled",
                "refusals")


class AppealFigureCell(db.Model):
    """The figures of the appeals received on `day` that touch `unit_id`'s subtree (each appeal
    once, however many of its units lie there), and of that day's hand-overs to the subtree's
    units: the part of the §2 figures that changes only when an appeal or a hand-over does.
    Kept by app/appeals/cells.py; the columns are FIGURE_CELLS."""

    __tablename__ = "appeal_figure_cell"

    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)


for _name in FIGURE_CELLS:
    AppealFigureCell.__table__.append_column(db.Column(_name, Integer, nullable=False, server_default="0"))


class AppealFigureDirty(db.Model):
    """A unit and receipt day whose appeals or hand-overs changed since the cells were counted
    (written by the database's triggers on appeal and appeal_assignment, so every write path
    counts); unit 0 asks for every cell to be counted again (a unit moved in the tree)."""

    __tablename__ = "appeal_figure_dirty"

    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
