"""Supervision use cases in process: the 13710 workflow, permissions and scope, lights and
their SQL twin, reminders, to-do lists, findings and the audit trail.

Deadlines use fixed dates on the real (seeded) national calendar: an item assigned on
Friday 2022-09-30 under 普通事项 has its first report and completion due on Saturday
2022-10-08 (a make-up working day), since 10-03 and 10-07 fall in the National Day holiday.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import date, datetime

import pytest
from sqlalchemy import event, func, select

from app.core.errors import Conflict, DomainError, Forbidden, NotFound
from app.extensions import db
from app.models import (
    AppUser,
    Attachment,
    AuditLog,
    Cadre,
    ExtensionRequest,
    Finding,
    OrgUnit,
    SupervisionTask,
    TaskReminder,
    TaskReport,
    TimeLimitRule,
    WorkCalendarDay,
)
from app.security import roles as R
from app.supervision import deadlines
from app.supervision import findings as F
from app.supervision import tasks as S
from app.supervision.setup import seed_defaults, work_calendar
from tests.conftest import run_cli

CHINESE = re.compile(r"[\u4e00-\u9fff]")
ASSIGNED_AT = datetime(2022, 9, 30, 9, 0)
ACK_DUE = datetime(2022, 10, 1)  # end of the assignment day
FIRST_DUE = datetime(2022, 10, 9)  # 10-03 is a holiday -> Saturday 10-08, a make-up working day
COMPLETE_DUE = datetime(2022, 10, 9)  # 10-07 is a holiday -> 10-08


@pytest.fixture(scope="module", autouse=True)
def defaults(app):
    with app.app_context():
        seed_defaults()


@pytest.fixture()
def ctx(app):
    with app.app_context():
        yield
        db.session.rollback()


def user(name: str) -> AppUser:
    return db.session.scalar(select(AppUser).where(AppUser.username == name))


def unit(code: str) -> OrgUnit:
    return db.session.scalar(select(OrgUnit).where(OrgUnit.code == code))


def tag() -> str:
    return uuid.uuid4().hex[:10]


def new_task(lead="XY03T01", assist=("XY03D01",), rule="普通事项", by="dcy_luoshan", assigned_at=ASSIGNED_AT, **kw):
    """A task created by a supervisor and (unless assigned_at is None) assigned."""
    sup = user(by)
    task = S.create_task(
        "T" + tag(), "测试事项" + tag(), lead_unit_id=unit(lead).id, rule_name=rule,
        assist_unit_ids=[unit(c).id for c in assist], content="内容", source="市委常委会", category="督实事",
        user=sup, **kw,
    )
    if assigned_at is not None:
        S.assign(task.id, user=sup, now=assigned_at)
    return task


def lead_of(task):
    return next(a for a in task.assignments if a.is_lead)


def assist_of(task):
    return next(a for a in task.assignments if not a.is_lead)


def refused(exc_type, fn, *args, **kwargs) -> str:
    """Call fn expecting exc_type with a Chinese message; return the message."""
    with pytest.raises(exc_type) as info:
        fn(*args, **kwargs)
    assert CHINESE.search(info.value.message), info.value.message
    return info.value.message


def snapshot(task_id: int) -> tuple:
    db.session.expire_all()
    t = db.session.get(SupervisionTask, task_id)
    return (t.state, t.version, t.complete_due, t.submitted_at, t.completed_at,
            [(a.signed_at, a.first_report_at, a.completion_reported_at) for a in t.assignments])


# ---------------------------------------------------------------- setup

def test_seed_defaults_is_idempotent_and_the_calendar_is_the_national_one(ctx):
    assert seed_defaults() == {"rules": 0, "calendar_days": 0}
    rules = {r.name: r for r in db.session.scalars(select(TimeLimitRule))}
    assert (rules["普通事项"].complete_days, rules["普通事项"].first_report_days) == (7, 3)
    assert (rules["重大复杂事项"].complete_months, rules["重大复杂事项"].complete_days) == (1, 0)
    assert rules["长期事项"].long_term and rules["长期事项"].report_interval_days == 7
    cal = work_calendar()
    assert not cal.is_working_day(date(2022, 10, 3)) and cal.is_working_day(date(2022, 4, 2))
    years = set(db.session.scalars(select(WorkCalendarDay.year).distinct()))
    assert set(range(2020, 2027)) <= years


# ---------------------------------------------------------------- the happy path

def test_full_workflow_with_lead_and_assisting_unit(ctx):
    sup, lead_llr, assist_llr = user("dcy_luoshan"), user("llr_luoshan_t01"), user("llr_luoshan_d01")
    cadre = db.session.scalar(select(Cadre).where(Cadre.org_unit_id == unit("XY03T01").id))
    task = new_task(assigned_at=None, responsible_cadre_id=cadre.id, leader_in_charge="张副县长")
    assert task.state == "draft" and task.supervisor_id == sup.id

    S.assign(task.id, user=sup, now=ASSIGNED_AT)
    assert task.state == "assigned" and task.assigned_at == ASSIGNED_AT
    assert task.complete_due == task.original_complete_due == COMPLETE_DUE
    assert [(a.org_unit.code, a.is_lead) for a in task.assignments] == [("XY03T01", True), ("XY03D01", False)]
    assert all((a.acknowledge_due, a.first_report_due) == (ACK_DUE, FIRST_DUE) for a in task.assignments)
    lead, assist = lead_of(task), assist_of(task)

    S.sign(lead.id, user=lead_llr, now=datetime(2022, 9, 30, 15))
    assert task.state == "in_progress" and lead.signed_by == "llr_luoshan_t01"
    msg = refused(DomainError, S.submit_completion, lead.id, "已完成", user=lead_llr, now=datetime(2022, 10, 1))
    assert "尚未签收" in msg and "组织部" in msg
    S.sign(assist.id, user=assist_llr, now=datetime(2022, 9, 30, 16))

    report = S.report_progress(
        lead.id, "已部署", "无", "继续推进", attachments=[("../进展.txt", "第一周".encode(), "text/plain")],
        user=lead_llr, now=datetime(2022, 10, 2, 10),
    )
    S.report_progress(assist.id, "已配合", user=assist_llr, now=datetime(2022, 10, 2, 11))
    assert lead.first_report_at == datetime(2022, 10, 2, 10) and lead.next_report_due is None
    files = db.session.scalars(select(Attachment).where(Attachment.owner_table == "task_report",
                                                        Attachment.owner_id == report.id)).all()
    assert [(f.filename, f.size, f.content) for f in files] == [("进展.txt", 9, "第一周".encode())]

    # extension: asked before the deadline, approved; a second one at a time is refused
    req = S.request_extension(task.id, lead.id, date(2022, 10, 14), "受假期影响", user=lead_llr, now=datetime(2022, 10, 8, 10))
    assert "待审批" in refused(DomainError, S.request_extension, task.id, lead.id, date(2022, 10, 20), "再延",
                              user=lead_llr, now=datetime(2022, 10, 8, 11))
    S.decide_extension(req.id, True, "同意", user=sup, now=datetime(2022, 10, 9, 9))
    assert req.state == "approved" and req.old_due == COMPLETE_DUE and req.decided_by == "dcy_luoshan"
    assert task.complete_due == datetime(2022, 10, 15) and task.original_complete_due == COMPLETE_DUE
    # ... and one asked after the (new) deadline has passed is refused
    assert "届满" in refused(DomainError, S.request_extension, task.id, lead.id, date(2022, 10, 20), "再延",
                             user=lead_llr, now=datetime(2022, 10, 15, 8))

    # an assisting unit's completion report changes no state
    S.submit_completion(assist.id, "配合完成", user=assist_llr, now=datetime(2022, 10, 12))
    assert task.state == "in_progress" and assist.completion_reported_at == datetime(2022, 10, 12)
    S.submit_completion(lead.id, "已完成", user=lead_llr, now=datetime(2022, 10, 13))
    assert task.state == "pending_review" and task.submitted_at == datetime(2022, 10, 13)

    assert "理由" in refused(DomainError, S.return_task, task.id, "  ", user=sup)
    S.return_task(task.id, "佐证材料不全", user=sup, now=datetime(2022, 10, 13, 15))
    assert (task.state, task.state_reason, task.submitted_at) == ("in_progress", "佐证材料不全", None)
    assert lead.completion_reported_at is None

    S.submit_completion(lead.id, "已补充材料", user=lead_llr, now=datetime(2022, 10, 14, 9))
    S.approve_completion(task.id, user=sup, now=datetime(2022, 10, 16))
    assert task.state == "completed" and task.completed_at == datetime(2022, 10, 16)
    assert S.task_light(task, datetime(2022, 11, 1)) == deadlines.DONE
    assert S.days_late(task, datetime(2022, 11, 1)) == 0


def test_long_term_items_need_a_manual_deadline_and_report_periodically(ctx):
    llr = user("llr_luoshan_t01")
    assert "人工设定" in refused(DomainError, new_task, assist=(), rule="长期事项", assigned_at=None)
    task = new_task(assist=(), rule="长期事项", manual_deadline=date(2022, 12, 31))
    assert task.complete_due == datetime(2023, 1, 1)
    lead = lead_of(task)
    S.sign(lead.id, user=llr, now=datetime(2022, 9, 30, 10))
    S.report_progress(lead.id, "第一次", user=llr, now=datetime(2022, 10, 10, 10))
    # 7 calendar days after 10-10 is Monday 10-17: due at its end
    assert lead.next_report_due == datetime(2022, 10, 18)
    assert S.task_light(task, datetime(2022, 10, 17, 12)) == deadlines.YELLOW
    assert S.task_light(task, datetime(2022, 10, 18, 1)) == deadlines.RED


# ---------------------------------------------------------------- illegal transitions

def test_every_illegal_transition_is_refused_in_chinese_and_changes_nothing(ctx):
    sup, llr = user("dcy_luoshan"), user("llr_luoshan_t01")
    draft = new_task(assigned_at=None)
    before = snapshot(draft.id)
    for fn, args in [
        (S.approve_completion, (draft.id,)),
        (S.return_task, (draft.id, "理由")),
        (S.send_reminder, (draft.id,)),
    ]:
        refused(DomainError, fn, *args, user=sup)
        assert snapshot(draft.id) == before

    task = new_task()
    lead, assist = lead_of(task), assist_of(task)
    before = snapshot(task.id)
    cases = [
        (S.assign, (task.id,), sup),
        (S.approve_completion, (task.id,), sup),
        (S.return_task, (task.id, "理由"), sup),
        (S.report_progress, (lead.id, "未签收先反馈"), llr),
        (S.submit_completion, (lead.id, "未签收先办结"), llr),
        (S.request_extension, (task.id, lead.id, date(2022, 10, 20), "未签收"), llr),
    ]
    for fn, args, who in cases:
        refused(DomainError, fn, *args, user=who, now=datetime(2022, 10, 1))
        assert snapshot(task.id) == before, fn.__name__
    assert "交办后" in refused(DomainError, S.update_draft, task.id, user=sup, title="改名")
    assert snapshot(task.id) == before

    S.sign(lead.id, user=llr, now=datetime(2022, 9, 30, 10))
    assert "重复签收" in refused(DomainError, S.sign, lead.id, user=llr)
    S.sign(assist.id, user=user("llr_luoshan_d01"), now=datetime(2022, 9, 30, 10))
    S.submit_completion(lead.id, "完成", user=llr, now=datetime(2022, 10, 3))
    before = snapshot(task.id)
    for fn, args, who in [
        (S.report_progress, (lead.id, "待审核时反馈"), llr),
        (S.submit_completion, (lead.id, "再次报送"), llr),
        (S.sign, (lead.id,), llr),
        (S.terminate, (task.id, " "), sup),
    ]:
        refused(DomainError, fn, *args, user=who)
        assert snapshot(task.id) == before, fn.__name__
    S.approve_completion(task.id, user=sup, now=datetime(2022, 10, 4))
    before = snapshot(task.id)
    for fn, args in [(S.terminate, (task.id, "终止")), (S.return_task, (task.id, "退办")),
                     (S.approve_completion, (task.id,))]:
        assert "已办结" in refused(DomainError, fn, *args, user=sup)
        assert snapshot(task.id) == before

    other = new_task(assist=())
    S.terminate(other.id, "任务调整", user=sup, now=datetime(2022, 10, 2))
    assert (other.state, other.state_reason, other.terminated_at) == ("terminated", "任务调整", datetime(2022, 10, 2))
    assert S.task_light(other, datetime(2022, 10, 20)) is None
    assert "已终止" in refused(DomainError, S.sign, lead_of(other).id, user=llr)


def test_extension_rules(ctx):
    sup, llr, assist_llr = user("dcy_luoshan"), user("llr_luoshan_t01"), user("llr_luoshan_d01")
    task = new_task()
    lead, assist = lead_of(task), assist_of(task)
    S.sign(lead.id, user=llr, now=datetime(2022, 9, 30, 10))
    S.sign(assist.id, user=assist_llr, now=datetime(2022, 9, 30, 10))
    assert "主办单位" in refused(Forbidden, S.request_extension, task.id, assist.id, date(2022, 10, 20), "协办",
                              user=assist_llr, now=datetime(2022, 10, 3))
    assert "晚于" in refused(DomainError, S.request_extension, task.id, lead.id, date(2022, 10, 8), "原期限当日",
                           user=llr, now=datetime(2022, 10, 3))
    assert "理由" in refused(DomainError, S.request_extension, task.id, lead.id, date(2022, 10, 20), "",
                           user=llr, now=datetime(2022, 10, 3))
    req = S.request_extension(task.id, lead.id, date(2022, 10, 20), "需要协调", user=llr, now=datetime(2022, 10, 3))
    assert "理由" in refused(DomainError, S.decide_extension, req.id, False, None, user=sup)
    refused(Forbidden, S.decide_extension, req.id, True, user=llr)
    S.decide_extension(req.id, False, "理由不充分", user=sup, now=datetime(2022, 10, 4))
    assert req.state == "rejected" and task.complete_due == COMPLETE_DUE
    assert "已处理" in refused(DomainError, S.decide_extension, req.id, True, user=sup)
    # a second request is allowed once the first is decided
    again = S.request_extension(task.id, lead.id, date(2022, 10, 12), "再次申请", user=llr, now=datetime(2022, 10, 5))
    S.terminate(task.id, "终止", user=sup, now=datetime(2022, 10, 6))
    db.session.expire_all()
    assert db.session.get(ExtensionRequest, again.id).state == "rejected"


def test_stale_version_is_a_conflict(ctx):
    sup = user("dcy_luoshan")
    task = new_task(assigned_at=None)
    stale = task.version
    S.update_draft(task.id, user=sup, expected_version=stale, title="改过的名称")
    assert "已被他人修改" in refused(Conflict, S.assign, task.id, user=sup, expected_version=stale)
    assert "已存在" in refused(DomainError, S.update_draft, task.id, user=sup, code=new_task(assigned_at=None).code)
    S.assign(task.id, user=sup, expected_version=task.version, now=ASSIGNED_AT)
    assert task.state == "assigned"


# ---------------------------------------------------------------- permission and scope

@pytest.fixture()
def guangshan_supervisor(ctx):
    from app.org.users import create_user

    return create_user("dcy_test_gs", "Demo@2026xy", R.SUPERVISOR, "XY04")


def test_permissions_and_scope(ctx, guangshan_supervisor):
    sup, leader = user("dcy_luoshan"), user("ld_luoshan")
    llr_t01, llr_d01 = user("llr_luoshan_t01"), user("llr_luoshan_d01")
    task = new_task(assist=())  # addressed to XY03T01 only
    lead = lead_of(task)
    before = snapshot(task.id)

    assert "督查员" in refused(Forbidden, S.create_task, "X" + tag(), "领导建事项", lead_unit_id=unit("XY03T01").id,
                                rule_name="普通事项", user=leader)
    refused(Forbidden, S.terminate, task.id, "领导终止", user=leader)
    refused(Forbidden, S.sign, lead.id, user=leader)
    refused(Forbidden, S.sign, lead.id, user=sup)  # supervisors do not sign for a unit
    refused(NotFound, S.sign, lead.id, user=llr_d01)  # liaison of a unit not addressed
    refused(NotFound, S.get_task, task.id, user=llr_d01)
    refused(NotFound, S.terminate, task.id, "越权", user=guangshan_supervisor)
    refused(NotFound, S.send_reminder, task.id, user=guangshan_supervisor)
    refused(NotFound, S.get_task, 10**9, user=sup)
    assert snapshot(task.id) == before

    assert "管辖范围" in refused(DomainError, S.create_task, "X" + tag(), "跨县", lead_unit_id=unit("XY03T01").id,
                                 assist_unit_ids=[unit("XY04T01").id], rule_name="普通事项", user=sup)
    # a city item with an assisting unit in another county: the county supervisor sees it, cannot change it
    city = new_task(assist=("XY04T01",), by="dcy_city")
    assert S.get_task(city.id, user=sup).id == city.id
    assert "上级" in refused(Forbidden, S.terminate, city.id, "县里终止", user=sup)

    visible = lambda who: set(db.session.scalars(S.scope_tasks(  # noqa: E731
        select(SupervisionTask.id).where(SupervisionTask.id.in_([task.id, city.id])), who)))
    assert visible(sup) == visible(leader) == visible(llr_t01) == {task.id, city.id}
    assert visible(llr_d01) == set() and visible(guangshan_supervisor) == {city.id}
    draft = new_task(assigned_at=None)
    assert not list(db.session.scalars(S.scope_tasks(select(SupervisionTask.id).where(SupervisionTask.id == draft.id), llr_t01)))


# ---------------------------------------------------------------- lights and days late

def test_lights_at_fixed_times_and_days_late(ctx):
    llr, sup = user("llr_luoshan_t01"), user("dcy_luoshan")
    task = new_task(assist=())
    lead = lead_of(task)
    assert S.task_light(task, datetime(2022, 9, 30, 9, 30)) == deadlines.YELLOW  # sign due within 24 h
    S.sign(lead.id, user=llr, now=datetime(2022, 9, 30, 10))
    assert S.task_light(task, datetime(2022, 10, 3, 12)) == deadlines.GREEN
    assert S.task_light(task, datetime(2022, 10, 8, 0)) == deadlines.YELLOW  # exactly 24 h before
    assert S.task_light(task, datetime(2022, 10, 7, 23, 59)) == deadlines.GREEN
    assert S.task_light(task, datetime(2022, 10, 9, 0)) == deadlines.RED
    assert S.days_late(task, datetime(2022, 10, 9, 0)) == 0
    assert S.days_late(task, datetime(2022, 10, 10, 12)) == 2
    S.submit_completion(lead.id, "迟交", user=llr, now=datetime(2022, 10, 10, 12))
    S.approve_completion(task.id, user=sup, now=datetime(2022, 10, 11))
    assert S.task_light(task, datetime(2022, 12, 1)) == deadlines.OVERDUE_DONE
    assert S.days_late(task, datetime(2022, 12, 1)) == 2 == S.completion_days_late(task, datetime(2022, 12, 1))


def test_light_filter_agrees_with_task_light(ctx):
    sup, llr, d01 = user("dcy_luoshan"), user("llr_luoshan_t01"), user("llr_luoshan_d01")
    tasks = [new_task(assigned_at=None)]  # draft: no light
    tasks.append(new_task())  # nothing signed
    t = new_task()
    S.sign(lead_of(t).id, user=llr, now=datetime(2022, 9, 30, 10))  # assist unit never signs
    tasks.append(t)
    t = new_task()
    S.sign(lead_of(t).id, user=llr, now=datetime(2022, 10, 1, 8))  # signed late
    S.sign(assist_of(t).id, user=d01, now=datetime(2022, 9, 30, 11))
    S.report_progress(lead_of(t).id, "进展", user=llr, now=datetime(2022, 10, 5))
    tasks.append(t)
    t = new_task(assist=())
    S.sign(lead_of(t).id, user=llr, now=datetime(2022, 9, 30, 10))
    S.submit_completion(lead_of(t).id, "按期", user=llr, now=datetime(2022, 10, 6))  # pending review
    tasks.append(t)
    t = new_task(assist=())
    S.sign(lead_of(t).id, user=llr, now=datetime(2022, 9, 30, 10))
    S.submit_completion(lead_of(t).id, "超期", user=llr, now=datetime(2022, 10, 11))
    S.approve_completion(t.id, user=sup, now=datetime(2022, 10, 12))
    tasks.append(t)
    t = new_task(assist=(), rule="长期事项", manual_deadline=date(2022, 12, 31))
    S.sign(lead_of(t).id, user=llr, now=datetime(2022, 9, 30, 10))
    S.report_progress(lead_of(t).id, "定期", user=llr, now=datetime(2022, 10, 2))
    tasks.append(t)
    t = new_task(assist=())
    S.terminate(t.id, "终止", user=sup, now=datetime(2022, 10, 1))
    tasks.append(t)
    ids = [t.id for t in tasks]
    moments = [datetime(2022, 9, 30, 9, 30), datetime(2022, 9, 30, 23), datetime(2022, 10, 1, 0),
               datetime(2022, 10, 5, 12), datetime(2022, 10, 8, 0), datetime(2022, 10, 9, 0),
               datetime(2022, 10, 10, 12), datetime(2022, 11, 1), datetime(2023, 2, 1)]
    seen = set()
    for now in moments:
        db.session.expire_all()
        expected = {tid: S.task_light(db.session.get(SupervisionTask, tid), now) for tid in ids}
        seen |= set(expected.values())
        for light in S.LIGHTS:
            stmt = S.light_filter(select(SupervisionTask.id).where(SupervisionTask.id.in_(ids)), light, now)
            got = set(db.session.scalars(stmt))
            assert got == {tid for tid, lit in expected.items() if lit == light}, (now, light)
    assert seen == {None, *S.LIGHTS}


# ---------------------------------------------------------------- reminders

def test_due_reminders_are_created_once(ctx):
    sup = user("dcy_luoshan")
    task = new_task()
    mine = lambda: db.session.scalars(  # noqa: E731
        select(TaskReminder).where(TaskReminder.task_id == task.id, TaskReminder.level != "manual")
    ).all()

    first = S.create_due_reminders(datetime(2022, 10, 1, 12))
    assert first >= 2
    assert sorted((r.milestone, r.level, r.org_unit_id) for r in mine()) == sorted(
        ("acknowledge", "red", a.org_unit_id) for a in task.assignments
    )
    assert S.create_due_reminders(datetime(2022, 10, 1, 12)) == 0
    assert S.create_due_reminders(datetime(2022, 10, 1, 18)) == 0  # same milestones, same levels

    S.create_due_reminders(datetime(2022, 10, 8, 6))  # first report and completion turn yellow
    assert len(mine()) == 2 + 4
    assert S.create_due_reminders(datetime(2022, 10, 8, 6)) == 0
    assert all(task.code in r.message and "请抓紧办理" in r.message for r in mine())

    manual = S.send_reminder(task.id, None, "请于今日签收", user=sup, now=datetime(2022, 10, 2))
    assert [(r.level, r.milestone, r.message) for r in manual] == [("manual", "acknowledge", "请于今日签收")] * 2
    assert S.create_due_reminders(datetime(2022, 10, 8, 6)) == 0


def test_remind_through_the_real_cli(fresh_db_url):
    run_cli(fresh_db_url, "setup")
    run_cli(fresh_db_url, "org", "import", "tests/data/units_min.csv")
    assert "已生成催办 0 条" in run_cli(fresh_db_url, "supervision", "remind").stdout
    assert "时限规则新增 0 条" in run_cli(fresh_db_url, "supervision", "seed").stdout  # setup seeded them


# ---------------------------------------------------------------- to-do lists

class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, *args):
        self.count += 1

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self)


def test_todo_of_a_liaison_and_a_supervisor(ctx):
    sup, llr, leader = user("dcy_luoshan"), user("llr_luoshan_t01"), user("ld_luoshan")
    unsigned = new_task(assist=())
    working = new_task(assist=())
    S.sign(lead_of(working).id, user=llr, now=datetime(2022, 9, 30, 10))
    S.request_extension(working.id, lead_of(working).id, date(2022, 10, 20), "协调中", user=llr, now=datetime(2022, 10, 2))
    review = new_task(assist=())
    S.sign(lead_of(review).id, user=llr, now=datetime(2022, 9, 30, 10))
    S.submit_completion(lead_of(review).id, "完成", user=llr, now=datetime(2022, 10, 3))
    S.create_due_reminders(datetime(2022, 10, 1, 12))

    now = datetime(2022, 10, 2, 12)
    with QueryCounter() as queries:
        mine = S.todo(llr, now)
    assert queries.count <= 12
    assert lead_of(unsigned).id in {a.id for a in mine["to_sign"]}
    assert lead_of(working).id in {a.id for a in mine["reports_due"]}
    assert lead_of(review).id not in {a.id for a in mine["reports_due"] + mine["to_sign"]}
    reminder = next(r for r in mine["reminders"] if r.task_id == unsigned.id)
    assert all(r.org_unit_id == llr.org_unit_id for r in mine["reminders"])
    assert mine["extensions"] == mine["reviews"] == []
    S.mark_reminder_read(reminder.id, user=llr, now=now)
    refused(Forbidden, S.mark_reminder_read, reminder.id, user=user("dcy_luoshan"))
    assert reminder.id not in {r.id for r in S.todo(llr, now)["reminders"]}

    with QueryCounter() as queries:
        theirs = S.todo(sup, now)
    assert queries.count <= 16
    assert working.id in {e.task_id for e in theirs["extensions"]}
    assert review.id in {t.id for t in theirs["reviews"]}
    assert theirs["to_sign"] == []
    assert all(not v for v in S.todo(leader, now).values())


# ---------------------------------------------------------------- findings

def test_findings_workflow_reject_and_overdue(ctx):
    sup, llr, other_llr, leader = user("dcy_luoshan"), user("llr_luoshan_t01"), user("llr_luoshan_d01"), user("ld_luoshan")
    insp = F.create_inspection("I" + tag(), date(2022, 10, 1), "罗山县某镇", "第一督查组", "暗访", unit("XY03").id, user=sup)
    assert "明察" in refused(DomainError, F.create_inspection, "I" + tag(), date(2022, 10, 1), "某地", None, "突击",
                           unit("XY03").id, user=sup)
    cadres = db.session.scalars(select(Cadre.id).where(Cadre.org_unit_id == unit("XY03T01").id).limit(2)).all()

    def add(**kw):
        args = dict(org_unit_id=unit("XY03T01").id, description="台账不全", category="作风建设", severity="较重",
                    cadre_ids=cadres, requirement="补齐台账", user=sup)
        return F.add_finding(insp.id, **{**args, **kw})

    assert "期限" in refused(DomainError, add, deadline=None)
    assert "不设" in refused(DomainError, add, continuous=True, deadline=date(2022, 10, 10))
    refused(Forbidden, add, deadline=date(2022, 10, 10), user=leader)
    late, on_time, ongoing = add(deadline=date(2022, 10, 10)), add(deadline=date(2022, 10, 10)), add(continuous=True)
    assert late.state == "pending" and late.found_on == date(2022, 10, 1) and len(late.cadres) == 2

    refused(NotFound, F.start_rectification, late.id, user=other_llr)
    refused(Forbidden, F.start_rectification, late.id, user=sup)
    assert "待整改" in refused(DomainError, F.report_rectification, late.id, "未开始就报", user=llr)
    for f in (late, on_time):
        F.start_rectification(f.id, user=llr)
    F.report_rectification(on_time.id, "已整改", [("照片.jpg", b"\xff\xd8", "image/jpeg")], user=llr, now=datetime(2022, 10, 9))
    F.report_rectification(late.id, "已整改", user=llr, now=datetime(2022, 10, 10, 18))
    assert late.state == "awaiting_verification"
    refused(Forbidden, F.verify, late.id, user=llr)
    assert "理由" in refused(DomainError, F.reject, late.id, "", user=sup)
    F.reject(late.id, "照片不清晰", user=sup, now=datetime(2022, 10, 11))
    assert late.state == "rectifying"
    assert "整改中" in refused(DomainError, F.verify, late.id, user=sup)
    F.report_rectification(late.id, "已补拍", user=llr, now=datetime(2022, 10, 12))
    F.verify(late.id, user=sup, now=datetime(2022, 10, 13))
    F.verify(on_time.id, user=sup, now=datetime(2022, 10, 13))
    assert late.state == "closed" and late.closed_at == datetime(2022, 10, 13)
    verdicts = [r.verdict for r in db.session.scalars(
        select(F.RectificationReport).where(F.RectificationReport.finding_id == late.id)
        .order_by(F.RectificationReport.id))]
    assert verdicts == ["驳回", "通过"]

    F.set_accountability(late.id, ["诫勉", "约谈"], "约谈镇党委书记", user=sup)
    assert late.accountability == "约谈、诫勉"
    assert "问责方式" in refused(DomainError, F.set_accountability, late.id, ["罚款"], user=sup)

    pending = add(deadline=date(2022, 10, 20))
    findings = [late, on_time, ongoing, pending]
    for now in (datetime(2022, 10, 15), datetime(2022, 10, 20, 23), datetime(2022, 10, 21)):
        expected = {f.id for f in findings if F.rectification_overdue(f, now)}
        stmt = F.overdue_filter(select(Finding.id).where(Finding.inspection_id == insp.id), now)
        assert set(db.session.scalars(stmt)) == expected
    assert F.rectification_overdue(late, datetime(2022, 10, 15)) and not F.rectification_overdue(on_time, datetime(2030, 1, 1))
    assert not F.rectification_overdue(ongoing, datetime(2030, 1, 1))
    assert F.rectification_overdue(pending, datetime(2022, 10, 21)) and not F.rectification_overdue(pending, datetime(2022, 10, 20, 23))

    scoped = lambda who: set(db.session.scalars(F.scope_findings(  # noqa: E731
        select(Finding.id).where(Finding.inspection_id == insp.id), who)))
    assert scoped(llr) == scoped(sup) == scoped(leader) == {f.id for f in findings}
    assert scoped(other_llr) == set()


# ---------------------------------------------------------------- audit

def test_transitions_are_audited_with_before_and_after(ctx):
    llr = user("llr_luoshan_t01")
    task = new_task(assist=())
    S.sign(lead_of(task).id, user=llr, now=datetime(2022, 9, 30, 10))
    rows = db.session.scalars(
        select(AuditLog).where(AuditLog.table_name == "supervision_task", AuditLog.row_id == str(task.id))
        .order_by(AuditLog.id)
    ).all()
    assert [r.action for r in rows] == ["create", "update", "update"]
    assigned, signed = json.loads(rows[1].new_values), rows[2]
    assert assigned["state"] == "assigned" and json.loads(rows[1].old_values)["state"] == "draft"
    assert (json.loads(signed.old_values), json.loads(signed.new_values)) == ({"state": "assigned"}, {"state": "in_progress"})
    assert signed.username == "llr_luoshan_t01" and rows[0].username == "dcy_luoshan"
    sign_row = db.session.scalar(
        select(AuditLog).where(AuditLog.table_name == "task_assignment", AuditLog.row_id == str(lead_of(task).id),
                               AuditLog.action == "update")
    )
    assert json.loads(sign_row.new_values)["signed_by"] == "llr_luoshan_t01"


def test_attachments_of_forbidden_type_or_oversize_are_refused_and_nothing_written(ctx):
    llr = user("llr_luoshan_t01")
    task = new_task(assist=())  # assigned at ASSIGNED_AT
    lead = lead_of(task)
    S.sign(lead.id, user=llr, now=datetime(2022, 9, 30, 15))
    before = snapshot(task.id)
    reports = db.session.scalar(select(func.count()).select_from(TaskReport))
    for name, content, fragment in (
        ("恶意.html", b"<script>alert(1)</script>", "文件类型不允许"),
        ("setup.exe", b"MZ\x90\x00", "文件类型不允许"),
        ("证据.pdf", b"%PDF" + b"0" * (10 * 1024 * 1024), "超过 10 MB"),
    ):
        msg = refused(DomainError, S.report_progress, lead.id, "已部署", attachments=[(name, content, None)],
                      user=llr, now=datetime(2022, 10, 2, 10))
        assert fragment in msg
    assert snapshot(task.id) == before
    assert db.session.scalar(select(func.count()).select_from(TaskReport)) == reports
