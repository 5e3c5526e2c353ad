"""Demo supervision data: a few hundred items (督查事项) and findings (督查发现问题) across
the demo counties, in every state and light, so a newcomer sees a living system.

Everything goes through the services (supervision_tasks / supervision_findings) as the
CLI would (user=None), with `now` values in the past: items are assigned 0–60 days ago
and each later step happens between the assignment and today. Deterministic
(random.Random(2026)) apart from being anchored on today's date; idempotent.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import NamedTuple

from sqlalchemy import select, text

from app.extensions import db
from app.models import AppUser, Cadre, OrgUnit, SupervisionTask
from app.supervision import findings as sf
from app.supervision import tasks as st
from app.supervision.setup import LONG_TERM_RULE, MAJOR_RULE, ORDINARY_RULE, seed_defaults

PREFIX = "DEMO-"
N_TASKS = 300
N_INSPECTIONS = 40
TARGETS = (  # (state the item should reach, weight)
    ("draft", 7), ("assigned", 10), ("in_progress", 40), ("pending_review", 12),
    ("completed", 22), ("terminated", 9),
)
SUBJECTS = (
    "农村人居环境整治", "高标准农田建设", "基层党组织标准化建设", "软弱涣散村党组织整顿",
    "营商环境优化", "重点项目建设推进", "信访积案化解", "安全生产专项整治", "防汛备汛",
    "秸秆禁烧", "乡村振兴示范村创建", "干部作风整顿", "民生实事办理", "河湖长制落实",
    "森林防火", "城乡低保核查", "义务教育控辍保学", "集体经济发展壮大", "村级阵地建设",
    "人大代表建议办理",
)
ACTIONS = ("推进落实", "专项督办", "整改落实", "攻坚", "进展情况督查", "问题整改")
SOURCES = ("市委常委会议定事项", "市政府常务会议定事项", "领导批示", "上级督查反馈", "群众来信来访", "媒体曝光")
LEADERS = ("张副书记", "李常委", "王副市长", "赵部长", "刘秘书长")
FINDING_CATEGORIES = ("作风纪律", "工作落实", "安全隐患", "环境卫生", "制度执行", "档案资料", "服务群众")
FINDING_TEXTS = (
    "值班记录填写不全，存在脱岗现象", "工作台账更新不及时，与实际进度不符", "会议记录缺失，制度执行不到位",
    "公共区域卫生较差，垃圾未及时清运", "消防器材过期未更换", "群众反映问题未按时答复",
    "项目进度滞后于计划安排", "资金拨付手续不完备", "上班时间有人员玩手机、脱岗",
    "政务公开栏信息长期未更新", "安全隐患排查流于形式", "便民服务窗口无人值守",
)
ACCOUNTABILITY = ("约谈", "通报批评", "诫勉", "组织处理", "纪律处分")


def seed_demo_supervision() -> bool:
    """Seed the demo items and findings unless there are some; returns whether it did."""
    if db.session.scalar(select(SupervisionTask.id).where(SupervisionTask.code.startswith(PREFIX)).limit(1)):
        return False
    seed_defaults()  # the time-limit rules and work calendar the items need (no-op when present)
    sqlite = db.engine.dialect.name == "sqlite"
    if sqlite:  # thousands of small commits: skip the fsync of each (demo data only)
        db.session.execute(text("PRAGMA synchronous=OFF"))
    session = db.session()
    expire, session.expire_on_commit = session.expire_on_commit, False
    try:
        return _seed()
    finally:
        session.expire_on_commit = expire
        if sqlite:
            db.session.rollback()
            db.session.execute(text("PRAGMA synchronous=FULL"))
            db.session.commit()


def _seed() -> bool:
    rng = random.Random(2026)
    today = dt.datetime.now().replace(second=0, microsecond=0)
    # Plain (id, code, name) rows, not ORM objects: the session is emptied after every item, so
    # each of the thousands of commits below expires a handful of objects, not the whole city.
    counties = [_Unit(*row) for row in db.session.execute(
        select(OrgUnit.id, OrgUnit.code, OrgUnit.name)
        .where(OrgUnit.kind == "county", OrgUnit.code.like("XY%")).order_by(OrgUnit.code)
    )]
    if not counties:
        return False
    units = {row.code: _Unit(*row) for row in db.session.execute(
        select(OrgUnit.id, OrgUnit.code, OrgUnit.name).where(OrgUnit.code.like("XY%")))}
    cadres: dict[int, list[int]] = {}
    for cadre_id, unit_id in db.session.execute(select(Cadre.id, Cadre.org_unit_id).order_by(Cadre.id)):
        cadres.setdefault(unit_id, []).append(cadre_id)
    supervisors = {u.username: u.id for u in db.session.scalars(
        select(AppUser).where(AppUser.username.in_(("dcy_city", "dcy_luoshan")))
    )}
    for i in range(1, N_TASKS + 1):
        county = counties[(i - 1) % len(counties)]
        _task(rng, i, county, _county_units(county, units), cadres, supervisors, today)
        db.session.expunge_all()
    for i in range(1, N_INSPECTIONS + 1):
        county = counties[(i - 1) % len(counties)]
        _inspection(rng, i, county, _county_units(county, units), cadres, today)
        db.session.expunge_all()
    return True


class _Unit(NamedTuple):
    id: int
    code: str
    name: str


def _county_units(county: _Unit, units: dict[str, _Unit]) -> list[_Unit]:
    codes = [county.code] + [f"{county.code}T{t:02d}" for t in range(1, 6)] + [f"{county.code}D{d:02d}" for d in range(1, 5)]
    return [units[c] for c in codes if c in units]


def _between(rng: random.Random, start: dt.datetime, end: dt.datetime) -> dt.datetime:
    """A minute between start and end (end if they are in the wrong order)."""
    span = int((end - start).total_seconds() // 60)
    return end if span <= 0 else start + dt.timedelta(minutes=rng.randint(1, span))


# ---------------------------------------------------------------- items

def _task(rng, i, county, pool, cadres, supervisors, today) -> None:
    target = rng.choices([t for t, _ in TARGETS], [w for _, w in TARGETS])[0]
    lead = rng.choice(pool)
    others = [u for u in pool if u.id != lead.id]
    assist = [u.id for u in rng.sample(others, rng.choice((0, 0, 1, 1, 2)))]
    roll = rng.random()
    # how long ago it was assigned; "assigned" items are recent, "yellow" long items end today
    if target == "assigned":
        ago = dt.timedelta(hours=rng.randint(1, 60))
    elif target == "draft":
        ago = dt.timedelta(0)
    else:
        ago = dt.timedelta(days=rng.randint(1, 60), hours=rng.randint(0, 8))
    assigned_at = (today - ago).replace(hour=9, minute=rng.randint(0, 59)) if ago.days else today - ago
    manual = None
    if roll < 0.12:
        rule = LONG_TERM_RULE
        manual = today.date() if rng.random() < 0.3 else today.date() + dt.timedelta(days=rng.randint(-5, 120))
        manual = max(manual, assigned_at.date())
    elif roll < 0.2 and target == "in_progress":
        rule = ORDINARY_RULE  # a near deadline: yellow unless already late
        manual = max(today.date(), assigned_at.date())
    elif roll < 0.55:
        rule = MAJOR_RULE
    else:
        rule = ORDINARY_RULE
    subject = rng.choice(SUBJECTS)
    cadre_list = cadres.get(lead.id) or []
    sup = supervisors.get("dcy_luoshan") if county.code == "XY03" else supervisors.get("dcy_city")
    task = st.create_task(
        f"{PREFIX}{today.year}-{i:04d}", f"{county.name}{subject}{rng.choice(ACTIONS)}",
        lead_unit_id=lead.id, content=f"请{lead.name}牵头抓好{subject}工作，按期报送进展和办结情况。",
        source=rng.choice(SOURCES), category=rng.choice(("督大事", "督难事", "督实事")),
        rule_name=rule, assist_unit_ids=assist, responsible_cadre_id=rng.choice(cadre_list) if cadre_list else None,
        leader_in_charge=rng.choice(LEADERS), supervisor_id=sup, manual_deadline=manual,
    )
    if target == "draft":
        return
    st.assign(task.id, now=assigned_at)
    if target == "terminated" and rng.random() < 0.3:
        st.terminate(task.id, "上级已统一部署，本事项不再单独督办", now=_between(rng, assigned_at, today))
        return
    punctual = rng.random() < 0.55
    if target == "assigned":
        return  # nobody has signed yet (the first 签收 moves it to 办理中)
    # 签收: each unit on time or late, never after today
    last = assigned_at
    for a in sorted(task.assignments, key=lambda a: not a.is_lead):
        due = a.acknowledge_due
        at = _between(rng, assigned_at, min(due, today)) if punctual or rng.random() < 0.6 else \
            _between(rng, due, min(due + dt.timedelta(days=2), today))
        at = min(at, today)
        st.sign(a.id, now=at)
        last = max(last, at)
    # first 反馈 of each unit
    for a in task.assignments:
        due = a.first_report_due
        if punctual:
            at = _between(rng, a.signed_at, min(due, today))
        else:
            if rng.random() < 0.3:
                continue  # a report still missing (red once due passes)
            at = _between(rng, max(a.signed_at, due), min(due + dt.timedelta(days=3), today))
        if at > today or at < a.signed_at:
            continue
        st.report_progress(a.id, f"已召开专题会议部署{subject}工作，明确责任分工。",
                           next_steps="按计划推进，定期报送进展。", now=at)
        last = max(last, at)
    lead_a = next(a for a in task.assignments if a.is_lead)
    # 延期 on some
    if rng.random() < 0.15 and task.complete_due > today and last < today:
        at = _between(rng, last, today)
        request = st.request_extension(task.id, lead_a.id, task.complete_due.date() + dt.timedelta(days=rng.randint(7, 30)),
                                       "涉及多部门协调，需延长办理期限", now=at)
        choice = rng.random()
        if choice < 0.6:
            at2 = _between(rng, at, today)
            st.decide_extension(request.id, True, "同意延期", now=at2)
            last = at2
        elif choice < 0.8:
            at2 = _between(rng, at, today)
            st.decide_extension(request.id, False, "理由不充分，请按原期限办结", now=at2)
            last = at2
        else:
            last = at
    if target == "in_progress":
        return
    if target == "terminated":
        st.terminate(task.id, rng.choice(("情况发生变化，事项终止", "已并入其他督办事项")), now=_between(rng, last, today))
        return
    # 办结 report: assisting units first, then the lead unit; on time or late
    for a in task.assignments:
        if a.signed_at is None:
            return
    due = task.complete_due
    if punctual or rng.random() < 0.4:
        at = _between(rng, last, min(due - dt.timedelta(minutes=1), today))
    else:
        at = _between(rng, max(last, due), min(due + dt.timedelta(days=10), today))
    if at < last or at > today:
        return  # no room for it: it stays 办理中
    for a in sorted(task.assignments, key=lambda a: a.is_lead):
        st.submit_completion(a.id, f"{subject}工作已按要求完成，相关资料已归档。", now=at)
    if target == "pending_review":
        return
    at2 = _between(rng, at, min(at + dt.timedelta(days=3), today))
    if rng.random() < 0.2:  # 退办 once, then reported again
        st.return_task(task.id, "办结材料不完整，请补充佐证材料后重新报送", now=at2)
        at3 = _between(rng, at2, min(at2 + dt.timedelta(days=3), today))
        st.submit_completion(lead_a.id, "已补充佐证材料，请审核。", now=at3)
        at2 = _between(rng, at3, min(at3 + dt.timedelta(days=2), today))
    st.approve_completion(task.id, now=at2)


# ---------------------------------------------------------------- inspections and findings

def _inspection(rng, i, county, pool, cadres, today) -> None:
    date = (today - dt.timedelta(days=rng.randint(3, 90))).date()
    unit = rng.choice(pool)
    inspection = sf.create_inspection(
        f"{PREFIX}JC-{i:03d}", date, f"{unit.name}机关及所辖场所", "市委督查室检查组",
        rng.choice(("明察", "明察", "暗访")), unit.id,
    )
    for _ in range(rng.randint(3, 7)):
        _finding(rng, inspection, date, rng.choice(pool), cadres, today)


def _finding(rng, inspection, found_on, unit, cadres, today) -> None:
    severity = rng.choices(("一般", "较重", "严重"), (6, 3, 1))[0]
    continuous = rng.random() < 0.15
    deadline = None if continuous else found_on + dt.timedelta(days=rng.randint(7, 45))
    unit_cadres = cadres.get(unit.id) or []
    chosen = rng.sample(unit_cadres, min(len(unit_cadres), rng.choice((0, 1, 1, 2))))
    finding = sf.add_finding(
        inspection.id, unit.id, rng.choice(FINDING_TEXTS), rng.choice(FINDING_CATEGORIES), severity,
        cadre_ids=chosen, requirement="立即整改，按期报送整改情况。", deadline=deadline, continuous=continuous,
    )
    target = rng.choices(("pending", "rectifying", "awaiting_verification", "closed"), (2, 3, 2, 4))[0]
    if severity == "严重" or rng.random() < 0.08:
        measures = rng.sample(ACCOUNTABILITY, rng.randint(1, 2))
        sf.set_accountability(finding.id, measures, "经研究，对相关责任人予以问责")
    if target == "pending":
        return
    sf.start_rectification(finding.id)
    if target == "rectifying":
        return
    start = dt.datetime.combine(found_on, dt.time(9))
    # on time (before the deadline day ends) or late
    if deadline is None or rng.random() < 0.7:
        end = min(today, dt.datetime.combine(deadline, dt.time(17)) if deadline else today)
    else:
        end = min(today, dt.datetime.combine(deadline, dt.time(17)) + dt.timedelta(days=rng.randint(2, 15)))
    at = _between(rng, start, end)
    sf.report_rectification(finding.id, "已按要求完成整改，建立长效机制。", now=at)
    if target == "awaiting_verification":
        return
    at2 = _between(rng, at, min(at + dt.timedelta(days=5), today))
    if rng.random() < 0.2:  # 验收不通过 once, then reported again
        sf.reject(finding.id, "整改不彻底，请继续整改", now=at2)
        at3 = _between(rng, at2, min(at2 + dt.timedelta(days=5), today))
        sf.report_rectification(finding.id, "已针对验收意见补充整改。", now=at3)
        at2 = _between(rng, at3, min(at3 + dt.timedelta(days=3), today))
    sf.verify(finding.id, now=at2, note="整改到位，予以销号")
