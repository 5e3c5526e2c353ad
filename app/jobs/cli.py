"""`flask jobs ...`: the background job worker and its housekeeping (app/jobs_worker.py)."""

from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import AppGroup

jobs_cli = AppGroup("jobs", help="后台任务（导入、计算、导出）")


@jobs_cli.command("worker")
@click.option("--until-idle", is_flag=True, help="队列为空时退出（默认一直运行，直到收到 SIGTERM/SIGINT）")
@click.option("--max-jobs", type=int, default=None, help="运行这么多个任务后退出（由 systemd 重新启动，释放内存）")
@click.option("--poll", type=float, default=None, help="队列为空时每隔几秒查看一次（默认 JOB_POLL_SECONDS）")
def worker_command(until_idle, max_jobs, poll):
    """Claim and run queued jobs; SIGTERM/SIGINT put the running job back in the queue."""
    from app.jobs import services as jobs
    from app.jobs.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = current_app._get_current_object()
    purged = jobs.purge(app.config["JOB_KEEP_DAYS"])
    worker = Worker(app, poll_seconds=poll)
    click.echo(f"后台任务进程 {worker.name} 已启动（清理了 {purged} 个 {app.config['JOB_KEEP_DAYS']} 天前结束的任务）")
    count = worker.run(until_idle=until_idle, max_jobs=max_jobs)
    click.echo(f"后台任务进程 {worker.name} 已停止，本次运行了 {count} 个任务")


@jobs_cli.command("purge")
@click.option("--days", type=int, default=None, help="删除多少天前结束的任务（默认 JOB_KEEP_DAYS）")
def purge_command(days):
    """Delete jobs (and their files) that ended more than --days days ago."""
    from app.jobs import services as jobs

    days = current_app.config["JOB_KEEP_DAYS"] if days is None else days
    click.echo(f"已删除 {jobs.purge(days)} 个 {days} 天前结束的后台任务")


@jobs_cli.command("status")
def status_command():
    """How many jobs are in each state, and the running ones with their worker."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import JOB_STATES, Job

    counts = dict(db.session.execute(select(Job.state, func.count()).group_by(Job.state)).all())
    click.echo("，".join(f"{label} {counts.get(state, 0)}" for state, label in JOB_STATES.items()))
    for job in db.session.scalars(select(Job).where(Job.state == "running").order_by(Job.id)):
        click.echo(f"#{job.id} {job.title} {job.done}/{job.total} 进程 {job.claim} 心跳 {job.heartbeat_at:%H:%M:%S}")
