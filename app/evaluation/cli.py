"""Flask commands of 干部考评: schemes, periods, imports, compute, export."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.core.cli import fail as _fail
from app.core.cli import read_file as _read
from app.core.errors import DomainError

eval_cli = AppGroup("eval", help="干部考评")


@eval_cli.command("import-scheme")
@click.argument("file")
def import_scheme(file):
    """Create or replace (by name) a scheme from a JSON file."""
    from app.evaluation.periods import import_scheme as run

    data, _ = _read(file)
    try:
        scheme, created = run(data, user=None)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"考评方案“{scheme.name}”已{'创建' if created else '替换'}")


@eval_cli.command("create-period")
@click.option("--code", required=True)
@click.option("--name", required=True)
@click.option("--kind", required=True, help="年度/季度/专项")
@click.option("--scheme", "scheme_name", required=True)
@click.option("--start", required=True)
@click.option("--end", required=True)
@click.option("--previous", default=None)
def create_period(code, name, kind, scheme_name, start, end, previous):
    """Create a period in 草稿."""
    from app.evaluation.periods import create_period as run

    try:
        period = run(code, name, kind, scheme_name, start, end, previous, user=None)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"考评期“{period.code}”已创建（草稿）")


def _transition(action: str, period_code: str) -> None:
    from app.evaluation.periods import transition

    try:
        period = transition(period_code, action, user=None)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"考评期“{period.code}”当前状态：{period.state_label}")


@eval_cli.command("open")
@click.option("--period", "period_code", required=True)
def open_period(period_code):
    """草稿 → 评分中."""
    _transition("open", period_code)


@eval_cli.command("lock")
@click.option("--period", "period_code", required=True)
def lock_period(period_code):
    """评分中 → 已锁定."""
    _transition("lock", period_code)


@eval_cli.command("publish")
@click.option("--period", "period_code", required=True)
def publish_period(period_code):
    """已锁定 → 已发布."""
    _transition("publish", period_code)


@eval_cli.command("import-sheets")
@click.option("--period", "period_code", required=True)
@click.argument("file")
def import_sheets(period_code, file):
    """Import score sheets or ballots (the header tells which); all or nothing."""
    from app.evaluation.imports import import_sheets as run

    data, name = _read(file)
    try:
        result = run(period_code, data, name, user=None)
    except DomainError as exc:
        _fail(exc)
    if result["kind"] == "sheets":
        click.echo(f"评分表导入成功：{result['sheets']} 份")
    else:
        click.echo(f"票数导入成功：{result['ballots']} 条（替换 {result['replaced']} 条）")


@eval_cli.command("import-indicators")
@click.option("--period", "period_code", required=True)
@click.argument("file")
def import_indicators(period_code, file):
    """Import entered indicator scores (干部编号, 指标, 得分); all or nothing."""
    from app.evaluation.imports import import_indicators as run

    data, name = _read(file)
    try:
        result = run(period_code, data, name, user=None)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"指标得分导入成功：{result['scores']} 条（替换 {result['replaced']} 条）")


@eval_cli.command("import-adjustments")
@click.option("--period", "period_code", required=True)
@click.argument("file")
def import_adjustments(period_code, file):
    """Import approved adjustments (干部编号, 类型, 分值, 事由); all or nothing."""
    from app.evaluation.imports import import_adjustments as run

    data, name = _read(file)
    try:
        result = run(period_code, data, name, user=None)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"调整导入成功：{result['adjustments']} 条")


@eval_cli.command("compute")
@click.option("--period", "period_code", required=True)
def compute(period_code):
    """Compute (or recompute) the period's results."""
    from app.evaluation.compute import compute as run

    try:
        result = run(period_code)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"考评期“{period_code}”计算完成：{result['results']} 条结果")


@eval_cli.command("export")
@click.option("--period", "period_code", required=True)
@click.argument("file")
def export(period_code, file):
    """Export the period's results to .csv or .xlsx."""
    from app.evaluation.compute import export as run

    try:
        count = run(period_code, file)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"已导出 {count} 条结果到 {file}")
