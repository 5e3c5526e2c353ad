"""诉求办理 screens: each unit's appeal list (/appeals/), an appeal's page with its history and
the action forms legal for the user now, each posting to the services, and the list's export.

The queues (上报诉求, 诉求待办, 分派, 吹哨) live in views_queues.py, the figures in
views_figures.py. Every change goes through app/appeals/services.py; a refusal is shown in
Chinese and changes nothing, a lost race answers 409.
"""

from __future__ import annotations

from flask import abort, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import select

from app.appeals import queries as Q
from app.appeals import services as S
from app.appeals.models import APPEAL_STATES, CALLBACK_RESULTS, REFUSAL_KINDS, REPLY_RESULTS, Appeal
from app.appeals.web import (
    LIGHTS,
    PAGE_SIZE,
    appeal_row,
    apply_filters,
    capped_page,
    categories,
    export_appeals,
    form_datetime,
    form_int,
    form_ints,
    form_text,
    list_args,
    run_action,
    with_args,
)
from app.core.errors import DomainError
from app.core.personal import mask_name, mask_phone
from app.extensions import db
from app.security.roles import APPEAL_SCREEN_METHODS
from app.web.context import acting_user, can
from app.web.context import request_now as now
from app.web.paging import page_number

CATEGORY = "诉求办理"
CONTACT_WAYS = ("电话", "上门走访", "当面", "微信", "短信", "其他")
BUTTONS = (  # (action, label, css): the panels of the detail page, in this order
    ("dispatch", "分派", "btn-primary"), ("rule", "裁定退单", "btn-warning"), ("refuse", "退单", "btn-warning"),
    ("reply", "答复（办结）", "btn-success"), ("escalate", "上报上级", "btn-warning"),
    ("whistle", "吹哨部门", "btn-danger"), ("whistle_leader", "吹哨分管领导", "btn-danger"),
    ("leader_assign", "指定牵头部门", "btn-primary"), ("review", "审核答复", "btn-primary"),
    ("callback", "回访", "btn-primary"), ("merge", "合并", "btn-default"), ("supervise", "转督办", "btn-danger"),
)


def only_visible(pk, user) -> Appeal:
    """The appeal if `user` may see it, else 404."""
    if not str(pk).isdigit() or len(str(pk)) > 12:
        abort(404)
    appeal = db.session.scalar(Q.visible(select(Appeal).where(Appeal.id == int(pk)), user))
    if appeal is None:
        abort(404)
    return appeal


