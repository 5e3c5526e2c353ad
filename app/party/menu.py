"""The party domain's screens and APIs in the menu (called by app/views.py): 党员管理."""

from __future__ import annotations


def register(appbuilder) -> None:
    from app.party.api import register_apis
    from app.party.views import CATEGORY, PartyMemberView, PartyOrgView
    from app.party.views_instructions import register_instructions
    from app.party.web import PartyStructureView

    for view, name, icon in ((PartyMemberView, "党员名册", "fa-user-friends"), (PartyOrgView, "党组织", "fa-flag"),
                             (PartyStructureView, "党员结构分析", "fa-chart-pie")):
        appbuilder.add_view(view, name, icon=icon, category=CATEGORY, label=name, category_label=CATEGORY)
    register_apis(appbuilder)
    register_instructions(appbuilder)  # 精准指挥: 工作指令, 收到的工作指令, 支部联支部 (branch instr)
