"""Reports on a real streaming replica (app/core/replica.py): made from the test cluster with
pg_basebackup on 127.0.0.1:5433 for this module, stopped at its end (PostgreSQL runs only).

Routing is proven by pausing the replica's replay: a row written on the primary then is missing
from a report read on the replica and present on the primary's pages."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import event

from app.core import replica
from app.extensions import db
from app.party import structure as S
from tests.conftest import PASSWORD, login
from tests.party_data import clear, member, subtree

pytestmark = pytest.mark.postgresql_only

PORT = 5433
PG_BIN = Path("/usr/lib/postgresql/15/bin")
HBA = Path("/etc/postgresql/15/main/pg_hba.conf")
HBA_LINE = "host replication all 127.0.0.1/32 trust"
LOCK = Path(tempfile.gettempdir()) / f"dkyt-test-replica-{PORT}.lock"
AS_OF = dt.date(2026, 6, 15)
SLOT = f"dkyt_test_replica_{PORT}"


def _as_postgres(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(["runuser", "-u", "postgres", "--", *args], capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, args, done.stdout, done.stderr)
    return done


def _drop_slot() -> None:
    """The replica's slot on the primary, once nothing streams from it (never left behind: a
    slot nobody reads keeps every WAL segment from then on)."""
    with psycopg.connect(_primary_dsn(), autocommit=True) as conn:
        for _ in range(50):
            left = conn.execute("SELECT active FROM pg_replication_slots WHERE slot_name = %s", (SLOT,)).fetchone()
            if left is None:
                return
            if not left[0]:
                conn.execute("SELECT pg_drop_replication_slot(%s)", (SLOT,))
                return
            time.sleep(0.2)


def _base_backup(data: str) -> None:
    """pg_basebackup of the cluster into `data`, streaming through a replication slot of its own:
    the suite's other workers create and drop databases meanwhile, and the checkpoints they force
    remove WAL the replica has not received yet. Tried three times (such a checkpoint has also
    been seen to end the backup's WAL stream)."""
    for attempt in range(3):
        _drop_slot()
        try:
            _as_postgres(str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", "5432", "-U", "postgres",
                         "-D", data, "-R", "-X", "stream", "-C", "-S", SLOT)
            return
        except subprocess.CalledProcessError as exc:
            if attempt == 2:
                raise AssertionError(f"pg_basebackup failed: {exc.stderr}") from exc
            for entry in Path(data).iterdir():
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def _allow_replication() -> None:
    if HBA_LINE not in HBA.read_text().splitlines():
        with HBA.open("a") as handle:
            handle.write(f"\n{HBA_LINE}\n")
        subprocess.run(["pg_ctlcluster", "15", "main", "reload"], check=True, timeout=60)


def _start(data: str) -> None:
    _as_postgres(str(PG_BIN / "pg_ctl"), "-D", data, "-o", f"-p {PORT} -k /tmp", "-l", f"{data}/log", "-w", "start")


def _stop(data: str) -> None:
    with contextlib.suppress(subprocess.CalledProcessError):
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop")


def _stop_leftovers() -> None:
    """A replica left running by a killed run (we hold the lock: no other run is using it) is
    stopped and its directory removed, so that its port and its slot are free again."""
    for old in Path(tempfile.gettempdir()).glob("dkyt-replica-*"):
        if Path(old, "postmaster.pid").exists():
            _stop(str(old))
        shutil.rmtree(old, ignore_errors=True)


def _primary_dsn() -> str:
    return db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _replica_dsn() -> str:
    return re.sub(r"@[^/]+/", f"@127.0.0.1:{PORT}/", _primary_dsn())


def on_replica(sql: str):
    with psycopg.connect(_replica_dsn(), autocommit=True, connect_timeout=5) as conn:
        return conn.execute(sql).fetchone()


def caught_up(timeout: float = 60) -> None:
    """Wait until the replica has replayed everything the primary wrote so far."""
    with psycopg.connect(_primary_dsn(), autocommit=True) as conn:
        target = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            last = on_replica(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn, pg_last_wal_replay_lsn()")
        except psycopg.OperationalError as exc:
            last = exc
        else:
            if last[0]:
                return
        time.sleep(0.2)
    raise AssertionError(f"the replica did not catch up: {target} on the primary, {last} on the replica")


@pytest.fixture(scope="module")
def standby(app):
    """A replica of the whole test cluster (this worker's database included) on PORT, read by the
    app's reports for this module. A file lock keeps two test runs from making it at once."""
    LOCK.touch(exist_ok=True)
    lock = LOCK.open("w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    _stop_leftovers()
    data = tempfile.mkdtemp(prefix="dkyt-replica-")
    shutil.chown(data, "postgres", "postgres")
    os.chmod(data, 0o700)
    saved = {k: app.config.get(k) for k in ("READ_DATABASE_URL", "READ_MAX_LAG_SECONDS", "READ_AFTER_WRITE_SECONDS",
                                               "READ_PROBE_SECONDS")}
    try:
        _allow_replication()
        with app.app_context():
            _base_backup(data)
            # Debian keeps the cluster's configuration in /etc: the copy gets files of its own.
            Path(data, "postgresql.conf").write_text("listen_addresses = '127.0.0.1'\nhot_standby = on\n")
            Path(data, "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
            for name in ("postgresql.conf", "pg_hba.conf"):
                shutil.chown(Path(data, name), "postgres", "postgres")
            _start(data)
            try:
                caught_up()
            except AssertionError as exc:
                raise AssertionError(f"{exc}; the replica's log:\n{Path(data, 'log').read_text()[-3000:]}") from exc
            url = _replica_dsn().replace("postgresql://", "postgresql+psycopg://", 1)
        app.config.update(READ_DATABASE_URL=url, READ_MAX_LAG_SECONDS=3600, READ_AFTER_WRITE_SECONDS=5,
                          READ_PROBE_SECONDS=0)
        yield data
    finally:
        app.config.update(saved)
        replica.forget()
        _stop(data)
        with app.app_context():
            _drop_slot()
        shutil.rmtree(data, ignore_errors=True)
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()


@pytest.fixture()
def units(app, ctx, standby):
    units = subtree()
    clear(units)
    S.refresh_cells(AS_OF)
    caught_up()
    yield units
    with contextlib.suppress(psycopg.Error):
        on_replica("SELECT pg_wal_replay_resume()")
    app.config.update(READ_MAX_LAG_SECONDS=3600, READ_PROBE_SECONDS=0, READ_AFTER_WRITE_SECONDS=5)
    replica.forget()
    clear(units)


@pytest.fixture()
def replica_statements(app, standby):
    """How many statements ran on the replica."""
    count = [0]

    def counted(*_args):
        count[0] += 1

    engine = replica._engine(app.config["READ_DATABASE_URL"])
    event.listen(engine, "before_cursor_execute", counted)
    yield count
    event.remove(engine, "before_cursor_execute", counted)


def get(client, url: str):
    """A request, then the test's session (shared with the request's: the test holds the app
    context) ends its transaction, as the app does at the end of a request: an open transaction
    on the replica would hold its replay back (for max_standby_streaming_delay, 30 s)."""
    response = client.get(url)
    db.session.rollback()
    return response


def reader(client, username="kpy_luoshan"):
    """Logged in, the login's own write (counters, audit) left behind: the reports may read the
    replica."""
    login(client, username)
    with client.session_transaction() as saved:
        saved.pop(replica.WRITTEN_AT, None)
    return client


def total(client, town) -> int:
    response = get(client, f"/party/structure.json?unit={town.code}&as_of={AS_OF.isoformat()}")
    assert response.status_code == 200
    return response.get_json()["total"]


def paused_with_a_new_member(units) -> str:
    """Replay paused on the replica, then a member written on the primary (and the kept cells
    counted there, as the idle worker does, so the report finds nothing to bring up to date)."""
    on_replica("SELECT pg_wal_replay_pause()")
    new = member(units["V01"], dt.date(1990, 3, 1), dt.date(2015, 3, 1), dt.date(2016, 3, 1))
    S.refresh_cells(AS_OF)
    return new.code


def test_a_report_reads_the_replica_and_other_pages_the_primary(app, client, units, replica_statements):
    member(units["V02"], dt.date(1980, 3, 1), dt.date(2005, 3, 1), dt.date(2006, 3, 1))
    S.refresh_cells(AS_OF)
    caught_up()
    reader(client)
    assert total(client, units["town"]) == 1
    code = paused_with_a_new_member(units)
    before = replica_statements[0]
    assert total(client, units["town"]) == 1  # the replica, paused before the new member
    assert replica_statements[0] > before
    listed = get(client, f"/partymembers/list/?q={code}")
    assert listed.status_code == 200 and code in listed.get_data(as_text=True)  # the primary
    on_replica("SELECT pg_wal_replay_resume()")
    caught_up()
    assert total(client, units["town"]) == 2


def test_every_report_answers_from_the_replica(app, client, units, replica_statements):
    reader(client, "admin")
    for url in ["/dashboard/", "/supervision/board/", "/appeals/figures/", "/appeals/figures/export/xlsx",
                "/party/structure", "/party/structure.xlsx", "/partymembers/export/csv", "/cadres/export/xlsx"]:
        before = replica_statements[0]
        response = get(client, url)
        assert response.status_code == 200, url
        assert replica_statements[0] > before, url
    before = replica_statements[0]
    assert get(client, "/partymembers/list/").status_code == 200
    assert replica_statements[0] == before  # a list is no report: the primary


def test_the_user_who_just_wrote_reads_the_primary(app, client, units):
    app.config.update(READ_AFTER_WRITE_SECONDS=60)  # no slow machine outlasts it mid-test
    reader(client, "ld_luoshan")
    paused_with_a_new_member(units)
    assert total(client, units["town"]) == 0
    new = "Rep1ica!Passw0rd"  # a write of the user's own: 修改密码 (ld_luoshan is used nowhere else here)
    changed = client.post("/resetmypassword/form", data={"current_password": PASSWORD, "password": new,
                                                         "conf_password": new})
    db.session.rollback()
    assert changed.status_code == 302
    assert total(client, units["town"]) == 1  # the primary, for READ_AFTER_WRITE_SECONDS
    with client.session_transaction() as saved:
        saved[replica.WRITTEN_AT] = time.time() - 61
    assert total(client, units["town"]) == 0  # the replica again
    login(client, "kpy_luoshan")  # a login writes too (its counters and audit entry)
    assert total(client, units["town"]) == 1


def test_cells_brought_up_to_date_by_a_report_are_written_and_read_on_the_primary(app, client, units):
    reader(client)
    on_replica("SELECT pg_wal_replay_pause()")
    member(units["V02"], dt.date(1980, 3, 1), dt.date(2005, 3, 1), dt.date(2006, 3, 1))  # cells not counted yet
    assert total(client, units["town"]) == 1  # written on the primary, never on the read-only replica
    assert total(client, units["town"]) == 0  # nothing more to count: the paused replica
    assert get(client, "/appeals/figures/").status_code == 200


def test_a_lagging_replica_leaves_reports_to_the_primary(app, client, units, replica_statements):
    app.config.update(READ_MAX_LAG_SECONDS=1)
    reader(client)
    paused_with_a_new_member(units)
    time.sleep(1.5)
    before = replica_statements[0]
    assert total(client, units["town"]) == 1  # the primary
    assert replica_statements[0] == before + 1  # the lag probe only
    on_replica("SELECT pg_wal_replay_resume()")
    caught_up()
    assert total(client, units["town"]) == 1
    assert replica_statements[0] > before + 2  # the probe, then the report's own reads


def test_a_stopped_replica_leaves_reports_to_the_primary(app, client, units, standby):
    reader(client)
    app.config.update(READ_PROBE_SECONDS=3600)
    assert total(client, units["town"]) == 0  # the probe says: up, and is kept
    member(units["V02"], dt.date(1980, 3, 1), dt.date(2005, 3, 1), dt.date(2006, 3, 1))
    S.refresh_cells(AS_OF)
    _stop(standby)
    try:
        # The kept probe still says up: the report fails on the replica and runs on the primary.
        assert total(client, units["town"]) == 1
        replica.forget()
        assert total(client, units["town"]) == 1  # the probe finds it down
        assert get(client, "/appeals/figures/").status_code == 200
        assert get(client, "/party/structure").status_code == 200
    finally:
        _start(standby)
        caught_up()
