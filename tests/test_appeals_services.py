"""The appeal flow of PLATFORM.md §2 through the services: every transition and its refusals
(illegal state, wrong actor, out of scope → NotFound), nothing changed by a refusal, the
history of every hand-over, 重办, merge, 转督办, the race of two at once, masking in the audit
trail, the to-do lists, and the figures and indicator against hand-computed cases."""

from __future__ import annotations

import datetime as dt
import json
import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select

from app.appeals import rules
from app.appeals import services as S
from app.appeals.models import Appeal, AppealAssignment, AppealEvent
from app.core.errors import DomainError, Forbidden, NotFound
from app.extensions import db
from app.models import AuditLog, SupervisionTask
from tests.appeals_data import MONDAY, fresh, grid_appeal, h, hotline_appeal, reply_parts, user, world


@pytest.fixture(scope="module")
def w(app):
    with app.app_context():
        return world()


def snapshot(appeal_id: int) -> tuple:
    """What a refusal must leave unchanged: the row, its assignments and its history."""
    db.session.rollback()
    db.session.expire_all()
    appeal = db.session.get(Appeal, appeal_id)
    counts = tuple(db.session.scalar(select(func.count()).select_from(model).where(model.appeal_id == appeal_id))
                   for model in (AppealAssignment, AppealEvent))
    return appeal.state, appeal.version, appeal.handler_unit_id, counts


def refused(exc_type, fn, appeal_id: int, text: str | None = None):
    before = snapshot(appeal_id)
    with pytest.raises(exc_type) as info:
        fn()
    assert snapshot(appeal_id) == before
    if text is not None:
        assert text in info.value.message
    return info.value


def to_township(at=MONDAY) -> Appeal:
    """A grid report escalated grid → village → township and signed there."""
    appeal = grid_appeal(at)
    S.escalate(appeal.id, "网格无法解决", user=user("wgy_g01"), now=h(at, 1))
    S.sign(appeal.id, user=user("llr_v01"), now=h(at, 2))
    S.escalate(appeal.id, "村里无法解决", user=user("llr_v01"), now=h(at, 3))
    S.sign(appeal.id, user=user("llr_luoshan_t01"), now=h(at, 4))
    return fresh(appeal.id)


def replied(appeal: Appeal, by: str, at: dt.datetime) -> None:
    S.reply(appeal.id, user=user(by), now=at, **reply_parts(at))


# ---------------------------------------------------------------- creating appeals

def test_grid_report_starts_at_the_grid_and_the_township_reviews(ctx, w):
    appeal = grid_appeal(category_id=w["road"])
    assert appeal.state == rules.HANDLING and appeal.handler_unit_id == w["grid"]
    assert appeal.reviewer_kind == "township" and appeal.reviewer_unit_id == w["town"]
    assert appeal.source == "网格上报" and appeal.number.startswith("SQ-2026-")
    assert appeal.urgency == "一般"  # the category's default
    assert appeal.reply_deadline == dt.datetime(2026, 11, 11, 23, 59, 59)  # 7 working days after Monday 2 Nov
    assert [e.action for e in S.history(appeal.id, user("wgy_g01"))] == ["report"]


def test_grid_report_refusals(ctx, w):
    with pytest.raises(Forbidden):
        S.report_from_grid(user=user("llr_v01"), content="x")
    with pytest.raises(Forbidden, match="本网格"):
        S.report_from_grid(user=user("wgy_g01"), content="x", occurred_unit_id=w["grid2"])
    with pytest.raises(DomainError, match="诉求内容"):
        S.report_from_grid(user=user("wgy_g01"), content="  ")
    with pytest.raises(DomainError, match="紧急程度"):
        S.report_from_grid(user=user("wgy_g01"), content="x", urgency="特急")


def test_hotline_appeal_waits_for_the_dispatcher(ctx, w):
    appeal = hotline_appeal(w, external_number="GD-0001", category_id=w["gas"])
    assert appeal.state == rules.TO_DISPATCH and appeal.handler_unit_id == w["county"]
    assert appeal.reviewer_kind == "dispatcher" and appeal.urgency == "紧急"
    assert appeal.reply_deadline == h(MONDAY, 24)
    count = db.session.scalar(select(func.count(Appeal.id)))
    with pytest.raises(DomainError, match="工单编号“GD-0001”已存在"):
        hotline_appeal(w, external_number="GD-0001")
    assert db.session.scalar(select(func.count(Appeal.id))) == count
    other = hotline_appeal(w, external_number="GD-0001", source="来信来访")  # unique per source
    assert other.number != appeal.number
    with pytest.raises(Forbidden):
        S.create(user=user("llr_luoshan_t01"), source="12345热线", content="x", occurred_unit_id=w["grid"])
    with pytest.raises(DomainError, match="发生地"):  # 光山县's dispatcher, a 罗山县 place
        hotline_appeal(w, dispatcher="ddy_guangshan")
    with pytest.raises(DomainError, match="发生地应为"):
        hotline_appeal(w, place="dept")


def test_citizens_are_masked_in_the_audit_trail(ctx, w):
    appeal = grid_appeal(citizen_name="欧阳修文", citizen_phone="13812345678")
    row = db.session.scalar(select(AuditLog).where(AuditLog.table_name == "appeal", AuditLog.row_id == str(appeal.id),
                                                   AuditLog.action == "create"))
    values = json.loads(row.new_values)
    assert values["citizen_name"] == "欧***" and values["citizen_phone"] == "138****5678"
    assert "13812345678" not in row.new_values and "欧阳修文" not in row.new_values
    assert row.org_unit_id == w["grid"]


# ---------------------------------------------------------------- dispatch, sign, refuse, ruling

