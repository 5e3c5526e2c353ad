"""Fixtures: one app for the whole run, and a fresh database for every test module.

The app is built once (Flask-AppBuilder cannot be initialised twice in one process) on one
database, SQLite or PostgreSQL (TEST_DATABASE_URL), made by the migrations with the roles
synced. Two snapshots of that database are taken: "empty" (schema, roles, 13710 rules and
work calendar) and "demo" (plus the demo city). Each test module starts from a copy of one
of them (demo unless marked `pytest.mark.empty_database`), so no module sees another's
writes and modules pass in any order.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "Demo@2026xy"
os.environ.setdefault("APP_CONFIG", "config.TestConfig")


def _worker_database() -> None:
    """Under pytest-xdist (`make test` runs one worker a core), each worker process gets a
    PostgreSQL database of its own, named after TEST_DATABASE_URL's with the worker's id, made
    here before anything reads the variable and dropped when the worker ends."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    url = os.environ.get("TEST_DATABASE_URL")
    if not worker or not url or os.environ.get("TEST_DATABASE_WORKER") == worker:
        return
    name = url.rsplit("/", 1)[1].split("?")[0]
    mine = f"{name}_{worker}"
    engine = create_engine(re.sub(r"/[^/]*$", "/postgres", url).replace("postgresql://", "postgresql+psycopg://", 1),
                           isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{mine}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{mine}"'))
    engine.dispose()
    os.environ["TEST_DATABASE_URL"] = re.sub(r"/[^/]*$", f"/{mine}", url)
    os.environ["TEST_DATABASE_WORKER"] = worker


_worker_database()


def pytest_sessionfinish(session, exitstatus):
    """A worker's own PostgreSQL database (see _worker_database) is dropped at its end."""
    if os.environ.get("TEST_DATABASE_WORKER") and os.environ.get("TEST_DATABASE_URL"):
        url = os.environ["TEST_DATABASE_URL"]
        from app.extensions import db

        try:
            db.session.remove()
        except Exception:  # no app context was ever made in this worker
            pass
        engine = create_engine(re.sub(r"/[^/]*$", "/postgres", url).replace("postgresql://", "postgresql+psycopg://", 1),
                               isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{_pg_name(url)}" WITH (FORCE)'))
        engine.dispose()


def pg_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return None
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def pytest_collection_modifyitems(config, items):
    """Tests meant for one database only are deselected (and counted as such) in the other
    database's run; they never skip. The PostgreSQL restart test runs only when asked for."""
    on_pg = pg_url() is not None
    restart = on_pg and os.environ.get("RELIABILITY_PG_RESTART") == "1"
    keep, drop = [], []
    for item in items:
        wrong_db = (item.get_closest_marker("sqlite_only") and on_pg) or (
            item.get_closest_marker("postgresql_only") and not on_pg)
        if wrong_db or (item.get_closest_marker("pg_restart") and not restart):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    # The slow modules first (see SLOW_MODULES); the others keep their order after them.
    rank = {name: i for i, name in enumerate(SLOW_MODULES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0].rsplit("/", 1)[-1], len(rank)))


# `make test` hands whole files to the pytest-xdist workers (--dist loadfile), each taking the
# next file in this order when it runs short: the longest files go first, so the run does not
# end with one worker still busy on a long file while the other idles. Seconds a file takes
# on a quiet 2-core machine, roughly. test_bench_small needs no snapshot: it goes second so
# that one worker runs it while the other builds the snapshots that both then copy
# (_run_snapshots). Only the order changes, never what runs.
SLOW_MODULES = (
    "test_browser.py",                        # 44 s
    "test_bench_small.py",                    # 25 s, no snapshot
    "test_browser_journeys_admin.py",         # 33 s
    "test_permission_matrix.py",              # 31 s
    "test_jobs.py",                           # 29 s
    "test_browser_appeals.py",                # 20 s
    "test_concurrency.py",                    # 19 s
    "test_browser_journeys_supervision.py",   # 18 s
    "test_browser_journeys_profile.py",       # 18 s
    "test_faults_real.py",                    # 17 s
    "test_api_schema.py",                     # 17 s
    "test_profile_browser.py",                # 15 s
    "test_browser_supervision.py",            # 15 s
    "test_browser_journeys_org_eval.py",      # 13 s
    "test_voting_load.py",                    # 12 s
    "test_hostile_input.py",                  # 12 s
    "test_foundation.py",                     # 11 s
    "test_credentials.py",                    # 11 s
    "test_accounts.py",                       # 10 s
    "test_party_structure.py",                # 9 s
    "test_browser_instructions.py",           # 7 s
    "test_golden_cli.py",                     # 7 s
)


def pytest_configure(config):
    """pytest-xdist would reorder the files by their number of tests (--loadscope-reorder, its
    default): keep the order above instead."""
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def _pg_admin(url: str):
    return create_engine(re.sub(r"/[^/]*$", "/postgres", url), isolation_level="AUTOCOMMIT")


def _pg_name(url: str) -> str:
    return url.rsplit("/", 1)[1].split("?")[0]


class Snapshots:
    """Copies of the test database taken once and restored before each test module."""

    def __init__(self, url: str, tmp: Path):
        self.url, self.tmp = url, tmp
        self.names: list[str] = []

    def _sqlite_path(self) -> str:
        return self.url.split("sqlite:///", 1)[1]

    def _dispose(self) -> None:
        from app.extensions import db

        db.session.remove()
        db.engine.dispose()

    def take(self, name: str) -> None:
        self._dispose()
        if self.url.startswith("sqlite"):
            with sqlite3.connect(self._sqlite_path()) as src, sqlite3.connect(self.tmp / f"{name}.db") as dst:
                src.backup(dst)
        else:
            work, copy = _pg_name(self.url), f"{_pg_name(self.url)}_{name}"
            engine = _pg_admin(self.url)
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)'))
                conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{work}'"
                                  " AND pid <> pg_backend_pid()"))
                conn.execute(text(f'CREATE DATABASE "{copy}" TEMPLATE "{work}"'))
            engine.dispose()
        self.names.append(name)

    def restore(self, name: str) -> None:
        self._dispose()
        if self.url.startswith("sqlite"):
            with sqlite3.connect(self.tmp / f"{name}.db") as src, sqlite3.connect(self._sqlite_path()) as dst:
                src.backup(dst)
        else:
            work = _pg_name(self.url)
            engine = _pg_admin(self.url)
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{work}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{work}" TEMPLATE "{work}_{name}"'))
            engine.dispose()
        _clear_process_caches()

    def drop_all(self) -> None:
        if self.url.startswith("sqlite"):
            return
        engine = _pg_admin(self.url)
        with engine.connect() as conn:
            for name in self.names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{_pg_name(self.url)}_{name}" WITH (FORCE)'))
        engine.dispose()


