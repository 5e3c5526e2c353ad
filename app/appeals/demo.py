"""Demo appeals (诉求) in 新县 (XY05; 罗山县 is left to the tests' own appeals): grids under its
villages, grid workers, a 12345 dispatcher, a 分管领导 with his departments, the catalogue of
高频事项 and a few hundred appeals in every state with their histories.

Built fast (the test suite builds the demo once): the appeals, assignments, events, replies
and call-backs are simulated in Python and inserted in bulk, step by step as the services
would write them (app/appeals/services.py: the same states, hand-overs, deadlines from
rules.py on the work calendar, resolved levels and reopen counts). A few 转督办 go through the
service itself. Deterministic (random.Random(2026)) apart from being anchored on today.
"""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import insert, select, update

from app.appeals import rules
from app.appeals.models import (
    Appeal,
    AppealAssignment,
    AppealCallback,
    AppealCategory,
    AppealEvent,
    AppealReply,
    LeaderCharge,
)
from app.appeals.setup import seed_time_limits, time_limits, work_calendar
from app.core.errors import DomainError
from app.extensions import db
from app.models import AppUser, OrgUnit
from app.org.users import create_user
from app.security import roles as R
from app.security.passwords import DEMO_PASSWORD

N_APPEALS = 320
COUNTY, OTHER_COUNTY = "XY05", "XY06"  # 新县, and a few hotline appeals of 商城县
GRIDS_PER_VILLAGE = 2
ACCOUNTS = [  # (username, role, unit code, display name)
    ("wgy_xinxian", R.GRID_WORKER, "XY05T01V01G01", "网格员（新县第一个网格）"),
    ("wgy_xinxian_2", R.GRID_WORKER, "XY05T01V02G01", "网格员（新县另一网格）"),
    ("llr_xinxian_v01", R.LIAISON, "XY05T01V01", "承办联络员（新县第一个村）"),
    ("llr_xinxian_t01", R.LIAISON, "XY05T01", "承办联络员（新县第一个乡镇）"),
    ("llr_xinxian_d03", R.LIAISON, "XY05D03", "承办联络员（新县农业农村局）"),
    ("llr_xinxian_d04", R.LIAISON, "XY05D04", "承办联络员（新县住房和城乡建设局）"),
    ("ddy_xinxian", R.DISPATCHER, "XY05", "热线调度员（新县12345）"),
    ("ld_xinxian", R.LEADER, "XY05", "县区领导（新县，分管农业农村局、住建局）"),
]
LEADER_ACCOUNT = "ld_xinxian"
LEADER_DEPARTMENTS = ("XY05D03", "XY05D04")  # 农业农村局, 住房和城乡建设局
CATALOGUE = (  # (name, default urgency, suggested department code or None: the township)
    ("道路损毁", "一般", "XY05D04"), ("路灯不亮", "一般", "XY05D04"), ("供水停水", "紧急", "XY05D04"),
    ("违章建筑", "复杂", "XY05D04"), ("农业补贴", "一般", "XY05D03"), ("农田灌溉", "一般", "XY05D03"),
    ("动物疫病", "紧急", "XY05D03"), ("垃圾清运", "一般", None), ("邻里纠纷", "一般", None),
    ("噪音扰民", "一般", None), ("养老保险", "复杂", None),
)
CONTENTS = {
    "道路损毁": ("村口水泥路塌陷一处，雨天积水，车辆无法通行", "组间道路坑洼严重，群众出行不便，希望尽快修补"),
    "路灯不亮": ("村委会门前路灯已坏一个多月，夜间出行不安全", "主干道三盏路灯不亮，老人晚上不敢出门"),
    "供水停水": ("自来水停水两天未恢复，家中老人饮水困难", "水压太低，二楼以上无法用水"),
    "违章建筑": ("邻居在公共通道上私自搭建棚子，堵塞通道", "河道边有人违规建房，影响行洪"),
    "农业补贴": ("去年耕地地力保护补贴至今未到账", "农机购置补贴申请后一直没有回复"),
    "农田灌溉": ("灌溉渠道堵塞，下游农田无法放水", "机井水泵损坏，秧田急需灌溉"),
    "动物疫病": ("村里多户生猪出现发热症状，担心疫情", "散养鸡鸭集中病死，请求防疫人员查看"),
    "垃圾清运": ("垃圾池满了一周没人清运，气味很大", "路边堆放建筑垃圾无人处理"),
    "邻里纠纷": ("因宅基地边界与邻居发生争执，请求调解", "邻居家排水沟把污水排到我家门口"),
    "噪音扰民": ("附近加工厂夜间生产，噪音影响休息", "广场舞音响声音太大，影响学生学习"),
    "养老保险": ("城乡居民养老保险缴费年限有误，要求核查", "父亲养老金停发，不知道原因"),
}
CONTACT_WAYS = ("电话", "上门走访", "当面")
MEASURES = ("现场查看后组织人员处理，已处理完毕", "协调相关单位现场办理，问题已解决", "与诉求人当面沟通，解释相关政策",
            "安排专人跟进，已制定整改计划并落实")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余杜叶程魏苏吕丁"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红建文辉力斌宇浩凯晨阳然欣悦"
