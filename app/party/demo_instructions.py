"""The demo's 支部联支部 and 工作指令 (after the party demo): two pairings with activities, and
instructions in every state — a draft, sent ones with unread, read and replied copies, a
chased one, one turned into a supervision item. Made through the services (audited), fast:
a handful of instructions to the demo accounts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.core import clock
from app.extensions import db
from app.models import AppUser, InstructionCopy, PartyOrg, TimeLimitRule
from app.party import instructions as I
from app.party import pairings as P
from app.security import roles as R

PAIRINGS = (  # (branch, branch, months ago, goal, activities: (days ago, topic, participants, outcome))
    ("PXYD01", "PXY03T01V01", 14, "市直机关党支部与村党支部结对共建：组织生活共过、难题共解、发展共谋。", (
        (300, "联合主题党日：学习贯彻党的二十届三中全会精神", "市委组织部机关党支部党员 8 人，村党支部党员 11 人",
         "形成村集体经济发展思路 3 条"),
        (45, "结对帮扶：村级活动阵地规范化建设", "机关党支部书记、村“两委”班子成员", "完成阵地制度上墙和党员活动室整理"),
    )),
    ("PXY03D01", "PXY03T02V01", 8, "县直部门党支部联系村党支部，帮助规范“三会一课”。", (
        (200, "“三会一课”规范化辅导", "县委组织部机关党支部委员 3 人，村党支部全体党员", "整改会议记录问题 5 处"),
        (20, "流动党员联系服务座谈", "村党支部书记、流动党员代表（线上）6 人", "建立流动党员联系群，明确联系人"),
    )),
)


def _user(name: str) -> AppUser | None:
    return db.session.scalar(select(AppUser).where(AppUser.username == name))


def _months_ago(today: dt.date, months: int) -> dt.date:
    year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
    return dt.date(year, month + 1, min(today.day, 28))


def seed_demo_instructions() -> dict:
    """Pairings and instructions of the demo city, unless some are there already."""
    from app.models import Instruction, Pairing

    if db.session.scalar(select(Instruction.id).limit(1)) or db.session.scalar(select(Pairing.id).limit(1)):
        return {"pairings": 0, "instructions": 0}
    staff, supervisor = _user("kpy_city"), _user("dcy_city")
    if staff is None or supervisor is None or db.session.scalar(select(PartyOrg.id).limit(1)) is None:
        return {"pairings": 0, "instructions": 0}
    today = clock.now().date()
    made_pairings = 0
    for a, b, months, goal, activities in PAIRINGS:
        if not (db.session.scalar(select(PartyOrg.id).where(PartyOrg.code == a))
                and db.session.scalar(select(PartyOrg.id).where(PartyOrg.code == b))):
            continue
        started = _months_ago(today, months)
        pairing = P.create_pairing(a, b, started, goal, user=staff)
        for days, topic, people, outcome in activities:
            held = max(started, today - dt.timedelta(days=days))
            P.add_activity(pairing.id, held, topic, people, outcome, user=staff)
        made_pairings += 1
    made = _instructions(staff, supervisor, today)
    return {"pairings": made_pairings, "instructions": made}


def _instructions(staff, supervisor, today: dt.date) -> int:
    week = today + dt.timedelta(days=7)
    specs = [
        # (sender, draft, send?, copies: key -> action)
        (staff, I.Draft("关于做好年底党费收缴工作的通知", "请各党支部于月底前完成本年度党费收缴和公示。",
                        unit_codes=["XY03"], roles=[R.LIAISON]), False),
        (staff, I.Draft("关于开展“冬训”集中学习的通知", "请各单位组织党员参加冬季集中轮训，做好签到记录。",
                        reply_required=True, reply_due=week, unit_codes=["XY"], roles=[R.LIAISON]), True),
        (staff, I.Draft("关于正式党员集中学习的提醒", "请支部书记组织名单中的正式党员参加本月主题党日。",
                        unit_codes=["XY03"], member_status=["正式党员"]), True),
        (supervisor, I.Draft("关于整改村级阵地问题的工作指令", "请按明察暗访反馈问题清单完成整改并反馈。",
                             reply_required=True, reply_due=week, unit_codes=["XY03", "XYD01"],
                             roles=[R.LIAISON]), True),
    ]
    made = []
    for sender, draft, send in specs:
        instruction = I.create_draft(draft, user=sender)
        if send:
            instruction = I.send(instruction.id, user=sender)
        made.append(instruction)
    _, training, study, rectify = made
    copies = {c.user.username: c for c in db.session.scalars(
        select(InstructionCopy).where(InstructionCopy.instruction_id == training.id))}
    # 冬训: 市委组织部 replied, 罗山乡镇 read (reply pending), 罗山组织部 unread and chased
    if "llr_city_d01" in copies:
        c = copies["llr_city_d01"]
        I.open_copy(c.id, user=c.user)
        I.reply(c.id, "已组织机关党员 32 人参加冬训，签到表见附件。", user=c.user,
                attachments=[("冬训签到表.txt", "姓名,日期\n".encode(), "text/plain")])
    if "llr_luoshan_t01" in copies:
        c = copies["llr_luoshan_t01"]
        I.open_copy(c.id, user=c.user)
    I.remind(training.id, user=staff, message="请尽快阅读并反馈冬训安排。")
    for c in db.session.scalars(select(InstructionCopy).where(InstructionCopy.instruction_id == study.id).limit(1)):
        I.open_copy(c.id, user=c.user)
    if db.session.scalar(select(TimeLimitRule.id).where(TimeLimitRule.name == "普通事项", TimeLimitRule.active)):
        I.to_supervision(rectify.id, user=supervisor, lead_unit_code="XY03")  # (no rule: seeded without `setup`)
    return len(made)