class AppealView(BaseView):
    """诉求清单 (scoped, searchable), 诉求详情 and its workflow POSTs."""

    route_base = "/appeals"
    class_permission_name = "Appeal"
    method_permission_name = APPEAL_SCREEN_METHODS
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        user, at = acting_user(), now()
        args = list_args()
        error, total, capped, rows = None, 0, False, []
        try:
            self._check_unit(args)
            order = (Appeal.received_at.desc(), Appeal.id.desc())
            stmt = apply_filters(Q.visible(select(Appeal), user), args, at).order_by(*order)
            walk = apply_filters(Q.visible(select(Appeal), user, form="walk"), args, at).order_by(*order)
            place = apply_filters(Q.visible(select(Appeal), user, form="place"), args, at)
            total, capped, items = capped_page(stmt, page_number(), walk=walk, place=place)
            rows = [appeal_row(a, at) for a in items]
        except DomainError as exc:
            error = exc.message
        return self.render_template(
            "appeals/list.html", title="诉求清单", unit=getattr(user, "org_unit", None), rows=rows, total=total,
            capped=capped,
            error=error, filters=True, args=args, states=list(APPEAL_STATES.items()) + [("open", "未办结（全部）")],
            categories=categories(), lights=LIGHTS, page=page_number(), pages=-(-total // PAGE_SIZE),
            page_url=lambda p: with_args(page=str(p)), export=lambda fmt: url_for("AppealView.export", fmt=fmt, **{k: v for k, v in args.items() if v}),
            intro="本单位及下级单位发生或经办的诉求。诉求人姓名和电话在清单与导出中脱敏显示。",
        )

    @staticmethod
    def _check_unit(args):
        if args.get("unit"):
            from app.web.context import chosen_unit

            chosen_unit()  # 404 outside the scope

    @expose("/export/<fmt>")
    @has_access
    def export(self, fmt):
        if fmt not in ("csv", "xlsx"):
            abort(404)
        user, at = acting_user(), now()
        args = list_args()
        self._check_unit(args)
        try:
            stmt = apply_filters(Q.visible(select(Appeal), user), args, at)
        except DomainError:
            abort(400)
        return export_appeals(stmt.order_by(Appeal.received_at.desc(), Appeal.id.desc()), fmt, at)

    @expose("/<int:pk>")
    @has_access
    def show(self, pk):
        user, at = acting_user(), now()
        appeal = only_visible(pk, user)
        full = Q.personal_allowed(appeal, user)
        acts = self._acts(appeal, user)
        return self.render_template(
            "appeals/show.html", title=f"诉求 {appeal.number}", appeal=appeal, row=appeal_row(appeal, at),
            citizen={"full": full,
                     "name": appeal.citizen_name if full else mask_name(appeal.citizen_name),
                     "phone": appeal.citizen_phone if full else mask_phone(appeal.citizen_phone)},
            place_path=_place_path(appeal), leader_name=Q.person_name(appeal.leader) if appeal.leader_id else "",
            assignments=Q.assignment_rows(appeal, at), replies=Q.replies_of(appeal.id),
            callbacks=Q.callbacks_of(appeal.id), history=Q.history_rows(appeal.id, user), acts=acts,
            buttons=BUTTONS, any_act=any(acts.values()), refusal_kinds=REFUSAL_KINDS, reply_results=REPLY_RESULTS,
            callback_results=CALLBACK_RESULTS, contact_ways=CONTACT_WAYS,
        )

    def _acts(self, appeal, user) -> dict:
        """The forms to show: what the services would accept from this user now, and what the
        user's role holds the permission for."""
        acts = Q.actions_for(appeal, user, now())
        for name in list(acts):
            perm = APPEAL_SCREEN_METHODS.get(name)
            if perm and not can(perm, "Appeal"):
                acts[name] = None
        return acts

    # ------------------------------------------------------------ workflow POSTs

    @expose("/<int:pk>/sign", methods=["POST"])
    @has_access
    def sign(self, pk):
        return self._run(pk, lambda a, u: S.sign(a.id, user=u, now=now()), "已签收，诉求转入办理中")

    @expose("/<int:pk>/refuse", methods=["POST"])
    @has_access
    def refuse(self, pk):
        return self._run(pk, lambda a, u: S.refuse(a.id, form_text("kind"), form_text("reason"), user=u, now=now()),
                         "已退单，等待交办方处理")

    @expose("/<int:pk>/dispatch", methods=["POST"])
    @has_access
    def dispatch(self, pk):
        return self._run(pk, lambda a, u: S.dispatch(a.id, _unit_id(), user=u, now=now(), note=form_text("note")),
                         "已分派，等待承办单位签收")

    @expose("/<int:pk>/rule", methods=["POST"])
    @has_access
    def rule(self, pk):
        ruling = form_text("ruling")

        def go(a, u):
            assignment = next((x for x in a.assignments if x.id == form_int("assignment_id")), None)
            if assignment is None:
                raise DomainError("该退单已处理或不存在，请刷新后重试")
            S.rule_on_refusal(assignment.id, ruling, user=u, unit_id=form_int("unit_id"), note=form_text("note"),
                              now=now())

        done = {"reassign": "已改派，等待新单位签收", "overrule": "已驳回退单，原单位须签收办理",
                "take_back": "已收回，由本单位继续办理"}
        return self._run(pk, go, done.get(ruling, "退单已处理"))

    @expose("/<int:pk>/escalate", methods=["POST"])
    @has_access
    def escalate(self, pk):
        return self._run(pk, lambda a, u: S.escalate(a.id, form_text("reason"), user=u, now=now()),
                         "已上报上级，等待上级签收")

    @expose("/<int:pk>/whistle", methods=["POST"])
    @has_access
    def whistle(self, pk):
        return self._run(pk, lambda a, u: S.whistle_to_department(a.id, _unit_id(), form_text("reason"), user=u,
                                                                  now=now()), "已吹哨，等待部门报到签收")

    @expose("/<int:pk>/whistle-leader", methods=["POST"])
    @has_access
    def whistle_leader(self, pk):
        return self._run(pk, lambda a, u: S.whistle_to_leader(a.id, form_int("leader_id"), form_text("reason"),
                                                              user=u, now=now()), "已吹哨，等待分管领导指派部门")

    @expose("/<int:pk>/leader-assign", methods=["POST"])
    @has_access
    def leader_assign(self, pk):
        return self._run(pk, lambda a, u: S.leader_assign(a.id, form_int("lead_id"), form_ints("assist_ids"),
                                                          user=u, now=now(), note=form_text("note")),
                         "已指定牵头和协办部门，等待各部门签收")

    @expose("/<int:pk>/reply", methods=["POST"])
    @has_access
    def reply(self, pk):
        def go(a, u):
            S.reply(a.id, contact_whom=form_text("contact_whom"),
                    contact_at=form_datetime("contact_at", "联系时间"), contact_way=form_text("contact_way"),
                    measures=form_text("measures"), result=form_text("result"), result_note=form_text("result_note"),
                    finished_at=form_datetime("finished_at", "完成时间"), user=u, now=now())

        return self._run(pk, go, "答复已提交，等待审核")

    @expose("/<int:pk>/review", methods=["POST"])
    @has_access
    def review(self, pk):
        approve = form_text("decision") != "return"
        return self._run(pk, lambda a, u: S.review(a.id, approve, note=form_text("note"), user=u, now=now()),
                         "审核通过，转入待回访" if approve else "已退回承办单位重办")

    @expose("/<int:pk>/callback", methods=["POST"])
    @has_access
    def callback(self, pk):
        result = form_text("result")
        return self._run(pk, lambda a, u: S.callback(a.id, result, note=form_text("note"), user=u, now=now()),
                         "回访不满意，已退回原承办单位重办" if result == "不满意" else "回访已记录，诉求已办结")

    @expose("/<int:pk>/merge", methods=["POST"])
    @has_access
    def merge(self, pk):
        def go(a, u):
            master = db.session.scalar(select(Appeal.id).where(Appeal.number == form_text("master")))
            if master is None:
                raise DomainError("找不到要并入的诉求编号，请核对")
            S.merge(a.id, master, reason=form_text("reason"), user=u, now=now())

        return self._run(pk, go, "已合并，该诉求随主诉求办理结果办结")

    @expose("/<int:pk>/supervise", methods=["POST"])
    @has_access
    def supervise(self, pk):
        return self._run(pk, lambda a, u: S.to_supervision(a.id, user=u, now=now()),
                         "已转督办，督查事项已生成")

    def _run(self, pk, fn, success: str):
        user = acting_user()
        appeal = only_visible(pk, user)
        return run_action(appeal.id, lambda: fn(appeal, user), success, self.render_template)


def _unit_id() -> int | None:
    return form_int("unit_id")


def _place_path(appeal: Appeal) -> str:
    """The place as 乡镇 · 村 · 网格 (its ancestors below the county)."""
    names, unit = [], appeal.occurred_unit
    while unit is not None and unit.kind not in ("county", "city"):
        names.append(unit.name)
        unit = unit.parent
    return " · ".join(reversed(names))
