"""Fixtures: one app per test session on a fresh database (SQLite, or PostgreSQL when
TEST_DATABASE_URL is set), built by the migrations, with roles synced and the demo city."""

from __future__ import annotations

import os
import re
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
def app(database_url):
    from flask_migrate import upgrade

    from app import create_app
    from app.demo import seed_demo
    from app.security.sync import sync_roles
    from app.services.supervision_setup import seed_defaults
    from config import TestConfig

    class Cfg(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url

    application = create_app(Cfg)
    with application.app_context():
        upgrade()
        sync_roles()
        seed_defaults()
        # The demo accounts must change their password at their first login (app/demo.py); the
        # suite logs in as them everywhere, so it seeds them without that obligation.
        # tests/test_accounts.py checks the obligation on a freshly seeded account.
        seed_demo(first_login_change=False)
    return application


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
