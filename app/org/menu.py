"""The org domain's screens and APIs in the menu: called by app/views.py."""

from __future__ import annotations

from app.org.api import register_apis
from app.org.views import AuditLogView, CadreView, CareerRecordView, OrgUnitView, RewardPenaltyView

# (menu name, category, view, icon): the one place every screen is registered.
MENU = [
    (CadreView, "干部名册", "干部管理", "fa-id-card"),
    (CareerRecordView, "任职经历", "干部管理", "fa-briefcase"),
    (RewardPenaltyView, "奖惩情况", "干部管理", "fa-award"),
    (OrgUnitView, "组织机构", "系统管理", "fa-sitemap"),
    (AuditLogView, "审计日志", "系统管理", "fa-list-alt"),
]


def register(appbuilder) -> None:
    """The 干部管理 and 系统管理 screens and the org REST API."""
    for view, name, category, icon in MENU:
        appbuilder.add_view(view, name, icon=icon, category=category, label=name, category_label=category)
    register_apis(appbuilder)
