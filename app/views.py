"""register_views(): every screen and API, each domain registering its own."""

from __future__ import annotations


def register_views(appbuilder) -> None:
    """Register every screen and API, grouped by menu (the menu order follows the calls)."""
    from app.appeals import menu as appeals
    from app.evaluation import menu as evaluation
    from app.jobs import menu as jobs
    from app.org import menu as org
    from app.profile import menu as profile
    from app.supervision import menu as supervision
    from app.voting import menu as voting
    from app.web.lookup import LookupView

    org.register(appbuilder)
    appbuilder.add_view_no_menu(LookupView)
    evaluation.register(appbuilder)
    voting.register(appbuilder)
    supervision.register(appbuilder)
    appeals.register(appbuilder)
    profile.register(appbuilder)
    jobs.register(appbuilder)
