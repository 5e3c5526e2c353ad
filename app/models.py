"""The schema: mapping only. Alembic (migrations/) owns the tables."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.jobs.models import JOB_STATES, Job  # noqa: F401  (the background job table, gathered here)

UNIT_KINDS = {
    "city": "市",
    "county": "县区",
    "township": "乡镇街道",
    "village": "村社区",
    "grid": "网格",
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


# Indexes that only PostgreSQL has, made by their migrations and not declared on the models
# (SQLAlchemy cannot declare an index for one dialect only): a schema comparison leaves them out
# (include_object, used by migrations/env.py and the schema test).
POSTGRESQL_ONLY_INDEXES = frozenset({"ix_org_unit_path_pattern"})  # path text_pattern_ops: prefix LIKE


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's include_object: everything but the PostgreSQL-only indexes."""
    return not (type_ == "index" and name in POSTGRESQL_ONLY_INDEXES)


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
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}  # a stale edit form cannot overwrite a newer save

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
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    position: Mapped[Optional[str]] = mapped_column(String(100))
    rank: Mapped[Optional[str]] = mapped_column(String(30))
    post_category: Mapped[Optional[str]] = mapped_column(String(30), index=True)
    position_start: Mapped[Optional[dt.date]] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(8), default="在职")
    phone: Mapped[Optional[str]] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer, default=1)

    # "unnested": reached through an outer join (an item's 责任干部), the unit is joined
    # LEFT OUTER after it rather than nested as "(cadre JOIN org_unit)", which SQLite
    # materializes in full (every cadre) for each row it loads.
    org_unit: Mapped[OrgUnit] = relationship(lazy="joined", innerjoin="unnested")
    career_records: Mapped[list[CareerRecord]] = relationship(
        back_populates="cadre", cascade="all, delete-orphan", order_by="CareerRecord.start_date"
    )
    rewards_penalties: Mapped[list[RewardPenalty]] = relationship(
        back_populates="cadre", cascade="all, delete-orphan", order_by="RewardPenalty.date"
    )

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_cadre_org_unit_status", "org_unit_id", "status"),
        # a unit's cadre ids from the index alone (migration e5f7a9b1c3d5)
        Index("ix_cadre_org_unit_cadre", "org_unit_id", "id"),
    )

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
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}  # a stale edit form cannot overwrite a newer save

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
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}  # a stale edit form cannot overwrite a newer save

    cadre: Mapped[Cadre] = relationship(back_populates="rewards_penalties", lazy="joined", innerjoin=True)

    def __repr__(self) -> str:
        return f"{self.kind}：{self.title}"


class AppUser(User):
    """FAB's user bound to the unit that is its scope, and optionally to the cadre it is."""

    __tablename__ = "ab_user"

    org_unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_unit.id"), nullable=True)
    cadre_id: Mapped[Optional[int]] = mapped_column(ForeignKey("cadre.id"), nullable=True)
    locked_until: Mapped[Optional[dt.datetime]] = mapped_column(DateTime, nullable=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    password_changed_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime, nullable=True)
    # Raised by every event that must end the user's sessions and API tokens (password change,
    # lockout, deactivation, logout); a session or token carries the value it was issued under
    # (app/security/revocation.py).
    auth_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0", nullable=False)

    org_unit: Mapped[Optional[OrgUnit]] = relationship(foreign_keys=[org_unit_id], lazy="joined")
    cadre: Mapped[Optional[Cadre]] = relationship(foreign_keys=[cadre_id])


class AuthThrottle(db.Model):
    """Login attempts per key (e.g. an address) and fixed time window, shared by every worker
    and app node through the database (app/security/throttle.py)."""

    __tablename__ = "auth_throttle"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    window_start: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)  # Unix seconds
    hits: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


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
    # The unit the entry is about (a cadre's unit, an item's lead unit, a user's unit…): the
    # audit log's row scope. None for city-wide rows (schemes, periods, rules, calendar).
    org_unit_id: Mapped[Optional[int]] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_audit_log_table_row", "table_name", "row_id"),
        Index("ix_audit_log_unit_id", "org_unit_id", "id"),
    )


