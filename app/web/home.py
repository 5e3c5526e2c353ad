"""The landing page."""

from __future__ import annotations

from flask_appbuilder import IndexView


class HomeView(IndexView):
    """The landing page: what this user may do, in Chinese."""

    index_template = "home.html"
