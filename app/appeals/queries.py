"""Read side of the 诉求办理 screens that the services do not offer: the queues (dispatcher,
whistle, unit to-do), the units a form may choose from, the facts of the detail page and which
action forms to show. Takes the acting user (never the request); every list goes through the
services' scope condition."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import false, or_, select

from app.appeals import rules
from app.appeals import services as S
from app.appeals.models import (
    ASSIGNMENT_KINDS,
    ASSIGNMENT_ROLES,
    ASSIGNMENT_STATES,
    Appeal,
    AppealCallback,
    AppealReply,
    LeaderCharge,
)
from app.core.formats import datetime_text
from app.extensions import db
from app.models import AppUser, OrgUnit

NEAR = dt.timedelta(hours=24)  # 办理中 "near its deadline": the reply due within a day, or overdue


def role_names(user) -> set[str]:
    return {r.name for r in getattr(user, "roles", None) or []}


def visible(stmt, user, form: str = "gather"):
    """A select of appeals narrowed to what `user` may see (the services' scope; `form`: "walk"
    for reading a page down the received-time index, "place" for the part that happened in
    the user's subtree: access.appeals_visible_to)."""
    return S.scope_appeals(stmt, user, form=form)


def unit_id(user) -> int | None:
    return getattr(user, "org_unit_id", None)


# ---------------------------------------------------------------- queues

def _conditions(user, at: dt.datetime) -> dict:
    from app.appeals.todo import todo_conditions

    return {key: condition for key, condition, _order in todo_conditions(user, at)}


def dispatch_queue(user, at: dt.datetime):
    """待分派 appeals at the dispatcher's unit, and the refusals (退单) the user rules on."""
    found = _conditions(user, at)
    wanted = [found[k] for k in ("appeal_to_dispatch", "appeal_refusals") if k in found]
    return visible(select(Appeal).where(or_(*wanted) if wanted else false()), user)


def whistle_queue(user, at: dt.datetime):
    """Appeals whistled to `user` as 分管领导, waiting for the lead and assisting departments."""
    found = _conditions(user, at)
    return visible(select(Appeal).where(found.get("appeal_whistles", false())), user)


TODO_HINTS = {  # what each kind of the services' to-do asks of the user, on the 诉求待办 page
    "appeal_to_sign": "交办、上报或吹哨到本单位：请在签收期限内签收，或说明理由退单",
    "appeal_due": "本单位办理中、答复期限 24 小时内到期或已超期",
    "appeal_to_dispatch": "热线、来信来访诉求待分派承办单位",
    "appeal_refusals": "承办单位退单：请改派、驳回退单或收回办理",
    "appeal_whistles": "乡镇街道吹哨：请从分管部门中指定牵头和协办部门",
    "appeal_reviews": "承办单位已答复：请审核",
    "appeal_callbacks": "审核通过：请回访诉求人并记录结果",
}


def todo_sections(user, at: dt.datetime) -> list[tuple[str, str, str, object]]:
    """(key, title, hint, select) of every kind of appeal waiting on the user (the services'
    to-do kinds), and the unit's appeals 办理中 (all of them) for the units that handle."""
    sections = [(key, S.TODO_TITLES[key], TODO_HINTS.get(key, ""), visible(select(Appeal).where(cond), user))
                for key, cond in _conditions(user, at).items()]
    if unit_id(user) is not None and "appeal_to_sign" in {k for k, *_ in sections}:
        sections.append(("appeal_handling", "本单位办理中", "本单位正在办理的全部诉求",
                         visible(select(Appeal).where(Appeal.state == rules.HANDLING,
                                                      Appeal.handler_unit_id == unit_id(user)), user)))
    return sections


# ---------------------------------------------------------------- units a form offers

def county_of(unit: OrgUnit | None) -> OrgUnit | None:
    while unit is not None and unit.kind not in ("county", "city"):
        unit = unit.parent
    return unit


def departments_of(unit: OrgUnit | None) -> list[OrgUnit]:
    """The departments a township (or the unit) may whistle to: its county's, then the city's."""
    county = county_of(unit)
    if county is None:
        return []
    parents = [county.id] + ([county.parent_id] if county.kind == "county" and county.parent_id else [])
    rows = db.session.scalars(select(OrgUnit).where(OrgUnit.parent_id.in_(parents), OrgUnit.kind == "department",
                                                    OrgUnit.active)).all()
    return sorted(rows, key=lambda d: (d.parent_id != county.id, d.sort_order or 0, d.code))


def dispatch_targets(user) -> list[OrgUnit]:
    """Units a dispatcher assigns to: the townships and departments of the dispatcher's subtree."""
    from app.security.scope import prefix_of

    prefix = prefix_of(user)
    stmt = select(OrgUnit).where(OrgUnit.kind.in_(("township", "department")), OrgUnit.active)
    if prefix is not None:
        stmt = stmt.where(OrgUnit.path.startswith(prefix, autoescape=True))
    return db.session.scalars(stmt.order_by(OrgUnit.path)).all()


def leaders_for(unit: OrgUnit | None) -> list[dict]:
    """The 分管领导 of the county of `unit`: [{id, name, departments}] (departments they lead)."""
    county = county_of(unit)
    if county is None:
        return []
    rows = db.session.execute(
        select(AppUser, OrgUnit.name).join(LeaderCharge, LeaderCharge.leader_id == AppUser.id)
        .join(OrgUnit, OrgUnit.id == LeaderCharge.org_unit_id)
        .where(OrgUnit.parent_id == county.id).order_by(AppUser.id, OrgUnit.sort_order)
    ).all()
    out: dict[int, dict] = {}
    for leader, dept in rows:
        entry = out.setdefault(leader.id, {"id": leader.id, "name": person_name(leader), "departments": []})
        entry["departments"].append(dept)
    return [{**v, "departments": "、".join(v["departments"])} for v in out.values()]


def charged_departments(user) -> list[OrgUnit]:
    return db.session.scalars(select(OrgUnit).join(LeaderCharge, LeaderCharge.org_unit_id == OrgUnit.id)
                              .where(LeaderCharge.leader_id == user.id).order_by(OrgUnit.sort_order, OrgUnit.code)).all()


def person_name(user) -> str:
    if user is None:
        return ""
    return f"{user.first_name or ''}{user.last_name or ''}".strip() or user.username


# ---------------------------------------------------------------- the detail page

def personal_allowed(appeal: Appeal, user) -> bool:
    """Citizen name and phone in full: only for the units handling or reviewing the appeal."""
    u = unit_id(user)
    if u is None:
        return False
    if u in (appeal.handler_unit_id, appeal.reviewer_unit_id) or appeal.leader_id == user.id:
        return True
    return any(a.org_unit_id == u and a.state in ("pending", "signed") for a in appeal.assignments)


def assignment_rows(appeal: Appeal, at: dt.datetime) -> list[dict]:
    rows = []
    for a in appeal.assignments:
        if a.signed_at:
            done, light = f"{datetime_text(a.signed_at)} 签收", rules.light(a.sign_deadline, a.signed_at, at)
        elif a.refused_at:
            done = f"{datetime_text(a.refused_at)} 退单：{a.refusal_kind or ''} {a.refusal_text or ''}".strip()
            light = None
        elif a.state == "pending":
            done, light = "未签收", rules.light(a.sign_deadline, None, at)
        else:
            done, light = "—", None
        rows.append({"unit": a.org_unit.name, "kind": ASSIGNMENT_KINDS.get(a.kind, a.kind),
                     "role": ASSIGNMENT_ROLES.get(a.role, a.role), "assigned_at": datetime_text(a.assigned_at),
                     "sign_due": datetime_text(a.sign_deadline), "done": done, "light": light,
                     "light_label": {"green": "正常", "yellow": "临期", "red": "超期", "done": "按时",
                                     "overdue_done": "超期"}.get(light, ""),
                     "state": ASSIGNMENT_STATES.get(a.state, a.state)})
    return rows


def replies_of(appeal_id: int) -> list[dict]:
    from app.appeals.models import REVIEW_DECISIONS

    rows = db.session.scalars(select(AppealReply).where(AppealReply.appeal_id == appeal_id).order_by(AppealReply.id))
    return [{"unit": r.org_unit.name,
             "contact": f"{r.contact_whom}，{datetime_text(r.contact_at)}，{r.contact_way}",
             "measures": r.measures, "result": r.result, "result_note": r.result_note or "",
             "finished_at": datetime_text(r.finished_at), "submitted_at": datetime_text(r.submitted_at),
             "decision": REVIEW_DECISIONS.get(r.decision, "待审核") if r.decision else "待审核",
             "decision_note": r.decision_note or ""} for r in rows]


def callbacks_of(appeal_id: int) -> list[dict]:
    rows = db.session.scalars(select(AppealCallback).where(AppealCallback.appeal_id == appeal_id)
                              .order_by(AppealCallback.id))
    return [{"at": datetime_text(c.at), "result": c.result, "note": c.note or ""} for c in rows]


def history_rows(appeal_id: int, user) -> list[dict]:
    """Every line of the history (S.history): when, what, who (name and unit), from, to, why."""
    from app.org.users import people_by_id

    events = S.history(appeal_id, user)
    ids = {e.from_unit_id for e in events} | {e.to_unit_id for e in events} | {e.actor_unit_id for e in events}
    names = {i: n for i, n in db.session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(ids - {None})))}
    people = people_by_id({e.actor_id for e in events if e.actor_id is not None})
    rows = []
    for e in events:
        actor = people.get(e.actor_id) if e.actor_id is not None else None
        if actor is None:
            actor = "系统" if e.actor_name in (None, "", "系统", "system") else e.actor_name
            if e.actor_unit_id and names.get(e.actor_unit_id):
                actor = f"{actor}（{names[e.actor_unit_id]}）"
        reason = e.reason or ""
        detail = e.detail or {}
        extra = _detail_text(e.action, detail)
        rows.append({"at": datetime_text(e.at), "action": e.action, "label": event_label(e.action, detail),
                     "actor": actor, "from_unit": names.get(e.from_unit_id, ""), "to_unit": names.get(e.to_unit_id, ""),
                     "reason": "；".join(x for x in (extra, reason) if x)})
    return rows


