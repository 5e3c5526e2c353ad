"""The landing page: 我的待办 for whoever has one, the leaders' dashboard for a leader."""

from __future__ import annotations

from flask import current_app, redirect, url_for
from flask_appbuilder import IndexView, expose

from app.security.scope import request_user

# Where a logged-in user lands, first that the user may open: (resource, endpoint).
LANDINGS = (("Todo", "TodoView.index"), ("Profile", "DashboardView.index"))


class HomeView(IndexView):
    """The landing page: a logged-in user goes straight to 我的待办 (counts per kind, then the
    items); a leader, who has nothing to do there, to 领导看板; anyone else sees who they are."""

    index_template = "home.html"

    @expose("/")
    def index(self):
        if request_user() is not None:
            sm = current_app.appbuilder.sm
            for resource, endpoint in LANDINGS:
                if sm.has_access("can_read", resource) and endpoint in current_app.view_functions:
                    return redirect(url_for(endpoint))
        return super().index()
