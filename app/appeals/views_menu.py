"""The 诉求办理 menu: the screens of views*.py under one category (called by menu.register)."""

from __future__ import annotations

CATEGORY = "诉求办理"


def register_screens(appbuilder) -> None:
    from app.appeals.views import AppealView
    from app.appeals.views_figures import AppealFiguresView
    from app.appeals.views_queues import AppealDispatchView, AppealReportView, AppealTodoView, AppealWhistleView
    from app.appeals.views_settings import AppealCategoryView, AppealTimeLimitView, LeaderChargeView

    menu = [
        (AppealReportView, "上报诉求", "fa-bullhorn"),
        (AppealTodoView, "诉求待办", "fa-inbox"),
        (AppealView, "诉求清单", "fa-list"),
        (AppealDispatchView, "分派队列", "fa-random"),
        (AppealWhistleView, "吹哨队列", "fa-bell"),
        (AppealFiguresView, "诉求办理统计", "fa-chart-pie"),
        (AppealCategoryView, "高频事项目录", "fa-book"),
        (AppealTimeLimitView, "诉求时限", "fa-stopwatch"),
        (LeaderChargeView, "分管领导", "fa-user-tie"),
    ]
    for view, name, icon in menu:
        appbuilder.add_view(view, name, icon=icon, category=CATEGORY, label=name, category_label=CATEGORY,
                            category_icon="fa-comments")