TARGETS = (("closed", 40), ("to_callback", 9), ("to_review", 9), ("handling", 18), ("to_sign", 9),
           ("to_dispatch", 6), ("merged", 4), ("leader", 2))


def seed_demo_appeals(first_login_change: bool = True) -> bool:
    """Seed the demo appeals unless there are some; returns whether it did."""
    if db.session.scalar(select(Appeal.id).limit(1)) is not None:
        return False
    county = db.session.scalar(select(OrgUnit).where(OrgUnit.code == COUNTY))
    if county is None:
        return False
    seed_time_limits()
    _grids(county)
    users = _accounts(first_login_change)
    _charges(users)
    categories = _catalogue()
    _Builder(random.Random(2026), users, categories).run()
    return True


# ---------------------------------------------------------------- units, accounts, catalogue

def _grids(county: OrgUnit) -> None:
    villages = db.session.scalars(select(OrgUnit).where(OrgUnit.kind == "village",
                                                        OrgUnit.path.startswith(county.path))
                                  .order_by(OrgUnit.code)).all()
    made = []
    for village in villages:
        for n in range(1, GRIDS_PER_VILLAGE + 1):
            grid = OrgUnit(code=f"{village.code}G{n:02d}", name=f"{village.name}第{n}网格", kind="grid",
                           parent_id=village.id, sort_order=n, path="")
            made.append((grid, village.path))
    db.session.add_all([g for g, _ in made])
    db.session.flush()
    for grid, parent_path in made:
        grid.path = f"{parent_path}{grid.id}/"
    db.session.commit()


def _accounts(first_login_change: bool) -> dict[str, AppUser]:
    for username, role, unit, display in ACCOUNTS:
        create_user(username, DEMO_PASSWORD, role, unit, None, display, must_change_password=first_login_change)
    names = [a[0] for a in ACCOUNTS]
    return {u.username: u for u in db.session.scalars(select(AppUser).where(AppUser.username.in_(names)))}


def _charges(users) -> None:
    leader = users.get(LEADER_ACCOUNT)
    if leader is None:
        return
    for code in LEADER_DEPARTMENTS:
        unit_id = db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == code))
        db.session.add(LeaderCharge(leader_id=leader.id, org_unit_id=unit_id))
    db.session.commit()


def _catalogue() -> dict[str, AppealCategory]:
    present = {c.name: c for c in db.session.scalars(select(AppealCategory))}
    codes = {code for _, _, code in CATALOGUE if code}
    ids = dict(db.session.execute(select(OrgUnit.code, OrgUnit.id).where(OrgUnit.code.in_(codes))).all())
    for name, urgency, code in CATALOGUE:
        if name not in present:
            present[name] = AppealCategory(name=name, default_urgency=urgency, department_id=ids.get(code))
            db.session.add(present[name])
    db.session.commit()
    return {name: present[name] for name, _, _ in CATALOGUE}


# ---------------------------------------------------------------- the appeals

