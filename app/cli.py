"""Flask commands: the app-wide ones (setup, roles sync, seed-demo, backup/restore) and
register_cli(), which adds each domain's command group."""

from __future__ import annotations

import click
from flask.cli import AppGroup


@click.command("setup")
def setup_command():
    """Bring the database to the current schema and sync the roles (no demo data)."""
    from flask_migrate import upgrade

    from app.security.sync import sync_roles

    upgrade()
    from app.supervision.setup import seed_defaults

    seed_defaults()
    from app.appeals.setup import seed_time_limits

    seed_time_limits()
    counts = sync_roles()
    click.echo("数据库已升级到最新版本；角色已同步：" + "，".join(f"{k}({v})" for k, v in counts.items()))


roles_cli = AppGroup("roles", help="角色与权限")


@roles_cli.command("sync")
def roles_sync():
    """Create or update the five roles and their permissions."""
    from app.security.sync import sync_roles

    counts = sync_roles()
    click.echo("角色已同步：" + "，".join(f"{k}({v})" for k, v in counts.items()))


@click.command("seed-demo")
def seed_demo_command():
    """Seed the demo city once (a second run adds nothing)."""
    from app.demo import seed_demo

    created = seed_demo()
    if created:
        click.echo("演示数据已生成。")
    else:
        click.echo("演示数据已存在，未重复生成。")
    from app.demo import print_accounts

    print_accounts()


def register_cli(app) -> None:
    from app.bench.cli import bench_command
    from app.evaluation.cli import eval_cli
    from app.jobs.cli import jobs_cli
    from app.ops import backup_command, restore_command
    from app.org.cli import cadres_cli, org_cli, users_cli
    from app.supervision.cli import supervision_cli
    from app.voting.cli import voting_cli

    for command in (setup_command, seed_demo_command, roles_cli, users_cli, org_cli, cadres_cli, eval_cli, supervision_cli,
                    backup_command, restore_command, bench_command, jobs_cli, voting_cli):
        app.cli.add_command(command)
