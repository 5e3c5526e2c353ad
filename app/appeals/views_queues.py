"""诉求办理 queues: the 网格员's quick report (phone first), the unit's to-do, the 12345
dispatcher's queue (待分派 and 退单 to rule on) and the 分管领导's whistle queue."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import func, select

from app.appeals import queries as Q
from app.appeals import services as S
from app.appeals.models import URGENCIES, Appeal
from app.appeals.web import PAGE_SIZE, appeal_row, capped_page, categories, form_int, form_text, with_args
from app.core.errors import Conflict, DomainError
from app.extensions import db
from app.security.roles import APPEAL_SCREEN_METHODS
from app.web.context import acting_user
from app.web.context import request_now as now
from app.web.paging import page_number

SHOWN = 10  # rows per to-do section (the rest: the list behind it)


class AppealReportView(BaseView):
    """上报诉求: the 网格员's quick report of an appeal in the own grid (phone-sized)."""

    route_base = "/appeals/report"
    class_permission_name = "AppealReport"
    method_permission_name = APPEAL_SCREEN_METHODS
    default_view = "index"

    @expose("/", methods=["GET", "POST"])
    @has_access
    def index(self):
        user = acting_user()
        kept, error = {}, None
        if request.method == "POST":
            kept = {k: form_text(k) for k in ("category_id", "content", "urgency", "citizen_name", "citizen_phone")}
            try:
                appeal = S.report_from_grid(user=user, category_id=form_int("category_id"), content=kept["content"],
                                  urgency=kept["urgency"] or "一般", citizen_name=kept["citizen_name"] or None,
                                  citizen_phone=kept["citizen_phone"] or None, now=now())
            except Conflict as exc:
                error = exc.message
            except DomainError as exc:
                error = exc.message
            else:
                flash(f"诉求 {appeal.number} 已上报，现由本网格办理中", "success")
                return redirect(url_for("AppealView.show", pk=appeal.id))
        return self.render_template("appeals/report.html", title="上报诉求", unit=getattr(user, "org_unit", None),
                                    categories=categories(), urgencies=URGENCIES, kept=kept, error=error)


class AppealTodoView(BaseView):
    """诉求待办: what waits on the user's unit (待签收, 办理中 near its deadline, 待审核, 待回访;
    the dispatcher's and the 分管领导's queues when they have one)."""

    route_base = "/appeals/todo"
    class_permission_name = "Appeal"
    method_permission_name = APPEAL_SCREEN_METHODS
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        user, at = acting_user(), now()
        found = Q.todo_sections(user, at)
        # Every section's count in one round trip (one scalar subquery each), then its first rows.
        counts = db.session.execute(select(*[
            select(func.count()).select_from(stmt.order_by(None).subquery()).scalar_subquery()
            for _key, _title, _hint, stmt in found])).one() if found else ()
        sections = []
        for (key, title, hint, stmt), count in zip(found, counts):
            rows = db.session.scalars(stmt.order_by(Appeal.reply_deadline, Appeal.id).limit(SHOWN)).all()
            sections.append({"key": key, "title": title, "hint": hint, "count": count,
                             "rows": [appeal_row(a, at) for a in rows], "more": _more(key)})
        return self.render_template("appeals/todo.html", title="诉求待办", unit=getattr(user, "org_unit", None),
                                    sections=[s for s in sections if s["count"] or s["key"] in ("appeal_to_sign", "appeal_due")],
                                    intro="红灯为已超期、黄灯为 24 小时内到期。点击诉求编号进入详情办理。")


def _more(key: str) -> str:
    """The list behind a to-do kind."""
    if key in ("appeal_to_dispatch", "appeal_refusals"):
        return url_for("AppealDispatchView.index")
    if key == "appeal_whistles":
        return url_for("AppealWhistleView.index")
    state = {"appeal_to_sign": "to_sign", "appeal_due": "handling", "appeal_handling": "handling",
             "appeal_reviews": "to_review", "appeal_callbacks": "to_callback"}.get(key)
    return url_for("AppealView.index", state=state) if state else url_for("AppealView.index")


class _Queue(BaseView):
    class_permission_name = "Appeal"
    method_permission_name = APPEAL_SCREEN_METHODS
    default_view = "index"

    def _page(self, title, intro, stmt, empty, suggest=False):
        at = now()
        total, capped, items = capped_page(stmt.order_by(Appeal.received_at, Appeal.id), page_number())
        rows = [appeal_row(a, at) for a in items]
        if suggest:
            for row, unit in zip(rows, Q.suggestions(items)):
                row["suggested"] = unit.name if unit is not None else ""
        return self.render_template(
            "appeals/list.html", title=title, intro=intro, unit=None, rows=rows, suggest=suggest, capped=capped,
            total=total, filters=False, empty=empty, page=page_number(), pages=-(-total // PAGE_SIZE),
            page_url=lambda p: with_args(page=str(p)), args={})


class AppealDispatchView(_Queue):
    """分派队列: the 12345 dispatcher's 待分派 appeals and the refusals (退单) to rule on; each
    appeal's page carries the dispatch form with the catalogue's suggestion preselected."""

    route_base = "/appeals/dispatch"
    class_permission_name = "AppealDispatch"

    @expose("/")
    @has_access
    def index(self):
        stmt = Q.dispatch_queue(acting_user(), now())
        return self._page("分派队列", "热线、来信来访诉求待分派，以及承办单位退单待裁定的诉求。打开诉求后，分派表单已按目录预选建议单位"
                          "（诉求类别的建议部门，或发生地所在乡镇）。", stmt, "暂无待分派或待裁定的诉求。", suggest=True)


class AppealWhistleView(_Queue):
    """吹哨队列: appeals a township whistled to the user as 分管领导, waiting for the lead and
    assisting departments to be named."""

    route_base = "/appeals/whistles"
    class_permission_name = "AppealWhistle"

    @expose("/")
    @has_access
    def index(self):
        return self._page("吹哨队列", "乡镇（街道）吹哨报到本人的诉求：请在诉求详情中从分管部门里指定一个牵头部门和若干协办部门。",
                          Q.whistle_queue(acting_user(), now()), "暂无吹哨到您的诉求。")