def _detail_text(action: str, detail: dict) -> str:
    if action == "refuse" and detail.get("kind"):
        return f"退单原因：{detail['kind']}"
    if action == "leader_assign":
        assist = "、".join(detail.get("assist") or []) or "无"
        return f"牵头：{detail.get('lead', '')}；协办：{assist}"
    if action in ("reply",) and detail.get("result"):
        return f"办理结果：{detail['result']}" + ("（超期答复）" if detail.get("late") else "")
    if action == "sign" and detail.get("late"):
        return "超期签收"
    if action in ("callback", "reopen") and detail.get("result"):
        return f"回访结果：{detail['result']}"
    if action == "merge" and detail.get("master"):
        return f"并入 {detail['master']}"
    if action == "merged_in" and detail.get("duplicate"):
        return f"重复诉求 {detail['duplicate']} 并入"
    if action == "to_supervision" and detail.get("task"):
        return f"督查事项 {detail['task']}"
    if action == "rule" and detail.get("decision"):
        return {"reassign": "改派", "overrule": "驳回退单", "take_back": "收回办理"}.get(detail["decision"], "")
    return ""


EVENT_LABELS = {
    "report": "网格上报", "create": "登记受理", "dispatch": "分派", "sign": "签收", "refuse": "退单",
    "rule": "处理退单", "escalate": "上报上级", "whistle_to_department": "吹哨（报到部门）",
    "whistle_to_leader": "吹哨（报分管领导）", "leader_assign": "分管领导指派", "reply": "答复",
    "approve": "审核通过", "return": "退回重办", "callback": "回访（办结）", "reopen": "回访不满意（重办）",
    "merge": "合并", "merged_in": "并入重复诉求", "to_supervision": "转督办", "import": "热线导入",
}


