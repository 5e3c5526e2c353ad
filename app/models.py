"""The schema: mapping only. Alembic (migrations/) owns the tables."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Boolean,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

UNIT_KINDS = {
    "city": "市",
    "county": "县区",
    "township": "乡镇街道",
    "village": "村社区",
    "department": "部门",
}
UNIT_KIND_BY_LABEL = {label: key for key, label in UNIT_KINDS.items()}

GENDERS = ("男", "女")
CADRE_STATUSES = ("在职", "调离", "退休")
POST_CATEGORIES = (
    "县区党政正职",
    "县区党政副职",
    "县直部门正职",
    "县直部门副职",
    "乡镇党政正职",
    "乡镇党政副职",
    "村党组织书记",
)


class OrgUnit(db.Model):
    """A unit of the 王-shaped tree; `path` holds the ids from the root, e.g. /1/12/305/."""

    __audited__ = True
    __tablename__ = "org_unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_unit.id"), index=True)
    path: Mapped[str] = mapped_column(String(255), default="", index=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    parent: Mapped[Optional[OrgUnit]] = relationship(remote_side=[id], lazy="joined", innerjoin=False, join_depth=1)

    @property
    def kind_label(self) -> str:
        return UNIT_KINDS.get(self.kind, self.kind)

    @property
    def depth(self) -> int:
        return self.path.count("/") - 1

    def __repr__(self) -> str:
        return self.name


class Cadre(db.Model):
    """A cadre (干部) of one unit, with the post category used for peer comparison."""

    __audited__ = True
    __tablename__ = "cadre"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(50), index=True)
    gender: Mapped[Optional[str]] = mapped_column(String(4))
    ethnicity: Mapped[Optional[str]] = mapped_column(String(20))
    birth_date: Mapped[Optional[dt.date]] = mapped_column(Date)
    native_place: Mapped[Optional[str]] = mapped_column(String(100))
    party_join_date: Mapped[Optional[dt.date]] = mapped_column(Date)
    education: Mapped[Optional[str]] = mapped_column(String(30))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    position: Mapped[Optional[str]] = mapped_column(String(100))
    rank: Mapped[Optional[str]] = mapped_column(String(30))
    post_category: Mapped[Optional[str]] = mapped_column(String(30), index=True)
    position_start: Mapped[Optional[dt.date]] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(8), default="在职")
    phone: Mapped[Optional[str]] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer, default=1)

    org_unit: Mapped[OrgUnit] = relationship(lazy="joined", innerjoin=True)
    career_records: Mapped[list[CareerRecord]] = relationship(
        back_populates="cadre", cascade="all, delete-orphan", order_by="CareerRecord.start_date"
    )
    rewards_penalties: Mapped[list[RewardPenalty]] = relationship(
        back_populates="cadre", cascade="all, delete-orphan", order_by="RewardPenalty.date"
    )

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"{self.name}（{self.code}）"


class CareerRecord(db.Model):
    """One line of a cadre's 任职经历."""

    __audited__ = True
    __tablename__ = "career_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    cadre_id: Mapped[int] = mapped_column(ForeignKey("cadre.id", ondelete="CASCADE"), index=True)
    start_date: Mapped[Optional[dt.date]] = mapped_column(Date)
    end_date: Mapped[Optional[dt.date]] = mapped_column(Date)
    unit_name: Mapped[str] = mapped_column(String(100))
    position: Mapped[str] = mapped_column(String(100))

    cadre: Mapped[Cadre] = relationship(back_populates="career_records", lazy="joined", innerjoin=True)

    def __repr__(self) -> str:
        return f"{self.unit_name} {self.position}"


class RewardPenalty(db.Model):
    """A reward (奖励) or penalty (惩戒) of a cadre."""

    __audited__ = True
    __tablename__ = "reward_penalty"

    id: Mapped[int] = mapped_column(primary_key=True)
    cadre_id: Mapped[int] = mapped_column(ForeignKey("cadre.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    date: Mapped[Optional[dt.date]] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(200))
    issuer: Mapped[Optional[str]] = mapped_column(String(100))

    cadre: Mapped[Cadre] = relationship(back_populates="rewards_penalties", lazy="joined", innerjoin=True)

    def __repr__(self) -> str:
        return f"{self.kind}：{self.title}"


class AppUser(User):
    """FAB's user bound to the unit that is its scope, and optionally to the cadre it is."""

    __tablename__ = "ab_user"

    org_unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_unit.id"), nullable=True)
    cadre_id: Mapped[Optional[int]] = mapped_column(ForeignKey("cadre.id"), nullable=True)

    org_unit: Mapped[Optional[OrgUnit]] = relationship(foreign_keys=[org_unit_id], lazy="joined")
    cadre: Mapped[Optional[Cadre]] = relationship(foreign_keys=[cadre_id])


class AuditLog(db.Model):
    """Append-only record of changes: who, when, what, before and after."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now(), index=True)
    user_id: Mapped[Optional[int]] = mapped_column(Integer)
    username: Mapped[Optional[str]] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[Optional[str]] = mapped_column(String(64))
    old_values: Mapped[Optional[str]] = mapped_column(Text)
    new_values: Mapped[Optional[str]] = mapped_column(Text)

    __table_args__ = (Index("ix_audit_log_table_row", "table_name", "row_id"),)
