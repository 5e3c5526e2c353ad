"""The evaluation domain's screens and APIs in the menu: called by app/views.py."""

from __future__ import annotations


def register(appbuilder) -> None:
    """The 干部考评 menu and the results API."""
    from app.evaluation.api import register_eval_apis
    from app.evaluation.views import PeriodView, ResultUseView, ResultView
    from app.evaluation.views_entry import AdjustmentView, EntryView
    from app.evaluation.views_scheme import SchemeView
    from app.evaluation.views_sheets import ScoreSheetView
    from app.evaluation.web import CATEGORY

    menu = [
        (SchemeView, "考评方案", "fa-sliders-h"),
        (PeriodView, "考评周期", "fa-calendar-alt"),
        (EntryView, "评分录入", "fa-keyboard"),
        (ScoreSheetView, "评分表", "fa-table"),
        (AdjustmentView, "加减分调整", "fa-balance-scale"),
        (ResultView, "考评结果", "fa-trophy"),
        (ResultUseView, "结果运用", "fa-user-check"),
    ]
    for view, name, icon in menu:
        appbuilder.add_view(view, name, icon=icon, category=CATEGORY, label=name, category_label=CATEGORY)
    register_eval_apis(appbuilder)
