"""Screens of the 特写: a cadre's profile (HTML, JSON, Word), the comparison and the leader's dashboard.

FAB does not scope custom views: every cadre is loaded through the row scope (out of scope
answers 404, like a missing row), and results of unpublished periods are shown only to users
holding Result.can_read_unpublished.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import abort, flash, g, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access

from app.core.errors import DomainError
from app.models import OrgUnit
from app.profile.assemble import build_profile, narrative
from app.profile.conclusions import save_conclusion
from app.profile.dashboard import GRADES, breadcrumbs, cached_dashboard, chart_data, visible_periods
from app.profile.word import render_docx
from app.security.scope import current_scope_prefix
from app.web.context import acting_user, can, chosen_unit
from app.web.downloads import DOCX_MIME, download

COMPARE_MIN, COMPARE_MAX = 2, 4
RESOURCE = "Profile"


def list_url(path: str, **params) -> str:
    """A list screen's address with its filters (FAB `_flt_<op>_<column>` and `unit=`)."""
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{path}?{query}" if query else path


def _can(permission: str, resource: str = "Result") -> bool:
    return can(permission.removeprefix("can_"), resource)


def _chart_series(profile: dict) -> dict:
    """What profile_charts.js draws for one cadre: latest dimensions and the whole trend."""
    return {
        "name": profile["cadre"]["name"],
        "dimensions": [{"name": d["name"], "score": d["score"], "peer_avg": d["peer_avg"]}
                       for d in profile["dimensions"]],
        "trend": [{"period": h["period"]["name"], "end": h["period"]["end_date"], "composite": h["composite"],
                   "groups": h["group_scores"]} for h in profile["history"]],
        "groups": profile["groups"],
    }


class ProfileView(BaseView):
    """一个干部一个特写: the profile page, its JSON and Word forms, and the side-by-side comparison."""

    route_base = "/cadre-profile"
    class_permission_name = RESOURCE
    method_permission_name = {"show": "read", "json": "read", "docx": "read", "compare": "read",
                              "conclusion": "read"}
    default_view = "compare"

    def _profile(self, cadre_id: int) -> dict:
        profile = build_profile(cadre_id, user=acting_user(), unpublished=_can("can_read_unpublished"))
        if profile is None:
            abort(404)
        return profile

    def _page(self, profile: dict, status: int = 200, draft: str | None = None):
        can_write = _can("can_write") and profile["latest"] is not None
        own = getattr(g.user, "cadre_id", None) == profile["cadre"]["id"]
        page = self.render_template(
            "profile/profile.html", p=profile, sentences=narrative(profile), chart=_chart_series(profile),
            can_write=can_write and not own, draft=draft, list_url=list_url,
        )
        return page, status

    @expose("/<int:id>")
    @has_access
    def show(self, id):
        return self._page(self._profile(id))

    @expose("/<int:id>/json")
    @has_access
    def json(self, id):
        profile = self._profile(id)
        return jsonify({**profile, "narrative": narrative(profile)})

    @expose("/<int:id>/docx")
    @has_access
    def docx(self, id):
        profile = self._profile(id)
        return download(render_docx(profile, narrative(profile)), DOCX_MIME,
                        f"{profile['cadre']['name']}同志考察材料.docx")

    @expose("/<int:id>/conclusion", methods=["POST"])
    @has_access
    def conclusion(self, id):
        profile = self._profile(id)
        if not _can("can_write"):
            abort(403)
        visible = {h["period"]["id"] for h in profile["history"]}
        period_id = request.form.get("period_id", type=int)
        if period_id not in visible:
            abort(404)
        text = request.form.get("text", "")
        try:
            save_conclusion(id, period_id, text, request.form.get("version"), user=acting_user())
        except DomainError as exc:
            flash(exc.message, "danger")
            return self._page(self._profile(id), status=exc.status, draft=text)
        flash("考评结论已保存", "success")
        return redirect(url_for(".show", id=id) + "#conclusion")

    @expose("/compare")
    @has_access
    def compare(self):
        raw = ",".join(request.args.getlist("ids"))
        parts = [p.strip() for p in raw.split(",") if p.strip()]
        if any(not p.isdigit() for p in parts):
            abort(400)
        ids = list(dict.fromkeys(int(p) for p in parts))
        if not ids:
            return self._compare_page([], None)
        if not COMPARE_MIN <= len(ids) <= COMPARE_MAX:
            return self._compare_page([], f"请选择 {COMPARE_MIN}–{COMPARE_MAX} 名干部进行对比（当前 {len(ids)} 名）", 400)
        return self._compare_page([self._profile(i) for i in ids], None)

    def _compare_page(self, profiles: list[dict], error: str | None, status: int = 200):
        page = self.render_template(
            "profile/compare.html", profiles=profiles, error=error,
            sentences={p["cadre"]["id"]: narrative(p) for p in profiles},
            chart={"series": [_chart_series(p) for p in profiles]}, dims=_dimension_names(profiles),
        )
        return page, status


def _dimension_names(profiles: list[dict]) -> list[str]:
    names: list[str] = []
    for p in profiles:
        names += [d["name"] for d in p["dimensions"] if d["name"] not in names]
    return names


class DashboardView(BaseView):
    """领导看板: one period's figures over the user's scope, or a unit inside it."""

    route_base = "/dashboard"
    class_permission_name = RESOURCE
    method_permission_name = {"index": "read"}
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        unit = self._unit()
        periods = visible_periods(_can("can_read_unpublished"))
        code = request.args.get("period")
        period = next((p for p in periods if p["code"] == code), None) if code else (periods[0] if periods else None)
        if code and period is None:
            abort(404)
        data = cached_dashboard(unit.path if unit else current_scope_prefix(), period, periods)
        return self.render_template(
            "profile/dashboard.html", unit=unit, periods=periods, period=period, d=data, grades=GRADES,
            list_url=list_url, unit_code=unit.code if unit else None,
            crumbs=breadcrumbs(unit, current_scope_prefix()),
            chart={**chart_data(data), "drill": {"url": url_for(".index"), "period": period["code"] if period else None,
                                                  "unit": unit.code if unit else None,
                                                  "tasks": "/tasks/list/", "results": "/results/list/"}},
        )

    def _unit(self) -> OrgUnit | None:
        return chosen_unit()