def test_dispatch_sign_and_the_sign_deadline(ctx, w):
    appeal = hotline_appeal(w)
    assignment = S.dispatch(appeal.id, w["town"], user=user("ddy_luoshan"), now=h(MONDAY, 1))
    assert assignment.sign_deadline == dt.datetime(2026, 11, 3, 23, 59, 59)
    appeal = fresh(appeal.id)
    assert appeal.state == rules.TO_SIGN and appeal.handler_unit_id == w["town"]
    assert S.sign_light(appeal, h(MONDAY, 2)) == rules.GREEN
    assert S.sign_light(appeal, dt.datetime(2026, 11, 3, 12)) == rules.YELLOW
    assert S.sign_light(appeal, dt.datetime(2026, 11, 4)) == rules.RED
    refused(DomainError, lambda: S.dispatch(appeal.id, w["dept"], user=user("ddy_luoshan")), appeal.id, "待签收")
    refused(DomainError, lambda: S.sign(appeal.id, user=user("llr_v01")), appeal.id, "没有待本单位签收")
    refused(NotFound, lambda: S.sign(appeal.id, user=user("llr_city_d01")), appeal.id)
    S.sign(appeal.id, user=user("llr_luoshan_t01"), now=h(MONDAY, 5))
    appeal = fresh(appeal.id)
    assert appeal.state == rules.HANDLING and appeal.handler_unit_id == w["town"]
    refused(DomainError, lambda: S.sign(appeal.id, user=user("llr_luoshan_t01")), appeal.id)


def test_dispatch_refusals(ctx, w):
    appeal = hotline_appeal(w)
    refused(DomainError, lambda: S.dispatch(appeal.id, w["town"], user=user("llr_luoshan_t01")), appeal.id, "无权")
    refused(NotFound, lambda: S.dispatch(appeal.id, w["town"], user=user("ddy_guangshan")), appeal.id)
    from tests.appeals_data import unit
    refused(DomainError, lambda: S.dispatch(appeal.id, unit("XY04T01").id, user=user("ddy_luoshan")), appeal.id,
            "管辖范围")
    refused(DomainError, lambda: S.dispatch(appeal.id, w["county"], user=user("ddy_luoshan")), appeal.id, "类型")
    refused(NotFound, lambda: S.dispatch(10**9, w["town"], user=user("ddy_luoshan")), appeal.id)


def test_refusal_goes_back_to_the_dispatcher_who_reassigns_or_overrules(ctx, w):
    appeal = hotline_appeal(w)
    S.dispatch(appeal.id, w["dept"], user=user("ddy_luoshan"), now=h(MONDAY, 1))
    refused(DomainError, lambda: S.refuse(appeal.id, "其他", "", user=user("llr_luoshan_d01")), appeal.id, "具体原因")
    refused(DomainError, lambda: S.refuse(appeal.id, "不想办", "x", user=user("llr_luoshan_d01")), appeal.id)
    first = S.refuse(appeal.id, "职能不符", "不属于本部门职责", user=user("llr_luoshan_d01"), now=h(MONDAY, 2))
    appeal = fresh(appeal.id)
    assert appeal.state == rules.TO_DISPATCH and appeal.handler_unit_id == w["county"]
    todo = S.todo_lists(user("ddy_luoshan"), h(MONDAY, 2))
    assert appeal.id in [a.id for a in todo["appeal_refusals"][1]]
    assert appeal.id not in [a.id for a in todo.get("appeal_to_dispatch", (0, []))[1]]
    refused(Forbidden, lambda: S.rule_on_refusal(first.id, "overrule", user=user("llr_luoshan_t01")), appeal.id)
    refused(DomainError, lambda: S.rule_on_refusal(first.id, "reassign", user=user("ddy_luoshan")), appeal.id, "改派")
    S.rule_on_refusal(first.id, "reassign", unit_id=w["dept2"], user=user("ddy_luoshan"), now=h(MONDAY, 3))
    appeal = fresh(appeal.id)
    assert appeal.state == rules.TO_SIGN and appeal.handler_unit_id == w["dept2"]
    refused(DomainError, lambda: S.rule_on_refusal(first.id, "overrule", user=user("ddy_luoshan")), appeal.id,
            "没有待处理的退单")
    second = S.refuse(appeal.id, "属地不符", None, user=user("llr_d02"), now=h(MONDAY, 4))
    S.rule_on_refusal(second.id, "overrule", note="属于贵单位职责", user=user("ddy_luoshan"), now=h(MONDAY, 5))
    appeal = fresh(appeal.id)
    assert appeal.state == rules.TO_SIGN and appeal.handler_unit_id == w["dept2"]
    refused(DomainError, lambda: S.refuse(appeal.id, "职能不符", None, user=user("llr_d02")), appeal.id, "须签收")
    S.sign(appeal.id, user=user("llr_d02"), now=h(MONDAY, 6))
    events = S.history(appeal.id, user("ddy_luoshan"))
    assert [e.action for e in events] == ["create", "dispatch", "refuse", "rule", "refuse", "rule", "sign"]
    refusal = events[2]
    assert (refusal.actor_name, refusal.from_unit_id, refusal.to_unit_id, refusal.reason) == (
        "llr_luoshan_d01", w["dept"], w["county"], "不属于本部门职责")
    assert refusal.detail["kind"] == "职能不符"
    assert events[5].detail["decision"] == "overrule" and events[5].reason == "属于贵单位职责"


# ---------------------------------------------------------------- 上报 and 吹哨

def test_escalation_grid_village_township_keeps_the_reply_deadline(ctx, w):
    appeal = grid_appeal()
    deadline = appeal.reply_deadline
    refused(DomainError, lambda: S.escalate(appeal.id, " ", user=user("wgy_g01")), appeal.id, "理由")
    refused(NotFound, lambda: S.escalate(appeal.id, "x", user=user("wgy_g02")), appeal.id)
    refused(DomainError, lambda: S.escalate(appeal.id, "x", user=user("llr_v01")), appeal.id, "无权")
    refused(DomainError, lambda: S.whistle_to_department(appeal.id, w["dept"], "x", user=user("wgy_g01")),
            appeal.id, "只有乡镇街道")
    S.escalate(appeal.id, "网格无法解决", user=user("wgy_g01"), now=h(MONDAY, 1))
    appeal = fresh(appeal.id)
    assert appeal.state == rules.TO_SIGN and appeal.handler_unit_id == w["village"]
    refused(DomainError, lambda: S.reply(appeal.id, user=user("wgy_g01"), **reply_parts(h(MONDAY, 1))), appeal.id)
    appeal = to_township()
    assert appeal.handler_unit_id == w["town"] and appeal.reply_deadline == deadline
    refused(DomainError, lambda: S.escalate(appeal.id, "x", user=user("llr_luoshan_t01")), appeal.id, "吹哨")
    events = S.history(appeal.id, user("llr_luoshan_t01"))
    handovers = [(e.action, e.from_unit_id, e.to_unit_id, e.reason) for e in events if e.action == "escalate"]
    assert handovers == [("escalate", w["grid"], w["village"], "网格无法解决"),
                         ("escalate", w["village"], w["town"], "村里无法解决")]