# ---------------------------------------------------------------- evaluation (三评两比一综合)

PERIOD_KINDS = ("年度", "季度", "专项")
PERIOD_STATES = {"draft": "草稿", "scoring": "评分中", "locked": "已锁定", "published": "已发布"}
RATER_GROUP_KINDS = {"scores": "评分", "votes": "投票"}
INDICATOR_SOURCES = {"entered": "录入", "supervision": "督查", "appeals": "诉求办理"}
ADJUSTMENT_KINDS = ("加分", "减分", "一票否决", "不定等次")
ADJUSTMENT_STATUSES = {"proposed": "待审批", "approved": "已批准", "rejected": "已驳回"}


class EvaluationScheme(db.Model):
    """An evaluation scheme: weights, trimming, cap, grade rules and supervision penalties."""

    __audited__ = True
    __tablename__ = "evaluation_scheme"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    trim_min: Mapped[int] = mapped_column(Integer, default=5)
    sanping_weight: Mapped[float] = mapped_column(Float)
    adjustment_cap: Mapped[float] = mapped_column(Float, default=5)
    excellent_min: Mapped[float] = mapped_column(Float, default=90)
    excellent_quota: Mapped[float] = mapped_column(Float, default=0.2)
    competent_min: Mapped[float] = mapped_column(Float, default=75)
    basic_min: Mapped[float] = mapped_column(Float, default=60)
    penalty_overdue_task: Mapped[float] = mapped_column(Float, default=5)
    penalty_general: Mapped[float] = mapped_column(Float, default=2)
    penalty_serious: Mapped[float] = mapped_column(Float, default=5)
    penalty_severe: Mapped[float] = mapped_column(Float, default=10)
    penalty_overdue_rectification: Mapped[float] = mapped_column(Float, default=3)
    # 诉求办理实绩 (PLATFORM.md §2): the weights of the three rates and the points per 重办
    appeal_weight_sign: Mapped[float] = mapped_column(Float, default=0.3, server_default="0.3")
    appeal_weight_reply: Mapped[float] = mapped_column(Float, default=0.4, server_default="0.4")
    appeal_weight_satisfaction: Mapped[float] = mapped_column(Float, default=0.3, server_default="0.3")
    appeal_penalty_reopen: Mapped[float] = mapped_column(Float, default=2, server_default="2")

    dimensions: Mapped[list[Dimension]] = relationship(
        back_populates="scheme", cascade="all, delete-orphan", order_by="Dimension.sort", lazy="selectin"
    )
    rater_groups: Mapped[list[RaterGroup]] = relationship(
        back_populates="scheme", cascade="all, delete-orphan", order_by="RaterGroup.sort", lazy="selectin"
    )
    indicators: Mapped[list[Indicator]] = relationship(
        back_populates="scheme", cascade="all, delete-orphan", order_by="Indicator.sort", lazy="selectin"
    )

    def __repr__(self) -> str:
        return self.name


