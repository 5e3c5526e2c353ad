"""Application factory: bind extensions, register views and commands. Builds nothing at import."""

from __future__ import annotations

import secrets

from flask import Flask, current_app, g, render_template, request, session
from flask_appbuilder import AppBuilder

from app.extensions import db, migrate

CSP = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


def create_app(config: str | type = "config.Config") -> Flask:
    """Build the app for a config class (or its dotted path)."""
    app = Flask(__name__, instance_relative_config=False)
    app.config.from_object(config if not isinstance(config, type) else config())
    from app.security.manager import password_complexity

    app.config["FAB_PASSWORD_COMPLEXITY_VALIDATOR"] = password_complexity
    _sqlite_pragmas(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(__import__("pathlib").Path(__file__).parent.parent / "migrations"))
    from app.core import audit  # noqa: F401  (registers the audit listener)

    with app.app_context():
        appbuilder = AppBuilder(update_perms=False)
        appbuilder.init_app(app, db.session)
        from app.views import register_views

        register_views(appbuilder)

    from app.security import revocation, throttle

    revocation.init_app(app)
    throttle.init_app(app)  # before CSRF: a login POST without a token counts too
    _trusted_proxies(app)
    _csrf(app)
    _guard_request_values(app)
    app.add_url_rule("/favicon.ico", "favicon", lambda: ("", 204))
    _security_headers(app)
    _error_pages(app)
    _session_teardown(app)
    from app.cli import register_cli

    register_cli(app)
    from app.core import replica

    replica.init_app(app)  # after every view: the report screens read the replica when configured
    _freeze_startup_objects()
    return app


def _freeze_startup_objects() -> None:
    """Keep the objects of start-up (FAB's views, SQLAlchemy's mappers, the templates'
    environment: about 220,000) out of the cyclic garbage collector's full passes.

    They live as long as the process; without this, every full pass walks them all, and a
    request's garbage collection took 3.6-4.4 ms on average instead of about 1 ms
    (measured on the results list, docs/PERFORMANCE.md)."""
    import gc

    gc.collect()
    gc.freeze()


