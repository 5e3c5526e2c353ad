"""The voting tables: a session (测评活动), its ballot lines with their tallies, its codes.

Anonymity is a property of this schema (PLATFORM.md §6): a line keeps only per-cadre counts
(no timestamp, no vote row), a code keeps only its hash and whether it was used (no time,
no sequence number: its key is the hash), and nothing refers to a code. Lines and codes
are not audited row by row; the session is (its own events: created, opened, ended, recorded).
"""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

VOTING_STATES = {"draft": "草稿", "open": "进行中", "ended": "已结束", "recorded": "已计入"}
CODE_STATES = {"unused": "未使用", "used": "已使用", "void": "已作废"}


class VotingSession(db.Model):
    """A 测评活动 of a period's votes group: its ballot is the lines; its codes vote once."""

    __audited__ = True
    __tablename__ = "voting_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    period_id: Mapped[int] = mapped_column(ForeignKey("evaluation_period.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("rater_group.id"))
    # The unit whose subtree the ballot's cadres were chosen from: the session's row scope.
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    categories: Mapped[str] = mapped_column(String(255), default="")  # post categories, "、"-joined; "" = all
    state: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    deadline: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)  # codes expire after it
    issued: Mapped[int] = mapped_column(Integer, default=0)  # codes issued so far
    created_by: Mapped[Optional[str]] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())
    opened_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    ended_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    recorded_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    period = relationship("EvaluationPeriod", lazy="joined", innerjoin=True)
    group = relationship("RaterGroup", lazy="joined", innerjoin=True)
    org_unit = relationship("OrgUnit", lazy="joined", innerjoin=True)

    @property
    def state_label(self) -> str:
        return VOTING_STATES.get(self.state, self.state)

    @property
    def category_list(self) -> list[str]:
        return [c for c in (self.categories or "").split("、") if c]

    def __repr__(self) -> str:
        return self.title


class VotingLine(db.Model):
    """A cadre on a session's ballot and the counts of the choices made about it so far."""

    __tablename__ = "voting_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("voting_session.id", ondelete="CASCADE"))
    cadre_id: Mapped[int] = mapped_column(ForeignKey("cadre.id"), index=True)
    sort: Mapped[int] = mapped_column(Integer, default=0)
    excellent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    competent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    basic: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    incompetent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    unknown: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    cadre = relationship("Cadre", lazy="joined", innerjoin=True)

    __table_args__ = (UniqueConstraint("session_id", "cadre_id", name="uq_voting_line_session_cadre"),)


class VotingCode(db.Model):
    """A one-time code, kept as its keyed hash only: unused, used or void."""

    __tablename__ = "voting_code"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("voting_session.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(8), default="unused")

    __table_args__ = (Index("ix_voting_code_session_state", "session_id", "state"),)
