"""What every flask command shares: a refused command's Chinese message and exit code, and
reading the file a command was given."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from app.core.errors import DomainError


def fail(exc: DomainError) -> None:
    """Print the refusal (every bad row of an import) and exit non-zero."""
    click.echo(exc.message, err=True)
    sys.exit(1)


def read_file(path: str) -> tuple[bytes, str]:
    p = Path(path)
    if not p.is_file():
        click.echo(f"文件不存在：{path}", err=True)
        sys.exit(1)
    return p.read_bytes(), p.name
