"""Helpers of the reliability tests: databases of their own, the golden register, real
gunicorn processes on loopback, and a small cookie/CSRF-aware HTTP client (stdlib only)."""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.conftest import PASSWORD, ROOT, pg_url, run_cli
from tests.golden_pure import golden_dir

CASE = golden_dir()
SECRET = "reliability-test-secret-key-0123456789abcdefghijkl"
STAFF_USER = "rel_kpy"
ADMIN_USER = "admin"  # the name the API tests use: api_token(client, "admin")
CADRE_HEADER = "干部编号,姓名,性别,出生日期,单位编码,职务,职级,岗位类别"


# ---------------------------------------------------------------- databases


@contextlib.contextmanager
def new_database(tmp_dir: Path, sqlite_only: bool = False):
    """An empty database of its own: a SQLite file, or a new PostgreSQL database when
    TEST_DATABASE_URL is set (dropped afterwards)."""
    base = None if sqlite_only else pg_url()
    if not base:
        yield "sqlite:///" + str(tmp_dir / f"rel_{uuid.uuid4().hex[:8]}.db")
        return
    name = "rel_" + uuid.uuid4().hex[:12]
    admin = re.sub(r"/[^/]*$", "/postgres", base)
    engine = create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield re.sub(r"/[^/]*$", f"/{name}", base)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def scalar(url: str, sql: str, **params):
    """One value read straight from the database (no app involved)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()
    finally:
        engine.dispose()


def rows(url: str, sql: str, **params) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def scheme_name() -> str:
    return json.loads((CASE / "scheme.json").read_text(encoding="utf-8"))["name"]


def golden_register(url: str, period: str | None = "2021-Y", users: bool = True) -> None:
    """setup + the golden units, cadres and scheme; a period opened (评分中); two accounts."""
    run_cli(url, "setup")
    run_cli(url, "org", "import", str(CASE / "units.csv"))
    run_cli(url, "cadres", "import", str(CASE / "cadres.csv"))
    run_cli(url, "eval", "import-scheme", str(CASE / "scheme.json"))
    if period:
        run_cli(url, "eval", "create-period", "--code", period, "--name", f"{period}考核", "--kind", "年度",
                "--scheme", scheme_name(), "--start", f"{period[:4]}-01-01", "--end", f"{period[:4]}-12-31")
        run_cli(url, "eval", "open", "--period", period)
    if users:
        run_cli(url, "users", "create", "--username", STAFF_USER, "--password", PASSWORD,
                "--role", "组织部考评员", "--unit", "C0")
        run_cli(url, "users", "create", "--username", ADMIN_USER, "--password", PASSWORD,
                "--role", "系统管理员", "--unit", "C0")


def cli_env(url: str) -> dict:
    env = dict(os.environ)
    env.update(DATABASE_URL=url, APP_CONFIG="config.ProductionConfig", SECRET_KEY=SECRET, PYTHONPATH=str(ROOT))
    env.pop("TEST_DATABASE_URL", None)
    return env


def start_cli(url: str, *args: str, log: Path) -> subprocess.Popen:
    """`flask --app run ARGS` started in the background (to be killed by the test)."""
    out = log.open("wb")
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "run", *args], cwd=ROOT, env=cli_env(url),
                            stdout=out, stderr=subprocess.STDOUT)


def run_task(url: str, task: str, *args) -> dict:
    """One of tests/reliability_tasks.py in a subprocess against url (one process start)."""
    result = subprocess.run([sys.executable, "-m", "tests.reliability_tasks", task, *map(str, args)], cwd=ROOT,
                            env=cli_env(url), capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise AssertionError(f"task {task} failed:\n{result.stdout}\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


_TEMPLATES: dict[str, str] = {}


def golden_template(config, tmp_root: Path) -> str:
    """The URL of a database holding the golden register (built once per test run and
    database kind); clone it with clone_database()."""
    kind = "pg" if pg_url() else "sqlite"
    if kind in _TEMPLATES:
        return _TEMPLATES[kind]
    if kind == "sqlite":
        return _shared_sqlite_template(tmp_root)
    name = "rel_tmpl_" + uuid.uuid4().hex[:10]
    admin_url = re.sub(r"/[^/]*$", "/postgres", pg_url())

    def admin(sql: str) -> None:  # a fresh connection each time: PostgreSQL may have been restarted
        engine = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with engine.connect() as conn:
            conn.execute(text(sql))
        engine.dispose()

    admin(f'CREATE DATABASE "{name}"')

    def drop():
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    config.add_cleanup(drop)
    url = re.sub(r"/[^/]*$", f"/{name}", pg_url())
    run_task(url, "template", CASE, PASSWORD, STAFF_USER, ADMIN_USER)
    _TEMPLATES[kind] = url
    return url


def _shared_sqlite_template(tmp_root: Path) -> str:
    """The SQLite golden template, built once per run: under pytest-xdist the workers share it
    in the run's temporary directory (each worker's own is a popen-gwN inside it), the first
    to need it building it while the others wait; clones only read it."""
    import fcntl

    shared = bool(os.environ.get("PYTEST_XDIST_WORKER"))
    root = tmp_root.parent / "golden" if shared else tmp_root
    root.mkdir(parents=True, exist_ok=True)
    path, ready = root / "rel_template.db", root / "rel_template.ready"
    url = "sqlite:///" + str(path)
    with open(root / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (shared and ready.is_file()):
                for stale in (ready, path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                    stale.unlink(missing_ok=True)
                run_task(url, "template", CASE, PASSWORD, STAFF_USER, ADMIN_USER)
                ready.touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    _TEMPLATES["sqlite"] = url
    return url


@contextlib.contextmanager
def clone_database(template_url: str, tmp_dir: Path):
    """A copy of the template database of its own (file copy / CREATE DATABASE ... TEMPLATE)."""
    if template_url.startswith("sqlite"):
        import sqlite3

        target = tmp_dir / f"rel_{uuid.uuid4().hex[:8]}.db"
        src, dst = sqlite3.connect(template_url[len("sqlite:///"):]), sqlite3.connect(str(target))
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        yield "sqlite:///" + str(target)
        return
    name = "rel_" + uuid.uuid4().hex[:12]
    template_name = template_url.rsplit("/", 1)[1]
    engine = create_engine(re.sub(r"/[^/]*$", "/postgres", template_url), isolation_level="AUTOCOMMIT",
                           poolclass=NullPool)
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"'))
    try:
        yield re.sub(r"/[^/]*$", f"/{name}", template_url)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def in_process_app(url: str):
    """A second app object in this process, on its own (already migrated) database."""
    from app import create_app
    from config import TestConfig

    class Cfg(TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    return create_app(Cfg)


# ---------------------------------------------------------------- gunicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """A real gunicorn (2 workers) on a free loopback port, against one database."""

    def __init__(self, url: str, log: Path, workers: int = 2, timeout: int = 60, extra_args: tuple = ()):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            [str(gunicorn), "--workers", str(workers), "--bind", f"127.0.0.1:{self.port}", "--timeout", str(timeout),
             "--graceful-timeout", "5", *extra_args, "run:app"],
            cwd=ROOT, env=cli_env(url), stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.log = log

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("gunicorn exited:\n" + self.log.read_text(errors="replace")[-3000:])
            try:
                with urllib.request.urlopen(self.base + "/login/", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.2)
        raise AssertionError("gunicorn did not answer in time:\n" + self.log.read_text(errors="replace")[-3000:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # our own process group (start_new_session)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self._log.close()

    def __enter__(self):
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """A cookie-keeping HTTP client for one user (loopback only); answers (status, text)."""

    CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

    def __init__(self, base: str, timeout: float = 60, jar: http.cookiejar.CookieJar | None = None):
        assert base.startswith("http://127.0.0.1:"), "reliability traffic goes to loopback only"
        self.base = base
        self.timeout = timeout
        self.jar = jar if jar is not None else http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)
        self.requests = 0
        self.headers = {}  # of the last answer (a redirect's Location)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        self.requests += 1
        try:
            with self.opener.open(req, timeout=self.timeout) as resp:
                self.headers = resp.headers
                return resp.status, resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as err:
            self.headers = err.headers
            return err.code, err.read().decode("utf-8", "replace")

    def get(self, path: str):
        return self.request("GET", path)

    def csrf(self, path: str) -> str:
        status, html = self.get(path)
        assert status == 200, (path, status, html[:500])
        match = self.CSRF.search(html)
        assert match, f"no csrf token on {path}"
        return match.group(1)

    def post_form(self, path: str, fields: dict, form_page: str | None = None):
        fields = dict(fields)
        fields.setdefault("csrf_token", self.csrf(form_page or path))
        body = urllib.parse.urlencode(fields).encode()
        return self.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})

    def login(self, username: str, password: str = PASSWORD) -> None:
        status, body = self.post_form("/login/", {"username": username, "password": password})
        assert status == 302, f"login of {username} failed: {status} {body[:300]}"

    def upload(self, path: str, filename: str, data: bytes):
        token = self.csrf(path)
        boundary = "----rel" + uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'.encode(),
            (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
             "Content-Type: text/csv\r\n\r\n").encode() + data + b"\r\n",
            f"--{boundary}--\r\n".encode(),
        ]
        return self.request("POST", path, b"".join(parts), {"Content-Type": f"multipart/form-data; boundary={boundary}"})

    def json(self, method: str, path: str, payload=None, token: str | None = None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        body = None if payload is None else json.dumps(payload).encode()
        status, raw = self.request(method, path, body, headers)
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw

    def api_token(self, username: str, password: str = PASSWORD) -> str:
        status, body = self.json("POST", "/api/v1/security/login",
                                 {"username": username, "password": password, "provider": "db", "refresh": False})
        assert status == 200, body
        return body["access_token"]


# ---------------------------------------------------------------- generated files


def big_cadre_file(path: Path, count: int, unit_code: str, prefix: str = "K") -> Path:
    """A cadre import file of `count` valid rows in one unit."""
    lines = [CADRE_HEADER]
    cats = ("乡镇党政正职", "乡镇党政副职", "县直部门正职", "村党组织书记")
    for i in range(count):
        lines.append(f"{prefix}{i:06d},压测{i},{'男' if i % 3 else '女'},19{70 + i % 25}-0{1 + i % 9}-1{i % 9},"
                     f"{unit_code},职务{i % 7},正科,{cats[i % 4]}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
