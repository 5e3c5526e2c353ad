"""Small SQL expression helpers shared by the domains' set-based queries."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement


class plain(ColumnElement):
    """A column's value without its column's type affinity, for comparisons in aggregates.

    SQLite gives a DATE or DATETIME column NUMERIC affinity and so tries to turn the other
    side of every comparison ('1995-12-05') into a number, row after row; `+column` has no
    affinity and compares the stored text as it is (the same order: ISO dates and times sort
    as text). Across the 300,000 members of the 结构分析 that is a third of the query's time
    (docs/PERFORMANCE.md). Other databases compare typed values and get the column itself.
    Never use it where an index on the column should be searched: `+column` hides it."""

    inherit_cache = True

    def __init__(self, column):
        self.column = column
        self.type = column.type


@compiles(plain)
def _plain(element, compiler, **kw):
    return compiler.process(element.column, **kw)


@compiles(plain, "sqlite")
def _plain_sqlite(element, compiler, **kw):
    return "+" + compiler.process(element.column, **kw)


def child_key(path, prefix_len: int, dialect: str):
    """SQL: the id (as text) of the child unit whose subtree holds the unit at `path`, given
    the parent's path ("/1/12/") length; '' for the parent itself. String functions on the
    path, no join: rolling thousands of per-unit rows up into a unit's children stays cheap."""
    rest = func.substr(path, prefix_len + 1)
    if dialect == "postgresql":
        return func.split_part(rest, "/", 1)
    return func.substr(rest, 1, func.instr(rest, "/") - 1)


def conflict_insert(table, dialect: str):
    """INSERT for `table` with ON CONFLICT (… DO NOTHING / DO UPDATE) on the database in use:
    PostgreSQL's or SQLite's insert construct (both speak the same clause)."""
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)
