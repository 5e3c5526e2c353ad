"""Looking rows up by a long list of keys (an import's codes)."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db

# PostgreSQL takes at most 65,535 parameters in one statement: an import of 150,000 cadres
# looked its codes up with one IN (...) of 150,000 and failed ("number of parameters must be
# between 0 and 65535"). Chunks of 10,000 stay far below that on every database.
CHUNK = 10_000


def chunked(items: list, size: int = CHUNK):
    """`items` in consecutive slices of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def rows_by_key(column, keys) -> dict:
    """The rows of `column`'s entity whose `column` is one of `keys`, keyed by that value."""
    entity = column.class_
    keys = list(dict.fromkeys(keys))
    found = {}
    for part in chunked(keys):
        stmt = select(entity).where(column.in_(part))
        found.update((getattr(row, column.key), row) for row in db.session.scalars(stmt))
    return found