class _Unit:
    __slots__ = ("id", "code", "name", "kind", "parent_id")

    def __init__(self, id, code, name, kind, parent_id):  # noqa: A002
        self.id, self.code, self.name, self.kind, self.parent_id = id, code, name, kind, parent_id


class _Builder:
    """Simulates each appeal's life as the services would write it, then inserts in bulk."""

    def __init__(self, rng: random.Random, users: dict, categories: dict):
        self.rng, self.users, self.categories = rng, users, categories
        self.now = dt.datetime.now().replace(microsecond=0)
        self.cal = work_calendar()
        self.limits = {u: time_limits(u) for u in rules.URGENCIES}
        rows = db.session.execute(select(OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.kind, OrgUnit.parent_id)
                                  .where(OrgUnit.code.like("XY0%") | (OrgUnit.code == "XY"))).all()
        self.units = {r.id: _Unit(*r) for r in rows}
        self.by_code = {u.code: u for u in self.units.values()}
        self.people: dict[int, str] = {}
        self.actor_of_unit = {}
        for user in users.values():
            if user.org_unit_id is not None and user.username != LEADER_ACCOUNT:
                self.actor_of_unit.setdefault(user.org_unit_id, user)
        self.appeals, self.assignments, self.events, self.replies, self.callbacks = [], [], [], [], []
        self.merges: list[tuple[int, int]] = []

    # ---- helpers

    def _name(self) -> str:
        return self.rng.choice(SURNAMES) + "".join(self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2))))

    def _parent(self, unit: _Unit) -> _Unit | None:
        return self.units.get(unit.parent_id)

    def _ancestor(self, unit: _Unit, kind: str) -> _Unit | None:
        while unit is not None and unit.kind != kind:
            unit = self._parent(unit)
        return unit

    def _actor(self, unit: _Unit | None, user=None) -> dict:
        user = user or (self.actor_of_unit.get(unit.id) if unit is not None else None)
        if user is not None:
            return {"actor_id": user.id, "actor_name": user.username, "actor_unit_id": user.org_unit_id}
        if unit is None:
            return {"actor_id": None, "actor_name": "系统", "actor_unit_id": None}
        if unit.id not in self.people:
            self.people[unit.id] = self._name()
        return {"actor_id": None, "actor_name": self.people[unit.id], "actor_unit_id": unit.id}

    def run(self) -> None:
        townships = [u for u in self.units.values() if u.kind == "township" and u.code.startswith(COUNTY)]
        grids = [u for u in self.units.values() if u.kind == "grid"]
        villages = [u for u in self.units.values() if u.kind == "village" and u.code.startswith(COUNTY)]
        other = [u for u in self.units.values() if u.kind in ("township", "village")
                 and u.code.startswith(OTHER_COUNTY)]
        stories = []
        for i in range(N_APPEALS):
            target = self.rng.choices([t for t, _ in TARGETS], [w for _, w in TARGETS])[0]
            if i % 11 == 10:
                place, source = self.rng.choice(other), "12345热线"
            elif target in ("to_dispatch", "merged") or self.rng.random() < 0.4:
                source = self.rng.choice(("12345热线", "12345热线", "12345热线", "来信来访"))
                place = self.rng.choice(grids + villages + townships)
            else:
                source, place = "网格上报", self.rng.choice(grids)
            if target == "leader":
                source, place = "网格上报", self.rng.choice(grids)
            stories.append(_Story(self, i, source, place, target))
        stories.sort(key=lambda s: s.received_at)
        counters: dict[int, int] = {}
        for story in stories:
            year = story.received_at.year
            counters[year] = counters.get(year, 0) + 1
            story.appeal["number"] = f"SQ-{year}-{counters[year]:06d}"
        self._insert(stories)
        self._supervise()

    def _insert(self, stories) -> None:
        table = Appeal.__table__
        ids = db.session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True),
                                 [s.appeal for s in stories]).scalars().all()
        for story, appeal_id in zip(stories, ids):
            story.appeal_id = appeal_id
        by_index = {s.index: s for s in stories}
        for story in stories:
            for row in story.assignments:
                row["appeal_id"] = story.appeal_id
            for rows in (story.events, story.replies, story.callbacks):
                for row in rows:
                    row["appeal_id"] = story.appeal_id
        assignments = [row for s in stories for row in s.assignments]
        if assignments:
            db.session.execute(insert(AppealAssignment.__table__), assignments)
        events = [row for s in stories for row in s.events]
        replies = [row for s in stories for row in s.replies]
        callbacks = [row for s in stories for row in s.callbacks]
        merges = []
        for story in stories:
            if story.merge_into is not None:
                master = by_index[story.merge_into]
                merges.append({"id": story.appeal_id, "master": master.appeal_id})
                events.append({**story.merge_event, "appeal_id": story.appeal_id,
                               "detail": {"master": master.appeal["number"], "master_id": master.appeal_id}})
                events.append({**story.merge_event, "appeal_id": master.appeal_id, "action": "merged_in",
                               "detail": {"duplicate": story.appeal["number"], "duplicate_id": story.appeal_id}})
        if events:
            db.session.execute(insert(AppealEvent.__table__), events)
        if replies:
            db.session.execute(insert(AppealReply.__table__), replies)
        if callbacks:
            db.session.execute(insert(AppealCallback.__table__), callbacks)
        for row in merges:
            db.session.execute(update(Appeal).where(Appeal.id == row["id"]).values(merged_into_id=row["master"]))
        db.session.commit()

    def _supervise(self) -> None:
        """Two overdue appeals turned into supervision items through the service (linked both ways)."""
        from app.appeals import services as S

        overdue = db.session.scalars(select(Appeal.id).where(Appeal.state == rules.HANDLING,
                                                             Appeal.replied_at.is_(None),
                                                             Appeal.reply_deadline < self.now)
                                     .order_by(Appeal.id).limit(2)).all()
        for appeal_id in overdue:
            try:
                S.to_supervision(appeal_id, user=None, now=self.now)
            except DomainError:  # no 普通事项 rule (a demo seeded without `setup`): no 转督办
                return


