"""The benchmark at two small sizes: page query counts and compute's statement count do not
grow with the data (the city-scale figures are in docs/PERFORMANCE.md)."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import pg_url, run_cli

SIZES = (400, 1200)


@pytest.fixture()
def db_urls(tmp_path):
    """One empty database per size: SQLite files, or new PostgreSQL databases."""
    base = pg_url()
    if not base:
        yield [f"sqlite:///{tmp_path / f'bench{n}.db'}" for n in SIZES]
        return
    admin = create_engine(re.sub(r"/[^/]*$", "/postgres", base), isolation_level="AUTOCOMMIT")
    names = [f"b_{uuid.uuid4().hex[:12]}" for _ in SIZES]
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield [re.sub(r"/[^/]*$", f"/{name}", base) for name in names]
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _bench(url: str, cadres: int, out) -> dict:
    run_cli(url, "bench", "--generate", "--cadres", str(cadres))
    run_cli(url, "bench", "--no-http", "--repeat", "2", "--output", str(out))
    return json.loads(out.read_text())


def test_query_counts_do_not_grow_with_the_city(db_urls, tmp_path):
    small, large = (_bench(url, n, tmp_path / f"{n}.json") for url, n in zip(db_urls, SIZES))
    assert large["meta"]["cadres"] == 3 * small["meta"]["cadres"]
    assert large["meta"]["period_sheets"] == 3 * small["meta"]["period_sheets"]

    def counts(report):
        return {(p["key"], p["level"]): p.get("queries") for p in report["pages"] if p["status"] != "not available"}

    for report in (small, large):
        broken = [(p["key"], p["level"], p["status"]) for p in report["pages"] if p["status"] not in (200, "not available")]
        assert not broken, broken
    assert counts(small), "no page measured"
    measured = {p["key"] for p in small["pages"] if p["status"] == 200}
    assert {"cadre_list", "sheet_list", "task_list_red", "result_list", "profile", "dashboard", "party_structure",
            "party_structure_json", "appeal_list"} <= measured
    screens = {p["key"] for p in small["pages"] if p["status"] != "not available"}
    assert {"appeal_todo", "whistle_queue", "appeal_figures"} & screens <= measured  # once the screens exist
    assert counts(large) == counts(small)
    # appeals: a year of them scaled with the city; the figures service and the 12345 import
    # issue the same statements at both sizes, and the import writes every row
    # (a year scaled with the city, and the same few appeals waiting on the measured users)
    assert small["meta"]["appeals"] > 4000 and abs(large["meta"]["appeals"] - 3 * small["meta"]["appeals"]) < 50
    figures = {r: [(f["level"], f["queries"]) for f in r_["appeals"]["figures"]] for r, r_ in (("s", small), ("l", large))}
    assert figures["s"] == figures["l"]
    for report in (small, large):
        imported = report["appeals"]["hotline_import"]
        assert imported["created"] == imported["rows"] == 10_000
    assert small["appeals"]["hotline_import"]["statements"] == large["appeals"]["hotline_import"]["statements"]
    assert large["compute"]["statements"] == small["compute"]["statements"]
    assert large["compute"]["results"] == 3 * small["compute"]["results"]

    refused = run_cli(db_urls[0], "bench", "--generate", "--cadres", "200", check=False)
    assert refused.returncode == 1 and "已有数据" in refused.stderr  # a second run needs --force
