"""Real faults: a process SIGKILLed in the middle of a big import or of a compute leaves no
partial data; PostgreSQL restarted under load gives Chinese 503s and the app recovers without
a restart; two gunicorn instances on one PostgreSQL share sessions and data."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import threading
import time

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PASSWORD, ROOT, api_token, login, pg_url, run_cli
from tests.reliability_support import (
    STAFF_USER,
    Browser,
    Gunicorn,
    big_cadre_file,
    clone_database,
    golden_template,
    rows,
    run_task,
    scalar,
    start_cli,
)

ARTIFACTS = ROOT / "test-artifacts"


def record(name: str, figures: dict) -> None:
    figures = {"database": "postgresql" if pg_url() else "sqlite", **figures}
    print(f"\n[reliability] {name}: {json.dumps(figures, ensure_ascii=False)}")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"reliability-{name}-{figures['database']}.json").write_text(
        json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")


# ---------------------------------------------------------------- (a) SIGKILL in the middle of a write


def writing(url: str, table: str) -> bool:
    """Whether some other connection holds a write transaction on `table` right now."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url[len("sqlite:///"):], timeout=0)
        try:
            conn.execute("BEGIN IMMEDIATE")  # refused at once while another writer holds the lock
            conn.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            conn.close()
    return bool(scalar(url, """
        SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
        WHERE c.relname = :t AND l.mode = 'RowExclusiveLock' AND l.granted AND l.pid <> pg_backend_pid()
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())""", t=table))


def kill_while_writing(url: str, table: str, args: list[str], log, delay: float, timeout: float = 120) -> dict:
    """Start `flask ARGS`, wait until it writes to `table`, let it write `delay` s more, SIGKILL it."""
    proc = start_cli(url, *args, log=log)
    started = time.monotonic()
    try:
        while not writing(url, table):
            assert proc.poll() is None, f"flask {' '.join(args)} ended before writing:\n{log.read_text()[-2000:]}"
            assert time.monotonic() - started < timeout, "the write never started"
            time.sleep(0.01)
        seen = time.monotonic()
        time.sleep(delay)
        alive = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        return {"alive_at_kill": alive, "writing_after_s": round(seen - started, 2),
                "killed_after_s": round(time.monotonic() - started, 2), "returncode": proc.returncode}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def wait_writable(url: str, table: str, timeout: float = 15) -> None:
    """The killed writer's lock goes away (SQLite: at once; PostgreSQL: when the backend sees EOF)."""
    deadline = time.monotonic() + timeout
    while writing(url, table):
        assert time.monotonic() < deadline, f"{table} still locked after the writer died"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def fault_db(request, tmp_path_factory):
    template = golden_template(request.config, tmp_path_factory.getbasetemp())
    with clone_database(template, tmp_path_factory.mktemp("faults")) as url:
        yield url


def test_killed_cadre_import_leaves_no_partial_rows(fault_db, tmp_path):
    url = fault_db
    big = big_cadre_file(tmp_path / "cadres20k.csv", 20_000, "X0T0", prefix="Z")
    before = scalar(url, "SELECT count(*) FROM cadre"), scalar(url, "SELECT count(*) FROM audit_log")
    for delay in (0.3, 0.1, 0.0):  # kill in the middle of the write; retry sooner if it was already done
        fault = kill_while_writing(url, "cadre", ["cadres", "import", str(big)], tmp_path / "import.log", delay)
        if fault["alive_at_kill"]:
            break
        assert scalar(url, "SELECT count(*) FROM cadre") == before[0] + 20_000  # finished: all rows, not some
        pytest.fail("the import finished before it could be killed; make the file bigger")
    wait_writable(url, "cadre")
    after = scalar(url, "SELECT count(*) FROM cadre"), scalar(url, "SELECT count(*) FROM audit_log")
    assert after == before, f"partial data after SIGKILL: {before} -> {after}"
    assert scalar(url, "SELECT count(*) FROM cadre WHERE code LIKE 'Z%'") == 0
    if url.startswith("sqlite"):
        assert scalar(url, "PRAGMA integrity_check") == "ok"
    record("kill-import", {"rows_in_file": 20_000, **fault, "cadres_before": before[0], "cadres_after": after[0],
                           "rows_lost_or_partial": after[0] - before[0]})


def results_snapshot(url: str) -> tuple:
    found = rows(url, """
        SELECT c.code, r.composite, r.adjustment, r.rank, r.grade, r.computed_at FROM evaluation_result r
        JOIN cadre c ON c.id = r.cadre_id JOIN evaluation_period p ON p.id = r.period_id
        WHERE p.code = '2021-Y' ORDER BY c.code""")
    dims = scalar(url, """SELECT count(r.dimension_scores) FROM evaluation_result r
                          JOIN evaluation_period p ON p.id = r.period_id WHERE p.code = '2021-Y'""")
    return tuple(found), dims


def test_killed_compute_leaves_all_old_or_all_new_results(fault_db, tmp_path):
    url = fault_db
    n = 5_000
    run_task(url, "big_period", big_cadre_file(tmp_path / "cadres.csv", n, "X0T0", prefix="Y"), n)
    old = results_snapshot(url)
    assert len(old[0]) == n and old[1] > 0
    for delay in (0.05, 0.0):
        fault = kill_while_writing(url, "evaluation_result", ["eval", "compute", "--period", "2021-Y"],
                                   tmp_path / "compute.log", delay)
        if fault["alive_at_kill"]:
            break
    else:
        pytest.fail("compute finished before it could be killed")
    wait_writable(url, "evaluation_result")
    after_kill = results_snapshot(url)
    run_cli(url, "eval", "compute", "--period", "2021-Y")
    new = results_snapshot(url)
    assert new != old and len(new[0]) == len(old[0])  # the +1 adjustments changed every composite
    assert after_kill == old, "a killed compute left a mixture of old and new results"
    record("kill-compute", {"results": n, **fault, "results_after_kill": "all old",
                            "results_after_rerun": "all new"})


