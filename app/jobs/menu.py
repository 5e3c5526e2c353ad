"""The jobs domain's screens and APIs in the menu: called by app/views.py."""

from __future__ import annotations


def register(appbuilder) -> None:
    from app.jobs.views import JobView

    appbuilder.add_view(JobView, "我的后台任务", icon="fa-hourglass-half", label="我的后台任务")
