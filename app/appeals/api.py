"""REST API of appeals (诉求): /api/v1/appeals/ (FAB ModelRestApi, JWT) and the 12345 link.

Reads are scoped like every API (an appeal belongs to the unit it happened in and to every unit
it was assigned to; the user sees those of its subtree; another one is a 404). List items carry
id, number, source, external_number, state, the current handling unit's code, sign_deadline
and reply_deadline (ISO date-times), resolved_level and reopen_count; citizens' names and phones
are masked in the list (PLATFORM.md §5) and shown in full in one appeal's GET only to the units
handling or reviewing it.

Writes never reach FAB's generic add/edit: every workflow action is a POST under
/api/v1/appeals/<id>/<action> calling app/appeals/services.py with the acting user (role and
scope checks, one transaction, audit). A refusal answers its Chinese message with the service's
status: 400 invalid, 403 not allowed, 404 missing or out of scope, 409 when someone else's
action won. Units are named by their codes in the JSON bodies.

The 12345 link: POST /api/v1/appeals/hotline (a JSON list of work orders: the import's columns
as keys, all-or-nothing, idempotent on 工单编号) and GET /api/v1/appeals/hotline/updates?since=…
"""

from __future__ import annotations

import datetime as dt

from flask import request
from flask_appbuilder.api import expose, protect, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy import select

from app.appeals import hotline, rules
from app.appeals import services as S
from app.core.errors import DomainError, ImportRejected
from app.core.personal import mask_name, mask_phone
from app.extensions import db
from app.models import Appeal, AppealCategory, AppUser, OrgUnit
from app.security.roles import API_METHODS, APPEAL_ACTIONS
from app.security.scope import AppealScopeFilter
from app.web.api import ScopedRestApi, id_by_code
from app.web.context import acting_user
from app.web.context import request_now as now

# This API's endpoints -> the Appeal permission they need (app/security/roles.py).
# A 退单's ruling belongs to whoever assigned it (a dispatcher, a liaison that escalated or
# whistled, a 分管领导): any reader may ask, the service decides (services.may_rule).
METHODS = {**API_METHODS, **APPEAL_ACTIONS, "register": "dispatch", "rule": "read", "hotline": "import",
           "hotline_updates": "dispatch", "leader_assign": "lead", "to_supervision": "supervise", "history": "read"}
LABELS = {"id": "编号", "number": "诉求编号", "source": "来源", "external_number": "工单编号", "state": "状态",
          "urgency": "紧急程度", "received_at": "受理时间", "sign_deadline": "签收期限", "reply_deadline": "答复期限",
          "replied_at": "答复时间", "closed_at": "办结时间", "resolved_level": "解决层级", "reopen_count": "重办次数",
          "citizen_name": "诉求人", "citizen_phone": "联系电话", "content": "诉求内容", "version": "版本"}


def _json() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise DomainError("请求体须为 JSON 对象")
    return data


def _body() -> dict:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def _unit_id(code, what: str) -> int | None:
    """A unit's id by its code (or id); an unknown one is refused like an out-of-scope one."""
    return id_by_code(OrgUnit, code, what)


def _moment(value, what: str) -> dt.datetime | None:
    if value in (None, ""):
        return None
    try:
        return hotline.parse_time(str(value))
    except ValueError:
        raise DomainError(f"{what}格式应为 YYYY-MM-DD HH:MM[:SS]")


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def sees_personal(user, appeal: Appeal) -> bool:
    """Whether `user` may read the citizen's name and phone in full: the units handling or
    reviewing the appeal (its handler, a unit assigned to it and not ended, its reviewer)."""
    if user is None:
        return True
    if S.actor_kinds(user, appeal) - {rules.SUPERVISOR}:  # its handler, dispatcher, reviewer, 分管领导
        return True
    return any(a.state in ("pending", "signed") and S.acts_for_unit(user, a.org_unit_id) for a in appeal.assignments)