def test_refused_escalation_is_overruled_or_taken_back(ctx, w):
    appeal = grid_appeal()
    S.escalate(appeal.id, "网格无法解决", user=user("wgy_g01"), now=h(MONDAY, 1))
    refusal = S.refuse(appeal.id, "其他", "网格可自行处理", user=user("llr_v01"), now=h(MONDAY, 2))
    appeal = fresh(appeal.id)
    assert appeal.state == rules.TO_DISPATCH and appeal.handler_unit_id == w["grid"]
    assert appeal.id in [a.id for a in S.todo_lists(user("wgy_g01"), h(MONDAY, 2))["appeal_refusals"][1]]
    refused(DomainError, lambda: S.rule_on_refusal(refusal.id, "reassign", unit_id=w["town"], user=user("wgy_g01")),
            appeal.id, "上报只能报送上级")
    S.rule_on_refusal(refusal.id, "take_back", user=user("wgy_g01"), now=h(MONDAY, 3))
    appeal = fresh(appeal.id)
    assert appeal.state == rules.HANDLING and appeal.handler_unit_id == w["grid"]


def test_whistle_to_a_department_and_back_to_the_township_for_review(ctx, w):
    appeal = to_township()
    from tests.appeals_data import unit
    refused(DomainError, lambda: S.whistle_to_department(appeal.id, unit("XY04D01").id, "x",
                                                         user=user("llr_luoshan_t01")), appeal.id, "不是本县区")
    refused(DomainError, lambda: S.whistle_to_department(appeal.id, w["village"], "x", user=user("llr_luoshan_t01")),
            appeal.id, "部门")
    S.whistle_to_department(appeal.id, w["dept"], "需要部门执法", user=user("llr_luoshan_t01"), now=h(MONDAY, 5))
    # the department sees it (it was assigned there), another county's department does not
    assert S.get_appeal(appeal.id, user("llr_luoshan_d01")).id == appeal.id
    with pytest.raises(NotFound):
        S.get_appeal(appeal.id, user("llr_city_d01"))
    S.sign(appeal.id, user=user("llr_luoshan_d01"), now=h(MONDAY, 6))
    replied(appeal, "llr_luoshan_d01", h(MONDAY, 7))
    refused(DomainError, lambda: S.review(appeal.id, True, user=user("ddy_luoshan")), appeal.id, "无权")
    S.review(appeal.id, True, user=user("llr_luoshan_t01"), now=h(MONDAY, 8))
    appeal = fresh(appeal.id)
    assert appeal.state == rules.TO_CALLBACK and appeal.resolved_level == "县区部门"
    assert appeal.resolved_unit_id == w["dept"] and appeal.replied_at == h(MONDAY, 7)


def test_whistle_to_the_leader_who_names_lead_and_assisting_departments(ctx, w):
    appeal = to_township()
    refused(DomainError, lambda: S.whistle_to_leader(appeal.id, user("ld_guangshan").id, "x",
                                                     user=user("llr_luoshan_t01")), appeal.id)
    refused(DomainError, lambda: S.whistle_to_leader(appeal.id, user("ddy_luoshan").id, "x",
                                                     user=user("llr_luoshan_t01")), appeal.id, "县区领导")
    assert {"whistle_to_department", "whistle_to_leader", "reply"} <= set(
        S.available_actions(appeal, user("llr_luoshan_t01"), h(MONDAY, 5)))
    assert "escalate" not in S.available_actions(appeal, user("llr_luoshan_t01"), h(MONDAY, 5))
    S.whistle_to_leader(appeal.id, user("ld_luoshan").id, "需多部门联合", user=user("llr_luoshan_t01"),
                        now=h(MONDAY, 5))
    appeal = fresh(appeal.id)
    assert S.available_actions(appeal, user("ld_luoshan"), h(MONDAY, 5)) == ["leader_assign"]
    assert "dispatch" not in S.available_actions(appeal, user("ddy_luoshan"), h(MONDAY, 5))
    assert appeal.state == rules.TO_DISPATCH and appeal.leader_id == user("ld_luoshan").id
    whistles = S.todo_lists(user("ld_luoshan"), h(MONDAY, 5))["appeal_whistles"]
    assert appeal.id in [a.id for a in whistles[1]]
    refused(DomainError, lambda: S.dispatch(appeal.id, w["dept"], user=user("ddy_luoshan")), appeal.id, "分管领导")
    refused(NotFound, lambda: S.leader_assign(appeal.id, w["dept"], user=user("ld_guangshan")), appeal.id)
    refused(DomainError, lambda: S.leader_assign(appeal.id, w["dept"], [w["dept3"]], user=user("ld_luoshan")),
            appeal.id, "不是您分管")
    refused(DomainError, lambda: S.leader_assign(appeal.id, w["town"], user=user("ld_luoshan")), appeal.id, "部门")
    made = S.leader_assign(appeal.id, w["dept"], [w["dept2"]], user=user("ld_luoshan"), note="组织部牵头",
                           now=h(MONDAY, 6))
    assert [(a.role, a.org_unit_id) for a in made] == [("lead", w["dept"]), ("assist", w["dept2"])]
    appeal = fresh(appeal.id)
    assert appeal.state == rules.TO_SIGN and appeal.handler_unit_id == w["dept"]
    assert set(S.available_actions(appeal, user("llr_d02"), h(MONDAY, 6))) == {"sign", "refuse"}
    assert S.available_actions(appeal, user("ld_luoshan"), h(MONDAY, 6)) == []
    # the lead's signature moves the appeal; the assisting department signs its own part, and
    # the lead replies for all once every part is signed
    S.sign(appeal.id, user=user("llr_luoshan_d01"), now=h(MONDAY, 7))
    assert fresh(appeal.id).state == rules.HANDLING
    assert "reply" in S.available_actions(fresh(appeal.id), user("llr_luoshan_d01"), h(MONDAY, 7))
    refused(DomainError, lambda: S.reply(appeal.id, user=user("llr_luoshan_d01"), now=h(MONDAY, 7),
                                         **reply_parts(h(MONDAY, 7))), appeal.id, "协办单位尚未签收")
    S.sign(appeal.id, user=user("llr_d02"), now=h(MONDAY, 8))
    assert fresh(appeal.id).state == rules.HANDLING
    refused(DomainError, lambda: S.reply(appeal.id, user=user("llr_d02"), **reply_parts(h(MONDAY, 9))), appeal.id,
            "无权")
    replied(appeal, "llr_luoshan_d01", h(MONDAY, 9))
    assert fresh(appeal.id).state == rules.TO_REVIEW
    from tests.appeals_data import DEPT, DEPT2, unit
    detail = [e.detail for e in S.history(appeal.id, None) if e.action == "leader_assign"][0]
    assert detail == {"lead": unit(DEPT).name, "assist": [unit(DEPT2).name]}


