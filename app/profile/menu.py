"""The profile domain's screens and APIs in the menu: called by app/views.py."""

from __future__ import annotations


def register(appbuilder) -> None:
    """The 干部特写 menu: comparison and dashboard (profiles themselves open from lists)."""
    from app.profile.views import DashboardView, ProfileView

    category = "干部特写"
    appbuilder.add_view(DashboardView, "领导看板", icon="fa-tachometer-alt", category=category,
                        label="领导看板", category_label=category, category_icon="fa-user-tie")
    appbuilder.add_view(ProfileView, "干部特写对比", href="/cadre-profile/compare", icon="fa-columns",
                        category=category, label="干部特写对比", category_label=category)
