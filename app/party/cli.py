"""The party domain's commands: `party import-orgs FILE`, `party import-members FILE`."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.core.cli import fail as _fail
from app.core.cli import read_file as _read
from app.core.errors import DomainError

party_cli = AppGroup("party", help="党组织与党员")


def _import(run, file, what: str) -> None:
    """Read FILE, import it as the system (all or nothing), say what changed or fail in Chinese."""
    data, name = _read(file)
    try:
        result = run(data, name, user=None)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"{what}导入成功：新增 {result['created']}，更新 {result['updated']}")


@party_cli.command("import-orgs")
@click.argument("file")
def import_orgs_command(file):
    """Import party organizations (组织编码, 组织名称, 类型, 上级编码, 所在单位编码); all or nothing."""
    from app.party.orgs import import_orgs

    _import(import_orgs, file, "党组织")


@party_cli.command("import-members")
@click.argument("file")
def import_members_command(file):
    """Import party members (.xlsx/.csv); all or nothing."""
    from app.party.members import import_members

    _import(import_members, file, "党员")
