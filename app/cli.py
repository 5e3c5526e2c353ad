"""Flask commands: setup, roles, users, imports, demo data."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from app.services.errors import DomainError, ImportRejected


def _fail(exc: DomainError) -> None:
    click.echo(exc.message, err=True)
    sys.exit(1)


def _read(path: str) -> tuple[bytes, str]:
    p = Path(path)
    if not p.is_file():
        click.echo(f"文件不存在：{path}", err=True)
        sys.exit(1)
    return p.read_bytes(), p.name


@click.command("setup")
def setup_command():
    """Bring the database to the current schema and sync the roles (no demo data)."""
    from flask_migrate import upgrade

    from app.security.sync import sync_roles

    upgrade()
    from app.services.supervision_setup import seed_defaults

    seed_defaults()
    counts = sync_roles()
    click.echo("数据库已升级到最新版本；角色已同步：" + "，".join(f"{k}({v})" for k, v in counts.items()))


roles_cli = AppGroup("roles", help="角色与权限")


@roles_cli.command("sync")
def roles_sync():
    """Create or update the five roles and their permissions."""
    from app.security.sync import sync_roles

    counts = sync_roles()
    click.echo("角色已同步：" + "，".join(f"{k}({v})" for k, v in counts.items()))


users_cli = AppGroup("users", help="用户账号")


@users_cli.command("create")
@click.option("--username", required=True)
@click.option("--password", required=True)
@click.option("--role", required=True)
@click.option("--unit", "unit_code", required=True)
@click.option("--cadre", "cadre_code", default=None)
@click.option("--name", default=None, help="显示名（默认同用户名）")
@click.option("--must-change-password", is_flag=True, help="首次登录时强制修改密码")
def users_create(username, password, role, unit_code, cadre_code, name, must_change_password):
    """Create (or reset) a scripted account bound to a unit and optionally a cadre."""
    from app.services.users import create_user

    try:
        user = create_user(username, password, role, unit_code, cadre_code, name, must_change_password)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"用户 {user.username} 已创建：角色 {role}，单位 {unit_code}")


org_cli = AppGroup("org", help="组织机构")


@org_cli.command("import")
@click.argument("file")
def org_import(file):
    """Import units (单位编码, 单位名称, 类型, 上级编码); all or nothing."""
    from app.services.org import import_units

    data, name = _read(file)
    try:
        result = import_units(data, name)
    except ImportRejected as exc:
        _fail(exc)
    click.echo(f"单位导入成功：新增 {result['created']}，更新 {result['updated']}")


cadres_cli = AppGroup("cadres", help="干部名册")


@cadres_cli.command("import")
@click.argument("file")
def cadres_import(file):
    """Import cadres (.xlsx/.csv); all or nothing."""
    from app.services.cadres import import_cadres

    data, name = _read(file)
    try:
        result = import_cadres(data, name)
    except ImportRejected as exc:
        _fail(exc)
    click.echo(f"干部导入成功：新增 {result['created']}，更新 {result['updated']}")


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
    from app.cli_bench import bench_command
    from app.cli_eval import eval_cli
    from app.cli_jobs import jobs_cli
    from app.cli_ops import backup_command, restore_command
    from app.cli_supervision import supervision_cli

    for command in (setup_command, seed_demo_command, roles_cli, users_cli, org_cli, cadres_cli, eval_cli, supervision_cli,
                    backup_command, restore_command, bench_command, jobs_cli):
        app.cli.add_command(command)
