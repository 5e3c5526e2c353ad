"""The background job table (app/jobs/services.py runs it; gathered into app/models.py)."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

JOB_STATES = {"preview": "待确认", "queued": "排队中", "running": "运行中", "succeeded": "已完成", "failed": "失败"}


class Job(db.Model):
    """An import, compute or export run by `flask jobs worker` instead of a web worker.

    Kept in the database (input file included) so that a restart loses none: a worker claims
    a queued job with a conditional UPDATE, beats `heartbeat_at` while it runs, and a job whose
    worker stopped beating is queued again. `claim` names the worker's claim; every write of
    the job's data is fenced by it (a worker that lost its claim commits nothing)."""

    __tablename__ = "job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    input_name: Mapped[Optional[str]] = mapped_column(String(255))
    input_data: Mapped[Optional[bytes]] = mapped_column(LargeBinary, deferred=True)
    state: Mapped[str] = mapped_column(String(12), default="queued")
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[Optional[str]] = mapped_column(String(500))
    result: Mapped[Optional[dict]] = mapped_column(JSON)
    errors: Mapped[Optional[list]] = mapped_column(JSON, deferred=True)  # every bad row: [[line, reason], ...]
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    output_name: Mapped[Optional[str]] = mapped_column(String(255))
    output_mime: Mapped[Optional[str]] = mapped_column(String(100))
    output_data: Mapped[Optional[bytes]] = mapped_column(LargeBinary, deferred=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"))
    org_unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_unit.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    started_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    finished_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    heartbeat_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    # Set in the same transaction as the job's data: a job whose worker died after this point is
    # never run again (its data is in), only marked as ended.
    committed_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    claim: Mapped[Optional[str]] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        Index("ix_job_state_id", "state", "id"),  # the worker's next queued job
        Index("ix_job_user_id", "user_id", "id"),  # 我的后台任务, newest first
    )

    @property
    def state_label(self) -> str:
        return JOB_STATES.get(self.state, self.state)

    @property
    def finished(self) -> bool:
        return self.state in ("succeeded", "failed")

    @property
    def writing(self) -> bool:
        """Every row checked, the write under way (it shows no count: one transaction)."""
        return self.state == "running" and self.total > 0 and self.done >= self.total

    @property
    def bar_text(self) -> str:
        if self.state == "failed":
            return self.state_label
        return "写入中…" if self.writing else f"{self.percent}%"

    @property
    def bar_width(self) -> int:
        """The bar's width: full while writing, a sliver before anything is counted."""
        return 100 if self.writing or self.finished else max(3, self.percent)

    @property
    def percent(self) -> int:
        """Rows checked out of all; 100 only once the job has succeeded (writing comes last)."""
        if self.state == "succeeded":
            return 100
        return min(99, int(100 * self.done / self.total)) if self.total else 0