def test_a_refused_lead_goes_back_to_the_leader(ctx, w):
    appeal = to_township()
    S.whistle_to_leader(appeal.id, user("ld_luoshan").id, "需多部门", user=user("llr_luoshan_t01"), now=h(MONDAY, 5))
    S.leader_assign(appeal.id, w["dept"], [], user=user("ld_luoshan"), now=h(MONDAY, 6))
    refusal = S.refuse(appeal.id, "职能不符", None, user=user("llr_luoshan_d01"), now=h(MONDAY, 7))
    appeal = fresh(appeal.id)
    assert appeal.state == rules.TO_DISPATCH and appeal.leader_id == user("ld_luoshan").id
    assert appeal.id in [a.id for a in S.todo_lists(user("ld_luoshan"), h(MONDAY, 7))["appeal_refusals"][1]]
    refused(Forbidden, lambda: S.rule_on_refusal(refusal.id, "overrule", user=user("ddy_luoshan")), appeal.id)
    S.rule_on_refusal(refusal.id, "reassign", unit_id=w["dept2"], user=user("ld_luoshan"), now=h(MONDAY, 8))
    appeal = fresh(appeal.id)
    assert appeal.state == rules.TO_SIGN and appeal.handler_unit_id == w["dept2"]


# ---------------------------------------------------------------- reply, review, call-back, 重办

@pytest.mark.parametrize("missing, message", [
    ("contact_whom", "联系了谁"), ("contact_at", "联系群众的时间"), ("contact_way", "联系方式"),
    ("measures", "解决措施"), ("result", "办理结果"), ("finished_at", "完成时间"),
])
def test_reply_needs_its_four_parts(ctx, w, missing, message):
    appeal = grid_appeal()
    parts = reply_parts(h(MONDAY, 1))
    parts[missing] = None
    refused(DomainError, lambda: S.reply(appeal.id, user=user("wgy_g01"), now=h(MONDAY, 1), **parts), appeal.id,
            message)


def test_reply_result_explained_and_not_in_the_future(ctx, w):
    appeal = grid_appeal()
    refused(DomainError, lambda: S.reply(appeal.id, user=user("wgy_g01"), now=h(MONDAY, 1),
                                         **reply_parts(h(MONDAY, 1), result="未解决并说明")), appeal.id, "说明原因")
    refused(DomainError, lambda: S.reply(appeal.id, user=user("wgy_g01"), now=h(MONDAY, 1),
                                         **reply_parts(h(MONDAY, 5))), appeal.id, "不能晚于")
    row = S.reply(appeal.id, user=user("wgy_g01"), now=h(MONDAY, 1),
                  **reply_parts(h(MONDAY, 1), result="未解决并说明", result_note="需上级立项"))
    assert row.result == "未解决并说明" and fresh(appeal.id).state == rules.TO_REVIEW


def test_review_returns_to_the_same_handler_and_callback_reopens(ctx, w):
    appeal = grid_appeal()
    replied(appeal, "wgy_g01", h(MONDAY, 1))
    refused(DomainError, lambda: S.review(appeal.id, False, user=user("llr_luoshan_t01")), appeal.id, "理由")
    refused(DomainError, lambda: S.review(appeal.id, True, user=user("llr_v01")), appeal.id, "无权")
    S.review(appeal.id, False, note="措施不具体", user=user("llr_luoshan_t01"), now=h(MONDAY, 2))
    appeal = fresh(appeal.id)
    assert appeal.state == rules.HANDLING and appeal.handler_unit_id == w["grid"] and appeal.replied_at is None
    replied(appeal, "wgy_g01", h(MONDAY, 3))
    S.review(appeal.id, True, user=user("llr_luoshan_t01"), now=h(MONDAY, 4))
    appeal = fresh(appeal.id)
    assert appeal.resolved_level == "网格" and appeal.replied_at == h(MONDAY, 3)
    refused(DomainError, lambda: S.callback(appeal.id, "很好", user=user("llr_luoshan_t01")), appeal.id, "回访结果")
    S.callback(appeal.id, "不满意", note="路灯又坏了", user=user("llr_luoshan_t01"), now=h(MONDAY, 5))
    appeal = fresh(appeal.id)
    assert (appeal.state, appeal.handler_unit_id, appeal.reopen_count) == (rules.HANDLING, w["grid"], 1)
    assert appeal.resolved_level is None
    replied(appeal, "wgy_g01", h(MONDAY, 6))
    S.review(appeal.id, True, user=user("llr_luoshan_t01"), now=h(MONDAY, 7))
    S.callback(appeal.id, "基本满意", user=user("llr_luoshan_t01"), now=h(MONDAY, 8))
    appeal = fresh(appeal.id)
    assert (appeal.state, appeal.reopen_count, appeal.closed_at) == (rules.CLOSED, 1, h(MONDAY, 8))
    assert appeal.replied_at == h(MONDAY, 3)  # the first approved reply counts for 按时答复
    refused(DomainError, lambda: S.callback(appeal.id, "满意", user=user("llr_luoshan_t01")), appeal.id, "已办结")
    actions = [e.action for e in S.history(appeal.id, user("wgy_g01"))]
    assert actions == ["report", "reply", "return", "reply", "approve", "reopen", "reply", "approve", "callback"]


