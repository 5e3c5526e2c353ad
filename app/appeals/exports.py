"""The 诉求 exports: the appeal list and the figures as .xlsx/.csv, formula-safe
(app/core/tabular.py), built from rows whose citizens' names and phones are already masked
(PLATFORM.md §5: app/appeals/web.appeal_row). Pure files: the screens send them."""

from __future__ import annotations

from app.core.errors import DomainError
from app.core.tabular import write_csv, write_xlsx

EXPORT_LIMIT = 50_000
APPEAL_COLUMNS = (
    ("number", "诉求编号"), ("source", "来源"), ("external_number", "工单编号"), ("received_at", "受理时间"),
    ("category", "诉求类别"), ("content", "诉求内容"), ("place", "发生地"), ("citizen", "诉求人"),
    ("phone", "联系电话"), ("urgency", "紧急程度"), ("state_label", "状态"), ("handler", "当前办理单位"),
    ("sign_due", "签收期限"), ("sign_light_label", "签收灯色"), ("reply_due", "答复期限"),
    ("reply_light_label", "答复灯色"), ("replied_at", "答复时间"), ("closed_at", "办结时间"),
    ("resolved_level", "办结层级"), ("reopen_count", "重办次数"),
)


def table_file(header: list[str], rows: list[list], fmt: str, title: str) -> bytes:
    """The table as a .csv (UTF-8 with BOM) or .xlsx file."""
    if fmt == "csv":
        return write_csv(header, rows)
    if fmt == "xlsx":
        return write_xlsx(header, rows, title)
    raise DomainError("导出格式应为 csv 或 xlsx")


def appeals_file(rows: list[dict], fmt: str) -> bytes:
    """The appeal list (rows of web.appeal_row: masked) as a file."""
    return table_file([label for _, label in APPEAL_COLUMNS], [[row[key] for key, _ in APPEAL_COLUMNS] for row in rows],
                      fmt, "诉求清单")
