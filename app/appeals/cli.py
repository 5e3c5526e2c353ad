"""The appeals domain's commands: the 12345 link (`appeals import-hotline`, `appeals export-hotline`)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.core.cli import fail as _fail
from app.core.cli import read_file as _read
from app.core.errors import DomainError

appeals_cli = AppGroup("appeals", help="诉求办理与 12345 热线")


@appeals_cli.command("import-hotline")
@click.argument("file")
@click.option("--unit", "unit_code", default=None, help="工单待分派的调度单位编码（默认：市）")
def import_hotline_command(file, unit_code):
    """Import 12345 work orders (工单编号, 受理时间, 诉求人, 联系电话, 诉求类别, 诉求内容, 发生地编码,
    紧急程度); all or nothing, numbers already imported are skipped."""
    from app.appeals.hotline import import_hotline

    data, name = _read(file)
    try:
        result = import_hotline(data, name, user=None, unit_code=unit_code)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"12345 工单导入成功：新增 {result['created']} 件，跳过已导入 {result['skipped']} 件，"
               f"待分派单位 {result['dispatch_unit']}")
    if result["categories_added"]:
        click.echo("新增诉求类别（待调度员完善）：" + "、".join(result["categories_added"]))


@appeals_cli.command("export-hotline")
@click.option("--since", required=True, help="起始时间，如 2026-12-01 或 \"2026-12-01 08:00\"")
@click.argument("file")
def export_hotline_command(since, file):
    """Write every hotline appeal changed since --since (工单编号, 状态, 办理单位, 答复内容, 答复时间,
    回访结果) to a .csv or .xlsx file."""
    from app.appeals.hotline import export_updates

    try:
        count = export_updates(since, file)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"已导出 {count} 件热线工单的办理情况到 {file}")