# ---------------------------------------------------------------- merge

def test_merge_follows_the_master(ctx, w):
    master = hotline_appeal(w)
    duplicate = hotline_appeal(w, content="同一处道路破损")
    S.dispatch(duplicate.id, w["town"], user=user("ddy_luoshan"), now=h(MONDAY, 1))
    refused(DomainError, lambda: S.merge(duplicate.id, master.id, user=user("llr_luoshan_t01")), duplicate.id, "无权")
    refused(DomainError, lambda: S.merge(duplicate.id, duplicate.id, user=user("ddy_luoshan")), duplicate.id, "自身")
    S.merge(duplicate.id, master.id, reason="重复来电", user=user("ddy_luoshan"), now=h(MONDAY, 2))
    duplicate = fresh(duplicate.id)
    assert duplicate.state == rules.MERGED and duplicate.merged_into_id == master.id
    assert all(a.state == "ended" for a in duplicate.assignments)
    to_sign = S.todo_lists(user("llr_luoshan_t01"), h(MONDAY, 2)).get("appeal_to_sign", (0, []))[1]
    assert duplicate.id not in [a.id for a in to_sign]
    refused(DomainError, lambda: S.merge(master.id, duplicate.id, user=user("ddy_luoshan")), master.id, "已合并")
    refused(DomainError, lambda: S.sign(duplicate.id, user=user("llr_luoshan_t01")), duplicate.id)
    S.dispatch(master.id, w["grid"], user=user("ddy_luoshan"), now=h(MONDAY, 3))
    S.sign(master.id, user=user("wgy_g01"), now=h(MONDAY, 4))
    replied(master, "wgy_g01", h(MONDAY, 5))
    S.review(master.id, True, user=user("ddy_city"), now=h(MONDAY, 6))  # the city's dispatcher covers 罗山县
    S.callback(master.id, "满意", user=user("ddy_luoshan"), now=h(MONDAY, 7))
    outcome = S.outcome_of(fresh(duplicate.id))
    assert outcome.id == master.id and outcome.state == rules.CLOSED
    assert fresh(duplicate.id).updated_at == h(MONDAY, 7)  # the hotline's updates carry the duplicate too
    master_events = [e.action for e in S.history(master.id, None)]
    assert "merged_in" in master_events


# ---------------------------------------------------------------- 转督办

def test_to_supervision_conditions_and_the_two_way_link(ctx, w):
    appeal = grid_appeal()
    deadline = appeal.reply_deadline
    refused(DomainError, lambda: S.to_supervision(appeal.id, user=user("dcy_luoshan"), now=h(MONDAY, 1)),
            appeal.id, "超过答复期限")
    refused(DomainError, lambda: S.to_supervision(appeal.id, user=user("ddy_luoshan"), now=deadline + dt.timedelta(1)),
            appeal.id, "无权")
    late = deadline + dt.timedelta(seconds=1)
    task = S.to_supervision(appeal.id, user=user("dcy_luoshan"), now=late)
    appeal = fresh(appeal.id)
    assert appeal.supervision_task_id == task.id
    assert S.appeal_of_task(task.id).id == appeal.id
    task = db.session.get(SupervisionTask, task.id)
    assert task.state == "assigned" and task.lead_unit_id == w["grid"] and appeal.number in task.source
    assert task.code.startswith("DC-2026-") and [a.org_unit_id for a in task.assignments] == [w["grid"]]
    assert "张三丰" not in task.content and "张**" in task.content
    refused(DomainError, lambda: S.to_supervision(appeal.id, user=user("dcy_luoshan"), now=late), appeal.id, "已转督办")
    assert [e.detail["task"] for e in S.history(appeal.id, None) if e.action == "to_supervision"] == [task.code]


def test_to_supervision_after_two_reopens(ctx, w):
    appeal = grid_appeal()
    for i in range(2):
        replied(appeal, "wgy_g01", h(MONDAY, 3 * i + 1))
        S.review(appeal.id, True, user=user("llr_luoshan_t01"), now=h(MONDAY, 3 * i + 2))
        S.callback(appeal.id, "不满意", user=user("llr_luoshan_t01"), now=h(MONDAY, 3 * i + 3))
        if i == 0:
            refused(DomainError, lambda: S.to_supervision(appeal.id, user=user("dcy_luoshan"), now=h(MONDAY, 4)),
                    appeal.id)
    assert fresh(appeal.id).reopen_count == 2
    task = S.to_supervision(appeal.id, user=user("dcy_luoshan"), now=h(MONDAY, 7))
    assert fresh(appeal.id).supervision_task_id == task.id


# ---------------------------------------------------------------- two at once

@contextmanager
def same_instant(monkeypatch, parties: int = 2):
    barrier = threading.Barrier(parties)
    real = S.command

    @contextmanager
    def gated(*args, **kwargs):
        try:
            barrier.wait(timeout=20)
        except threading.BrokenBarrierError:
            pass
        with real(*args, **kwargs):
            yield

    monkeypatch.setattr(S, "command", gated)
    try:
        yield
    finally:
        monkeypatch.setattr(S, "command", real)


