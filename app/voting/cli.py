"""`flask voting open|close`: a session opened and its codes written to a file; closed and recorded."""

from __future__ import annotations

import datetime as dt

import click
from flask.cli import AppGroup

from app.core.cli import fail
from app.core.errors import DomainError

voting_cli = AppGroup("voting", help="网上民主测评")


@voting_cli.command("open")
@click.option("--period", "period_code", required=True, help="考评期编码")
@click.option("--group", "group_name", required=True, help="投票评价组名称，如 群众评价")
@click.option("--unit", "unit_code", required=True, help="测评范围：该单位及下级单位的在职干部")
@click.option("--category", "categories", multiple=True, help="岗位类别（可重复；不填为全部）")
@click.option("--codes", "count", required=True, type=int, help="发放测评码个数")
@click.option("--title", default=None, help="测评名称（不填自动生成）")
@click.option("--deadline", default=None, help="截止时间，如 2026-12-31 18:00（过后测评码失效）")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
def open_command(period_code, group_name, unit_code, categories, count, title, deadline, file):
    """Create and open a session; write its codes to FILE (one a line); print the session id."""
    from app.voting import sessions as V

    try:
        session = V.create_session(period_code, group_name, unit_code, categories, title, _deadline(deadline),
                                   user=None)
        try:
            session, codes = V.open_session(session.id, count, user=None)
        except DomainError:
            V.delete_draft(session.id, user=None)  # nothing half-made is left behind
            raise
    except DomainError as exc:
        fail(exc)
    with open(file, "w", encoding="utf-8") as fh:
        fh.write("\n".join(codes) + "\n")
    click.echo(f"测评活动已开始：{session.title}；测评码 {len(codes)} 个已写入 {file}", err=True)
    click.echo(session.id)


def _deadline(raw: str | None):
    if not raw:
        return None
    try:
        return dt.datetime.fromisoformat(raw.strip().replace(" ", "T"))
    except ValueError:
        raise DomainError(f"截止时间“{raw}”格式不正确（应为 年-月-日 时:分）")


@voting_cli.command("close")
@click.option("--session", "session_id", required=True, type=int, help="测评活动编号")
def close_command(session_id):
    """End voting and write the tallies as the group's vote counts of the period."""
    from app.voting import sessions as V

    try:
        outcome = V.close_session(session_id, user=None)
    except DomainError as exc:
        fail(exc)
    click.echo(f"测评活动 {session_id} 已结束并计入：选票 {outcome['votes']} 张，干部 {outcome['cadres']} 人，"
               f"替换原有票数 {outcome['replaced']} 条；考评结果需重新计算")
