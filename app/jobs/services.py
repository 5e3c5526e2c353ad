"""Background jobs kept in the database: submit, claim, beat, finish, requeue, read.

A job is one row of `job` (app/jobs/models.py). The web stores it (with the uploaded file)
and answers at once; a worker process (`flask jobs worker`, app/jobs_worker.py) claims it
with one conditional UPDATE, so two workers never take the same job, on SQLite (one writer
at a time) as on PostgreSQL (FOR UPDATE SKIP LOCKED in the claim's subquery).

The worker's writes about a job (claim, heartbeat, progress, end) go through connections of
their own, never through the session the job's service writes its data with: the service's
transaction stays all-or-nothing, and progress is visible while it runs. The data commit
itself is fenced by the claim (`fence`): it also moves the job's heartbeat, and fails when the
job is no longer this worker's, so a job re-queued behind a live worker's back is never
written twice.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import delete, event, func, or_, select, update
from sqlalchemy.exc import OperationalError

from app.core import clock
from app.core.commands import command
from app.core.errors import DomainError
from app.extensions import db
from app.models import Job

T = Job.__table__
UPLOAD_SUFFIXES = (".csv", ".xlsx")
MAX_ATTEMPTS = 3  # a job whose worker died this many times (e.g. killed for memory) fails instead
QUEUED_MESSAGE = "排队中，等待后台处理…"
PREVIEW_MESSAGE = "已预览，等待确认导入（未写入任何数据）"


class JobLost(Exception):
    """This worker's claim on the job is gone (re-queued or taken by another worker)."""


# ---------------------------------------------------------------- web side


def check_upload(data: bytes, filename: str) -> None:
    """The checks an upload gets before it is queued (the rest is the import's own)."""
    if Path(filename or "").suffix.lower() not in UPLOAD_SUFFIXES:
        raise DomainError("只支持 .xlsx 或 .csv 文件")
    if not data:
        raise DomainError("文件为空：缺少表头")


def submit(kind: str, title: str, user, params: dict | None = None, data: bytes | None = None,
           filename: str | None = None, max_pending: int | None = None, preview: bool = False) -> Job:
    """Queue a job for `user` (its creator, whose unit is recorded with it) and commit; refused
    (DomainError) while the user already has `max_pending` jobs queued or running: each holds
    its file (up to 20 MB) in the database, and one user must not fill the queue."""
    if max_pending is not None:
        waiting = db.session.scalar(select(func.count()).select_from(Job).where(
            Job.user_id == user.id, Job.state.in_(("queued", "running"))))
        if waiting >= max_pending:
            raise DomainError(f"您已有 {waiting} 个后台任务在排队或运行中，请等它们完成后再提交（见“我的后台任务”）")
    job = Job(kind=kind, title=title[:200], params=params or {}, input_name=filename, input_data=data,
              state="preview" if preview else "queued", done=0, total=0,
              message=PREVIEW_MESSAGE if preview else QUEUED_MESSAGE, error_count=0, attempts=0,
              user_id=user.id, org_unit_id=getattr(user, "org_unit_id", None), created_at=clock.instant())
    with command(user):
        db.session.add(job)
    return job


def confirm(job_id: int, user_id: int, params: dict) -> bool:
    """Queue a previewed job of `user_id` (state 待确认) with `params` added; False when it is
    not theirs or no longer waiting for confirmation (confirmed twice: queued once)."""
    job = job_of(user_id, job_id)
    if job is None or job.state != "preview":
        return False
    stmt = (update(T).where(T.c.id == job_id, T.c.user_id == user_id, T.c.state == "preview")
            .values(state="queued", message=QUEUED_MESSAGE, params={**(job.params or {}), **params}))
    with command(None):
        done = db.session.execute(stmt).rowcount == 1
    return done


def pending(kind: str, key: str, value) -> Job | None:
    """A queued or running job of `kind` whose params[key] is `value` (e.g. one period's compute)."""
    jobs = db.session.scalars(select(Job).where(Job.kind == kind, Job.state.in_(("queued", "running")))).all()
    return next((j for j in jobs if (j.params or {}).get(key) == value), None)


def job_of(user_id: int, job_id: int) -> Job | None:
    """The job if `user_id` started it; None for anyone else's (answered as missing)."""
    job = db.session.get(Job, job_id)
    return job if job is not None and job.user_id == user_id else None


def jobs_of(user_id: int, page: int, page_size: int) -> tuple[int, list[Job]]:
    """(count, one page) of a user's jobs, newest first."""
    total = db.session.scalar(select(func.count()).select_from(Job).where(Job.user_id == user_id))
    rows = db.session.scalars(
        select(Job).where(Job.user_id == user_id).order_by(Job.id.desc()).offset(page * page_size).limit(page_size)
    ).all()
    return total, rows


# ---------------------------------------------------------------- worker side


def claim_next(claim: str) -> int | None:
    """Take the oldest queued job for the worker `claim` names; its id, or None."""
    now = clock.instant()
    oldest = (select(T.c.id).where(T.c.state == "queued").order_by(T.c.id).limit(1)
              .with_for_update(skip_locked=True).scalar_subquery())  # no FOR UPDATE on SQLite: one writer
    stmt = (update(T).where(T.c.id == oldest, T.c.state == "queued")
            .values(state="running", claim=claim, started_at=now, heartbeat_at=now, attempts=T.c.attempts + 1,
                    message="后台进程已开始处理…")
            .returning(T.c.id))
    try:
        with db.engine.begin() as conn:
            return conn.execute(stmt).scalar()
    except OperationalError:  # SQLite busy with another writer (e.g. a long import): try again later
        return None


