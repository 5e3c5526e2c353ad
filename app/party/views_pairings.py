"""支部联支部 screens: the pairings of the user's scope (either branch's unit), a new pairing, a
pairing's page with its activity log, logging an activity, ending a pairing."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access

from app.core.errors import DomainError, NotFound
from app.party import pairings as P
from app.web.context import acting_user, can


def _version() -> int | None:
    raw = (request.form.get("expected_version") or "").strip()
    return int(raw) if raw.isdigit() else None


class PairingView(BaseView):
    """支部联支部: pairings of two branches and their activities."""

    route_base = "/party/pairings"
    class_permission_name = "Pairing"
    method_permission_name = {"list": "read", "show": "read", "add": "write", "edit": "write",
                              "activity": "write", "delete_activity": "write"}
    default_view = "list"

    def render(self, template, **kwargs):
        return self.render_template(template, can=can, **kwargs)

    def _pairing(self, pk):
        try:
            return P.get_pairing(pk, acting_user())
        except NotFound:
            abort(404)

    @expose("/list/")
    @has_access
    def list(self):
        return self.render("party/pairing_list.html", title="支部联支部", items=P.list_pairings(acting_user()))

    @expose("/add/", methods=["GET", "POST"])
    @has_access
    def add(self):
        values = request.form.to_dict() if request.method == "POST" else {}
        error = None
        if request.method == "POST":
            try:
                pairing = P.create_pairing(values.get("branch_a"), values.get("branch_b"), values.get("started_on"),
                                           values.get("goal"), user=acting_user())
                flash("结对已建立", "success")
                return redirect(url_for("PairingView.show", pk=pairing.id))
            except DomainError as exc:
                error = exc.message
        return self.render("party/pairing_form.html", title="新建支部结对", values=values, error=error,
                           branches=P.branch_choices(acting_user()))

    @expose("/<int:pk>")
    @has_access
    def show(self, pk):
        pairing = self._pairing(pk)
        return self.render("party/pairing_show.html", title=str(pairing), p=pairing)

    @expose("/<int:pk>/edit", methods=["POST"])
    @has_access
    def edit(self, pk):
        self._pairing(pk)
        active = request.form.get("active")
        try:
            P.update_pairing(pk, user=acting_user(), started_on=request.form.get("started_on") or None,
                             goal=request.form.get("goal"), active=None if active is None else active == "1",
                             expected_version=_version())
            flash("结对信息已保存", "success")
        except DomainError as exc:
            if isinstance(exc, NotFound):
                abort(404)
            flash(exc.message, "danger")
        return redirect(url_for("PairingView.show", pk=pk))

    @expose("/<int:pk>/activity", methods=["POST"])
    @has_access
    def activity(self, pk):
        self._pairing(pk)
        form = request.form
        try:
            P.add_activity(pk, form.get("held_on"), form.get("topic"), form.get("participants"), form.get("outcome"),
                           user=acting_user())
            flash("活动已记录", "success")
        except DomainError as exc:
            if isinstance(exc, NotFound):
                abort(404)
            flash(exc.message, "danger")
        return redirect(url_for("PairingView.show", pk=pk))

    @expose("/<int:pk>/activity/<int:aid>/delete", methods=["POST"])
    @has_access
    def delete_activity(self, pk, aid):
        self._pairing(pk)
        try:
            P.delete_activity(pk, aid, user=acting_user())
            flash("活动记录已删除", "success")
        except DomainError as exc:
            if isinstance(exc, NotFound):
                abort(404)
            flash(exc.message, "danger")
        return redirect(url_for("PairingView.show", pk=pk))
