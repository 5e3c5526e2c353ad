"""One page of a custom screen's rows, with the total the pager shows."""

from __future__ import annotations

from flask import request
from sqlalchemy import func, select

from app.extensions import db


def page_number() -> int:
    """?page=N (0-based); anything else is the first page."""
    raw = request.args.get("page", "0")
    return int(raw) if raw.isdigit() and len(raw) < 7 else 0


def page_of(stmt, page: int, size: int, scalars: bool = True) -> tuple[int, list]:
    """(total rows of `stmt`, the rows of page `page` of `size`)."""
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    paged = stmt.offset(page * size).limit(size)
    rows = db.session.scalars(paged).all() if scalars else db.session.execute(paged).all()
    return total, rows