class Dimension(db.Model):
    """An assessment dimension (德/能/勤/绩/廉) of a scheme."""

    __audited__ = True
    __tablename__ = "evaluation_dimension"

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("evaluation_scheme.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    weight: Mapped[float] = mapped_column(Float)
    sort: Mapped[int] = mapped_column(Integer, default=0)

    scheme: Mapped[EvaluationScheme] = relationship(back_populates="dimensions")

    __table_args__ = (UniqueConstraint("scheme_id", "name", name="uq_evaluation_dimension_scheme_name"),)

    def __repr__(self) -> str:
        return self.name


class RaterGroup(db.Model):
    """A rater group (三评): kind scores (sheets per dimension) or votes (grade ballots)."""

    __audited__ = True
    __tablename__ = "rater_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("evaluation_scheme.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    kind: Mapped[str] = mapped_column(String(8), default="scores")
    weight: Mapped[float] = mapped_column(Float)
    sort: Mapped[int] = mapped_column(Integer, default=0)
    points_excellent: Mapped[Optional[float]] = mapped_column(Float)
    points_competent: Mapped[Optional[float]] = mapped_column(Float)
    points_basic: Mapped[Optional[float]] = mapped_column(Float)
    points_incompetent: Mapped[Optional[float]] = mapped_column(Float)

    scheme: Mapped[EvaluationScheme] = relationship(back_populates="rater_groups")

    __table_args__ = (UniqueConstraint("scheme_id", "name", name="uq_rater_group_scheme_name"),)

    @property
    def kind_label(self) -> str:
        return RATER_GROUP_KINDS.get(self.kind, self.kind)

    def __repr__(self) -> str:
        return self.name


class Indicator(db.Model):
    """A performance indicator (实绩): entered scores or the derived supervision indicator."""

    __audited__ = True
    __tablename__ = "evaluation_indicator"

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("evaluation_scheme.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    weight: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(16), default="entered")
    sort: Mapped[int] = mapped_column(Integer, default=0)

    scheme: Mapped[EvaluationScheme] = relationship(back_populates="indicators")

    __table_args__ = (UniqueConstraint("scheme_id", "name", name="uq_evaluation_indicator_scheme_name"),)

    @property
    def source_label(self) -> str:
        return INDICATOR_SOURCES.get(self.source, self.source)

    def __repr__(self) -> str:
        return self.name


class EvaluationPeriod(db.Model):
    """An evaluation period; state moves draft → scoring → locked → published."""

    __audited__ = True
    __tablename__ = "evaluation_period"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(8))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("evaluation_scheme.id"), index=True)
    previous_id: Mapped[Optional[int]] = mapped_column(ForeignKey("evaluation_period.id"))
    state: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    computed_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    inputs_changed_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)  # results stale if later
    # Written by compute: post category -> {"count", "avg_composite", "dims": {dimension name: average}}
    # (the peer-group figures a profile compares a cadre with, read without scanning the results).
    peer_stats: Mapped[Optional[dict]] = mapped_column(JSON)

    scheme: Mapped[EvaluationScheme] = relationship(lazy="joined", innerjoin=True)
    previous: Mapped[Optional[EvaluationPeriod]] = relationship(remote_side=[id])

    @property
    def state_label(self) -> str:
        return PERIOD_STATES.get(self.state, self.state)

    def __repr__(self) -> str:
        return f"{self.name}（{self.code}）"


