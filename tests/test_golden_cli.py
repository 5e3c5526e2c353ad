"""The golden case end to end through the real CLI, on an empty database (SQLite or PostgreSQL)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import create_engine, func, select

from app.models import EvaluationResult, ScoreSheet
from tests.conftest import run_cli
from tests.golden_pure import golden_dir

CASE = golden_dir()


def scheme_name() -> str:
    return json.loads((CASE / "scheme.json").read_text(encoding="utf-8"))["name"]


def periods() -> list[dict]:
    return json.loads((CASE / "periods.json").read_text(encoding="utf-8"))


def read_csv_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return [row for row in csv.reader(fh) if row]


def read_xlsx_rows(path: Path) -> list[list]:
    wb = load_workbook(path, read_only=True)
    try:
        return [list(row) for row in wb.worksheets[0].iter_rows(values_only=True)]
    finally:
        wb.close()


def assert_same_cell(got, want: str, where: str) -> None:
    """Numbers within 0.01, text exact, empty only where empty."""
    got_text = "" if got is None else str(got)
    if want == "":
        assert got_text == "", f"{where}: expected empty, got {got!r}"
        return
    try:
        want_number = float(want)
    except ValueError:
        assert got_text == want, f"{where}: expected {want!r}, got {got!r}"
        return
    assert got_text != "", f"{where}: expected {want}, got empty"
    assert abs(float(got) - want_number) <= 0.01 + 1e-9, f"{where}: expected {want}, got {got!r}"


def assert_matches_expected(rows: list[list], code: str) -> None:
    expected = read_csv_rows(CASE / f"expected_{code}.csv")
    assert [str(h) for h in rows[0]] == expected[0]
    assert len(rows) == len(expected), f"{code}: {len(rows) - 1} result rows, expected {len(expected) - 1}"
    for got_row, want_row in zip(rows[1:], expected[1:]):
        assert len(got_row) == len(want_row)
        for col, (got, want) in enumerate(zip(got_row, want_row)):
            assert_same_cell(got, want, f"{code} {want_row[0]} {expected[0][col]}")


def setup_register(db: str) -> None:
    run_cli(db, "setup")
    run_cli(db, "org", "import", str(CASE / "units.csv"))
    run_cli(db, "cadres", "import", str(CASE / "cadres.csv"))
    run_cli(db, "eval", "import-scheme", str(CASE / "scheme.json"))


def create_period(db: str, period: dict) -> None:
    args = ["eval", "create-period", "--code", period["code"], "--name", period["name"]]
    args += ["--kind", period["kind"], "--scheme", scheme_name(), "--start", period["start"], "--end", period["end"]]
    if period.get("previous"):
        args += ["--previous", period["previous"]]
    run_cli(db, *args)


def count_rows(db: str, model) -> int:
    engine = create_engine(db.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(model.__table__)).scalar_one()
    finally:
        engine.dispose()


def test_golden_case_through_the_cli(fresh_db_url, tmp_path):
    db = fresh_db_url
    setup_register(db)
    for period in periods():
        code = period["code"]
        create_period(db, period)
        run_cli(db, "eval", "open", "--period", code)
        for name in ("sheets.csv", "ballots.csv"):
            run_cli(db, "eval", "import-sheets", "--period", code, str(CASE / code / name))
        run_cli(db, "eval", "import-indicators", "--period", code, str(CASE / code / "indicators.csv"))
        run_cli(db, "eval", "import-adjustments", "--period", code, str(CASE / code / "adjustments.csv"))
        run_cli(db, "eval", "compute", "--period", code)
        out_csv, out_xlsx = tmp_path / f"{code}.csv", tmp_path / f"{code}.xlsx"
        run_cli(db, "eval", "export", "--period", code, str(out_csv))
        run_cli(db, "eval", "export", "--period", code, str(out_xlsx))
        assert_matches_expected(read_csv_rows(out_csv), code)
        assert_matches_expected(read_xlsx_rows(out_xlsx), code)

    # Computing again changes nothing: same rows, same values.
    last = periods()[-1]["code"]
    before = count_rows(db, EvaluationResult)
    run_cli(db, "eval", "compute", "--period", last)
    again = tmp_path / "again.csv"
    run_cli(db, "eval", "export", "--period", last, str(again))
    assert count_rows(db, EvaluationResult) == before
    assert again.read_bytes() == (tmp_path / f"{last}.csv").read_bytes()

    # Locked: no more inputs, computing still allowed; then published.
    run_cli(db, "eval", "lock", "--period", last)
    refused = run_cli(db, "eval", "import-sheets", "--period", last, str(CASE / last / "sheets.csv"), check=False)
    assert refused.returncode != 0 and "已锁定" in refused.stderr
    run_cli(db, "eval", "compute", "--period", last)
    run_cli(db, "eval", "publish", "--period", last)
    refused = run_cli(db, "eval", "compute", "--period", last, check=False)
    assert refused.returncode != 0 and "已发布" in refused.stderr


def test_cli_refuses_bad_files_and_illegal_transitions(fresh_db_url, tmp_path):
    db = fresh_db_url
    setup_register(db)
    first = periods()[0]
    code = first["code"]
    create_period(db, first)

    draft = run_cli(db, "eval", "import-sheets", "--period", code, str(CASE / code / "sheets.csv"), check=False)
    assert draft.returncode != 0 and "草稿" in draft.stderr
    for action in ("lock", "publish"):
        illegal = run_cli(db, "eval", action, "--period", code, check=False)
        assert illegal.returncode != 0 and "不能" in illegal.stderr

    run_cli(db, "eval", "open", "--period", code)
    again = run_cli(db, "eval", "open", "--period", code, check=False)
    assert again.returncode != 0 and "评分中" in again.stderr

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "干部编号,评价组,德,能,勤,绩,廉\n"
        "G01001,组织评价,90,90,90,90,90\n"  # good, but the whole file is refused
        "NOPE01,组织评价,90,90,90,90,90\n"  # unknown cadre
        "G01001,无此组,90,90,90,90,90\n"  # unknown group
        "G01001,群众评价,90,90,90,90,90\n"  # votes group in a sheet file
        "G01001,组织评价,101,90,90,90,90\n"  # out of range
        "G01001,组织评价,abc,90,90,90,90\n"  # not a number
        "G01001,组织评价,90,,90,90,90\n",  # missing value
        encoding="utf-8",
    )
    rejected = run_cli(db, "eval", "import-sheets", "--period", code, str(bad), check=False)
    assert rejected.returncode != 0
    for line in range(3, 9):
        assert f"第 {line} 行" in rejected.stderr
    assert "第 2 行" not in rejected.stderr
    for fragment in ("NOPE01", "无此组", "群众评价", "101", "abc", "不能为空"):
        assert fragment in rejected.stderr
    assert count_rows(db, ScoreSheet) == 0

    unknown_header = tmp_path / "header.csv"
    unknown_header.write_text("干部编号,评价组,德,能,勤,绩,廉,美\nG01001,组织评价,1,1,1,1,1,1\n", encoding="utf-8")
    rejected = run_cli(db, "eval", "import-sheets", "--period", code, str(unknown_header), check=False)
    assert rejected.returncode != 0 and "无法识别的列" in rejected.stderr

    not_yet = run_cli(db, "eval", "export", "--period", code, str(tmp_path / "x.csv"), check=False)
    assert not_yet.returncode != 0 and "尚未计算" in not_yet.stderr
