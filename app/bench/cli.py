"""`flask bench`: generate a city-scale database, or measure the configured one (docs/PERFORMANCE.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from app.core.errors import DomainError


@click.command("bench")
@click.option("--generate", is_flag=True, help="生成压测数据（需要空数据库，或加 --force）")
@click.option("--cadres", default=50_000, show_default=True, help="生成的干部数量")
@click.option("--force", is_flag=True, help="生成前清空整个数据库并按迁移重建")
@click.option("--output", default=None, help="测量结果写入的 JSON 文件")
@click.option("--pages-only", is_flag=True, help="只测页面（不测计算与 gunicorn 吞吐）")
@click.option("--no-http", is_flag=True, help="不启动 gunicorn（不测吞吐与内存）")
@click.option("--repeat", default=40, show_default=True, help="每个页面的请求次数（单客户端延迟）")
@click.option("--seconds", default=10.0, show_default=True, help="吞吐测试每个页面的时长上限（秒）")
@click.option("--baseline", default=None, help="较小规模的测量 JSON：比较每页 SQL 次数是否相同")
def bench_command(generate, cadres, force, output, pages_only, no_http, repeat, seconds, baseline):
    """City-scale benchmark: --generate fills the database, otherwise measure it."""
    try:
        if generate:
            from app.bench.generate import generate as run_generate

            run_generate(cadres, force)
            return
        from app.bench.measure import measure, render_table

        report = measure(pages_only=pages_only, http=not no_http, repeat=repeat, seconds=seconds,
                         baseline=json.loads(Path(baseline).read_text()) if baseline else None)
    except DomainError as exc:
        click.echo(exc.message, err=True)
        sys.exit(1)
    click.echo(render_table(report))
    if output:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(json.dumps(report, ensure_ascii=False, indent=2))
        click.echo(f"结果已写入 {output}")
