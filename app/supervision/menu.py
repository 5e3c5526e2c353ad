"""The supervision domain's screens and APIs in the menu: called by app/views.py."""

from __future__ import annotations

from app.web.todo import TodoGroup, register_provider


def register(appbuilder) -> None:
    """The 督查督办 menu, its settings screens, the board, the to-do page and the APIs."""
    from app.supervision.api import register_supervision_apis
    from app.supervision.views import CATEGORY, TaskView
    from app.supervision.views_board import BoardView, TodoView
    from app.supervision.views_findings import FindingView, InspectionView
    from app.supervision.views_settings import TimeLimitRuleView, WorkCalendarView

    menu = [
        (TodoView, "我的待办", "fa-tasks"),
        (TaskView, "督查事项", "fa-clipboard-list"),
        (InspectionView, "督查检查", "fa-search-location"),
        (FindingView, "督查发现问题", "fa-exclamation-triangle"),
        (BoardView, "督查总览", "fa-chart-bar"),
        (TimeLimitRuleView, "时限规则", "fa-stopwatch"),
        (WorkCalendarView, "工作日历", "fa-calendar-alt"),
    ]
    for view, name, icon in menu:
        appbuilder.add_view(view, name, icon=icon, category=CATEGORY, label=name, category_label=CATEGORY,
                            category_icon="fa-flag")
    register_supervision_apis(appbuilder)
    register_provider("supervision", provider)


def provider(user, now):
    """What waits on `user` in 督查督办, per kind (the navigation bar's count; the to-do page
    shows the rows themselves)."""
    from app.supervision import tasks as S
    from app.supervision.views_board import TODO_SECTIONS

    lists = S.todo(user, now)
    return [TodoGroup(key=key, title=title, count=len(lists[key]), url=f"/todo/#todo-{key}", hint=hint)
            for key, title, hint in TODO_SECTIONS if lists.get(key)]
