"""我的待办 (/todo/) and 督查总览 (/supervision/board/): custom pages over the services' to-do
lists and the set-based board figures of app/supervision_board."""

from __future__ import annotations

from flask import current_app
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access

from app.models import SEVERITIES, OrgUnit
from app.supervision import deadlines
from app.supervision import tasks as S
from app.supervision.access import is_liaison
from app.supervision.board import build_board, url
from app.supervision.reminders import LEVEL_LABELS
from app.supervision.web import LIGHT_SHORT, datetime_text, due_text
from app.web.context import acting_user, chosen_unit
from app.web.context import request_now as now
from app.web.todo import providers as todo_providers
from app.web.todo import remember as remember_todo_count

TODO_SECTIONS = [
    ("returned", "被退回", "督查员退办、须重新报送办结的事项"),
    ("to_sign", "待签收", "已交办给本单位、尚未签收的事项"),
    ("reports_due", "待反馈", "首次反馈、定期反馈或办结报告 24 小时内到期或已超期"),
    ("extensions", "待审批延期", "承办单位提出的延期申请"),
    ("reviews", "待审核办结", "主办单位已报送办结、等待审核的事项"),
    ("reminders", "催办", "未读的催办通知"),
    ("findings_to_rectify", "待整改", "本单位待整改或整改中的问题"),
    ("findings_to_verify", "待验收", "已报送整改、等待验收销号的问题"),
]


class TodoView(BaseView):
    """我的待办: what waits on the user, each item linking to where it is done."""

    route_base = "/todo"
    class_permission_name = "Todo"
    method_permission_name = {"index": "read"}
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        user = acting_user()
        lists = S.todo(user, now())
        liaison = is_liaison(user) and current_app.appbuilder.sm.has_access("can_handle", "Task")
        sections = [
            {"key": key, "title": title, "hint": hint, "rows": lists[key]}
            for key, title, hint in TODO_SECTIONS
            if lists[key] or key in _role_sections(user)
        ]
        others = [group for name, provider in todo_providers().items() if name != "supervision"
                  for group in provider(user, now())]
        total = sum(len(v) for v in lists.values()) + sum(group.count for group in others)
        remember_todo_count(user, total)  # the navigation bar's badge agrees with this page
        return self.render_template(
            "supervision/todo.html", title="我的待办", sections=sections, liaison=liaison,
            total=total, level_labels=LEVEL_LABELS, dt=datetime_text, due=due_text,
            milestone_labels=S.MILESTONE_LABELS, other_groups=others,
            summary=[(s["key"], s["title"], len(s["rows"]), f"#todo-{s['key']}") for s in sections]
            + [(g.key, g.title, g.count, f"#todo-{g.key}") for g in others],
        )


def _role_sections(user) -> set[str]:
    """The sections a role is shown even when empty."""
    if is_liaison(user):
        return {"to_sign", "reports_due", "reminders", "findings_to_rectify"}
    sm = current_app.appbuilder.sm
    if sm.has_access("can_write", "Task"):
        return {"extensions", "reviews", "reminders", "findings_to_verify"}
    return set()


class BoardView(BaseView):
    """督查总览 of one unit's subtree (the user's unit, or ?unit=CODE inside the scope)."""

    route_base = "/supervision/board"
    class_permission_name = "SupervisionBoard"
    method_permission_name = {"index": "read"}
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        user = acting_user()
        unit = self._unit(user)
        if unit is None:
            return self.render_template("supervision/board.html", title="督查总览", unit=None, board=None)
        board = build_board(unit, user, now())
        links = _links(unit, board)
        return self.render_template(
            "supervision/board.html", title="督查总览", unit=unit, board=board, links=links,
            chart_data=_chart_data(board, links), severities=SEVERITIES, light_short=LIGHT_SHORT,
            at=datetime_text(now()),
        )

    def _unit(self, user) -> OrgUnit | None:
        return chosen_unit()


def _links(unit: OrgUnit, board: dict) -> dict:
    """The filtered list behind every figure."""
    tasks, findings = "/tasks/list/", "/findings/list/"
    code = unit.code
    per_unit = {}
    for row in board["units"]:
        # a sub-unit's row counts what its subtree leads; the unit's own row what it leads itself
        exact = {"exact": "1"} if row["own"] else {}
        lead = {"lead": row["code"], **exact}
        at = {"unit": row["code"], **exact}
        per_unit[row["code"]] = {
            "open": url(tasks, state="open", **lead),
            "red": url(tasks, light=deadlines.RED, **lead),
            "yellow": url(tasks, light=deadlines.YELLOW, **lead),
            "completed": url(tasks, state="completed", **lead),
            "ontime": url(tasks, state="completed", completion="ontime", **lead),
            "findings_open": url(findings, state="open", **at),
            "findings_overdue": url(findings, state="open", overdue="1", **at),
        }
    return {
        "tasks": url(tasks, unit=code),
        "open": url(tasks, unit=code, state="open"),
        "lights": {light: url(tasks, unit=code, light=light) for light in (deadlines.GREEN, deadlines.YELLOW,
                                                                            deadlines.RED)},
        "review": url(tasks, unit=code, state="pending_review"),
        "completed": url(tasks, unit=code, state="completed"),
        "ontime": url(tasks, unit=code, state="completed", completion="ontime"),
        "per_unit": per_unit,
        "findings": url(findings, unit=code),
        "findings_open": url(findings, unit=code, state="open"),
        "findings_overdue": url(findings, unit=code, state="open", overdue="1"),
        "findings_reported": url(findings, unit=code, limited="1", reported="1"),
        "findings_ontime": url(findings, unit=code, limited="1", reported="1", overdue="0"),
        "findings_closed": url(findings, unit=code, state="closed"),
        "matrix": {
            category: {s: url(findings, unit=code, category=category, severity=s) for s in SEVERITIES}
            | {"all": url(findings, unit=code, category=category)}
            for category in board["matrix"]["categories"]
        },
        "severity": {s: url(findings, unit=code, severity=s) for s in SEVERITIES},
    }


def _chart_data(board: dict, links: dict) -> dict:
    """The ECharts inputs (plain data; supervision_board.js builds the options)."""
    t = board["tasks"]
    sub_units = [row for row in board["units"] if not row["own"]]
    matrix = board["matrix"]
    return {
        "lights": [
            {"name": LIGHT_SHORT[light], "value": t[light], "url": links["lights"][light], "light": light}
            for light in (deadlines.GREEN, deadlines.YELLOW, deadlines.RED)
        ],
        "units": {
            "names": [row["name"] for row in sub_units],
            "series": [
                {"name": "在办", "key": "open", "values": [row["open"] for row in sub_units],
                 "urls": [links["per_unit"][row["code"]]["open"] for row in sub_units]},
                {"name": "超期（红灯）", "key": "red", "values": [row["red"] for row in sub_units],
                 "urls": [links["per_unit"][row["code"]]["red"] for row in sub_units]},
            ],
        },
        "findings": {
            "categories": matrix["categories"],
            "series": [
                {"name": s, "key": s, "values": [matrix["cells"][c][s] for c in matrix["categories"]],
                 "urls": [links["matrix"][c][s] for c in matrix["categories"]]}
                for s in SEVERITIES
            ],
        },
    }