def _clear_process_caches() -> None:
    """Caches kept in the process for the data of the database being replaced."""
    from app.profile import dashboard
    from app.web import menu_cache, todo

    dashboard._cache.clear()
    menu_cache._cache.clear()
    todo._counts.clear()


def _reset_pg(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = pg_url()
    if url:
        _reset_pg(url)
        return url
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.db")


def _snapshot_cache(database_url: str) -> Path | None:
    """Where SQLite runs keep their two snapshots between runs (.test-cache/, git-ignored): named
    by a hash of everything that makes them (migrations, app code, config, this file) and by the
    date (the demo's deadlines are relative to today), so a single test file runs in seconds
    after the first run. PostgreSQL runs and CI's clean clone build them afresh."""
    if not database_url.startswith("sqlite") or os.environ.get("TEST_SNAPSHOT_CACHE") == "0":
        return None
    import datetime as dt
    import hashlib

    digest = hashlib.sha256()
    for path in sorted([*ROOT.glob("app/**/*.py"), *ROOT.glob("migrations/**/*.py"), ROOT / "config.py",
                        Path(__file__)]):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return ROOT / ".test-cache" / f"{dt.date.today().isoformat()}-{digest.hexdigest()[:16]}"


def _run_snapshots(database_url: str, tmp_path_factory) -> Path | None:
    """Where the workers of one pytest-xdist run share the SQLite snapshots when there is no
    cache between runs (TEST_SNAPSHOT_CACHE=0, CI): the first worker to need them builds them,
    the others copy them (the demo city takes seconds to seed). The run's own temporary
    directory (each worker's is a popen-gwN inside it), so no other run sees them."""
    if not database_url.startswith("sqlite") or not os.environ.get("PYTEST_XDIST_WORKER"):
        return None
    return tmp_path_factory.getbasetemp().parent / "snapshots" / "run"


def _keep_snapshots(made: Path, cache: Path) -> None:
    """Copy the run's snapshots into the cache (atomically: parallel workers may race)."""
    import shutil

    staging = cache.with_name(cache.name + f".{uuid.uuid4().hex[:8]}")
    staging.mkdir(parents=True)
    for name in ("empty", "demo"):
        shutil.copyfile(made / f"{name}.db", staging / f"{name}.db")
    try:
        staging.rename(cache)
    except OSError:  # another worker was first
        shutil.rmtree(staging, ignore_errors=True)
    for old in cache.parent.iterdir():  # snapshots of other sources or days are of no more use
        if old.name != cache.name and "." not in old.name:
            shutil.rmtree(old, ignore_errors=True)


@pytest.fixture(scope="session")
def snapshots(database_url, tmp_path_factory):
    """The session's app on its database, with the "empty" and "demo" snapshots taken."""
    from flask_migrate import upgrade

    from app import create_app
    from app.appeals.setup import seed_time_limits
    from app.demo import seed_demo
    from app.security.sync import sync_roles
    from app.supervision.setup import seed_defaults
    from config import TestConfig

    class Cfg(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url

    application = create_app(Cfg)
    cached = _snapshot_cache(database_url) or _run_snapshots(database_url, tmp_path_factory)
    with _cache_lock(cached):  # parallel workers: the first builds, the others wait and reuse
        if cached is not None and (cached / "demo.db").is_file():
            saved = Snapshots(database_url, cached)  # made from the same sources today
            saved.names = ["empty", "demo"]
        else:
            saved = Snapshots(database_url, tmp_path_factory.mktemp("snapshots"))
            with application.app_context():
                upgrade()
                sync_roles()
                seed_defaults()
                seed_time_limits()
                saved.take("empty")
                # The demo accounts must change their password at their first login (app/demo.py);
                # the suite logs in as them everywhere, so it seeds them without that obligation.
                # tests/test_accounts.py checks the obligation on a freshly seeded account.
                seed_demo(first_login_change=False)
                saved.take("demo")
            if cached is not None:
                _keep_snapshots(saved.tmp, cached)
    saved.app = application
    yield saved
    with application.app_context():
        saved.drop_all()


@contextlib.contextmanager
def _cache_lock(cache: Path | None):
    """An exclusive lock over the snapshot cache (pytest-xdist workers share one build)."""
    if cache is None:
        yield
        return
    import fcntl

    cache.parent.mkdir(parents=True, exist_ok=True)
    with open(cache.parent / "build.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="module")
def app(snapshots, request):
    """The app, on a fresh copy of the demo city (or of the empty database for a module marked
    `pytest.mark.empty_database`) that no other module sees."""
    marker = request.node.get_closest_marker("empty_database")
    with snapshots.app.app_context():
        snapshots.restore("empty" if marker else "demo")
    return snapshots.app


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def ctx(app):
    with app.app_context():
        yield


def login(client, username: str, password: str = PASSWORD):
    """Log the test client in through the real login form."""
    client.get("/logout/")
    response = client.post("/login/", data={"username": username, "password": password})
    assert response.status_code == 302, f"login of {username} failed"
    return client


@pytest.fixture()
def login_as(client):
    return lambda username: login(client, username)


def api_token(client, username: str, password: str = PASSWORD) -> dict:
    response = client.post(
        "/api/v1/security/login",
        json={"username": username, "password": password, "provider": "db", "refresh": False},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


# --- running the real CLI on a database of its own -----------------------------------

@pytest.fixture()
def fresh_db_url(tmp_path):
    """A new empty database for a CLI run: a SQLite file, or a new PostgreSQL database."""
    base = pg_url()
    if not base:
        yield "sqlite:///" + str(tmp_path / "cli.db")
        return
    name = "t_" + uuid.uuid4().hex[:12]
    admin = re.sub(r"/[^/]*$", "/postgres", base)
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield re.sub(r"/[^/]*$", f"/{name}", base)
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


_CLI_APPS: dict = {}


def _cli_app(db_url: str):
    """An app of this process on db_url, made once per database (a CLI run needs no new process)."""
    url = db_url.replace("postgresql://", "postgresql+psycopg://", 1)
    application = _CLI_APPS.get(url)
    if application is None:
        from app import create_app
        from config import TestConfig

        class Cfg(TestConfig):
            SQLALCHEMY_DATABASE_URI = url

        application = _CLI_APPS[url] = create_app(Cfg)
    return application


def run_cli(db_url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """`flask ARGS` against db_url, as an operator would type it: the same click commands, run
    in this process (a new Python process costs two seconds a call). test_foundation runs the
    real `flask --app run` entry point in a subprocess once (run_cli_subprocess)."""
    import traceback

    from app.extensions import db

    application = _cli_app(db_url)
    saved = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = db_url  # what the operator's shell would hold (bench checks it)
    try:
        with application.app_context():  # as FlaskGroup pushes one for every command
            result = application.test_cli_runner().invoke(args=list(args), catch_exceptions=True)
    finally:
        if saved is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = saved
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    with application.app_context():
        db.session.remove()
        db.engine.dispose()  # the database file may be copied, restored or dropped next
    _clear_process_caches()
    done = subprocess.CompletedProcess(["flask", *args], result.exit_code, result.stdout, stderr)
    if check and done.returncode != 0:
        raise AssertionError(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def run_cli_subprocess(db_url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """`flask --app run ARGS` in a real subprocess with the production configuration."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=db_url,
        APP_CONFIG="config.ProductionConfig",
        SECRET_KEY="cli-test-secret-key-0123456789abcdefghijklmnop",
        PYTHONPATH=str(ROOT),
    )
    env.pop("TEST_DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "run", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="session")
def chromium_session():
    """One headless Debian Chromium per test process, started at the first browser test and shared
    by every browser module (each test opens its own context: own cookies and storage). Browser
    modules reach it through tests/test_browser.py's `browser` fixture."""
    from playwright.sync_api import sync_playwright

    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()