def event_label(action: str, detail: dict | None = None) -> str:
    return EVENT_LABELS.get(action) or rules.ACTION_LABELS.get(action, action)


# ---------------------------------------------------------------- which forms to show

FORM_OF = {  # the services' action names -> the detail page's forms
    "dispatch": "dispatch", "escalate": "escalate", "whistle_to_department": "whistle",
    "whistle_to_leader": "whistle_leader", "leader_assign": "leader_assign", "reply": "reply", "review": "review",
    "callback": "callback", "merge": "merge", "to_supervision": "supervise", "sign": "sign", "refuse": "refuse",
    "rule_on_refusal": "rule",
}


def actions_for(appeal: Appeal, user, at: dt.datetime) -> dict:
    """The action forms the detail page shows `user` now (what S.available_actions allows),
    each with what its form offers; the services decide again on submit."""
    allowed = {FORM_OF[name] for name in S.available_actions(appeal, user, at) if name in FORM_OF}
    acts: dict = {key: None for key in FORM_OF.values()}
    handler = appeal.handler_unit
    if "sign" in allowed or "refuse" in allowed:
        mine = S.pending_assignment(appeal, unit_id(user))
        acts["sign"] = mine if "sign" in allowed else None
        acts["refuse"] = mine if "refuse" in allowed else None
    if "rule" in allowed:
        refused = next(a for a in appeal.assignments
                       if a.state == "refused" and a.ruled_at is None and S.may_rule(user, a, appeal))
        if refused.kind == "dispatch":
            options = [o for o in dispatch_targets(user) if o.id != refused.org_unit_id]
        elif refused.kind == "leader":
            options = [d for d in charged_departments(user) if d.id != refused.org_unit_id]
        elif refused.kind == "whistle":
            options = [d for d in departments_of(refused.assigned_from_unit) if d.id != refused.org_unit_id]
        else:
            options = []
        suggested = S.suggest_unit(appeal)
        acts["rule"] = {"assignment": refused, "org_unit": refused.org_unit, "refusal_kind": refused.refusal_kind,
                        "refusal_text": refused.refusal_text, "options": options,
                        "suggested": suggested if suggested in options else None,
                        "take_back": refused.kind in ("escalate", "whistle") and refused.role in ("single", "lead"),
                        "reassign": bool(options)}
    if "dispatch" in allowed:
        suggested, why = suggestion(appeal)
        options = dispatch_targets(user)
        if suggested is not None and suggested not in options:
            options = [suggested, *options]
        acts["dispatch"] = {"options": options, "suggested": suggested, "why": why}
    if "leader_assign" in allowed:
        acts["leader_assign"] = {"options": charged_departments(user)}
    if "reply" in allowed:
        acts["reply"] = True
    if "escalate" in allowed and handler is not None and handler.parent is not None:
        acts["escalate"] = handler.parent
    if "whistle" in allowed and handler is not None:
        depts = departments_of(handler)
        suggested = appeal.category.department if appeal.category is not None else None
        acts["whistle"] = {"options": depts, "suggested": suggested if suggested in depts else None}
    if "whistle_leader" in allowed and handler is not None:
        leaders = leaders_for(handler)
        acts["whistle_leader"] = {"options": leaders} if leaders else None
    for key in ("review", "callback", "merge"):
        acts[key] = True if key in allowed else None
    if "supervise" in allowed:
        late = appeal.replied_at is None and appeal.reply_deadline is not None and appeal.reply_deadline < at
        acts["supervise"] = {"why": "已超过答复期限未答复" if late else f"已重办 {appeal.reopen_count} 次"}
    return acts


def suggestion(appeal: Appeal) -> tuple[OrgUnit | None, str]:
    """The catalogue's suggestion for dispatching (S.suggest_unit: the category's department,
    else the township of the place) and why, in Chinese."""
    unit = S.suggest_unit(appeal)
    if unit is None:
        return None, ""
    if appeal.category is not None and appeal.category.department_id == unit.id:
        return unit, f"“{appeal.category.name}”的建议承办部门"
    return unit, "发生地所在乡镇（街道）"


def suggestions(appeals) -> list[OrgUnit | None]:
    """S.suggest_unit for a page of appeals in one query: the category's department, else the
    township among the place's ancestors (read from its path)."""
    ancestors = {a.id: [int(p) for p in a.occurred_unit.path.strip("/").split("/") if p] for a in appeals}
    ids = {i for path in ancestors.values() for i in path}
    townships = {u.id: u for u in db.session.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids),
                                                                          OrgUnit.kind == "township"))} if ids else {}
    out = []
    for appeal in appeals:
        if appeal.category is not None and appeal.category.department is not None:
            out.append(appeal.category.department)
        else:
            out.append(next((townships[i] for i in ancestors[appeal.id] if i in townships), None))
    return out
