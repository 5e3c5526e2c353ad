"""The tables of 精准指挥 and 支部联支部: work instructions (工作指令), the copies kept as resolved
at sending (one per recipient, with the party members a branch secretary's copy is about),
their 催办, and the pairings of two branches with their activity log.

An instruction's target units and filters are kept as the sender chose them; its copies are
the recipients as resolved when it was sent, and never recomputed (a later role change, a
member who moves, a new secretary changes nothing that was sent).
"""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

INSTRUCTION_STATES = {"draft": "草稿", "sent": "已下发"}
COPY_STATES = {"unread": "未读", "read": "已读", "replied": "已反馈"}

instruction_target_unit = db.Table(
    "party_instruction_unit",
    db.Column("instruction_id", Integer, ForeignKey("party_instruction.id", ondelete="CASCADE"), primary_key=True),
    db.Column("org_unit_id", Integer, ForeignKey("org_unit.id"), primary_key=True, index=True),
)


class Instruction(db.Model):
    """A 工作指令: drafted by a sender, sent once to the recipients its target resolves to."""

    __audited__ = True
    __tablename__ = "party_instruction"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    reply_required: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    reply_due: Mapped[Optional[dt.date]] = mapped_column(Date)
    # {"roles": [...], "post_categories": [...], "member_status": [...], "member_flowing": "是"/"否"/None,
    #  "member_age_bands": [...]}: the filters as chosen (instruction_targets.TargetFilters)
    filters: Mapped[dict] = mapped_column(JSON, default=dict)
    sender_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id"), index=True)
    sender_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    state: Mapped[str] = mapped_column(String(8), default="draft", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())
    sent_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    recipient_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    task_id: Mapped[Optional[int]] = mapped_column(ForeignKey("supervision_task.id"), index=True)  # 转督办
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    sender = relationship("AppUser", foreign_keys=[sender_id], lazy="joined", innerjoin=True)
    sender_unit = relationship("OrgUnit", foreign_keys=[sender_unit_id], lazy="joined", innerjoin=True)
    target_units = relationship("OrgUnit", secondary=instruction_target_unit, lazy="selectin",
                                order_by="OrgUnit.path")
    task = relationship("SupervisionTask", foreign_keys=[task_id])

    @property
    def state_label(self) -> str:
        return INSTRUCTION_STATES.get(self.state, self.state)

    def __repr__(self) -> str:
        return self.title


class InstructionCopy(db.Model):
    """One recipient's copy: 未读 → 已读 (opened) → 已反馈 (reply and attachments)."""

    __audited__ = True
    __tablename__ = "party_instruction_copy"

    id: Mapped[int] = mapped_column(primary_key=True)
    instruction_id: Mapped[int] = mapped_column(ForeignKey("party_instruction.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id"), index=True)
    # The unit the copy counts under in the rates: the recipient's unit, or for a branch
    # secretary the unit of the (first) branch the copy is about. Kept as at sending.
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    reason: Mapped[str] = mapped_column(String(8), default="user")  # user / branch (支部书记)
    branches: Mapped[Optional[str]] = mapped_column(String(500))  # the branches' names, "、"-joined
    state: Mapped[str] = mapped_column(String(8), default="unread")
    read_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    replied_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    reply: Mapped[Optional[str]] = mapped_column(Text)
    reminders: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_reminded_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        UniqueConstraint("instruction_id", "user_id", name="uq_party_instruction_copy_user"),
        Index("ix_party_instruction_copy_state", "instruction_id", "state"),
        Index("ix_party_instruction_copy_user_state", "user_id", "state"),
    )

    instruction: Mapped[Instruction] = relationship(lazy="joined", innerjoin=True)
    user = relationship("AppUser", foreign_keys=[user_id], lazy="joined", innerjoin=True)
    org_unit = relationship("OrgUnit", foreign_keys=[org_unit_id], lazy="joined", innerjoin=True)

    @property
    def state_label(self) -> str:
        return COPY_STATES.get(self.state, self.state)


class InstructionCopyMember(db.Model):
    """A party member a branch secretary's copy is about (the members matching the filters)."""

    __tablename__ = "party_instruction_member"

    copy_id: Mapped[int] = mapped_column(ForeignKey("party_instruction_copy.id", ondelete="CASCADE"),
                                         primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("party_member.id"), primary_key=True)
    # Kept as at sending: the list reads the same after the member moves or leaves.
    member_code: Mapped[str] = mapped_column(String(32))
    member_name: Mapped[str] = mapped_column(String(50))
    branch_name: Mapped[str] = mapped_column(String(100))


class InstructionReminder(db.Model):
    """催办 of a copy: who chased, when, with what words; shown to the recipient."""

    __audited__ = True
    __tablename__ = "party_instruction_reminder"

    id: Mapped[int] = mapped_column(primary_key=True)
    copy_id: Mapped[int] = mapped_column(ForeignKey("party_instruction_copy.id", ondelete="CASCADE"), index=True)
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    created_by: Mapped[Optional[str]] = mapped_column(String(128))


class Pairing(db.Model):
    """支部联支部: two branches paired from a start date (e.g. a city organ's and a village's)."""

    __audited__ = True
    __tablename__ = "party_pairing"

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_a_id: Mapped[int] = mapped_column(ForeignKey("party_org.id"), index=True)
    branch_b_id: Mapped[int] = mapped_column(ForeignKey("party_org.id"), index=True)
    # The branches' units, copied (like a member's unit) so that scope is a test on two columns.
    unit_a_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    unit_b_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    started_on: Mapped[dt.date] = mapped_column(Date)
    goal: Mapped[Optional[str]] = mapped_column(Text)  # 结对内容
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    created_by: Mapped[Optional[str]] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (UniqueConstraint("branch_a_id", "branch_b_id", name="uq_party_pairing_branches"),)

    branch_a = relationship("PartyOrg", foreign_keys=[branch_a_id], lazy="joined", innerjoin=True)
    branch_b = relationship("PartyOrg", foreign_keys=[branch_b_id], lazy="joined", innerjoin=True)
    activities: Mapped[list[PairingActivity]] = relationship(
        back_populates="pairing", cascade="all, delete-orphan", lazy="selectin",
        order_by="(PairingActivity.held_on.desc(), PairingActivity.id.desc())")

    def __repr__(self) -> str:
        return f"{self.branch_a.name} ⇄ {self.branch_b.name}"


class PairingActivity(db.Model):
    """An activity of a pairing: date, topic, participants, outcome."""

    __audited__ = True
    __tablename__ = "party_pairing_activity"

    id: Mapped[int] = mapped_column(primary_key=True)
    pairing_id: Mapped[int] = mapped_column(ForeignKey("party_pairing.id", ondelete="CASCADE"), index=True)
    held_on: Mapped[dt.date] = mapped_column(Date)
    topic: Mapped[str] = mapped_column(String(200))
    participants: Mapped[str] = mapped_column(Text)
    outcome: Mapped[Optional[str]] = mapped_column(Text)
    created_by: Mapped[Optional[str]] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())

    pairing: Mapped[Pairing] = relationship(back_populates="activities")
