"""Heavy reads on a streaming replica (READ_DATABASE_URL), everything else on the primary.

With READ_DATABASE_URL set, the report screens of REPORT_ENDPOINTS (and every list's export)
read from the replica during their view function (GET only): the session's get_bind
(RoutingSession) sends a statement there while the request's flag is on, except writes
(a flush, INSERT / UPDATE / DELETE) and reads of the accounts, roles and permissions (ab_*),
which always go to the primary. Everything else, and the security hooks before a view, read
the primary.

A report falls back to the primary, with no error shown, when
- its user wrote something in the last READ_AFTER_WRITE_SECONDS (the time of the last request
  of the browser session that wrote, kept in the Flask session: the user sees their own write);
- the replica cannot be reached, or lags more than READ_MAX_LAG_SECONDS (a probe, cached for
  READ_PROBE_SECONDS in each process);
- a statement fails on the replica (the view runs again on the primary, once);
- the report first had to bring its kept cells up to date (functions marked `on_primary`:
  app/appeals/cells.refresh, app/party/structure.refresh_cells write on the primary, and if
  they wrote anything the rest of the request reads the primary, which has those cells).

Without READ_DATABASE_URL nothing here acts: the flag is never set.
"""

from __future__ import annotations

import functools
import logging
import time

from flask import current_app, g, has_request_context, request, session
from flask_sqlalchemy.session import Session
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.util import find_tables

log = logging.getLogger(__name__)

# The report screens that read the replica (besides every "<View>.export").
REPORT_ENDPOINTS = frozenset({
    "DashboardView.index",                 # 领导看板
    "BoardView.index",                     # 督查看板
    "AppealFiguresView.index",             # 诉求办理统计
    "AppealFiguresView.export",
    "PartyStructureView.structure",        # 结构分析
    "PartyStructureView.structure_json",
    "PartyStructureView.structure_xlsx",
})

# On the replica: 0 when everything received is replayed, else the age of the last replayed
# transaction (NULL on a server that is not a standby: not used).
LAG_SQL = ("SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
           "ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END")

WRITTEN_AT = "_wrote_at"  # Flask session key: when this browser session last wrote
_READS = "_replica_reads"  # g: this request's statements go to the replica
_UPKEEP = "_replica_upkeep"  # g: inside an on_primary function
_UPKEEP_WROTE = "_replica_upkeep_wrote"
_USER_WROTE = "_replica_user_wrote"
_WRITES = ("INSERT", "UPDATE", "DELETE", "MERGE")

_engines: dict[str, Engine] = {}
_probes: dict[str, tuple[float, bool]] = {}


def read_url(app=None) -> str | None:
    url = (app or current_app).config.get("READ_DATABASE_URL")
    if url and url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url or None


def _engine(url: str) -> Engine:
    engine = _engines.get(url)
    if engine is None:
        engine = _engines[url] = create_engine(url, pool_pre_ping=True, connect_args={
            "connect_timeout": 2, "options": "-c jit=off -c default_transaction_read_only=on"})
    return engine


def forget(url: str | None = None) -> None:
    """Drop the cached probes and engines (of `url`, or all): the next report probes afresh."""
    for key in [url] if url else list(_engines):
        _probes.pop(key, None)
        engine = _engines.pop(key, None)
        if engine is not None:
            engine.dispose()
    if not url:
        _probes.clear()


def lag_seconds(url: str) -> float | None:
    """The replica's replay lag in seconds; None when it cannot be reached or is no standby."""
    try:
        with _engine(url).connect() as conn:
            lag = conn.execute(text(LAG_SQL)).scalar()
    except Exception as exc:  # down, refusing, starting: the primary reads
        log.debug("replica probe failed: %s", exc)
        return None
    return None if lag is None else float(lag)


def usable(url: str) -> bool:
    """Whether the replica answers and lags at most READ_MAX_LAG_SECONDS (probed at most once
    every READ_PROBE_SECONDS in this process)."""
    now = time.monotonic()
    probed = _probes.get(url)
    if probed is not None and now - probed[0] < current_app.config.get("READ_PROBE_SECONDS", 1.0):
        return probed[1]
    lag = lag_seconds(url)
    ok = lag is not None and lag <= current_app.config.get("READ_MAX_LAG_SECONDS", 10)
    if probed is None or probed[1] != ok:  # logged when it changes, not at every probe
        if ok:
            log.info("read replica in use (lag %.1f s)", lag)
        else:
            log.warning("read replica left for the primary: %s",
                        "unreachable or not a standby" if lag is None else f"lag {lag:.1f} s")
    _probes[url] = (now, ok)
    return ok