class ScoreSheet(db.Model):
    """One score sheet of a rater group about one cadre; its values are SheetScore rows."""

    __audited__ = True
    __tablename__ = "score_sheet"

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("evaluation_period.id", ondelete="CASCADE"))
    cadre_id: Mapped[int] = mapped_column(ForeignKey("cadre.id"))
    group_id: Mapped[int] = mapped_column(ForeignKey("rater_group.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Who entered the sheet (grid or import; None: the command line or older data), and the
    # SHA-256 of the file it was imported from (a file imported twice is refused).
    entered_by_id: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    source_hash: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)

    scores: Mapped[list[SheetScore]] = relationship(back_populates="sheet", cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_score_sheet_period_cadre", "period_id", "cadre_id"),
                      Index("ix_score_sheet_period_source", "period_id", "source_hash"))


class SheetScore(db.Model):
    """The value a sheet gives for one dimension (0–100)."""

    __audited__ = True
    __tablename__ = "sheet_score"

    id: Mapped[int] = mapped_column(primary_key=True)
    sheet_id: Mapped[int] = mapped_column(ForeignKey("score_sheet.id", ondelete="CASCADE"))
    dimension_id: Mapped[int] = mapped_column(ForeignKey("evaluation_dimension.id"))
    value: Mapped[float] = mapped_column(Float)

    sheet: Mapped[ScoreSheet] = relationship(back_populates="scores")

    __table_args__ = (UniqueConstraint("sheet_id", "dimension_id", name="uq_sheet_score_sheet_dimension"),)


class Ballot(db.Model):
    """The grade vote counts of a votes group (民主测评) about one cadre."""

    __audited__ = True
    __tablename__ = "ballot"

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("evaluation_period.id", ondelete="CASCADE"))
    cadre_id: Mapped[int] = mapped_column(ForeignKey("cadre.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("rater_group.id"))
    excellent: Mapped[int] = mapped_column(Integer, default=0)
    competent: Mapped[int] = mapped_column(Integer, default=0)
    basic: Mapped[int] = mapped_column(Integer, default=0)
    incompetent: Mapped[int] = mapped_column(Integer, default=0)
    unknown: Mapped[int] = mapped_column(Integer, default=0)
    entered_by_id: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)  # who entered the counts

    __table_args__ = (UniqueConstraint("period_id", "cadre_id", "group_id", name="uq_ballot_period_cadre_group"),)


class IndicatorScore(db.Model):
    """An entered indicator score of one cadre in one period."""

    __audited__ = True
    __tablename__ = "indicator_score"

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("evaluation_period.id", ondelete="CASCADE"))
    cadre_id: Mapped[int] = mapped_column(ForeignKey("cadre.id"), index=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("evaluation_indicator.id"))
    score: Mapped[float] = mapped_column(Float)
    entered_by_id: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)  # who entered the score

    __table_args__ = (
        UniqueConstraint("period_id", "cadre_id", "indicator_id", name="uq_indicator_score_period_cadre_indicator"),
    )


class Adjustment(db.Model):
    """An organization adjustment (加分/减分/一票否决/不定等次); counts once approved."""

    __audited__ = True
    __tablename__ = "adjustment"

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("evaluation_period.id", ondelete="CASCADE"))
    cadre_id: Mapped[int] = mapped_column(ForeignKey("cadre.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[float] = mapped_column(Float, default=0)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    proposed_by: Mapped[Optional[str]] = mapped_column(String(128))
    approved_by: Mapped[Optional[str]] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())

    __table_args__ = (Index("ix_adjustment_period_status", "period_id", "status"),)

    @property
    def status_label(self) -> str:
        return ADJUSTMENT_STATUSES.get(self.status, self.status)


class EvaluationResult(db.Model):
    """The computed result of one cadre in one period (rebuilt by each compute)."""

    __tablename__ = "evaluation_result"

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("evaluation_period.id", ondelete="CASCADE"))
    cadre_id: Mapped[int] = mapped_column(ForeignKey("cadre.id"), index=True)
    # the cadre's unit, always (written by compute, moved with the cadre): the row scope of
    # results is an index range on (period, unit), not a test through the cadre table. A copy
    # of the cadre's own key, so no foreign key of its own (migration f6a8c0e2d4f6).
    org_unit_id: Mapped[int] = mapped_column(Integer)
    sanping: Mapped[Optional[float]] = mapped_column(Float)  # T, unrounded
    group_scores: Mapped[Optional[dict]] = mapped_column(JSON)  # group name -> S[g] or null
    indicator_scores: Mapped[Optional[dict]] = mapped_column(JSON)  # indicator name -> I_k or null
    composite_raw: Mapped[Optional[float]] = mapped_column(Float)  # C0
    adjustment: Mapped[float] = mapped_column(Float, default=0)  # A, clipped
    composite: Mapped[Optional[float]] = mapped_column(Float)  # C, rounded
    rank: Mapped[Optional[int]] = mapped_column(Integer)
    peer_count: Mapped[int] = mapped_column(Integer, default=0)
    percentile: Mapped[Optional[float]] = mapped_column(Float)
    delta: Mapped[Optional[float]] = mapped_column(Float)
    grade: Mapped[str] = mapped_column(String(8))
    veto: Mapped[bool] = mapped_column(Boolean, default=False)
    undetermined: Mapped[bool] = mapped_column(Boolean, default=False)
    flags: Mapped[Optional[str]] = mapped_column(Text)
    # dimension name -> score across the score groups (weights renormalized), in scheme order
    dimension_scores: Mapped[Optional[dict]] = mapped_column(JSON)
    # What the result was computed from (counts read by compute, for tracing; see services.eval_trace):
    # {"sheets": {group: sheets}, "ballots": {group: votes}, "indicators": {name: entered score},
    #  "adjustments": approved adjustments, "supervision": [overdue tasks, 一般, 较重, 严重, overdue rectifications]}
    inputs: Mapped[Optional[dict]] = mapped_column(JSON)
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime)

    period: Mapped[EvaluationPeriod] = relationship()
    cadre: Mapped[Cadre] = relationship()
    # the cadre's unit (read only: org_unit_id is kept by compute and the cadre's moves)
    org_unit: Mapped[OrgUnit] = relationship(primaryjoin="foreign(EvaluationResult.org_unit_id) == OrgUnit.id",
                                             viewonly=True)

    __table_args__ = (
        UniqueConstraint("period_id", "cadre_id", name="uq_evaluation_result_period_cadre"),
        Index("ix_evaluation_result_period_composite", "period_id", "composite"),  # the results screen's order
        Index("ix_evaluation_result_period_unit", "period_id", "org_unit_id"),  # its scope and count
    )


