"""Fast loading for the generator: raw executemany (SQLite) or COPY (PostgreSQL) of tuples,
bypassing the ORM (and so the audit listener), in the session's own transaction."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

import click
from sqlalchemy import MetaData, inspect, text

from app.extensions import db

CHUNK = 50_000


def _chunks(rows: Iterable[tuple], size: int) -> Iterator[list[tuple]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


class BulkWriter:
    """Write rows of plain tuples into tables; counts rows and time per table."""

    def __init__(self, echo=click.echo):
        self.echo = echo
        self.dialect = db.engine.dialect.name
        # PostgreSQL: the foreign-key triggers cost one lookup per copied row; the ids are
        # consistent by construction, so a superuser skips them for the bulk copies only.
        self.skip_triggers = self.dialect == "postgresql" and bool(
            db.session.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))
        )
        self.counts: dict[str, int] = {}
        self.seconds: dict[str, float] = {}

    def write(self, table: str, columns: tuple[str, ...], rows: Iterable[tuple], label: str | None = None,
              quiet: bool = False) -> int:
        """Insert every row (streamed in chunks) and commit."""
        start, total = time.perf_counter(), 0
        raw = db.session.connection().connection.driver_connection
        for chunk in _chunks(rows, CHUNK):
            if self.dialect == "postgresql":
                if self.skip_triggers:
                    db.session.execute(text("SET LOCAL session_replication_role = replica"))
                with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in chunk:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" for _ in columns)
                raw.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", chunk)
            total += len(chunk)
            if not quiet and total % (CHUNK * 20) == 0:
                self.echo(f"    {label or table}: {total:,} 行 …")
        db.session.commit()
        elapsed = time.perf_counter() - start
        self.counts[table] = self.counts.get(table, 0) + total
        self.seconds[table] = self.seconds.get(table, 0.0) + elapsed
        rate = total / elapsed if elapsed else 0
        if not quiet:
            self.echo(f"  {label or table}: {total:,} 行，{elapsed:.1f} 秒（{rate:,.0f} 行/秒）")
        return total

    def fix_sequences(self, tables: Iterable[str]) -> None:
        """After explicit ids, move PostgreSQL's id sequences past them."""
        if self.dialect != "postgresql":
            return
        for table in tables:
            db.session.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {table}")
            )
        db.session.commit()


def fast_load_pragmas(on: bool) -> None:
    """SQLite: no fsync and a big cache while generating; back to the app's defaults after."""
    if db.engine.dialect.name != "sqlite":
        return
    if on:
        for pragma in ("synchronous=OFF", "cache_size=-400000", "temp_store=MEMORY"):
            db.session.execute(text(f"PRAGMA {pragma}"))
    else:
        for pragma in ("synchronous=FULL", "cache_size=-2000", "temp_store=DEFAULT"):
            db.session.execute(text(f"PRAGMA {pragma}"))


def analyze() -> None:
    """Refresh the planner's statistics after the load (PostgreSQL would do it by autovacuum later)."""
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        db.session.execute(text("PRAGMA analysis_limit=1000"))
        db.session.execute(text("ANALYZE"))
        db.session.commit()


def is_empty() -> bool:
    """Whether the database holds no unit and no cadre (tables missing count as empty)."""
    names = set(inspect(db.engine).get_table_names())
    for table in ("org_unit", "cadre"):
        if table in names and db.session.execute(text(f"SELECT 1 FROM {table} LIMIT 1")).first():
            return False
    return True


def drop_everything() -> None:
    """Drop every table of the configured database (the migrations rebuild them)."""
    db.session.remove()
    engine = db.engine
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if path and path != ":memory:":  # a SQLite file: deleting it is the fastest drop
        engine.dispose()
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(path + suffix).unlink(missing_ok=True)
        return
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("PRAGMA foreign_keys=OFF"))
        meta = MetaData()
        meta.reflect(bind=conn)
        meta.drop_all(bind=conn)
        if engine.dialect.name == "sqlite":
            conn.execute(text("PRAGMA foreign_keys=ON"))
