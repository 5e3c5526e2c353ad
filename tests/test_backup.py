"""Backup and restore of the embedded SQLite database: every row comes back."""

from __future__ import annotations

import sqlite3

import pytest

from tests.conftest import ROOT, run_cli

# SQLite backup; PostgreSQL uses pg_dump (docs/DEPLOY.md).
pytestmark = pytest.mark.sqlite_only


def _counts(path):
    con = sqlite3.connect(path)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        con.close()


def test_backup_then_restore_finds_every_row(tmp_path):
    db_file = tmp_path / "live.db"
    url = f"sqlite:///{db_file}"
    run_cli(url, "setup")
    run_cli(url, "org", "import", str(ROOT / "tests" / "data" / "units_min.csv"))
    before = _counts(db_file)
    assert before["org_unit"] == 3
    backup = tmp_path / "backup.db"
    assert "备份完成" in run_cli(url, "backup", str(backup)).stdout
    assert _counts(backup) == before
    more = tmp_path / "more.csv"
    more.write_text("单位编码,单位名称,类型,上级编码\nX9,新县区,县区,C0\n", encoding="utf-8")
    run_cli(url, "org", "import", str(more))
    assert _counts(db_file)["org_unit"] == 4
    run_cli(url, "restore", str(backup), "--yes")
    assert _counts(db_file) == before


def test_restore_refuses_a_corrupt_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.db'}"
    run_cli(url, "setup")
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    result = run_cli(url, "restore", str(bad), "--yes", check=False)
    assert result.returncode != 0