def _mark_down(url: str) -> None:
    _probes[url] = (time.monotonic(), False)


def wrote_recently() -> bool:
    written = session.get(WRITTEN_AT)
    return written is not None and time.time() - written < current_app.config.get("READ_AFTER_WRITE_SECONDS", 5)


def reading_replica() -> bool:
    """Whether this request's statements go to the replica now."""
    return has_request_context() and bool(g.get(_READS))


class RoutingSession(Session):
    """Flask-SQLAlchemy's session, sending a report's reads to the replica."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if (bind is None and reading_replica() and not self._flushing and not _is_write(clause)
                and not _reads_security(mapper, clause)):
            url = read_url()
            if url:
                return _engine(url)
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


def _reads_security(mapper, clause) -> bool:
    """Whether a statement reads the accounts, roles or permissions (FAB's ab_* tables): those
    always come from the primary, so a revoked right or a locked account holds at once, not
    after the replica's lag (the permission check of a routed view runs inside it)."""
    tables = []
    if mapper is not None:
        tables.append(getattr(mapper, "persist_selectable", None))
    if clause is not None and hasattr(clause, "_from_objects"):
        tables += find_tables(clause, include_joins=True, include_aliases=True)
    return any(getattr(getattr(t, "element", t), "name", "").startswith("ab_") for t in tables if t is not None)


def _is_write(clause) -> bool:
    if clause is None:
        return False
    if getattr(clause, "is_dml", False):
        return True
    sql = getattr(clause, "text", None)
    return isinstance(sql, str) and sql.lstrip()[:6].upper().startswith(_WRITES)


def on_primary(func):
    """Mark a function that writes before a report reads (bringing kept cells up to date): in a
    request reading the replica it runs on the primary; if it wrote anything, the rest of the
    request reads the primary too (the replica has not those rows yet)."""

    @functools.wraps(func)
    def run(*args, **kwargs):
        if not reading_replica():
            return func(*args, **kwargs)
        g.pop(_UPKEEP_WROTE, None)
        setattr(g, _READS, False)
        setattr(g, _UPKEEP, True)
        try:
            return func(*args, **kwargs)
        finally:
            setattr(g, _UPKEEP, False)
            setattr(g, _READS, not g.pop(_UPKEEP_WROTE, False))

    return run


def _note_writes(conn, cursor, statement, parameters, context, executemany) -> None:
    """A statement that changed rows during a request (with a replica configured): the request
    wrote (or its report's upkeep did)."""
    if not has_request_context() or not statement.lstrip()[:6].upper().startswith(_WRITES):
        return
    if not current_app.config.get("READ_DATABASE_URL") or cursor.rowcount == 0:
        return
    setattr(g, _UPKEEP_WROTE if g.get(_UPKEEP) else _USER_WROTE, True)


def _routed(view):
    """A report view: on the replica when it may, once more on the primary when it fails there."""

    @functools.wraps(view)
    def run(*args, **kwargs):
        url = read_url()
        if not url or request.method not in ("GET", "HEAD") or wrote_recently() or not usable(url):
            return view(*args, **kwargs)
        setattr(g, _READS, True)
        try:
            return view(*args, **kwargs)
        except DBAPIError as exc:
            log.warning("a report failed on the read replica, made again on the primary: %s",
                        str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            _mark_down(url)
            db = current_app.extensions["sqlalchemy"]
            try:
                db.session.rollback()
            except Exception:
                db.session.invalidate()
            setattr(g, _READS, False)
            return view(*args, **kwargs)
        finally:
            setattr(g, _READS, False)

    return run


def init_app(app) -> None:
    """Route the report endpoints (call after every view is registered). The routing acts only
    while READ_DATABASE_URL is set (read at each request)."""
    for endpoint, view in list(app.view_functions.items()):
        if endpoint in REPORT_ENDPOINTS or endpoint.endswith(".export"):
            app.view_functions[endpoint] = _routed(view)
    if not event.contains(Engine, "after_cursor_execute", _note_writes):
        event.listen(Engine, "after_cursor_execute", _note_writes)

    @app.after_request
    def _remember_write(response):
        if g.pop(_USER_WROTE, False):
            session[WRITTEN_AT] = time.time()
        return response
