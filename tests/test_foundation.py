"""Migrations own the schema; setup on an empty database gives a working admin; security basics."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select, text

from app.extensions import db
from app.models import POSTGRESQL_ONLY_INDEXES, Cadre, include_object
from tests.conftest import ROOT, login, run_cli, run_cli_subprocess


def test_single_migration_head(app):
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_upgraded_schema_matches_the_models(app):
    """The session database was built by `upgrade` alone: no difference from the models."""
    with app.app_context():
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": include_object})
            diff = compare_metadata(context, db.metadata)
            postgresql = conn.dialect.name == "postgresql"
            names = {row[0] for row in conn.execute(text("SELECT indexname FROM pg_indexes"))} if postgresql else set()
    assert diff == []
    if postgresql:  # the PostgreSQL-only indexes are there
        assert POSTGRESQL_ONLY_INDEXES <= names


def test_setup_on_empty_database_gives_admin_with_menus(fresh_db_url):
    out = run_cli_subprocess(fresh_db_url, "setup").stdout  # the real entry point, once
    assert "角色已同步" in out
    assert "角色已同步" in run_cli(fresh_db_url, "setup").stdout  # safe to run again
    units = ROOT / "tests" / "data" / "units_min.csv"
    run_cli(fresh_db_url, "org", "import", str(units))
    run_cli(fresh_db_url, "users", "create", "--username", "root1", "--password", "Str0ng!Passw0rd",
            "--role", "系统管理员", "--unit", "C0")
    bad = run_cli(fresh_db_url, "users", "create", "--username", "weak", "--password", "123",
                  "--role", "系统管理员", "--unit", "C0", check=False)
    assert bad.returncode != 0 and "密码" in bad.stderr
    probe = textwrap.dedent(
        """
        from app import create_app
        app = create_app("config.ProductionConfig")
        app.config.update(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
        c = app.test_client()
        r = c.post("/login/", data={"username": "root1", "password": "Str0ng!Passw0rd"})
        assert r.status_code == 302, r.status_code
        html = c.get("/", follow_redirects=True).get_data(as_text=True)
        for menu in ("干部管理", "干部名册", "组织机构", "审计日志"):
            assert menu in html, menu
        assert c.get("/cadres/list/").status_code == 200
        assert c.get("/users/list/").status_code == 200
        print("ADMIN-OK")
        """
    )
    result = _python(fresh_db_url, probe)
    assert "ADMIN-OK" in result.stdout, result.stderr


def _python(db_url: str, code: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, DATABASE_URL=db_url, PYTHONPATH=str(ROOT),
               SECRET_KEY="probe-secret-key-0123456789abcdefghijklmnopq")
    env.pop("TEST_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


def test_production_config_refuses_the_default_key(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), DATABASE_URL=f"sqlite:///{tmp_path}/x.db")
    env.pop("SECRET_KEY", None)
    code = ("import os, config; config.Config.SECRET_KEY = config.DEFAULT_SECRET; "
            "config.ProductionConfig.SECRET_KEY = config.DEFAULT_SECRET; "
            "from app import create_app; create_app(config.ProductionConfig)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


def test_csrf_and_login_rate_limit_in_production(fresh_db_url):
    run_cli(fresh_db_url, "setup")
    probe = textwrap.dedent(
        """
        from app import create_app
        app = create_app("config.ProductionConfig")
        c = app.test_client()
        r = c.post("/login/", data={"username": "x", "password": "y"})
        print("STATUS", r.status_code)
        codes = [c.post("/login/", data={"username": "x", "password": "y"}).status_code for _ in range(12)]
        print("LIMITED", 429 in codes)
        """
    )
    out = _python(fresh_db_url, probe).stdout
    assert "STATUS 400" in out  # no CSRF token: refused
    assert "LIMITED True" in out  # login attempts are rate limited


def test_security_headers_and_csp_allow_only_own_origin(client):
    response = client.get("/login/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "http" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_static_files_are_kept_an_hour_and_pages_never(client):
    """Scripts and styles are cached by the browser (not revalidated on every page); HTML is not."""
    for url in ("/static/vendor/echarts/echarts.min.js", "/static/appbuilder/css/bootstrap.min.css"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "max-age=3600" in response.headers["Cache-Control"], (url, response.headers["Cache-Control"])
        response.close()
    assert "no-store" in client.get("/login/").headers["Cache-Control"]


def test_no_page_loads_assets_from_the_internet(client):
    login(client, "admin")
    for url in ("/", "/cadres/list/", "/login/"):
        html = client.get(url).get_data(as_text=True)
        assert "//cdn" not in html and "googleapis" not in html and 'src="http' not in html


def test_password_complexity_rule():
    from flask_appbuilder.exceptions import PasswordComplexityValidationError

    from app.security.manager import password_complexity

    password_complexity("Str0ng!Passw0rd")
    for weak in ("short1!A", "alllowercase1!", "NOLOWER123!!", "NoDigits!!!!", "NoSymbol1234a"):
        with pytest.raises(PasswordComplexityValidationError):
            password_complexity(weak)


def test_session_lifetime_and_cookie_flags(app):
    assert app.config["PERMANENT_SESSION_LIFETIME"].total_seconds() <= 8 * 3600
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True


def test_stale_edit_is_refused_not_overwritten(client, app):
    with app.app_context():
        cadre = db.session.scalar(select(Cadre).where(Cadre.code == "XY00100"))
        pk, version, unit = cadre.id, cadre.version, cadre.org_unit_id
    login(client, "admin")
    form = {"code": "XY00100", "name": "第一次修改", "gender": "男", "org_unit": str(unit),
            "post_category": "乡镇党政副职", "status": "在职", "expected_version": str(version)}
    client.post(f"/cadres/edit/{pk}", data=form)
    stale = dict(form, name="过期的修改")
    response = client.post(f"/cadres/edit/{pk}", data=stale, follow_redirects=True)
    assert "已被他人修改" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Cadre, pk).name == "第一次修改"


def test_audit_log_records_before_and_after(client, app):
    from app.models import AuditLog

    with app.app_context():
        cadre = db.session.scalar(select(Cadre).where(Cadre.code == "XY00101"))
        old_name = cadre.name
        cadre.name = "审计测试"
        db.session.commit()
        row = db.session.scalar(select(AuditLog).where(AuditLog.table_name == "cadre",
                                                       AuditLog.row_id == str(cadre.id),
                                                       AuditLog.action == "update").order_by(AuditLog.id.desc()))
        assert old_name in row.old_values and "审计测试" in row.new_values



def test_session_cookie_expires(client):
    response = client.get("/login/")
    cookie = response.headers.get("Set-Cookie", "")
    assert "Expires=" in cookie and "HttpOnly" in cookie


def test_passwords_are_hashed_with_scrypt_outside_the_suite(app):
    """Production and development hash with scrypt; only the suite's own config trades it for a
    cheap hash, and the user service follows whichever the configuration names."""
    import config
    from app.models import AppUser

    assert config.Config.FAB_PASSWORD_HASH_METHOD == "scrypt"
    assert config.ProductionConfig.FAB_PASSWORD_HASH_METHOD == "scrypt"
    with app.app_context():
        stored = db.session.scalar(select(AppUser.password).where(AppUser.username == "admin"))
    assert stored.startswith(app.config["FAB_PASSWORD_HASH_METHOD"] + "$")
