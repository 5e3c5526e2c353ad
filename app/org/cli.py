"""The org domain's commands: `users create`, `org import`, `cadres import`."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.core.cli import fail as _fail
from app.core.cli import read_file as _read
from app.core.errors import DomainError, ImportRejected

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
    from app.org.users import create_user

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
    from app.org.units import import_units

    data, name = _read(file)
    try:
        result = import_units(data, name, user=None)
    except ImportRejected as exc:
        _fail(exc)
    click.echo(f"单位导入成功：新增 {result['created']}，更新 {result['updated']}")
    # Non-interactive, but never silent about what changed under existing codes.
    for r in result["renamed"]:
        click.echo(f"  改名：{r['code']} “{r['old']}” → “{r['new']}”（第 {r['line']} 行）")
    for r in result["moved"]:
        click.echo(f"  移动：{r['code']} {r['name']}：上级 {r['old']} → {r['new']}（第 {r['line']} 行）")
    for r in result["retyped"]:
        click.echo(f"  改变类型：{r['code']} {r['name']}：{r['old']} → {r['new']}（第 {r['line']} 行）")


cadres_cli = AppGroup("cadres", help="干部名册")


@cadres_cli.command("import")
@click.argument("file")
def cadres_import(file):
    """Import cadres (.xlsx/.csv); all or nothing."""
    from app.org.cadres import import_cadres

    data, name = _read(file)
    try:
        result = import_cadres(data, name, user=None)
    except ImportRejected as exc:
        _fail(exc)
    click.echo(f"干部导入成功：新增 {result['created']}，更新 {result['updated']}")
