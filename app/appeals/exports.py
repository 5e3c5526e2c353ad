"""The 诉求 exports: the appeal list and the figures as .xlsx/.csv, formula-safe
(app/core/tabular.py) with citizens' names and phones masked (PLATFORM.md §5)."""

from __future__ import annotations

import datetime as dt

from flask import abort
from sqlalchemy.orm import lazyload

from app.appeals.models import Appeal
from app.core.tabular import write_csv, write_xlsx
from app.extensions import db
from app.web.downloads import CSV_MIME, XLSX_MIME, download

EXPORT_LIMIT = 50_000
APPEAL_COLUMNS = (
    ("number", "诉求编号"), ("source", "来源"), ("external_number", "工单编号"), ("received_at", "受理时间"),
    ("category", "诉求类别"), ("content", "诉求内容"), ("place", "发生地"), ("citizen", "诉求人"),
    ("phone", "联系电话"), ("urgency", "紧急程度"), ("state_label", "状态"), ("handler", "当前办理单位"),
    ("sign_due", "签收期限"), ("sign_light_label", "签收灯色"), ("reply_due", "答复期限"),
    ("reply_light_label", "答复灯色"), ("replied_at", "答复时间"), ("closed_at", "办结时间"),
    ("resolved_level", "办结层级"), ("reopen_count", "重办次数"),
)


def appeal_table(stmt, at: dt.datetime) -> tuple[list[str], list[list]]:
    """(header, rows) of the appeals of `stmt` (already scoped and filtered), masked."""
    from app.appeals.web import appeal_row

    items = db.session.scalars(stmt.options(lazyload(Appeal.assignments)).limit(EXPORT_LIMIT)).all()
    rows = []
    for appeal in items:
        row = appeal_row(appeal, at)
        rows.append([row[key] for key, _ in APPEAL_COLUMNS])
    return [label for _, label in APPEAL_COLUMNS], rows


def export_appeals(stmt, fmt: str, at: dt.datetime):
    header, rows = appeal_table(stmt, at)
    return _send(header, rows, fmt, "诉求清单")


def export_figures(header: list[str], rows: list[list], fmt: str, title: str):
    return _send(header, rows, fmt, title)


def _send(header, rows, fmt: str, name: str):
    if fmt == "csv":
        return download(write_csv(header, rows), CSV_MIME, f"{name}.csv")
    if fmt == "xlsx":
        return download(write_xlsx(header, rows, name), XLSX_MIME, f"{name}.xlsx")
    abort(404)