# ---------------------------------------------------------------- (b) PostgreSQL restarted under load

RESTART = os.environ.get("RELIABILITY_PG_RESTART_CMD", "pg_ctlcluster --skip-systemctl-redirect 15 main restart")


@pytest.mark.pg_restart  # restarts the shared PostgreSQL: only with RELIABILITY_PG_RESTART=1
def test_postgresql_restart_gives_503_then_recovers_without_restarting_the_app(app, client):
    login(client, "kpy_luoshan")
    auth = api_token(client, "kpy_luoshan")
    assert client.get("/cadres/list/").status_code == 200
    restart: dict = {}

    def do_restart():
        time.sleep(1.0)
        restart["at"] = time.monotonic()
        done = subprocess.run(RESTART, shell=True, capture_output=True, text=True, timeout=60)
        restart.update(done=time.monotonic(), rc=done.returncode, err=done.stderr[-500:])

    seen: list[tuple[float, str, int]] = []
    problems: list[str] = []
    thread = threading.Thread(target=do_restart)
    started = time.monotonic()
    thread.start()
    try:
        while time.monotonic() - started < 30:
            for path, headers in (("/cadres/list/", {}), ("/api/v1/cadres/", auth)):
                try:
                    response = client.get(path, headers=headers)
                except Exception as exc:  # an unhandled error would be a 500 in production
                    import traceback

                    problems.append(f"{path}: {type(exc).__name__}: {exc}"[:300] + traceback.format_exc()[-3000:])
                    continue
                body = response.get_data(as_text=True)
                if response.is_json:
                    body = (response.get_json() or {}).get("message", "")
                seen.append((time.monotonic(), path, response.status_code))
                if response.status_code == 503 and "数据库无法连接" not in body:
                    problems.append(f"{path}: 503 without the Chinese page")
                elif response.status_code not in (200, 503):
                    problems.append(f"{path}: {response.status_code}")
            if "done" in restart and time.monotonic() > restart["done"] + 3:
                recent = [s for t, _, s in seen if t > restart["done"] + 1]
                if recent and all(s == 200 for s in recent[-6:]):
                    break
            time.sleep(0.02)
    finally:
        thread.join(90)
        ensure_postgresql_up()
    assert restart.get("rc") == 0, restart
    if problems:  # full tracebacks for the reader; the assertion message is cut short
        (ARTIFACTS / "pg-restart-problems.txt").write_text("\n\n".join(problems), encoding="utf-8")
    assert not problems, problems[:10]
    after = [s for t, _, s in seen if t > restart["done"] + 1]
    assert after and all(s == 200 for s in after[-6:]), "the app did not recover after PostgreSQL came back"
    outage = [s for _, _, s in seen if s == 503]
    record("pg-restart", {"requests": len(seen), "http_503_during_outage": len(outage),
                          "restart_seconds": round(restart["done"] - restart["at"], 2),
                          "seconds": round(time.monotonic() - started, 2), "unhandled_errors": len(problems)})


def ensure_postgresql_up(timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            engine = create_engine(pg_url())
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            engine.dispose()
            return
        except Exception:
            time.sleep(0.5)
    raise AssertionError("PostgreSQL is not up again")


# ---------------------------------------------------------------- (c) two app instances, one PostgreSQL


@pytest.mark.postgresql_only  # two app nodes share one PostgreSQL (SQLite is one machine)
def test_two_gunicorn_instances_share_sessions_and_data(fault_db, tmp_path):
    url = fault_db
    cadre_id, code = rows(url, "SELECT id, code FROM cadre WHERE code LIKE 'G%' ORDER BY id LIMIT 1")[0]
    with Gunicorn(url, tmp_path / "a.log") as a, Gunicorn(url, tmp_path / "b.log") as b:
        on_a = Browser(a.base)
        on_a.login(STAFF_USER, PASSWORD)
        on_b = Browser(b.base, jar=on_a.jar)  # the same session cookie, presented to the other node
        status, html = on_b.get("/users/userinfo/")
        assert status == 200 and STAFF_USER in html, (status, html[:300])
        assert on_b.get(f"/cadres/show/{cadre_id}")[0] == 200
        token = on_a.api_token(STAFF_USER)
        status, body = on_a.json("PUT", f"/api/v1/cadres/{cadre_id}", {"name": "双节点改名"}, token=token)
        assert status == 200, body
        status, body = on_b.json("GET", f"/api/v1/cadres/{cadre_id}", token=token)  # A's token, B's node
        assert status == 200 and body["result"]["name"] == "双节点改名", body
        status, html = on_b.get(f"/cadres/show/{cadre_id}")
        assert status == 200 and "双节点改名" in html
        logs = a.log.read_text(errors="replace") + b.log.read_text(errors="replace")
    assert "Traceback" not in logs
    record("two-nodes", {"nodes": 2, "shared_session": True, "change_via_a_read_via_b": True, "code": code})