class _Story:
    """One appeal's life, step by step: the rows the services would have written."""

    def __init__(self, b: _Builder, index: int, source: str, place: _Unit, target: str):
        self.b, self.index, self.rng = b, index, b.rng
        self.assignments, self.events, self.replies, self.callbacks = [], [], [], []
        self.merge_into, self.merge_event, self.appeal_id = None, None, None
        self.target = target
        category_name = self.rng.choice(list(b.categories))
        category = b.categories[category_name]
        urgency = category.default_urgency if self.rng.random() < 0.8 else self.rng.choice(rules.URGENCIES)
        self.limits = b.limits[urgency]
        self.place = place
        # the appeal's age: open ones recent (their lights vary), closed ones spread over a year
        back = self.rng.uniform(0.05, 12) if target not in ("closed", "merged") else self.rng.uniform(3, 300)
        if target in ("handling", "to_sign") and self.rng.random() < 0.35:
            back = self.rng.uniform(8, 40)  # some overdue
        self.received_at = (b.now - dt.timedelta(days=back)).replace(second=0)
        self.t = self.received_at
        county = b._ancestor(place, "county")
        self.dispatcher_unit = county
        self.appeal = {
            "number": None, "source": source, "external_number": None, "received_at": self.received_at,
            "category_id": category.id, "content": self.rng.choice(CONTENTS[category_name]),
            "occurred_unit_id": place.id, "citizen_name": b._name(),
            "citizen_phone": f"1{self.rng.choice('3578')}{self.rng.randint(0, 9)}{self.rng.randint(10000000, 99999999)}",
            "urgency": urgency, "state": None, "handler_unit_id": None, "leader_id": None,
            "reviewer_kind": None, "reviewer_unit_id": None, "sign_deadline": None,
            "reply_deadline": rules.reply_deadline(self.received_at, self.limits, b.cal), "replied_at": None,
            "closed_at": None, "resolved_level": None, "resolved_unit_id": None, "reopen_count": 0,
            "merged_into_id": None, "supervision_task_id": None, "created_by_id": None,
            "callback_result": None, "callback_count": 0, "satisfied_count": 0, "basic_count": 0,
            "created_at": self.received_at, "updated_at": self.received_at, "version": 1,
        }
        if source == "12345热线":
            self.appeal["external_number"] = f"12345-{self.received_at:%Y%m%d}-{index:05d}"
        self.category = category
        self._play(source)

    # ---- time

    def _later(self, lo_hours: float, hi_hours: float) -> bool:
        """Advance the clock; False (and no step) when it would pass now."""
        t = self.t + dt.timedelta(hours=self.rng.uniform(lo_hours, hi_hours))
        if t >= self.b.now - dt.timedelta(minutes=5):
            return False
        self.t = t.replace(microsecond=0)
        return True

    def _event(self, action, unit, from_unit=None, to_unit=None, reason=None, detail=None, user=None):
        self.events.append({**self.b._actor(unit, user), "action": action, "at": self.t,
                            "from_unit_id": from_unit.id if from_unit else None,
                            "to_unit_id": to_unit.id if to_unit else None, "reason": reason, "detail": detail})
        self.appeal["updated_at"] = self.t

    def _state(self, state: str, handler: _Unit | None = None) -> None:
        self.appeal["state"] = state
        if handler is not None:
            self.appeal["handler_unit_id"] = handler.id

    def _handler(self) -> _Unit:
        return self.b.units[self.appeal["handler_unit_id"]]

    # ---- steps (as the services write them)

    def _assign(self, unit: _Unit, kind: str, from_unit: _Unit | None, role: str = "single", by=None) -> dict:
        deadline = rules.sign_deadline(self.t, self.limits, self.b.cal)
        row = {"org_unit_id": unit.id, "role": role, "kind": kind, "assigned_by_id": getattr(by, "id", None),
               "assigned_from_unit_id": from_unit.id if from_unit else None, "assigned_at": self.t,
               "appeal_received_at": self.received_at,
               "sign_deadline": deadline, "signed_at": None, "signed_by_id": None, "refused_at": None,
               "refusal_kind": None, "refusal_text": None, "ruled_at": None, "ruling": None, "overruled": False,
               "ended_at": None, "state": "pending", "version": 1}
        self.assignments.append(row)
        if role in ("single", "lead"):
            self.appeal["sign_deadline"] = deadline
        return row

    def _end_open(self) -> None:
        for row in self.assignments:
            if row["state"] in ("pending", "signed") and row["role"] in ("single", "lead"):
                row["state"], row["ended_at"] = "ended", self.t

    def _sign(self, row: dict) -> bool:
        hi = 30 if self.rng.random() < 0.15 else 6
        if not self._later(0.2, hi):
            return False
        unit = self.b.units[row["org_unit_id"]]
        row["state"], row["signed_at"] = "signed", self.t
        if row["role"] in ("single", "lead"):
            self._state(rules.HANDLING, unit)
        self._event("sign", unit, to_unit=unit, detail={"role": row["role"], "late": self.t > row["sign_deadline"]})
        return True

    def _hand_over(self, target: _Unit, kind: str, reason: str) -> dict | None:
        if not self._later(2, 40):
            return None
        here = self._handler()
        self._end_open()
        row = self._assign(target, kind, here)
        self._state(rules.TO_SIGN, target)
        self._event("escalate" if kind == "escalate" else "whistle_to_department", here, here, target, reason)
        return row

    def _reply(self) -> bool:
        if not self._later(4, 120):
            return False
        unit = self._handler()
        result = self.rng.choices(("已解决", "部分解决", "解释说明"), (7, 2, 1))[0]
        contact = self.t - dt.timedelta(hours=self.rng.uniform(1, 3))
        self.replies.append({
            "org_unit_id": unit.id, "contact_whom": "诉求人本人", "contact_at": contact.replace(microsecond=0),
            "contact_way": self.rng.choice(CONTACT_WAYS), "measures": self.rng.choice(MEASURES), "result": result,
            "result_note": None, "finished_at": self.t, "submitted_by_id": None, "submitted_at": self.t,
            "decision": None, "decided_by_id": None, "decided_at": None, "decision_note": None,
        })
        self._state(rules.TO_REVIEW)
        self._event("reply", unit, unit, self.b.units[self.appeal["reviewer_unit_id"]],
                    detail={"result": result, "late": self.t > self.appeal["reply_deadline"]})
        return True

    def _review(self, approve: bool) -> bool:
        if not self._later(1, 24):
            return False
        reviewer, handler = self.b.units[self.appeal["reviewer_unit_id"]], self._handler()
        reply = self.replies[-1]
        note = None if approve else "答复内容不完整，请补充联系群众情况和处理结果"
        reply.update(decision="approved" if approve else "returned", decided_at=self.t, decision_note=note)
        if approve:
            parent = self.b._parent(handler)
            self._state(rules.TO_CALLBACK)
            self.appeal["resolved_level"] = rules.resolved_level(handler.kind, parent.kind if parent else None)
            self.appeal["resolved_unit_id"] = handler.id
            if self.appeal["replied_at"] is None:
                self.appeal["replied_at"] = reply["submitted_at"]
        else:
            self._state(rules.HANDLING)
        self._event("approve" if approve else "return", reviewer, reviewer, handler, note)
        return True

    def _callback(self, result: str) -> bool:
        if not self._later(2, 72):
            return False
        reviewer = self.b.units[self.appeal["reviewer_unit_id"]]
        self.callbacks.append({"result": result, "note": None, "by_id": None, "at": self.t})
        self.appeal["callback_result"] = result
        self.appeal["callback_count"] += 1
        self.appeal["satisfied_count"] += result == "满意"
        self.appeal["basic_count"] += result == "基本满意"
        if result == "不满意":
            self._state(rules.HANDLING)
            self.appeal["reopen_count"] += 1
            self.appeal.update(resolved_level=None, resolved_unit_id=None, closed_at=None)
            action = "reopen"
        else:
            self._state(rules.CLOSED)
            self.appeal["closed_at"] = self.t
            action = "callback"
        self._event(action, reviewer, to_unit=self._handler(), detail={"result": result})
        return True

    # ---- a whole life

    def _stop(self, state: str) -> bool:
        """Whether the story ends here: its target state is reached."""
        return self.target == state

    def _play(self, source: str) -> None:
        if source == "网格上报":
            ok = self._play_grid()
        else:
            ok = self._play_dispatched()
        if ok and self.appeal["state"] == rules.HANDLING:
            ok = self._finish()
        if self.appeal["state"] is None:  # nothing happened at all
            raise AssertionError("an appeal without a first step")

    def _play_grid(self) -> bool:
        grid = self.place
        township = self.b._ancestor(grid, "township")
        self.appeal.update(reviewer_kind="township", reviewer_unit_id=township.id)
        self._state(rules.HANDLING, grid)
        self._event("report", grid, to_unit=grid)
        climb = self.rng.choices(("grid", "village", "township", "department", "leader"), (40, 25, 18, 12, 5))[0]
        if self.target == "leader":
            climb = "leader"
        if climb == "grid" or self._stop("handling") and self.rng.random() < 0.5:
            return True
        village = self.b._parent(grid)
        row = self._hand_over(village, "escalate", "网格无法解决，需村（社区）协调")
        if row is None or self._stop("to_sign") and self.rng.random() < 0.4 or not self._sign(row):
            return False
        if climb == "village":
            return True
        row = self._hand_over(township, "escalate", "涉及多个村组，需乡镇统筹解决")
        if row is None or self._stop("to_sign") and self.rng.random() < 0.5 or not self._sign(row):
            return False
        if climb == "township":
            return True
        if climb == "leader":
            return self._whistle_leader(township)
        dept = self.category.department_id and self.b.units.get(self.category.department_id)
        dept = dept or self.b.by_code[self.rng.choice(LEADER_DEPARTMENTS)]
        row = self._hand_over(dept, "whistle", "超出乡镇职权，吹哨报到县直部门")
        if row is None or self._stop("to_sign") or not self._sign(row):
            return False
        return True

    def _whistle_leader(self, township: _Unit) -> bool:
        leader = self.b.users.get(LEADER_ACCOUNT)
        if leader is None or not self._later(2, 24):
            return False
        self._end_open()
        self.appeal["leader_id"] = leader.id
        self._state(rules.TO_DISPATCH)
        self._event("whistle_to_leader", township, township, self.b.units.get(leader.org_unit_id),
                    "涉及农业农村、住建多个部门，请分管领导协调", {"leader_id": leader.id, "leader": leader.username})
        if self.target == "leader" and self.rng.random() < 0.6 or not self._later(1, 24):
            return False
        lead, assist = (self.b.by_code[c] for c in LEADER_DEPARTMENTS)
        county = self.b.units.get(leader.org_unit_id)
        rows = [self._assign(lead, "leader", county, "lead", leader), self._assign(assist, "leader", county, "assist",
                                                                                 leader)]
        self._state(rules.TO_SIGN, lead)
        self._event("leader_assign", None, county, lead, "请牵头部门会同协办部门办理", {"lead": lead.name,
                                                                              "assist": [assist.name]},
                    user=leader)
        if not self._sign(rows[0]):
            return False
        self._sign(rows[1])
        return True

    def _play_dispatched(self) -> bool:
        dispatcher = self.dispatcher_unit
        self.appeal.update(reviewer_kind="dispatcher", reviewer_unit_id=dispatcher.id)
        self._state(rules.TO_DISPATCH, dispatcher)
        self._event("create", dispatcher, to_unit=dispatcher, detail={"source": self.appeal["source"]})
        if self.target == "to_dispatch":
            return False
        if self.target == "merged":
            if not self._later(0.5, 6):
                return False
            self._state(rules.MERGED)
            self.merge_into = max(0, self.index - self.rng.randint(1, 20))
            if self.merge_into == self.index:
                self.merge_into = None
                self._state(rules.TO_DISPATCH)
                return False
            self.merge_event = {**self.b._actor(dispatcher), "action": "merge", "at": self.t, "from_unit_id": None,
                                "to_unit_id": None, "reason": "重复来电，合并办理", "detail": None}
            return False
        township = self.b._ancestor(self.place, "township")
        dept = self.b.units.get(self.category.department_id) if self.category.department_id else None
        target = dept if dept is not None and dept.code.startswith(dispatcher.code) else township
        if not self._later(0.3, 8):
            return False
        row = self._assign(target, "dispatch", dispatcher)
        self._state(rules.TO_SIGN, target)
        self._event("dispatch", dispatcher, dispatcher, target)
        if self.rng.random() < 0.12 and self._later(0.5, 6):  # 退单 and the dispatcher's ruling
            row.update(state="refused", refused_at=self.t, refusal_kind="职能不符",
                       refusal_text="该事项不属于本单位职责")
            self._state(rules.TO_DISPATCH, dispatcher)
            self._event("refuse", target, target, dispatcher, "该事项不属于本单位职责", {"kind": "职能不符"})
            if self.target == "to_dispatch" or not self._later(0.5, 8):
                return False
            other = township if target is not township else self.b.by_code[LEADER_DEPARTMENTS[0]]
            if not other.code.startswith(dispatcher.code):
                other = township
            row.update(ruled_at=self.t, ruling="reassign")
            row = self._assign(other, "dispatch", dispatcher)
            self._state(rules.TO_SIGN, other)
            self._event("rule", dispatcher, target, other, None, {"decision": "reassign"})
        if self._stop("to_sign") or not self._sign(row):
            return False
        return True

    def _finish(self) -> bool:
        """办理中 → reply → review → call-back, stopping at the target state."""
        if self._stop("handling") or self.target == "leader":
            return True
        for attempt in range(3):
            if not self._reply():
                return False
            if self._stop("to_review"):
                return True
            returned = attempt == 0 and self.rng.random() < 0.1
            if not self._review(not returned):
                return False
            if returned:
                continue
            if self._stop("to_callback"):
                return True
            unhappy = attempt == 0 and self.rng.random() < 0.12
            result = "不满意" if unhappy else self.rng.choices(("满意", "基本满意"), (4, 1))[0]
            if not self._callback(result):
                return False
            if not unhappy:
                return True
        return True