def _state(appeal: Appeal) -> dict:
    return {"result": {"id": appeal.id, "number": appeal.number, "state": appeal.state,
                       "state_label": rules.state_label(appeal.state), "version": appeal.version,
                       "handler_unit": appeal.handler_unit.code if appeal.handler_unit is not None else None}}


def _fresh(appeal_id: int) -> dict:
    appeal = db.session.get(Appeal, appeal_id)
    db.session.refresh(appeal)
    return _state(appeal)


class AppealApi(ScopedRestApi):
    resource_name = "appeals"
    datamodel = SQLAInterface(Appeal)
    class_permission_name = "Appeal"
    method_permission_name = METHODS
    include_route_methods = {"get", "get_list", "info", "register", "report", "sign", "refuse", "rule", "dispatch",
                             "escalate", "whistle", "leader_assign", "reply", "review", "callback", "merge",
                             "to_supervision", "history", "hotline", "hotline_updates"}
    base_filters = [["id", AppealScopeFilter, lambda: None]]
    list_columns = ["id", "number", "source", "external_number", "state", "urgency", "received_at", "sign_deadline",
                    "reply_deadline", "replied_at", "closed_at", "resolved_level", "reopen_count", "citizen_name",
                    "citizen_phone", "version"]
    show_columns = list_columns + ["content"]
    search_columns = ["number", "source", "external_number", "state", "urgency", "resolved_level", "received_at"]
    order_columns = ["id", "number", "received_at", "reply_deadline", "state"]
    base_order = ("id", "desc")
    list_title = show_title = "诉求"
    label_columns = LABELS

    def refused(self, exc: DomainError):
        db.session.rollback()
        if isinstance(exc, ImportRejected):
            return self.response(exc.status, message=exc.message,
                                 errors=[{"row": row, "message": msg} for row, msg in exc.errors])
        return self.response(exc.status, message=exc.message)

    def call(self, fn, status: int = 200):
        try:
            result = fn(acting_user())
        except DomainError as exc:
            return self.refused(exc)
        return self.response(status, **(result or {"message": "OK"}))

    def act(self, pk: int, fn, status: int = 200):
        """Run a workflow service `fn(user)` on appeal `pk`; answer its new state."""
        def run(user):
            fn(user)
            return _fresh(pk)

        return self.call(run, status)

    def check_write(self, item) -> None:  # FAB's generic write path is never routed
        raise DomainError("请通过业务接口提交")

    # ------------------------------------------------------------ reads

    def pre_get_list(self, data: dict) -> None:
        facts = _facts(data["ids"])
        for item, pk in zip(data["result"], data["ids"]):
            item.update(facts.get(pk, {}))
            item["citizen_name"] = mask_name(item.get("citizen_name"))
            item["citizen_phone"] = mask_phone(item.get("citizen_phone"))

    def pre_get(self, data: dict) -> None:
        appeal = db.session.get(Appeal, data["id"])
        result = data["result"]
        result.update(_facts([appeal.id]).get(appeal.id, {}))
        user = acting_user()
        if not sees_personal(user, appeal):
            result["citizen_name"] = mask_name(appeal.citizen_name)
            result["citizen_phone"] = mask_phone(appeal.citizen_phone)
        result["assignments"] = [
            {"id": a.id, "unit": a.org_unit.code, "role": a.role, "kind": a.kind, "state": a.state,
             "assigned_at": _iso(a.assigned_at), "sign_deadline": _iso(a.sign_deadline), "signed_at": _iso(a.signed_at),
             "refused_at": _iso(a.refused_at), "refusal_kind": a.refusal_kind, "refusal_text": a.refusal_text,
             "ruling": a.ruling}
            for a in appeal.assignments
        ]
        result["merged_into"] = appeal.merged_into.number if appeal.merged_into_id else None
        result["supervision_task"] = appeal.supervision_task.code if appeal.supervision_task_id else None
        result["available_actions"] = S.available_actions(appeal, user, now())

    @expose("/<int:pk>/history", methods=["GET"])
    @protect()
    @safe
    def history(self, pk):
        """Every hand-over of the appeal: who, when, from which unit to which, why."""
        def read(user):
            events = S.history(pk, user)
            codes = _codes({u for e in events for u in (e.actor_unit_id, e.from_unit_id, e.to_unit_id) if u})
            return {"result": [{"action": e.action, "action_label": rules.ACTION_LABELS.get(e.action, e.action),
                                "at": _iso(e.at), "actor": e.actor_name, "actor_unit": codes.get(e.actor_unit_id),
                                "from_unit": codes.get(e.from_unit_id), "to_unit": codes.get(e.to_unit_id),
                                "reason": e.reason} for e in events]}

        return self.call(read)

    # ------------------------------------------------------------ new appeals

    @expose("/report", methods=["POST"])
    @protect()
    @safe
    def report(self):
        """网格上报 {"content", "category"?, "citizen_name"?, "citizen_phone"?, "urgency"?} (a 网格员)."""
        def create(user):
            data = _json()
            appeal = S.report_from_grid(user=user, content=data.get("content"), category_id=_category(data),
                                        citizen_name=data.get("citizen_name"), citizen_phone=data.get("citizen_phone"),
                                        urgency=data.get("urgency"), now=now())
            return {"id": appeal.id, **_state(appeal)}

        return self.call(create, 201)

    @expose("/register", methods=["POST"])
    @protect()
    @safe
    def register(self):
        """登记 {"source", "content", "place": CODE, "external_number"?, "received_at"?, "category"?,
        "citizen_name"?, "citizen_phone"?, "urgency"?} (a 热线调度员): 待分派 at its unit."""
        def create(user):
            data = _json()
            appeal = S.create(user=user, source=data.get("source"), content=data.get("content"),
                              occurred_unit_id=_unit_id(data.get("place"), "发生地") or -1,
                              external_number=data.get("external_number"),
                              received_at=_moment(data.get("received_at"), "受理时间"), category_id=_category(data),
                              citizen_name=data.get("citizen_name"), citizen_phone=data.get("citizen_phone"),
                              urgency=data.get("urgency"), now=now())
            return {"id": appeal.id, **_state(appeal)}

        return self.call(create, 201)

    # ------------------------------------------------------------ workflow

    @expose("/<int:pk>/dispatch", methods=["POST"])
    @protect()
    @safe
    def dispatch(self, pk):
        """分派 {"unit": CODE, "note"?} (the dispatcher): 待分派 → 待签收."""
        def act(user):
            data = _json()
            S.dispatch(pk, _unit_id(data.get("unit"), "承办单位") or -1, user=user, note=data.get("note"), now=now())
            return _fresh(pk)

        return self.call(act)

    @expose("/<int:pk>/sign", methods=["POST"])
    @protect()
    @safe
    def sign(self, pk):
        """签收 the own unit's pending assignment (liaison or 网格员)."""
        return self.act(pk, lambda u: S.sign(pk, user=u, now=now()))

    @expose("/<int:pk>/refuse", methods=["POST"])
    @protect()
    @safe
    def refuse(self, pk):
        """退单 {"reason_kind": 职能不符|属地不符|其他, "reason"?}."""
        def act(user):
            data = _json()
            S.refuse(pk, data.get("reason_kind"), data.get("reason"), user=user, now=now())
            return _fresh(pk)

        return self.call(act)

    @expose("/<int:pk>/rule", methods=["POST"])
    @protect()
    @safe
    def rule(self, pk):
        """Rule on a 退单 {"decision": reassign|overrule|take_back, "unit"?: CODE, "note"?,
        "assignment"?: id (default: the appeal's refusal waiting for a ruling)}."""
        def act(user):
            data = _json()
            appeal = S.get_appeal(pk, user)
            waiting = [a.id for a in appeal.assignments if a.state == "refused" and a.ruled_at is None]
            assignment = data.get("assignment") or (waiting[-1] if waiting else None)
            if assignment is None or assignment not in [a.id for a in appeal.assignments]:
                raise DomainError("该诉求没有待处理的退单")
            S.rule_on_refusal(assignment, data.get("decision"), user=user,
                              unit_id=_unit_id(data.get("unit"), "改派单位"), note=data.get("note"), now=now())
            return _fresh(pk)

        return self.call(act)

    @expose("/<int:pk>/escalate", methods=["POST"])
    @protect()
    @safe
    def escalate(self, pk):
        """上报 to the parent unit {"reason"} (grid → village → township)."""
        return self.act(pk, lambda u: S.escalate(pk, _json().get("reason"), user=u, now=now()))

    @expose("/<int:pk>/whistle", methods=["POST"])
    @protect()
    @safe
    def whistle(self, pk):
        """吹哨 by a township {"reason", "unit": CODE} to one department, or {"reason", "leader":
        username or id} to the 分管领导 of the departments concerned."""
        def act(user):
            data = _json()
            if data.get("leader") not in (None, ""):
                S.whistle_to_leader(pk, _leader_id(data["leader"]), data.get("reason"), user=user, now=now())
            else:
                S.whistle_to_department(pk, _unit_id(data.get("unit"), "部门") or -1, data.get("reason"), user=user,
                                        now=now())
            return _fresh(pk)

        return self.call(act)

    @expose("/<int:pk>/leader-assign", methods=["POST"])
    @protect()
    @safe
    def leader_assign(self, pk):
        """The 分管领导 names {"lead": CODE, "assist": [CODE…], "note"?}."""
        def act(user):
            data = _json()
            assist = data.get("assist") or []
            if not isinstance(assist, list):
                raise DomainError("协办部门（assist）须为单位编码的列表")
            S.leader_assign(pk, _unit_id(data.get("lead"), "牵头部门") or -1,
                            [_unit_id(c, "协办部门") for c in assist], user=user, note=data.get("note"), now=now())
            return _fresh(pk)

        return self.call(act)

    @expose("/<int:pk>/reply", methods=["POST"])
    @protect()
    @safe
    def reply(self, pk):
        """答复 {"contact_whom", "contact_at", "contact_way", "measures", "result", "finished_at",
        "result_note"?} (the handling unit): → 待审核."""
        def act(user):
            data = _json()
            S.reply(pk, user=user, contact_whom=data.get("contact_whom"),
                    contact_at=_moment(data.get("contact_at"), "联系群众时间"), contact_way=data.get("contact_way"),
                    measures=data.get("measures"), result=data.get("result"),
                    finished_at=_moment(data.get("finished_at"), "完成时间"), result_note=data.get("result_note"),
                    now=now())
            return _fresh(pk)

        return self.call(act, 201)

    @expose("/<int:pk>/review", methods=["POST"])
    @protect()
    @safe
    def review(self, pk):
        """审核答复 {"approve": true|false, "note"?} (the reviewer): → 待回访 or back to 办理中."""
        def act(user):
            data = _json()
            if not isinstance(data.get("approve"), bool):
                raise DomainError("请指明审核结论（approve：true 通过，false 退回）")
            S.review(pk, data["approve"], user=user, note=data.get("note"), now=now())
            return _fresh(pk)

        return self.call(act)

    @expose("/<int:pk>/callback", methods=["POST"])
    @protect()
    @safe
    def callback(self, pk):
        """回访 {"result": 满意|基本满意|不满意, "note"?}: → 已办结, or 重办 (→ 办理中)."""
        def act(user):
            data = _json()
            S.callback(pk, data.get("result"), user=user, note=data.get("note"), now=now())
            return _fresh(pk)

        return self.call(act, 201)

    @expose("/<int:pk>/merge", methods=["POST"])
    @protect()
    @safe
    def merge(self, pk):
        """合并 into {"master": id or 诉求编号, "reason"?} (the dispatcher): → 已合并."""
        def act(user):
            data = _json()
            master = data.get("master")
            if isinstance(master, str) and not master.isdigit():
                master = db.session.scalar(select(Appeal.id).where(Appeal.number == master)) or -1
            S.merge(pk, master if master not in (None, "") else -1, user=user, reason=data.get("reason"), now=now())
            return _fresh(pk)

        return self.call(act)

    @expose("/<int:pk>/to-supervision", methods=["POST"])
    @protect()
    @safe
    def to_supervision(self, pk):
        """转督办 (a 督查员): a supervision item addressed to the current handler, linked both ways."""
        def act(user):
            task = S.to_supervision(pk, user=user, now=now())
            out = _fresh(pk)
            out["result"]["supervision_task"] = {"id": task.id, "code": task.code}
            return out

        return self.call(act, 201)

    # ------------------------------------------------------------ the 12345 link

    @expose("/hotline", methods=["POST"])
    @protect()
    @safe
    def hotline(self):
        """A JSON list of work orders ({"工单编号", "受理时间", "诉求人", "联系电话", "诉求类别",
        "诉求内容", "发生地编码", "紧急程度"}); all or nothing, numbers already held are skipped."""
        def load(user):
            counts = hotline.import_records(request.get_json(silent=True), user=user)
            return {"result": counts, "message": f"导入成功：新增 {counts['created']} 件，跳过已导入 {counts['skipped']} 件"}

        return self.call(load, 201)

    @expose("/hotline/updates", methods=["GET"])
    @protect()
    @safe
    def hotline_updates(self):
        """?since=YYYY-MM-DD[ HH:MM[:SS]]: every hotline appeal changed since then (工单编号, 状态,
        办理单位, 答复内容, 答复时间, 回访结果), oldest change first."""
        return self.call(lambda u: {"result": hotline.hotline_updates(request.args.get("since"), user=u)})


