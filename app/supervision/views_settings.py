"""督查督办 settings: 时限规则 (13710 rules) and 工作日历 (holidays and 调休 working days).

Admins write, supervisors read (app/security/roles.py). A rule change applies to items
assigned afterwards: deadlines are computed once, at 交办.
"""

from __future__ import annotations

import datetime as dt

from flask import request
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy import select
from wtforms import BooleanField, SelectField
from wtforms.validators import DataRequired, Length, NumberRange

from app.extensions import db
from app.models import TimeLimitRule, WorkCalendarDay
from app.supervision.setup import DAY_KINDS, check_day, check_rule
from app.web.modelview import ScopedModelView

WEEKDAYS = "一二三四五六日"


def yes_no(value) -> str:
    return "是" if value else "否"


RULE_LABELS = {
    "name": "规则名称", "acknowledge_days": "签收部署（天）", "first_report_days": "首次反馈（天）",
    "complete_days": "办结期限（天）", "complete_months": "办结期限（月）", "report_interval_days": "定期反馈间隔（天）",
    "working_days": "按工作日计算", "long_term": "长期事项（人工设定期限）", "active": "启用",
}
RULE_HELP = {
    "acknowledge_days": "13710 的“1”：当天签收部署填 1",
    "first_report_days": "13710 的“3”：3 天内首次反馈",
    "complete_days": "13710 的“7”：普通事项 7 天内办结；按月计算时填 0",
    "complete_months": "13710 的“1”：重大复杂事项 1 个月内办结；按天计算时填 0",
    "report_interval_days": "长期事项每隔多少天反馈一次",
    "working_days": "勾选后期限按工作日历跳过节假日、计入调休上班日",
    "long_term": "长期事项由督查员人工设定办结期限",
}


class TimeLimitRuleView(ScopedModelView):
    """时限规则: the days of each 13710 milestone per item type."""

    route_base = "/timelimitrules"
    datamodel = SQLAInterface(TimeLimitRule)
    class_permission_name = "TimeLimitRule"
    list_title = "时限规则"
    show_title = "时限规则详情"
    add_title = "新增时限规则"
    edit_title = "修改时限规则"
    unit_filter = False
    label_columns = RULE_LABELS
    description_columns = RULE_HELP
    list_columns = ["name", "acknowledge_days", "first_report_days", "complete_days", "complete_months",
                    "report_interval_days", "working_days", "long_term", "active"]
    show_columns = add_columns = edit_columns = list_columns
    search_columns = ["name", "active", "long_term"]
    order_columns = ["name"]
    base_order = ("id", "asc")
    formatters_columns = {"working_days": yes_no, "long_term": yes_no, "active": yes_no}
    _days = [NumberRange(min=0, max=366, message="请填写 0–366 之间的整数")]
    validators_columns = {
        "name": [DataRequired(message="请填写规则名称"), Length(max=50)],
        "acknowledge_days": _days, "first_report_days": _days, "complete_days": _days,
        "complete_months": [NumberRange(min=0, max=24, message="请填写 0–24 之间的整数")],
        "report_interval_days": [NumberRange(min=1, max=366, message="请填写 1–366 之间的整数")],
    }
    export_columns = list_columns
    # unchecked is a valid answer: FAB would otherwise require the non-null booleans
    add_form_extra_fields = edit_form_extra_fields = {
        name: BooleanField(RULE_LABELS[name], description=RULE_HELP.get(name, ""))
        for name in ("working_days", "long_term", "active")
    }

    def pre_add(self, item):
        check_rule(item)

    def pre_update(self, item):
        check_rule(item)


class CalendarYearFilter(BaseFilter):
    """?year=YYYY narrows the calendar to one year."""

    name = "按年份"

    def apply(self, query, value):
        year = (request.args.get("year") or "").strip()
        return query.where(WorkCalendarDay.year == int(year)) if year.isdigit() else query


class WorkCalendarView(ScopedModelView):
    """工作日历: the holidays and make-up working days the working-day deadlines use."""

    route_base = "/workcalendar"
    datamodel = SQLAInterface(WorkCalendarDay)
    class_permission_name = "WorkCalendar"
    list_title = "工作日历"
    show_title = "日历详情"
    add_title = "新增日历日期"
    edit_title = "修改日历日期"
    unit_filter = False
    list_template = "supervision/calendar_list.html"
    label_columns = {"day": "日期", "weekday": "星期", "kind": "类型", "year": "年份", "note": "说明"}
    list_columns = ["day", "kind", "year", "note"]
    show_columns = list_columns
    add_columns = edit_columns = ["day", "kind", "note"]
    search_columns = ["day", "kind", "year", "note"]
    order_columns = ["day", "kind", "year"]
    base_order = ("day", "asc")
    base_filters = [["year", CalendarYearFilter, lambda: None]]
    formatters_columns = {
        "kind": lambda k: DAY_KINDS.get(k, k),
        "day": lambda d: f"{d.isoformat()}（星期{WEEKDAYS[d.weekday()]}）" if isinstance(d, dt.date) else d,
    }
    add_form_extra_fields = edit_form_extra_fields = {
        "kind": SelectField("类型", choices=list(DAY_KINDS.items()), widget=Select2Widget(),
                            description="法定节假日不计工作日；调休上班的周末计为工作日"),
    }
    validators_columns = {"day": [DataRequired(message="请填写日期")], "note": [Length(max=50)]}
    export_columns = ["day", "kind", "year", "note"]

    def render_template(self, template, **kwargs):
        years = db.session.scalars(select(WorkCalendarDay.year).distinct().order_by(WorkCalendarDay.year)).all()
        return super().render_template(template, years=years, **kwargs)

    def pre_add(self, item):
        check_day(item)

    def pre_update(self, item):
        check_day(item)


