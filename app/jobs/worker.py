"""The job worker: `flask --app run jobs worker` claims queued jobs and runs them.

One job at a time per process, each in an application and request context of its own whose
user is the job's creator (`acting_as`): the row scope (app/security/scope.py), the
"city staff only" rules, the "never one's own scores" rule and the audit trail read the user
from there, exactly as they do for the web request that queued the job. A thread beats the
job's heartbeat and writes its progress every `beat_seconds`.

SIGTERM or SIGINT stops the worker: a job still checking its rows stops at its next progress
report and goes back to the queue, nothing of it written; a job already writing finishes
first (stopping it inside a database call left SQLite's write lock held). A second SIGINT
ends the process at once: the database rolls the write back, and the job, left running
under a dead process, is queued again by the next worker to start.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
import traceback
import uuid

from flask import Flask, g

from app.core.errors import DomainError, ImportRejected
from app.extensions import db
from app.jobs import services as store

log = logging.getLogger("app.jobs")
INTERNAL_ERROR = "任务执行出错（系统内部错误），未写入任何数据。请稍后重试或联系管理员。"


class WorkerStopping(BaseException):
    """Raised by the progress callback once the worker is asked to stop (a BaseException: the
    services' `except Exception` rollbacks do not swallow it; nothing is written yet)."""


@contextlib.contextmanager
def acting_as(app: Flask, user_id: int, path: str = "/", query_string: str = ""):
    """An application and request context of its own whose logged-in user is `user_id`.

    Services read the acting user from the request (scope.current_scope_prefix, the audit's
    actor, may_run_periods); a worker has no request, and the CLI's "no request = the system,
    unrestricted" must not apply to a user's job. So the job runs in a request context built
    for it, with the creator set where Flask-Login and Flask-AppBuilder keep the request's
    user (g._login_user, g.user). `path`/`query_string` are the original request's, for the
    list exports whose filters come from the query string."""
    from app.models import AppUser

    with app.app_context(), app.test_request_context(path, query_string=query_string):
        user = db.session.get(AppUser, user_id)
        g._login_user = g.user = user
        yield user


class Progress:
    """The running job's progress, set by the service and written by the beat thread; also
    where a job stops before it writes (the worker stopping, or its claim lost)."""

    def __init__(self, worker: Worker | None = None):
        self.done, self.total, self.message = 0, 0, "正在处理…"
        self.lost = False
        self.worker = worker

    def __call__(self, done: int, total: int, message: str | None = None) -> None:
        if self.lost:  # another worker has the job now: stop before writing anything
            raise store.JobLost()
        if self.worker is not None and self.worker.stopping:
            raise WorkerStopping()
        self.done, self.total = done, total
        if message:
            self.message = message


class Worker:
    """Claims and runs jobs until stopped (or, with until_idle, until the queue is empty)."""

    def __init__(self, app: Flask, poll_seconds: float | None = None, name: str | None = None):
        self.app = app
        cfg = app.config
        self.poll = poll_seconds if poll_seconds is not None else cfg.get("JOB_POLL_SECONDS", 1.0)
        self.beat_seconds = cfg.get("JOB_HEARTBEAT_SECONDS", 2.0)
        self.stale_seconds = cfg.get("JOB_STALE_SECONDS", 60)
        self.host = socket.gethostname()
        self.name = name or f"{self.host}:{os.getpid()}"
        self.stopping = False
        self.ran = 0
        self.idle_seconds = cfg.get("JOB_IDLE_SECONDS", 60)
        self.idle_at = None  # monotonic time of the last housekeeping

    # ---------------------------------------------------------------- the loop

    def run(self, until_idle: bool = False, max_jobs: int | None = None) -> int:
        """Work until SIGTERM/SIGINT (or an empty queue with until_idle); the number of jobs run."""
        previous = self._install_signals()
        try:
            with self.app.app_context():
                self.requeue(at_start=True)
                last_check = time.monotonic()
                while not self.stopping and (max_jobs is None or self.ran < max_jobs):
                    job_id, claim = self.claim()
                    if job_id is None:
                        if until_idle:
                            break
                        self.idle()
                        self._sleep(self.poll)
                        if time.monotonic() - last_check > self.stale_seconds / 2:
                            self.requeue()
                            last_check = time.monotonic()
                        continue
                    self.run_job(job_id, claim)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return self.ran

    def idle(self) -> None:
        """The housekeeping of app/jobs/kinds.IDLE_TASKS (e.g. tomorrow's 结构分析 cells), at
        most once per idle_seconds; a failing task is logged and tried again next time."""
        from app.jobs.kinds import IDLE_TASKS

        if self.idle_at is not None and time.monotonic() - self.idle_at < self.idle_seconds:
            return
        self.idle_at = time.monotonic()
        for task in IDLE_TASKS:
            try:
                task()
            except Exception:  # noqa: BLE001 - housekeeping never stops the worker
                db.session.rollback()
                log.exception("jobs: idle task %s failed", task.__name__)

    def claim(self) -> tuple[int | None, str]:
        claim = f"{self.name}:{uuid.uuid4().hex[:12]}"
        return store.claim_next(claim), claim

    def requeue(self, at_start: bool = False) -> int:
        """Queue again the jobs of workers that died; at start, also those of this host's
        processes that are gone (no need to wait for their heartbeat to go stale)."""
        dead = self._dead_claims(at_start) if at_start else ()
        count = store.requeue_stale(self.stale_seconds, dead)
        if count:
            log.warning("jobs: %s job(s) of stopped workers queued again", count)
        return count

    def _dead_claims(self, at_start: bool) -> list[str]:
        dead = []
        for claim in store.running_claims():
            host, _, rest = claim.partition(":")
            pid = rest.split(":", 1)[0]
            if host != self.host or not pid.isdigit():
                continue
            # At start this process has claimed nothing: a claim carrying its pid is a
            # predecessor's (containers restart their worker under the same pid).
            if int(pid) == os.getpid() or not _alive(int(pid)):
                dead.append(claim)
        return dead

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < end:
            time.sleep(0.1)

    # ---------------------------------------------------------------- one job

    def run_job(self, job_id: int, claim: str) -> str:
        """Run one claimed job to its end; its final state, or 'released'/'lost'."""
        from app.models import Job

        self.ran += 1
        with self.app.app_context():
            job = db.session.get(Job, job_id)
            kind, user_id, params, name = job.kind, job.user_id, dict(job.params or {}), job.input_name
            db.session.rollback()
        progress, beating = Progress(self), threading.Event()
        beat = threading.Thread(target=self._beat, args=(job_id, claim, progress, beating), daemon=True)
        beat.start()
        try:
            outcome = self._execute(job_id, claim, kind, user_id, params, name, progress)
        except WorkerStopping:
            outcome = "released"
        except store.JobLost:
            outcome = "lost"
        finally:
            beating.set()
            beat.join(timeout=5)
        return self._end(job_id, claim, outcome)

    def _execute(self, job_id, claim, kind, user_id, params, name, progress) -> tuple:
        """The job's service call as its creator, fenced by the claim: (state, message, result,
        errors, output). A refusal is a failed job with its Chinese message and every bad row."""
        from app.jobs.kinds import run_kind

        data = store.load_input(job_id)
        try:
            with acting_as(self.app, user_id, params.get("path") or "/", params.get("query") or "") as user:
                unfence = store.fence(db.session(), job_id, claim)
                try:
                    progress(0, 0)  # a stop asked while the job was being loaded
                    done = run_kind(kind, user, params, data, name, progress)
                    return ("succeeded", done.message, done.result, None, done.output)
                except ImportRejected as exc:
                    return ("failed", f"导入被拒绝，未写入任何数据。共 {len(exc.errors)} 处错误。", None,
                            [[row, msg] for row, msg in exc.errors], None)
                except DomainError as exc:
                    return ("failed", exc.message, None, [[None, exc.message]], None)
                finally:
                    unfence()
                    db.session.rollback()
        except (WorkerStopping, store.JobLost):
            raise
        except Exception:  # a bug or a lost database: the user gets a Chinese message, the log the trace
            log.error("jobs: job %s failed\n%s", job_id, traceback.format_exc())
            return ("failed", INTERNAL_ERROR, None, None, None)

    def _end(self, job_id: int, claim: str, outcome) -> str:
        """Record how the job ended (or put it back in the queue); a database that went away
        leaves the job running without a heartbeat, for requeue_stale to deal with."""
        try:
            with self.app.app_context():
                if outcome == "released":
                    store.release(job_id, claim)
                    log.warning("jobs: job %s put back in the queue (worker stopping)", job_id)
                elif outcome == "lost":
                    log.warning("jobs: job %s was taken over by another worker; nothing written here", job_id)
                else:
                    store.finish(job_id, claim, *outcome)
        except Exception:
            log.error("jobs: the end of job %s was not recorded\n%s", job_id, traceback.format_exc())
        return outcome if isinstance(outcome, str) else outcome[0]

    def _beat(self, job_id: int, claim: str, progress: Progress, stop: threading.Event) -> None:
        with self.app.app_context():
            while not stop.wait(self.beat_seconds):
                try:
                    if not store.beat(job_id, claim, progress.done, progress.total, progress.message):
                        progress.lost = True
                        return
                except Exception:  # SQLite busy with the job's own write: the next beat goes through
                    log.debug("jobs: heartbeat of job %s delayed", job_id)
                finally:
                    db.session.remove()

    # ---------------------------------------------------------------- signals

    def _install_signals(self) -> dict:
        """Stop on SIGTERM/SIGINT (main thread only); the handlers replaced, to put back."""
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous = {}
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, self._on_signal)
        return previous

    def _on_signal(self, signum, _frame) -> None:
        if self.stopping and signum == signal.SIGINT:  # Ctrl-C twice: now (the database rolls back)
            log.warning("jobs: stopping at once; the running job is queued again by the next worker")
            os._exit(130)
        self.stopping = True
        log.info("jobs: stopping after the current job's write (if any); Ctrl-C again to stop at once")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True