def load_input(job_id: int) -> bytes | None:
    with db.engine.connect() as conn:
        return conn.execute(select(T.c.input_data).where(T.c.id == job_id)).scalar()


def beat(job_id: int, claim: str, done: int, total: int, message: str | None) -> bool:
    """Record the job's progress and that its worker lives; False when the claim is gone."""
    stmt = (update(T).where(T.c.id == job_id, T.c.claim == claim, T.c.state == "running")
            .values(heartbeat_at=clock.instant(), done=done, total=total, message=(message or "")[:500]))
    with db.engine.begin() as conn:
        return conn.execute(stmt).rowcount == 1


def finish(job_id: int, claim: str, state: str, message: str, result: dict | None = None,
           errors: list | None = None, output: tuple[str, str, bytes] | None = None) -> bool:
    """End the job (succeeded/failed) if it is still this worker's; the input file is dropped."""
    values = {"state": state, "finished_at": clock.instant(), "heartbeat_at": clock.instant(), "message": message[:500],
              "result": result, "errors": errors, "error_count": len(errors or ()), "input_data": None}
    if state == "succeeded":
        values["done"] = T.c.total
    if output is not None:
        values["output_name"], values["output_mime"], values["output_data"] = output
    stmt = update(T).where(T.c.id == job_id, T.c.claim == claim, T.c.state == "running").values(**values)
    with db.engine.begin() as conn:
        return conn.execute(stmt).rowcount == 1


def release(job_id: int, claim: str) -> bool:
    """Put a job this worker stops (SIGTERM) back in the queue, nothing of it written."""
    stmt = (update(T).where(T.c.id == job_id, T.c.claim == claim, T.c.state == "running",
                           T.c.committed_at.is_(None))
            .values(state="queued", claim=None, attempts=T.c.attempts - 1,
                    message="后台进程已停止，任务已重新排队，将在后台进程重新启动后继续…"))
    with db.engine.begin() as conn:
        return conn.execute(stmt).rowcount == 1


def running_claims() -> list[str]:
    with db.engine.connect() as conn:
        return list(conn.execute(select(T.c.claim).where(T.c.state == "running", T.c.claim.is_not(None))).scalars())


def requeue_stale(stale_seconds: float, dead_claims=()) -> int:
    """Queue again the running jobs whose worker stopped: no heartbeat for `stale_seconds`, or
    a claim known dead (a process of this host that is gone). A job whose worker died
    MAX_ATTEMPTS times fails instead (a file that kills its worker must not loop forever); one
    whose data was committed before its worker died is only marked as ended, never run again."""
    cutoff = clock.instant() - dt.timedelta(seconds=stale_seconds)
    dead = T.c.heartbeat_at < cutoff
    if dead_claims:
        dead = or_(dead, T.c.claim.in_(list(dead_claims)))
    running = (T.c.state == "running") & dead
    try:
        with db.engine.begin() as conn:
            ended = conn.execute(update(T).where(running, T.c.committed_at.is_not(None)).values(
                state="succeeded", finished_at=clock.instant(), claim=None, input_data=None, done=T.c.total,
                message="数据已全部写入；后台进程在记录结果摘要前停止，请在相应页面核对结果。",
            )).rowcount
            running = running & T.c.committed_at.is_(None)
            failed = conn.execute(update(T).where(running, T.c.attempts >= MAX_ATTEMPTS).values(
                state="failed", finished_at=clock.instant(), claim=None, input_data=None,
                message="后台进程在处理该任务时多次意外停止，任务已终止，未写入任何数据。请检查文件或联系管理员。",
            )).rowcount
            queued = conn.execute(update(T).where(running).values(
                state="queued", claim=None, message="上次处理该任务的后台进程已停止，任务已重新排队…",
            )).rowcount
    except OperationalError:  # SQLite busy with a long write: the next round tries again
        return 0
    return (ended or 0) + (failed or 0) + (queued or 0)


def fence(session, job_id: int, claim: str):
    """Make every commit of `session` also prove the job is still this worker's (and move its
    heartbeat, in the same transaction as the data); a lost claim turns the commit into a
    JobLost and the service's own rollback. Returns the function that removes the fence."""

    def before_commit(sess):
        sess.flush()  # the data first: the heartbeat written below is then as fresh as the commit
        stmt = (update(T).where(T.c.id == job_id, T.c.claim == claim, T.c.state == "running")
                .values(heartbeat_at=clock.instant(), committed_at=clock.instant()))
        if sess.execute(stmt).rowcount != 1:
            raise JobLost(job_id)

    event.listen(session, "before_commit", before_commit)
    return lambda: event.remove(session, "before_commit", before_commit)


def purge(days: int) -> int:
    """Delete the jobs that ended more than `days` days ago (their files with them)."""
    cutoff = clock.instant() - dt.timedelta(days=days)
    with db.engine.begin() as conn:
        ended = conn.execute(delete(T).where(T.c.state.in_(("succeeded", "failed")), T.c.finished_at < cutoff)).rowcount
        unconfirmed = conn.execute(delete(T).where(T.c.state == "preview", T.c.created_at < cutoff)).rowcount
        return (ended or 0) + (unconfirmed or 0)
