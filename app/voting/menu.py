"""The voting domain's screens in the menu (called by app/views.py): 民主测评 under 干部考评,
the public ballot at /vote, and the to-do of sessions waiting on staff (sessions past their
deadline still open; sessions ended whose votes are not yet in the period's counts)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from app.extensions import db
from app.voting.models import VotingSession
from app.voting.sessions import may_run, scope_sessions
from app.web.todo import TodoGroup, TodoItem, register_provider


def register(appbuilder) -> None:
    from app.voting.views import CATEGORY, VotingSessionView
    from app.voting.views_ballot import VoteView

    appbuilder.add_view(VotingSessionView, "民主测评", icon="fa-vote-yea", category=CATEGORY, label="民主测评",
                        category_label=CATEGORY)
    appbuilder.add_view_no_menu(VoteView)
    register_provider("voting", provider)


SHOWN = 5


def provider(user, now: dt.datetime) -> list[TodoGroup]:
    if user is None or not may_run(user):
        return []
    groups = []
    wanted = (
        ("voting_overdue", "民主测评已到截止时间，待结束并计入",
         (VotingSession.state == "open") & VotingSession.deadline.is_not(None) & (VotingSession.deadline < now)),
        ("voting_unrecorded", "民主测评已结束，票数待计入", VotingSession.state == "ended"),
    )
    for key, title, condition in wanted:
        base = scope_sessions(select(VotingSession).where(condition), user)
        count = db.session.scalar(select(func.count()).select_from(base.subquery()))
        if not count:
            continue
        items = [TodoItem(title=s.title, url=f"/voting/{s.id}", due=s.deadline, note=s.state_label)
                 for s in db.session.scalars(base.order_by(VotingSession.id).limit(SHOWN))]
        groups.append(TodoGroup(key=key, title=title, count=count, items=items, url="/voting/list/"))
    return groups