class ResultUse(db.Model):
    """结果运用: a suggestion drawn from a result and the staff decision on it."""

    __tablename__ = "result_use"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("evaluation_period.id", ondelete="CASCADE"), index=True)
    cadre_id: Mapped[int] = mapped_column(ForeignKey("cadre.id"), index=True)
    suggestion: Mapped[str] = mapped_column(String(16))  # 提拔重用人选 / 提醒谈话 / 组织调整
    decision: Mapped[Optional[str]] = mapped_column(String(8))  # 采纳 / 暂缓 / 不采纳
    note: Mapped[Optional[str]] = mapped_column(Text)
    decided_by: Mapped[Optional[str]] = mapped_column(String(128))
    decided_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    period: Mapped[EvaluationPeriod] = relationship(lazy="joined", innerjoin=True)
    cadre: Mapped[Cadre] = relationship(lazy="joined", innerjoin=True)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (UniqueConstraint("period_id", "cadre_id", "suggestion", name="uq_result_use"),)


class CadreConclusion(db.Model):
    """The organization's written conclusion on a cadre for a period (一综合), kept across recomputes."""

    __tablename__ = "cadre_conclusion"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("evaluation_period.id", ondelete="CASCADE"))
    cadre_id: Mapped[int] = mapped_column(ForeignKey("cadre.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[Optional[str]] = mapped_column(String(128))
    updated_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (UniqueConstraint("period_id", "cadre_id", name="uq_cadre_conclusion"),)


# ---------------------------------------------------------------- supervision (督查, 13710)

TASK_CATEGORIES = ("督大事", "督难事", "督实事")
TASK_STATES = {
    "draft": "草稿",
    "assigned": "已交办",
    "in_progress": "办理中",
    "pending_review": "待审核",
    "completed": "已办结",
    "terminated": "已终止",
}
FINDING_STATES = {
    "pending": "待整改",
    "rectifying": "整改中",
    "awaiting_verification": "待验收",
    "closed": "已销号",
}
SEVERITIES = ("一般", "较重", "严重")
ACCOUNTABILITY_MEASURES = ("约谈", "通报批评", "诫勉", "组织处理", "纪律处分")


class TimeLimitRule(db.Model):
    """A 13710 time-limit rule per item type, editable by admins."""

    __tablename__ = "time_limit_rule"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    acknowledge_days: Mapped[int] = mapped_column(Integer, default=1)
    first_report_days: Mapped[int] = mapped_column(Integer, default=3)
    complete_days: Mapped[int] = mapped_column(Integer, default=7)
    complete_months: Mapped[int] = mapped_column(Integer, default=0)
    report_interval_days: Mapped[int] = mapped_column(Integer, default=7)
    working_days: Mapped[bool] = mapped_column(Boolean, default=False)
    long_term: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}  # a stale edit form cannot overwrite a newer save

    def __repr__(self) -> str:
        return self.name


class WorkCalendarDay(db.Model):
    """A holiday, or a weekend make-up working day (调休), of the admin-kept work calendar."""

    __tablename__ = "work_calendar_day"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, unique=True)
    kind: Mapped[str] = mapped_column(String(8))  # holiday / workday
    year: Mapped[int] = mapped_column(Integer, index=True)
    note: Mapped[Optional[str]] = mapped_column(String(50))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}  # a stale edit form cannot overwrite a newer save