def _category(data: dict) -> int | None:
    name = data.get("category")
    if name in (None, ""):
        return None
    if isinstance(name, int) and not isinstance(name, bool):
        return name
    found = db.session.scalar(select(AppealCategory.id).where(AppealCategory.name == str(name)))
    if found is None:
        raise DomainError(f"诉求类别“{name}”不在目录中")
    return found


def _leader_id(value) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    found = db.session.scalar(select(AppUser.id).where(AppUser.username == str(value)))
    if found is None:
        raise DomainError(f"分管领导“{value}”不存在")
    return found


def _codes(unit_ids) -> dict[int, str]:
    if not unit_ids:
        return {}
    return dict(db.session.execute(select(OrgUnit.id, OrgUnit.code).where(OrgUnit.id.in_(sorted(unit_ids)))).all())


def _facts(ids) -> dict[int, dict]:
    """Per appeal of a page: its state label, handling / occurred unit codes and category (one query)."""
    if not ids:
        return {}
    from sqlalchemy.orm import aliased

    handler, place = aliased(OrgUnit), aliased(OrgUnit)
    stmt = (select(Appeal.id, Appeal.state, handler.code, handler.name, place.code, AppealCategory.name)
            .outerjoin(handler, handler.id == Appeal.handler_unit_id)
            .join(place, place.id == Appeal.occurred_unit_id)
            .outerjoin(AppealCategory, AppealCategory.id == Appeal.category_id)
            .where(Appeal.id.in_(list(ids))))
    return {aid: {"state_label": rules.state_label(state), "handler_unit_code": hcode, "handler_unit_name": hname,
                  "occurred_unit_code": pcode, "category": cname}
            for aid, state, hcode, hname, pcode, cname in db.session.execute(stmt)}


def register_apis(appbuilder) -> None:
    appbuilder.add_api(AppealApi)
