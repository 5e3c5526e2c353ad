"""The appeals domain in the menu (called by app/views.py): its screens and APIs register here,
and the to-do provider: what waits on a user among appeals, with lights."""

from __future__ import annotations

import datetime as dt

from app.web.todo import TodoGroup, TodoItem, register_provider

APPEAL_URL = "/appeals/{id}"  # an appeal's page (the screens' detail route)
HINTS = {
    "appeal_to_sign": "请在签收时限内签收，或说明理由退单",
    "appeal_due": "答复期限 24 小时内到期或已超期",
    "appeal_to_dispatch": "热线、来信来访诉求待分派承办单位",
    "appeal_refusals": "承办单位退单，请改派、驳回退单或收回办理",
    "appeal_whistles": "乡镇街道吹哨，请指派牵头及协办部门",
    "appeal_reviews": "请审核承办单位的答复",
    "appeal_callbacks": "请回访诉求人并记录结果",
}


def register(appbuilder) -> None:
    from app.appeals.views_menu import register_screens

    register_screens(appbuilder)  # the 诉求办理 menu (app/appeals/views*.py)
    register_provider("appeals", provider)
    from app.appeals.views_hotline import register_link  # the 12345 link's screen and the REST API
    register_link(appbuilder)


def provider(user, now: dt.datetime) -> list[TodoGroup]:
    """One group per kind of appeal waiting on `user` (two queries per non-empty kind)."""
    from app.appeals import services as S

    groups = []
    for key, (count, appeals) in S.todo_lists(user, now).items():
        items = []
        for appeal in appeals:
            if key == "appeal_to_sign":
                due, light = appeal.sign_deadline, S.sign_light(appeal, now)
            else:
                due, light = appeal.reply_deadline, S.reply_light(appeal, now)
            items.append(TodoItem(title=f"{appeal.number} {appeal.content[:30]}", url=APPEAL_URL.format(id=appeal.id),
                                  due=due, note=appeal.state_label, light=light))
        groups.append(TodoGroup(key=key, title=S.TODO_TITLES[key], count=count, items=items, hint=HINTS[key]))
    return groups