task_assist_unit = db.Table(
    "task_assist_unit",
    db.Column("task_id", Integer, ForeignKey("supervision_task.id", ondelete="CASCADE"), primary_key=True),
    db.Column("org_unit_id", Integer, ForeignKey("org_unit.id"), primary_key=True),
)


class SupervisionTask(db.Model):
    """A supervised item (督查事项) with its lead unit, assisting units and computed deadlines."""

    __tablename__ = "supervision_task"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[Optional[str]] = mapped_column(Text)
    source: Mapped[Optional[str]] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(8))
    rule_id: Mapped[int] = mapped_column(ForeignKey("time_limit_rule.id"))
    lead_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    responsible_cadre_id: Mapped[Optional[int]] = mapped_column(ForeignKey("cadre.id"), index=True)
    leader_in_charge: Mapped[Optional[str]] = mapped_column(String(50))
    supervisor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    state: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    manual_deadline: Mapped[Optional[dt.date]] = mapped_column(Date)
    assigned_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    complete_due: Mapped[Optional[dt.datetime]] = mapped_column(DateTime, index=True)
    original_complete_due: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    submitted_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    completed_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    terminated_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    state_reason: Mapped[Optional[str]] = mapped_column(Text)  # last 退办 / 终止 reason
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())
    version: Mapped[int] = mapped_column(Integer, default=1)

    rule: Mapped[TimeLimitRule] = relationship(lazy="joined", innerjoin=True)
    lead_unit: Mapped[OrgUnit] = relationship(lazy="joined", innerjoin=True, foreign_keys=[lead_unit_id])
    assist_units: Mapped[list[OrgUnit]] = relationship(secondary=task_assist_unit, lazy="selectin")
    responsible_cadre: Mapped[Optional[Cadre]] = relationship(lazy="joined")
    assignments: Mapped[list[TaskAssignment]] = relationship(
        back_populates="task", cascade="all, delete-orphan", lazy="selectin", order_by="TaskAssignment.id"
    )

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"{self.code} {self.title}"


class TaskAssignment(db.Model):
    """One addressed unit's part of an item: its own sign-off, reports and milestones."""

    __tablename__ = "task_assignment"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("supervision_task.id", ondelete="CASCADE"), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    is_lead: Mapped[bool] = mapped_column(Boolean, default=False)
    acknowledge_due: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    first_report_due: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    next_report_due: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    signed_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    signed_by: Mapped[Optional[str]] = mapped_column(String(128))
    first_report_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    last_report_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    completion_reported_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)

    task: Mapped[SupervisionTask] = relationship(back_populates="assignments")
    org_unit: Mapped[OrgUnit] = relationship(lazy="joined", innerjoin=True)

    __table_args__ = (UniqueConstraint("task_id", "org_unit_id", name="uq_task_assignment_unit"),)