def _trusted_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies, the client's address and scheme come from
    their X-Forwarded-* headers (never trusted otherwise: a client could forge them)."""
    hops = app.config.get("TRUSTED_PROXIES", 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def _sqlite_pragmas(app: Flask) -> None:
    """WAL and a busy timeout for the embedded SQLite database; no JIT on PostgreSQL."""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options["connect_args"] = {"timeout": 30}
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        @event.listens_for(Engine, "connect")
        def _pragmas(dbapi_conn, _record):  # pragma: no cover - exercised by every test
            if type(dbapi_conn).__module__.startswith("sqlite3"):
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA busy_timeout=30000")
                cur.close()
    elif app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # PostgreSQL's JIT compiles a plan whose estimated cost is high (a count over a city's
        # rows): 40-100 ms of compiling for a query that runs in a few. Short screen queries
        # never gain from it (measured, docs/PERFORMANCE.md).
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        connect_args = dict(options.get("connect_args") or {})
        connect_args.setdefault("options", "-c jit=off")
        options["connect_args"] = connect_args
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


MAX_KEY = 2**31 - 1  # keys are INTEGER columns (32-bit on PostgreSQL): a larger number names no row


def _guard_request_values(app: Flask) -> None:
    """A key out of range answers 404, and a NUL character or a malformed API query 400,
    before any database call.

    Otherwise the database driver raises (OverflowError on SQLite, DataError or ValueError on
    PostgreSQL; prison's ValueError for an API `q` such as `-1e+16`) and the user sees a 500.
    """
    import prison
    from flask import abort

    from app.core import safe_json

    @app.before_request
    def _guard():
        if request.method in ("POST", "PUT", "PATCH") and request.is_json:
            try:  # before anything parses it: json.loads recurses (RecursionError) and takes NaN
                safe_json.loads(request.get_data(cache=True))
            except safe_json.JsonRefused as exc:
                return {"message": f"请求体不是有效的 JSON：{exc.message}"}, 400
            except ValueError:  # bad syntax or encoding: each endpoint answers it as before
                pass
        if _has_nul(list(request.args.items(multi=True))) or _has_nul(_body_values()):
            abort(400)  # PostgreSQL cannot hold or compare text with NUL; no real input has one
        for value in (request.view_args or {}).values():
            text = str(value)
            if text.lstrip("-").isdigit() and abs(int(text)) > MAX_KEY:
                abort(404)
        q = request.args.get("q") if request.path.startswith("/api/") else None
        if q:
            try:
                args = prison.loads(q)
            except Exception:
                abort(400)
            if isinstance(args, dict) and any(
                isinstance(args.get(k), int) and not 0 <= args[k] <= MAX_KEY for k in ("page", "page_size")
            ):
                abort(400)


def _body_values():
    if request.method not in ("POST", "PUT", "PATCH"):
        return None
    if request.is_json:
        return request.get_json(silent=True)
    return list(request.form.items(multi=True))


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_has_nul(v) for v in value)
    return False


def _csrf(app: Flask) -> None:
    """CSRF on every form POST; the JWT-only REST API is exempt (it takes no cookie auth)."""
    from flask_appbuilder.api import BaseApi
    from flask_wtf.csrf import CSRFProtect

    csrf = CSRFProtect(app)
    for view in app.appbuilder.baseviews:
        if isinstance(view, BaseApi) and view.blueprint is not None:
            csrf.exempt(view.blueprint)


def _security_headers(app: Flask) -> None:
    @app.before_request
    def _nonce():
        g.csp_nonce = secrets.token_urlsafe(16)
        session.permanent = True  # sessions expire after PERMANENT_SESSION_LIFETIME of inactivity

    from app.security import accounts

    @app.before_request
    def _accounts():
        from flask_login import current_user

        return accounts.enforce(current_user)

    # A Jinja global (not a context variable) so that FAB's imported macros see it too.
    app.jinja_env.globals["csp_nonce"] = lambda: g.get("csp_nonce", "")
    from app.web.menu_cache import menu_html

    app.jinja_env.globals["menu_html"] = menu_html
    from app.web.modelview import list_cells

    app.jinja_env.globals["list_cells"] = list_cells
    from app.core import formats
    from app.web.context import person

    # {{ x.created_at|dt }} → 2026-12-05 05:11; {{ x.deadline|day }} → 2026-12-05 (app/core/formats.py)
    app.jinja_env.filters["dt"] = formats.datetime_text
    app.jinja_env.filters["day"] = formats.date_text
    app.jinja_env.filters["due"] = formats.deadline_text
    app.jinja_env.filters["person"] = person  # a user by name and unit, not by login name

    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP.format(nonce=g.get("csp_nonce", "")))
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.path.startswith(("/api/", "/lookup/")) or response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        return response


# Rendered without templates: context processors would touch the database that is down.
DATABASE_DOWN_PAGE = (
    '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>503 服务暂时不可用</title></head>'
    '<body style="font-family:sans-serif;margin:48px"><h2>503 — 服务暂时不可用（数据库无法连接）</h2>'
    "<p>系统会自动重新连接数据库，请稍后刷新页面。如问题持续，请联系系统管理员。</p>"
    '<p><a href="/">返回首页</a></p></body></html>'
)


def _session_teardown(app: Flask) -> None:
    """End the request's session without letting a connection lost mid-request escape.

    Registered after Flask-SQLAlchemy's own teardown, so it runs first. When PostgreSQL goes
    away during a request, the session's closing ROLLBACK fails too; raised from teardown that
    would turn the clean 503 into a bare 500 from the WSGI server.
    """
    import contextlib

    @app.teardown_appcontext
    def _close_session(_exc):
        try:
            db.session.remove()
        except Exception:
            with contextlib.suppress(Exception):
                db.session.invalidate()  # the connection is dead: the pool opens a new one
            db.session.registry.clear()


def _error_pages(app: Flask) -> None:
    messages = {
        400: "请求无效",
        403: "您没有权限执行此操作",
        404: "页面或记录不存在",
        405: "不支持的请求方法",
        413: "上传的文件过大",
        429: "请求过于频繁，请稍后再试",
        500: "服务器内部错误，请稍后再试或联系管理员",
        503: "服务暂时不可用（数据库无法连接），请稍后再试",
    }

    def handler(exc):
        return render(getattr(exc, "code", 500) or 500)

    def render(code):
        if request.path.startswith("/api/"):
            return {"message": messages.get(code, "错误")}, code
        appbuilder = current_app.appbuilder
        page = render_template(
            "error.html", code=code, message=messages.get(code, "错误"),
            base_template=appbuilder.base_template, appbuilder=appbuilder,
        )
        return page, code

    for code in messages:
        app.register_error_handler(code, handler)

    from sqlalchemy.exc import OperationalError

    def database_down(exc):
        """A lost or locked database: a clean 503 page; the pool reconnects by itself (pre-ping)."""
        try:
            db.session.rollback()
        except Exception:  # the connection may be gone; the session is discarded at teardown
            pass
        if request.path.startswith("/api/"):
            return {"message": messages[503]}, 503
        return DATABASE_DOWN_PAGE, 503, {"Content-Type": "text/html; charset=utf-8"}

    app.register_error_handler(OperationalError, database_down)
