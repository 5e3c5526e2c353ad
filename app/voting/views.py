"""民主测评 screens for staff: the sessions list, a new session, a session's page (ballot,
live turnout, codes, actions) and the codes sheet, shown once when codes are issued."""

from __future__ import annotations

import datetime as dt
import urllib.parse

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access

from app.core.errors import DomainError, NotFound
from app.models import POST_CATEGORIES
from app.voting import rules
from app.voting import sessions as V
from app.web.context import acting_user, can

CATEGORY = "干部考评"


def _flash(exc: DomainError) -> None:
    if isinstance(exc, NotFound):
        abort(404)
    flash(exc.message, "danger")


def _deadline(raw: str | None) -> dt.datetime | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return dt.datetime.fromisoformat(raw.replace(" ", "T"))
    except ValueError:
        raise DomainError("截止时间格式不正确（应为 年-月-日 时:分）")


class VotingSessionView(BaseView):
    """民主测评: sessions of the user's scope, and what staff do with them."""

    route_base = "/voting"
    class_permission_name = "Voting"
    method_permission_name = {
        "list": "read", "show": "read", "turnout": "read",
        "add": "write", "open": "write", "more_codes": "write", "void": "write", "void_unused": "write",
        "end": "write", "record": "write", "close": "write", "delete": "write",
    }
    default_view = "list"

    def render(self, template, **kwargs):
        return self.render_template(template, can=can, **kwargs)

    def _session(self, pk):
        try:
            return V.get_session(pk, acting_user())
        except NotFound:
            abort(404)

    @expose("/list/")
    @has_access
    def list(self):
        items = V.list_sessions(acting_user())
        return self.render("voting/session_list.html", title="民主测评", items=items,
                           turnouts={s.id: V.turnout(s) for s in items})

    @expose("/add/", methods=["GET", "POST"])
    @has_access
    def add(self):
        periods = V.periods_for_new_sessions()
        values = request.form.to_dict() if request.method == "POST" else {}
        error = None
        if request.method == "POST":
            try:
                session = V.create_session(
                    values.get("period"), values.get("group"), values.get("unit"),
                    request.form.getlist("category"), values.get("title"), _deadline(values.get("deadline")),
                    user=acting_user(),
                )
                flash(f"测评活动“{session.title}”已创建（草稿），请核对测评名单后开始测评", "success")
                return redirect(url_for("VotingSessionView.show", pk=session.id))
            except DomainError as exc:
                error = exc.message
        unit = values.get("unit") or ""
        return self.render("voting/session_form.html", title="新建民主测评", periods=periods,
                           groups={p.code: [g.name for g in V.votes_groups(p)] for p in periods},
                           categories=POST_CATEGORIES, values=values, chosen=request.form.getlist("category"),
                           unit=unit, error=error)

    @expose("/<int:pk>")
    @has_access
    def show(self, pk):
        session = self._session(pk)
        lines = V.ballot_lines(session)
        return self.render("voting/session_show.html", title=session.title, s=session, lines=lines,
                           turnout=V.turnout(session), cap=V.cap_of(session, len(lines)),
                           tallies=V.tallies_visible(session), choices=rules.CHOICES,
                           vote_url=request.url_root.rstrip("/") + url_for("VoteView.index"))

    @expose("/<int:pk>/turnout")
    @has_access
    def turnout(self, pk):
        session = self._session(pk)
        return jsonify(state=session.state, state_label=session.state_label, **V.turnout(session))

    def _sheet(self, session, codes: list[str], what: str):
        text = "\n".join(codes) + "\n"
        href = "data:text/plain;charset=utf-8," + urllib.parse.quote(text)
        return self.render("voting/codes_sheet.html", title=f"测评码 · {session.title}", s=session, what=what,
                           codes=[rules.display(c) for c in codes], download_href=href,
                           filename=f"测评码_{session.id}_{dt.datetime.now():%Y%m%d%H%M%S}.txt",
                           vote_url=request.url_root.rstrip("/") + url_for("VoteView.index"),
                           bits=round(rules.code_bits(), 1))

    @expose("/<int:pk>/open", methods=["POST"])
    @has_access
    def open(self, pk):
        session = self._session(pk)
        try:
            session, codes = V.open_session(session.id, request.form.get("codes"),
                                            _deadline(request.form.get("deadline")), user=acting_user())
        except DomainError as exc:
            _flash(exc)
            return redirect(url_for("VotingSessionView.show", pk=pk))
        return self._sheet(session, codes, "开始测评")

    @expose("/<int:pk>/codes", methods=["POST"])
    @has_access
    def more_codes(self, pk):
        session = self._session(pk)
        try:
            session, codes = V.issue_more(session.id, request.form.get("codes"), user=acting_user())
        except DomainError as exc:
            _flash(exc)
            return redirect(url_for("VotingSessionView.show", pk=pk))
        return self._sheet(session, codes, "增发测评码")

    def _act(self, pk, fn, success):
        session = self._session(pk)
        try:
            outcome = fn(session.id)
            flash(success(outcome) if callable(success) else success, "success")
        except DomainError as exc:
            _flash(exc)
        return redirect(url_for("VotingSessionView.show", pk=pk))

    @expose("/<int:pk>/void", methods=["POST"])
    @has_access
    def void(self, pk):
        code = request.form.get("code", "")
        return self._act(pk, lambda sid: V.void_code(sid, code, user=acting_user()), "该测评码已作废")

    @expose("/<int:pk>/void-unused", methods=["POST"])
    @has_access
    def void_unused(self, pk):
        return self._act(pk, lambda sid: V.void_unused(sid, user=acting_user()),
                         lambda n: f"已作废 {n} 个未使用的测评码")

    @expose("/<int:pk>/end", methods=["POST"])
    @has_access
    def end(self, pk):
        return self._act(pk, lambda sid: V.end_session(sid, user=acting_user()), "测评已结束，不能再投票")

    @expose("/<int:pk>/record", methods=["POST"])
    @has_access
    def record(self, pk):
        return self._act(pk, lambda sid: V.record_session(sid, user=acting_user()), _recorded)

    @expose("/<int:pk>/close", methods=["POST"])
    @has_access
    def close(self, pk):
        return self._act(pk, lambda sid: V.close_session(sid, user=acting_user()), _recorded)

    @expose("/<int:pk>/delete", methods=["POST"])
    @has_access
    def delete(self, pk):
        session = self._session(pk)
        try:
            V.delete_draft(session.id, user=acting_user())
            flash("草稿测评活动已删除", "success")
            return redirect(url_for("VotingSessionView.list"))
        except DomainError as exc:
            _flash(exc)
            return redirect(url_for("VotingSessionView.show", pk=pk))


def _recorded(outcome: dict) -> str:
    return (f"测评已结束并计入：{outcome['votes']} 张选票，{outcome['cadres']} 名干部的群众评价票数已写入"
            f"（替换原有票数 {outcome['replaced']} 条），考评结果需重新计算")

