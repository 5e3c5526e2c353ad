"""The landing page: 我的待办 for whoever has one, the leaders' dashboard for a leader."""

from __future__ import annotations

from flask import current_app, redirect, url_for
from flask_appbuilder import IndexView, expose

from app.security.scope import request_user

# Where a logged-in user lands, first that the user may open: (resource, endpoint). A leader
# lands on 领导看板 (their 我的待办 — whistled appeals to assign — is one click away).
LANDINGS = (("Todo", "TodoView.index"), ("Profile", "DashboardView.index"))
LEADER_LANDINGS = (("Profile", "DashboardView.index"), ("Todo", "TodoView.index"))


class HomeView(IndexView):
    """The landing page: a logged-in user goes straight to 我的待办 (counts per kind, then the
    items); a leader to 领导看板; anyone else sees who they are."""

    index_template = "home.html"

    @expose("/")
    def index(self):
        user = request_user()
        if user is not None:
            from app.security.roles import LEADER

            sm = current_app.appbuilder.sm
            leader = LEADER in {role.name for role in getattr(user, "roles", None) or []}
            for resource, endpoint in LEADER_LANDINGS if leader else LANDINGS:
                if sm.has_access("can_read", resource) and endpoint in current_app.view_functions:
                    return redirect(url_for(endpoint))
        return super().index()
