"""诉求办理统计 (/appeals/figures/): the figures of PLATFORM.md §2 for any unit subtree in the
user's scope and a date range (appeals received in it), the 微事不出格 level distribution,
local ECharts, each child unit's row one click down, and the .xlsx/.csv export."""

from __future__ import annotations

import datetime as dt

from flask import abort, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access

from app.appeals import services as S
from app.appeals.exports import table_file
from app.appeals.models import RESOLVED_LEVELS
from app.appeals.web import send_table
from app.core.errors import DomainError
from app.security.roles import APPEAL_SCREEN_METHODS
from app.security.scope import prefix_of
from app.web.context import acting_user, chosen_unit
from app.web.context import request_now as now

COLUMNS = (  # (key, label) of a unit's figures, as the table and the export show them
    ("received", "受理量"), ("sign_rate", "签收及时率"), ("reply_rate", "按时答复率"),
    ("satisfaction_rate", "满意率"), ("reopen_rate", "重办率"), ("refusals", "退单数"),
)
RATES = {"sign_rate", "reply_rate", "satisfaction_rate", "reopen_rate"}


def pct(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def value_of(row: dict, key: str):
    """A figure of a services.figures row: a count, or a rate (fraction or None)."""
    if key in RATES:
        return (row.get(key.removesuffix("_rate")) or {}).get("rate")
    return row.get(key, 0)


def text_of(row: dict) -> dict:
    return {key: pct(value_of(row, key)) if key in RATES else value_of(row, key) for key, _ in COLUMNS}


def date_range() -> tuple[dt.date, dt.date]:
    """?date_from, ?date_to (default: this year up to today); a bad date is a Chinese refusal."""
    today = now().date()

    def read(name, default):
        raw = (request.args.get(name) or "").strip()
        if not raw:
            return default
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            raise DomainError("日期格式不正确，应为 年-月-日（如 2026-03-01）")

    start, end = read("date_from", dt.date(today.year, 1, 1)), read("date_to", today)
    if end < start:
        raise DomainError("结束日期不能早于开始日期")
    return start, end


class AppealFiguresView(BaseView):
    """诉求办理统计 with drill-down to child units."""

    route_base = "/appeals/figures"
    class_permission_name = "AppealFigures"
    method_permission_name = APPEAL_SCREEN_METHODS
    default_view = "index"

    def _unit(self):
        unit = chosen_unit()  # ?unit=CODE inside the scope (404 outside), else the user's own unit
        if unit is None:
            abort(404)
        return unit

    def _figures(self, user, unit):
        error = None
        try:
            start, end = date_range()
        except DomainError as exc:
            error = exc.message
            today = now().date()
            start, end = dt.date(today.year, 1, 1), today
        return S.figures(user, unit.id, start, end, now()), start, end, error

    @expose("/")
    @has_access
    def index(self):
        user = acting_user()
        unit = self._unit()
        figures, start, end, error = self._figures(user, unit)
        span = {"date_from": start.isoformat(), "date_to": end.isoformat()}
        children = []
        for child in figures["children"]:
            children.append({**child, "text": text_of(child),
                             "url": url_for("AppealFiguresView.index", unit=child["code"], **span)})
        levels_total = sum(figures["levels"].get(level, 0) for level in RESOLVED_LEVELS)
        levels = [{"name": level, "value": figures["levels"].get(level, 0),
                   "share": pct(figures["levels"].get(level, 0) / levels_total if levels_total else None)}
                  for level in RESOLVED_LEVELS]
        cards = [{"label": label, "value": text_of(figures)[key]} for key, label in COLUMNS]
        cards.append({"label": "小事不出村", "value": pct(
            (figures["levels"].get("网格", 0) + figures["levels"].get("村社区", 0)) / levels_total
            if levels_total else None), "note": "网格和村（社区）办结占比"})
        chart = {
            "levels": [{"name": x["name"], "value": x["value"]} for x in levels],
            "children": [{"name": c["name"], "received": c.get("received", 0), "url": c["url"],
                          "satisfaction": _percent_number(value_of(c, "satisfaction_rate")),
                          "reply_on_time": _percent_number(value_of(c, "reply_rate"))} for c in children],
        }
        return self.render_template(
            "appeals/figures.html", title="诉求办理统计", unit=unit, crumbs=_crumbs(unit, user, span),
            date_from=span["date_from"], date_to=span["date_to"], cards=cards, levels=levels, columns=COLUMNS,
            children=children, chart_data=chart, error=error,
            export_url=lambda fmt: url_for("AppealFiguresView.export", fmt=fmt, unit=unit.code, **span),
            list_url=url_for("AppealView.index", unit=unit.code, **span),
        )

    @expose("/export/<fmt>")
    @has_access
    def export(self, fmt):
        if fmt not in ("csv", "xlsx"):
            abort(404)
        user = acting_user()
        unit = self._unit()
        figures, start, end, error = self._figures(user, unit)
        if error:
            abort(400)
        header = ["单位编码", "单位名称", *(label for _, label in COLUMNS), *(f"办结于{lv}" for lv in RESOLVED_LEVELS)]
        rows = []
        for row, code, name in ((figures, unit.code, f"{unit.name}（合计）"),
                                *((c, c["code"], c["name"]) for c in figures["children"])):
            text = text_of(row)
            rows.append([code, name, *(text[key] for key, _ in COLUMNS),
                         *(row.get("levels", {}).get(lv, 0) for lv in RESOLVED_LEVELS)])
        return send_table(table_file(header, rows, fmt, "诉求办理统计"), fmt,
                          f"诉求办理统计_{unit.name}_{start.isoformat()}_{end.isoformat()}")


def _percent_number(value):
    return None if value is None else round(value * 100, 1)


def _crumbs(unit, user, span) -> list[dict]:
    """The unit's ancestors inside the user's scope, down to the unit."""
    prefix = prefix_of(user)
    chain, node = [], unit
    while node is not None:
        if prefix is not None and not node.path.startswith(prefix):
            break
        chain.append({"name": node.name, "url": url_for("AppealFiguresView.index", unit=node.code, **span)})
        node = node.parent
    return list(reversed(chain))