class TaskReport(db.Model):
    """A progress (反馈) or completion (办结) report of an assignment."""

    __tablename__ = "task_report"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("task_assignment.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # progress / completion
    done_text: Mapped[str] = mapped_column(Text)  # 完成情况
    undone_reason: Mapped[Optional[str]] = mapped_column(Text)  # 未完成原因
    next_steps: Mapped[Optional[str]] = mapped_column(Text)  # 下步措施
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    created_by: Mapped[Optional[str]] = mapped_column(String(128))

    assignment: Mapped[TaskAssignment] = relationship(lazy="joined", innerjoin=True)


class Attachment(db.Model):
    """A file attached to a report or a rectification (stored in the database, size-limited)."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_table: Mapped[str] = mapped_column(String(32))  # task_report / rectification_report
    owner_id: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[Optional[str]] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())
    created_by: Mapped[Optional[str]] = mapped_column(String(128))

    __table_args__ = (Index("ix_attachment_owner", "owner_table", "owner_id"),)


class ExtensionRequest(db.Model):
    """延期申请: asked before the deadline, decided by a supervisor; kept in the record."""

    __tablename__ = "extension_request"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("supervision_task.id", ondelete="CASCADE"), index=True)
    assignment_id: Mapped[Optional[int]] = mapped_column(ForeignKey("task_assignment.id"))
    old_due: Mapped[dt.datetime] = mapped_column(DateTime)
    requested_date: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), default="pending", index=True)  # pending/approved/rejected
    requested_by: Mapped[Optional[str]] = mapped_column(String(128))
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime)
    decided_by: Mapped[Optional[str]] = mapped_column(String(128))
    decided_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    decision_note: Mapped[Optional[str]] = mapped_column(Text)

    task: Mapped[SupervisionTask] = relationship(lazy="joined", innerjoin=True)


class TaskReminder(db.Model):
    """催办: automatic for yellow/red milestones (one per milestone and level) or sent by hand."""

    __tablename__ = "task_reminder"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("supervision_task.id", ondelete="CASCADE"), index=True)
    assignment_id: Mapped[Optional[int]] = mapped_column(ForeignKey("task_assignment.id", ondelete="CASCADE"))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    milestone: Mapped[str] = mapped_column(String(16))  # acknowledge / first_report / report / complete
    level: Mapped[str] = mapped_column(String(8))  # yellow / red / manual
    due_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    created_by: Mapped[Optional[str]] = mapped_column(String(128))
    read_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    dedup_key: Mapped[Optional[str]] = mapped_column(String(120), unique=True)  # auto reminders only

    task: Mapped[SupervisionTask] = relationship(lazy="joined", innerjoin=True)


class Inspection(db.Model):
    """An inspection (明察/暗访): date, place, team."""

    __tablename__ = "inspection"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    date: Mapped[dt.date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(200))
    team: Mapped[Optional[str]] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(4))  # 明察 / 暗访
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)  # the inspected unit
    created_by: Mapped[Optional[str]] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    org_unit: Mapped[OrgUnit] = relationship(lazy="joined", innerjoin=True)

    __mapper_args__ = {"version_id_col": version}  # a stale edit form cannot overwrite a newer save

    def __repr__(self) -> str:
        return f"{self.code} {self.place}"


finding_cadre = db.Table(
    "finding_cadre",
    db.Column("finding_id", Integer, ForeignKey("finding.id", ondelete="CASCADE"), primary_key=True),
    db.Column("cadre_id", Integer, ForeignKey("cadre.id"), primary_key=True, index=True),
)


class Finding(db.Model):
    """A problem found by inspection, its rectification and accountability."""

    __tablename__ = "finding"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspection.id"), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    description: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(50))
    severity: Mapped[str] = mapped_column(String(4))  # 一般 / 较重 / 严重
    requirement: Mapped[Optional[str]] = mapped_column(Text)
    continuous: Mapped[bool] = mapped_column(Boolean, default=False)  # 持续整改 (no deadline)
    deadline: Mapped[Optional[dt.date]] = mapped_column(Date)  # 限期整改
    state: Mapped[str] = mapped_column(String(24), default="pending", index=True)
    found_on: Mapped[dt.date] = mapped_column(Date, index=True)
    rectified_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)  # last report for verification
    closed_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    accountability: Mapped[Optional[str]] = mapped_column(String(100))  # measures, 、-separated
    accountability_note: Mapped[Optional[str]] = mapped_column(Text)
    created_by: Mapped[Optional[str]] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer, default=1)

    inspection: Mapped[Inspection] = relationship(lazy="joined", innerjoin=True)
    org_unit: Mapped[OrgUnit] = relationship(lazy="joined", innerjoin=True)
    cadres: Mapped[list[Cadre]] = relationship(secondary=finding_cadre, lazy="selectin")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_finding_unit_state_severity", "org_unit_id", "state", "severity"),)


class RectificationReport(db.Model):
    """A liaison's rectification report on a finding, and the supervisor's verdict on it."""

    __tablename__ = "rectification_report"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("finding.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    created_by: Mapped[Optional[str]] = mapped_column(String(128))
    verdict: Mapped[Optional[str]] = mapped_column(String(8))  # 通过 / 驳回
    verdict_note: Mapped[Optional[str]] = mapped_column(Text)
    verdict_by: Mapped[Optional[str]] = mapped_column(String(128))
    verdict_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)


# ---------------------------------------------------------------- a result's unit follows its cadre

@event.listens_for(EvaluationResult, "before_insert")
def _result_unit_from_cadre(_mapper, connection, target: EvaluationResult) -> None:
    """A result made through the ORM gets its cadre's unit (compute writes it itself)."""
    if target.org_unit_id is None:
        target.org_unit_id = connection.execute(
            select(Cadre.org_unit_id).where(Cadre.id == target.cadre_id)
        ).scalar_one()


@event.listens_for(Cadre, "after_update")
def _results_follow_cadre(_mapper, connection, target: Cadre) -> None:
    """A cadre moved to another unit takes its results along: they stay visible to exactly
    the users who see the cadre (one indexed UPDATE, a no-op when the unit is unchanged).

    A move first waits for any compute writing results (it holds its period's row, see
    eval_compute.compute), so that the results it writes are moved too."""
    from sqlalchemy import inspect

    running = connection.get_transaction()
    if inspect(target).attrs.org_unit_id.history.has_changes() and connection.info.get("periods_held") is not running:
        periods = EvaluationPeriod.__table__
        connection.execute(update(periods).where(periods.c.state.in_(("scoring", "locked")))
                           .values(state=periods.c.state))
        connection.info["periods_held"] = running  # once per transaction (an import moves many)
    table = EvaluationResult.__table__
    connection.execute(
        update(table)
        .where(table.c.cadre_id == target.id, table.c.org_unit_id != target.org_unit_id)
        .values(org_unit_id=target.org_unit_id)
    )
from app.party.models import MEMBER_EDUCATIONS, MEMBER_STATUSES, PARTY_ORG_KINDS, PartyMember, PartyOrg  # noqa: E402,F401,I001  (the party tables, gathered here)
from app.party.models_instructions import COPY_STATES, INSTRUCTION_STATES, Instruction, InstructionCopy, InstructionCopyMember, InstructionReminder, Pairing, PairingActivity, instruction_target_unit  # noqa: E402,F401,I001  (instructions and pairings, gathered here)
from app.appeals.models import (  # noqa: E402,F401  (the appeals tables, gathered here)
    APPEAL_SOURCES,
    APPEAL_STATES,
    Appeal,
    AppealAssignment,
    AppealCallback,
    AppealCategory,
    AppealEvent,
    AppealReply,
    AppealTimeLimit,
    LeaderCharge,
)
from app.voting.models import CODE_STATES, VOTING_STATES, VotingCode, VotingLine, VotingSession  # noqa: E402,F401  (the voting tables, gathered here)