def race(app, *calls) -> list:
    outcomes: list = [None] * len(calls)

    def run(i, fn):
        with app.app_context():
            try:
                fn()
                outcomes[i] = "ok"
            except Exception as exc:  # the test asserts on it
                outcomes[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes


def test_two_dispatchers_at_once_one_wins(app, monkeypatch, w):
    with app.app_context():
        appeal_id = hotline_appeal(w).id
        db.session.commit()
    with same_instant(monkeypatch):
        outcomes = race(
            app,
            lambda: S.dispatch(appeal_id, w["town"], user=user("ddy_luoshan"), now=h(MONDAY, 1)),
            lambda: S.dispatch(appeal_id, w["dept"], user=user("ddy_city"), now=h(MONDAY, 1)),
        )
    assert sorted(o if o == "ok" else type(o).__name__ for o in outcomes) == ["Conflict", "ok"], outcomes
    loser = next(o for o in outcomes if o != "ok")
    assert loser.status == 409 and "已被他人处理" in loser.message
    with app.app_context():
        appeal = db.session.get(Appeal, appeal_id)
        assert len(appeal.assignments) == 1 and appeal.state == rules.TO_SIGN
        dispatches = [e for e in S.history(appeal_id, None) if e.action == "dispatch"]
        assert len(dispatches) == 1 and dispatches[0].to_unit_id == appeal.handler_unit_id


def test_sign_and_refuse_at_once_one_wins(app, monkeypatch, w):
    with app.app_context():
        appeal_id = hotline_appeal(w).id
        S.dispatch(appeal_id, w["grid"], user=user("ddy_luoshan"), now=h(MONDAY, 1))
        from app.org.users import create_user
        from tests.appeals_data import GRID, PASSWORD
        create_user("wgy_g01b", PASSWORD, "网格员", GRID)
        db.session.commit()
    with same_instant(monkeypatch):
        outcomes = race(
            app,
            lambda: S.sign(appeal_id, user=user("wgy_g01"), now=h(MONDAY, 2)),
            lambda: S.refuse(appeal_id, "属地不符", None, user=user("wgy_g01b"), now=h(MONDAY, 2)),
        )
    kinds = sorted(o if o == "ok" else type(o).__name__ for o in outcomes)
    assert kinds == ["Conflict", "ok"], outcomes
    with app.app_context():
        appeal = db.session.get(Appeal, appeal_id)
        states = [a.state for a in appeal.assignments]
        assert states in (["signed"], ["refused"])
        assert appeal.state == (rules.HANDLING if states == ["signed"] else rules.TO_DISPATCH)
        assert len([e for e in S.history(appeal_id, None) if e.action in ("sign", "refuse")]) == 1


def test_two_callbacks_at_once_count_one_reopen(app, monkeypatch, w):
    with app.app_context():
        appeal = grid_appeal()
        replied(appeal, "wgy_g01", h(MONDAY, 1))
        S.review(appeal.id, True, user=user("llr_luoshan_t01"), now=h(MONDAY, 2))
        appeal_id = appeal.id
        from app.org.users import create_user
        from tests.appeals_data import PASSWORD, TOWN
        create_user("llr_t01b", PASSWORD, "承办联络员", TOWN)
        db.session.commit()
    with same_instant(monkeypatch):
        outcomes = race(
            app,
            lambda: S.callback(appeal_id, "不满意", user=user("llr_luoshan_t01"), now=h(MONDAY, 3)),
            lambda: S.callback(appeal_id, "不满意", user=user("llr_t01b"), now=h(MONDAY, 3)),
        )
    assert sorted(o if o == "ok" else type(o).__name__ for o in outcomes) == ["Conflict", "ok"], outcomes
    with app.app_context():
        assert db.session.get(Appeal, appeal_id).reopen_count == 1


# ---------------------------------------------------------------- scope and to-do

def test_scope_follows_place_and_assignments(ctx, w):
    appeal = grid_appeal()
    assert S.get_appeal(appeal.id, user("llr_v01")).id == appeal.id  # the village above the grid
    assert S.get_appeal(appeal.id, user("ld_luoshan")).id == appeal.id
    for outsider in ("wgy_g02", "llr_luoshan_d01", "ld_guangshan", "ddy_guangshan", "wgy_other"):
        with pytest.raises(NotFound):
            S.get_appeal(appeal.id, user(outsider))
        with pytest.raises(NotFound):
            S.history(appeal.id, user(outsider))
    visible = set(db.session.scalars(S.scope_appeals(select(Appeal.id), user("wgy_g02"))))
    assert appeal.id not in visible


def test_todo_lists_per_role_with_lights(ctx, w):
    from app.appeals.menu import provider

    at = dt.datetime(2026, 11, 16, 9)
    fresh_grid = grid_appeal(at)
    groups = {g.key: g for g in provider(user("wgy_g01"), at)}
    assert "appeal_due" not in groups or fresh_grid.id not in [int(i.url.rsplit("/", 1)[1]) for i in
                                                                groups["appeal_due"].items]
    late = at + dt.timedelta(days=20)
    groups = {g.key: g for g in provider(user("wgy_g01"), late)}
    due = groups["appeal_due"]
    item = next(i for i in due.items if i.url.endswith(f"/{fresh_grid.id}")) if due.count <= 5 else due.items[0]
    assert item.light == rules.RED and due.title == "诉求待办理（临近或超过答复期限）"
    replied(fresh_grid, "wgy_g01", h(at, 1))
    groups = {g.key: g for g in provider(user("llr_luoshan_t01"), h(at, 1))}
    assert fresh_grid.id in [int(i.url.rsplit("/", 1)[1]) for i in groups["appeal_reviews"].items] or \
        groups["appeal_reviews"].count > 5
    hot = hotline_appeal(w, at=at)
    groups = {g.key: g for g in provider(user("ddy_luoshan"), at)}
    assert groups["appeal_to_dispatch"].count >= 1
    S.dispatch(hot.id, w["dept3"], user=user("ddy_luoshan"), now=h(at, 1))
    groups = {g.key: g for g in provider(user("llr_d03"), h(at, 2))}
    sign = groups["appeal_to_sign"]
    assert sign.count == 1 and sign.items[0].light == rules.GREEN
    assert provider(None, at) == [] and provider(user("admin"), at) == []


# ---------------------------------------------------------------- figures and the indicator

def test_figures_and_indicator_hand_computed(ctx, w):
    """Three appeals received on 1 December 2026 (a Tuesday), nothing else that day.

    A: grid report, reopened once, then 满意 — resolved at the grid, replied on time.
    B: hotline → village (signed late: deadline Wed 23:59:59, signed Thu) → reply late
       (deadline 10 Dec 23:59:59, replied 11 Dec) → 基本满意 — resolved at the village.
    (B and C happened in the village.)
    C: hotline → department refuses → reassigned to the township, unsigned, its deadline
       (3 Dec 23:59:59) passed by `now` — reply due 10 Dec, not replied.
    """
    day = dt.datetime(2026, 12, 1, 9, 0)
    now = dt.datetime(2026, 12, 15, 12, 0)
    a = grid_appeal(day)
    replied(a, "wgy_g01", h(day, 1))
    S.review(a.id, True, user=user("llr_luoshan_t01"), now=h(day, 2))
    S.callback(a.id, "不满意", user=user("llr_luoshan_t01"), now=h(day, 3))
    replied(a, "wgy_g01", h(day, 4))
    S.review(a.id, True, user=user("llr_luoshan_t01"), now=h(day, 5))
    S.callback(a.id, "满意", user=user("llr_luoshan_t01"), now=h(day, 6))
    b = hotline_appeal(w, at=day, place="village")
    S.dispatch(b.id, w["village"], user=user("ddy_luoshan"), now=h(day, 1))
    S.sign(b.id, user=user("llr_v01"), now=dt.datetime(2026, 12, 3, 9))
    replied(b, "llr_v01", dt.datetime(2026, 12, 11, 9))
    S.review(b.id, True, user=user("ddy_luoshan"), now=dt.datetime(2026, 12, 11, 10))
    S.callback(b.id, "基本满意", user=user("ddy_luoshan"), now=dt.datetime(2026, 12, 11, 11))
    c = hotline_appeal(w, at=day, place="village")
    S.dispatch(c.id, w["dept"], user=user("ddy_luoshan"), now=h(day, 1))
    refusal = S.refuse(c.id, "职能不符", None, user=user("llr_luoshan_d01"), now=h(day, 2))
    S.rule_on_refusal(refusal.id, "reassign", unit_id=w["town"], user=user("ddy_luoshan"), now=h(day, 3))

    f = S.figures(user("ddy_luoshan"), w["county"], day.date(), day.date(), now=now)
    assert f["received"] == 3 and f["refusals"] == 1
    # assignments: B village (late: counted, not on time), C dept (refused in time: not counted),
    # C township (unsigned, overdue: counted) → 0 / 2
    assert f["sign"] == {"on_time": 0, "counted": 2, "rate": 0.0}
    assert f["reply"] == {"on_time": 1, "due": 3, "rate": pytest.approx(1 / 3)}
    assert f["satisfaction"] == {"satisfied": 1, "basic": 1, "callbacks": 3, "rate": pytest.approx(2 / 3)}
    assert f["reopen"] == {"reopened": 1, "called_back": 2, "reopens": 1, "rate": 0.5}
    assert f["levels"] == {"网格": 1, "村社区": 1, "乡镇街道": 0, "县区部门": 0, "市直部门": 0}
    assert f["level_shares"]["网格"] == 0.5
    # 100·(0.3·0 + 0.4·1/3 + 0.3·2/3) − 2·1 = 33.33 − 2
    assert f["indicator"] == pytest.approx(100 * (0.4 / 3 + 0.3 * 2 / 3) - 2)
    children = {row["code"]: row for row in f["children"]}
    assert children["XY03T01"]["received"] == 3  # every one happened in the township
    assert children["XY03D01"]["received"] == 1 and children["XY03D01"]["refusals"] == 1
    assert children["XY03D01"]["sign"]["counted"] == 0
    assert children["XY03T02"]["received"] == 0 and children["XY03T02"]["indicator"] is None

    values = S.indicator_values([w["grid"], w["village"], w["town"], w["dept"], w["dept3"]], day.date(), day.date(),
                                now=now)
    # the grid: A only → sign none, reply 1/1, satisfaction 1/2, one 重办: 100·(0.4+0.15)/0.7 − 2
    assert values[w["grid"]]["indicator"] == pytest.approx(100 * (0.4 * 1 + 0.3 * 0.5) / 0.7 - 2)
    # the village (its own appeals, not the grid's): B and C happened there → sign 0/1 (B late),
    # reply 0/2, satisfaction 1/1 (基本满意) → 100·0.3 = 30
    assert values[w["village"]]["received"] == 2
    assert values[w["village"]]["indicator"] == pytest.approx(30.0)
    # the department: C (refused in time: no signature counted), reply 0/1 → 0
    assert values[w["town"]]["sign"] == {"on_time": 0, "counted": 1, "rate": 0.0}
    assert values[w["dept"]]["indicator"] == pytest.approx(0.0)
    assert values[w["dept3"]] == {**values[w["dept3"]], "received": 0, "indicator": None}
    # a department's own figures: C was assigned into it from elsewhere (and refused)
    dept = S.figures(user("ddy_luoshan"), w["dept"], day.date(), day.date(), now=now)
    assert (dept["received"], dept["refusals"], dept["sign"]["counted"], dept["children"]) == (1, 1, 0, [])
    assert dept["reply"] == {"on_time": 0, "due": 1, "rate": 0.0}
    town = S.figures(user("llr_luoshan_t01"), w["town"], day.date(), day.date(), now=now)
    assert town["received"] == 3 and {r["code"]: r["received"] for r in town["children"]}["XY03T01V01"] == 3
    assert town["sign"] == {"on_time": 0, "counted": 2, "rate": 0.0}  # the village's late one, the township's overdue one
    # a unit outside the user's scope
    from tests.appeals_data import unit
    with pytest.raises(NotFound):
        S.figures(user("ddy_guangshan"), w["county"], day.date(), day.date(), now=now)
    with pytest.raises(DomainError):
        S.figures(user("ddy_luoshan"), w["county"], day.date(), day.date() - dt.timedelta(1), now=now)
    # the whole city: the three, and the demo's appeals of that day (app/appeals/demo.py: 新县, 商城县)
    start = dt.datetime.combine(day.date(), dt.time())
    from app.models import OrgUnit

    elsewhere = db.session.scalar(select(func.count()).select_from(Appeal).where(
        Appeal.received_at >= start, Appeal.received_at < start + dt.timedelta(days=1),
        ~Appeal.occurred_unit_id.in_(select(OrgUnit.id).where(OrgUnit.code.startswith("XY03")))))
    assert S.figures(user("ddy_city"), unit("XY").id, day.date(), day.date(), now=now)["received"] == 3 + elsewhere


# ---------------------------------------------------------------- the 网格 unit kind and the settings

def test_org_import_accepts_grids_under_villages_only(ctx, w):
    from app.core.errors import ImportRejected
    from app.org.units import import_units
    from tests.appeals_data import unit

    data = "单位编码,单位名称,类型,上级编码\nXY03T01V02G01,新网格,网格,XY03T01V02\n".encode()
    import_units(data, "g.csv", user=None)
    grid = unit("XY03T01V02G01")
    assert grid.kind == "grid" and grid.parent.code == "XY03T01V02" and grid.kind_label == "网格"
    with pytest.raises(ImportRejected) as info:
        import_units("单位编码,单位名称,类型,上级编码\nXY03T01G09,错网格,网格,XY03T01\n".encode(), "b.csv", user=None)
    assert "网格" in info.value.message and unit("XY03T01G09") is None


def test_settings_catalogue_limits_and_charges(ctx, w):
    category = S.save_category("噪声扰民", user=user("ddy_luoshan"), default_urgency="一般", department_id=w["dept3"])
    assert category.department_id == w["dept3"] and not category.needs_completion
    with pytest.raises(DomainError, match="已存在"):
        S.save_category("噪声扰民", user=user("ddy_luoshan"))
    with pytest.raises(Forbidden):
        S.save_category("别的", user=user("llr_v01"))
    added = S.category_for_import("新类别来自热线")
    db.session.commit()
    assert added.needs_completion and S.category_for_import("新类别来自热线").id == added.id
    appeal = hotline_appeal(w, category_id=category.id)
    assert S.suggest_unit(appeal).id == w["dept3"]
    assert S.suggest_unit(hotline_appeal(w)).id == w["town"]  # no department: the place's township

    with pytest.raises(Forbidden):
        S.set_time_limit("复杂", user=user("ddy_luoshan"), sign_amount=1, sign_unit="working_days", reply_amount=20,
                         reply_unit="working_days")
    with pytest.raises(DomainError, match="时限无效"):
        S.set_time_limit("复杂", user=user("admin"), sign_amount=0, sign_unit="hours", reply_amount=1, reply_unit="hours")
    S.set_time_limit("复杂", user=user("admin"), sign_amount=4, sign_unit="hours", reply_amount=20,
                     reply_unit="working_days")
    complex_one = hotline_appeal(w, urgency="复杂")
    assert complex_one.reply_deadline == dt.datetime(2026, 11, 30, 23, 59, 59)  # 20 working days after 2 Nov
    S.dispatch(complex_one.id, w["town"], user=user("ddy_luoshan"), now=h(MONDAY, 1))
    assert fresh(complex_one.id).sign_deadline == h(MONDAY, 5)
    S.set_time_limit("复杂", user=None, sign_amount=1, sign_unit="working_days", reply_amount=15,
                     reply_unit="working_days")

    with pytest.raises(DomainError, match="县区领导"):
        S.add_leader_charge(user("ddy_luoshan").id, w["dept3"], user=user("admin_luoshan"))
    charge = S.add_leader_charge(user("ld_luoshan").id, w["dept3"], user=user("admin_luoshan"))
    assert w["dept3"] in S.charged_departments(user("ld_luoshan").id)
    with pytest.raises(DomainError, match="已分管"):
        S.add_leader_charge(user("ld_luoshan").id, w["dept3"], user=user("admin_luoshan"))
    with pytest.raises(Forbidden):
        S.remove_leader_charge(charge.id, user=user("ld_luoshan"))
    S.remove_leader_charge(charge.id, user=user("admin_luoshan"))
    assert w["dept3"] not in S.charged_departments(user("ld_luoshan").id)


def test_todo_page_shows_the_appeal_groups(app, client, w):
    from tests.conftest import login

    with app.app_context():
        appeal = hotline_appeal(w, at=dt.datetime.now().replace(microsecond=0) - dt.timedelta(hours=1))
        S.dispatch(appeal.id, w["grid2"], user=user("ddy_luoshan"))
        number = appeal.number
    login(client, "wgy_g02")
    page = client.get("/todo/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "诉求待签收" in text and number in text
    login(client, "ld_luoshan")
    assert client.get("/todo/").status_code == 200


def test_figures_and_to_do_take_a_bounded_number_of_queries(ctx, w):
    from sqlalchemy import event

    statements = []

    def count(*_args):
        statements.append(1)

    from app.appeals import cells

    engine = db.session.get_bind()
    day = MONDAY.date()
    cells.refresh()  # what earlier tests of the module changed
    for _ in range(3):
        grid_appeal()
    event.listen(engine, "before_cursor_execute", count)
    try:
        S.figures(user("ddy_city"), w["county"], day, day)
        refreshed_queries = len(statements)  # the three appeals' day counted again first
        statements.clear()
        S.figures(user("ddy_city"), w["county"], day, day)
        figures_queries = len(statements)
        statements.clear()
        S.indicator_values([w["grid"], w["town"], w["dept"]], day, day)
        indicator_queries = len(statements)
        statements.clear()
        S.todo_lists(user("llr_luoshan_t01"), MONDAY + dt.timedelta(days=30))
        todo_queries = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # The cells' claim of what changed, the unit and the scope, its children, the cell sums, the
    # clock's three reads (overdue replies, their hand-overs, overdue signings): none per appeal.
    assert figures_queries <= 9, figures_queries
    assert refreshed_queries <= figures_queries + 5, refreshed_queries
    assert indicator_queries == 3  # the place's part, the assignments' part, the signing figures
    assert todo_queries <= 16, todo_queries
