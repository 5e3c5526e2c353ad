"""Operations: backup and restore of the embedded SQLite database."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import click
from flask import current_app

from app.extensions import db


def _sqlite_path() -> Path:
    url = current_app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite:///"):
        click.echo("backup/restore 仅用于 SQLite；PostgreSQL 请使用 pg_dump / pg_restore（见 docs/DEPLOY.md）", err=True)
        sys.exit(2)
    return Path(url[len("sqlite:///"):])


def backup_sqlite(source: Path, target: Path) -> int:
    """A consistent copy through SQLite's online backup API (safe while the app runs)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(str(source), timeout=30)
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst, pages=1024)
        tables = dst.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()[0]
    finally:
        dst.close()
        src.close()
    return tables


@click.command("backup")
@click.argument("file")
def backup_command(file):
    """Back up the SQLite database to FILE (online, consistent)."""
    tables = backup_sqlite(_sqlite_path(), Path(file))
    click.echo(f"备份完成：{file}（{tables} 张表）")


@click.command("restore")
@click.argument("file")
@click.option("--yes", is_flag=True, help="确认覆盖当前数据库")
def restore_command(file, yes):
    """Restore the SQLite database from a backup FILE (replaces the current data)."""
    source = Path(file)
    if not source.is_file():
        click.echo(f"备份文件不存在：{file}", err=True)
        sys.exit(1)
    check = sqlite3.connect(str(source))
    try:
        if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            click.echo("备份文件已损坏（完整性检查未通过），未做任何修改", err=True)
            sys.exit(1)
    finally:
        check.close()
    if not yes and not click.confirm("将用备份覆盖当前数据库，确定继续？"):
        sys.exit(1)
    db.engine.dispose()
    backup_sqlite(source, _sqlite_path())
    click.echo(f"已从 {file} 恢复数据库")
