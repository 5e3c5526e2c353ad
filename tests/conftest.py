"""Fixtures: one app for the whole run, and a fresh database for every test module.

The app is built once (Flask-AppBuilder cannot be initialised twice in one process) on one
database, SQLite or PostgreSQL (TEST_DATABASE_URL), made by the migrations with the roles
synced. Two snapshots of that database are taken: "empty" (schema, roles, 13710 rules and
work calendar) and "demo" (plus the demo city). Each test module starts from a copy of one
of them (demo unless marked `pytest.mark.empty_database`), so no module sees another's
writes and modules pass in any order.
"""

from __future__ import annotations

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


def pg_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return None
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


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


@pytest.fixture(scope="session")
def snapshots(database_url, tmp_path_factory):
    """The session's app on its database, with the "empty" and "demo" snapshots taken."""
    from flask_migrate import upgrade

    from app import create_app
    from app.demo import seed_demo
    from app.security.sync import sync_roles
    from app.supervision.setup import seed_defaults
    from config import TestConfig

    class Cfg(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url

    application = create_app(Cfg)
    saved = Snapshots(database_url, tmp_path_factory.mktemp("snapshots"))
    with application.app_context():
        upgrade()
        sync_roles()
        seed_defaults()
        saved.take("empty")
        # The demo accounts must change their password at their first login (app/demo.py); the
        # suite logs in as them everywhere, so it seeds them without that obligation.
        # tests/test_accounts.py checks the obligation on a freshly seeded account.
        seed_demo(first_login_change=False)
        saved.take("demo")
    saved.app = application
    yield saved
    with application.app_context():
        saved.drop_all()


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


def run_cli(db_url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """`flask --app run ARGS` in a subprocess against db_url, as an operator would."""
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
