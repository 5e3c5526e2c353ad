"""Appeals (诉求) of the generated city: grids under every village, the catalogue, the 分管
charges, and a year of appeals ending now (500,000 for the 50,000-cadre city, scaled) with
their assignments, replies, call-backs and history lines, written month by month.

The spread: 60 % grid reports, 30 % hotline, 7 % letters, 3 % other; 紧急/一般/复杂 10/75/15 %;
resolved at 网格/村社区/乡镇街道/县区部门/市直部门 about 45/25/18/10/2 %. Most appeals older than a
month are closed; recent ones are spread over every open state; about 8 % of signings and 12 % of
replies are late, a few old appeals stay open past their deadline (red), 1 % are merged, 10 % of
call-backs are 不满意 (one 重办), and a few hundred whistles wait for a 分管领导.
"""

from __future__ import annotations

import datetime as dt
import random
import time

from sqlalchemy import select

from app.bench import CITY_CODE, COUNTY_CODE, account
from app.bench.bulk import BulkWriter
from app.bench.city import City
from app.core import clock
from app.extensions import db
from app.org.demo import GIVEN, SURNAMES
from app.security import roles as R

APPEALS_PER_YEAR = 500_000  # at the reference city (50,000 cadres)
GRIDS_PER_VILLAGE = 3
CATEGORIES = (
    ("道路破损", "一般"), ("路灯不亮", "一般"), ("垃圾清运", "一般"), ("污水外溢", "紧急"), ("噪音扰民", "一般"),
    ("违章建筑", "复杂"), ("占道经营", "一般"), ("饮水安全", "紧急"), ("停水停电", "紧急"), ("供暖问题", "一般"),
    ("物业纠纷", "复杂"), ("邻里纠纷", "一般"), ("土地承包", "复杂"), ("拖欠工资", "复杂"), ("医疗保障", "一般"),
    ("低保救助", "一般"), ("教育入学", "一般"), ("养老服务", "一般"), ("环境污染", "紧急"), ("安全隐患", "紧急"),
    ("农村公路", "一般"), ("河道治理", "复杂"), ("宅基地", "复杂"), ("流浪动物", "一般"), ("消防通道", "紧急"),
    ("公交出行", "一般"), ("市场价格", "一般"), ("食品安全", "紧急"), ("社保缴纳", "一般"), ("其他事项", "一般"),
)
SOURCES = (("网格上报", 60), ("12345热线", 30), ("来信来访", 7), ("其他", 3))
URGENCY_WEIGHTS = (("紧急", 10), ("一般", 75), ("复杂", 15))
LEVELS = (("网格", 45), ("村社区", 25), ("乡镇街道", 18), ("县区部门", 10), ("市直部门", 2))
APPEAL_COLUMNS = ("id", "number", "source", "external_number", "received_at", "category_id", "content",
                  "occurred_unit_id", "citizen_name", "citizen_phone", "urgency", "state", "handler_unit_id",
                  "leader_id", "reviewer_kind", "reviewer_unit_id", "sign_deadline", "reply_deadline", "replied_at",
                  "closed_at", "resolved_level", "resolved_unit_id", "reopen_count", "merged_into_id", "created_at",
                  "updated_at", "version", "callback_result", "callback_count", "satisfied_count", "basic_count")
ASSIGNMENT_COLUMNS = ("id", "appeal_id", "org_unit_id", "role", "kind", "assigned_from_unit_id", "assigned_at",
                      "sign_deadline", "signed_at", "ended_at", "state", "overruled", "version", "appeal_received_at")
REPLY_COLUMNS = ("id", "appeal_id", "org_unit_id", "contact_whom", "contact_at", "contact_way", "measures", "result",
                 "finished_at", "submitted_at", "decision", "decided_at")
CALLBACK_COLUMNS = ("id", "appeal_id", "result", "at")
EVENT_COLUMNS = ("id", "appeal_id", "action", "actor_name", "actor_unit_id", "from_unit_id", "to_unit_id", "at",
                 "reason")


def _ts(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat(sep=" ")


class _Deadlines:
    """Deadlines by the stored limits on the 13710 calendar, cached per (day, limit)."""

    def __init__(self):
        from app.appeals import rules
        from app.appeals.setup import time_limits
        from app.supervision.setup import work_calendar

        self.rules = rules
        self.calendar = work_calendar()
        self.limits = {u: time_limits(u) for u in rules.URGENCIES}
        self.cache: dict = {}

    def due(self, start: dt.datetime, urgency: str, which: str) -> dt.datetime:
        limit = getattr(self.limits[urgency], which)
        if limit.unit == self.rules.HOURS:
            return start + dt.timedelta(hours=limit.amount)
        key = (start.date(), urgency, which)
        if key not in self.cache:
            self.cache[key] = self.rules.due(start, limit, self.calendar)
        return self.cache[key]


def appeals(writer: BulkWriter, rng: random.Random, city: City, scale: float) -> dict:
    """Grids, catalogue, charges and a year of appeals; returns counts."""
    step = time.perf_counter()
    grids = _grids(writer, city)
    departments = _departments(city)
    categories = _catalogue(writer, rng, departments["city"])
    leaders = _leaders(writer, city, departments)
    total = max(2_000, round(APPEALS_PER_YEAR * scale))
    now = clock.now().replace(microsecond=0)
    start = now - dt.timedelta(days=365)
    ctx = _Context(rng, city, grids, departments, categories, leaders, _Deadlines(), now)
    months = 12
    for month in range(months):
        lo = start + dt.timedelta(days=365 * month / months)
        hi = start + dt.timedelta(days=365 * (month + 1) / months)
        n = total // months + (1 if month < total % months else 0)
        ctx.month(lo, hi, n)
        for table, columns, rows in (("appeal", APPEAL_COLUMNS, ctx.appeals), ("appeal_assignment", ASSIGNMENT_COLUMNS,
                                     ctx.assignments), ("appeal_reply", REPLY_COLUMNS, ctx.replies),
                                     ("appeal_callback", CALLBACK_COLUMNS, ctx.callbacks),
                                     ("appeal_event", EVENT_COLUMNS, ctx.events)):
            writer.write(table, columns, rows, quiet=True)
        ctx.clear()
    ctx.measured_work(_measured_units())
    for table, columns, rows in (("appeal", APPEAL_COLUMNS, ctx.appeals), ("appeal_assignment", ASSIGNMENT_COLUMNS,
                                 ctx.assignments), ("appeal_event", EVENT_COLUMNS, ctx.events)):
        writer.write(table, columns, rows, quiet=True)
    ctx.clear()
    writer.fix_sequences(("org_unit", "appeal_category", "appeal", "appeal_assignment", "appeal_reply",
                          "appeal_callback", "appeal_event", "leader_charge"))
    writer.echo(f"  诉求：{ctx.ids['appeal']:,} 件（网格 {len(grids):,} 个，分派/上报/吹哨 {ctx.ids['assignment']:,} 次，"
                f"答复 {ctx.ids['reply']:,}，回访 {ctx.ids['callback']:,}，记录 {ctx.ids['event']:,} 行），"
                f"{time.perf_counter() - step:.1f} 秒")
    return dict(ctx.ids)


def _measured_units() -> list[int]:
    """The departments whose liaisons the benchmark measures (city and county)."""
    from app.models import OrgUnit

    codes = [f"{code}D01" for code in (CITY_CODE, COUNTY_CODE)]
    return list(db.session.scalars(select(OrgUnit.id).where(OrgUnit.code.in_(codes)).order_by(OrgUnit.code)))


def _grids(writer: BulkWriter, city: City) -> list[int]:
    """GRIDS_PER_VILLAGE grids under every village (ids after the tree's)."""
    rows = []
    next_id = max(row[0] for row in city.units) + 1
    by_id = {row[0]: row for row in city.units}
    city.by_kind.setdefault("grid", [])
    for vid in city.by_kind["village"]:
        village = by_id[vid]
        for g in range(1, GRIDS_PER_VILLAGE + 1):
            row = (next_id, f"{village[1]}G{g:02d}", f"{village[2]}第{g}网格", "grid", vid, f"{village[5]}{next_id}/", g)
            rows.append(row)
            city.units.append(row)
            city.by_kind["grid"].append(next_id)
            city.unit_name[next_id] = row[2]
            city.county_of[next_id] = city.county_of.get(vid)
            next_id += 1
    writer.write("org_unit", ("id", "code", "name", "kind", "parent_id", "path", "sort_order", "active"),
                 (row + (True,) for row in rows), label="网格")
    return city.by_kind["grid"]


def _departments(city: City) -> dict:
    """'city' -> the city's departments; county id -> that county's departments."""
    parent = {row[0]: row[4] for row in city.units}
    out: dict = {"city": []}
    for did in city.by_kind["department"]:
        p = parent[did]
        out.setdefault("city" if p in city.by_kind["city"] else p, []).append(did)
    return out


def _catalogue(writer: BulkWriter, rng: random.Random, city_departments: list[int]) -> list[tuple[int, str]]:
    rows = [(i, name, urgency, rng.choice(city_departments) if city_departments else None, False, True, 1)
            for i, (name, urgency) in enumerate(CATEGORIES, start=1)]
    writer.write("appeal_category", ("id", "name", "default_urgency", "department_id", "needs_completion", "active",
                                     "version"), rows, label="高频事项目录")
    return [(row[0], row[2]) for row in rows]


def _leaders(writer: BulkWriter, city: City, departments: dict) -> dict[int, int]:
    """County id -> the 分管领导 whistles of that county wait for (the county's bench leader for
    XY03, the city's for the others), with a charge over every department of the county."""
    from app.models import AppUser, OrgUnit

    users = dict(db.session.execute(select(AppUser.username, AppUser.id)).all())
    county = users.get(account(R.LEADER, "county"))
    whole = users.get(account(R.LEADER, "city"))
    xy03 = db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == COUNTY_CODE))
    out, charges = {}, []
    for cid in city.by_kind["county"]:
        leader = county if cid == xy03 else whole
        if leader is None:
            continue
        out[cid] = leader
        charges += [(leader, d) for d in departments.get(cid, [])]
    writer.write("leader_charge", ("id", "leader_id", "org_unit_id"),
                 [(i, *pair) for i, pair in enumerate(charges, start=1)], label="分管领导")
    return out


class _Context:
    """Builds one month of rows at a time (ids run on across months)."""

    def __init__(self, rng, city, grids, departments, categories, leaders, deadlines, now):
        self.rng, self.city, self.grids, self.departments = rng, city, grids, departments
        self.categories, self.leaders, self.deadlines, self.now = categories, leaders, deadlines, now
        self.parent = {row[0]: row[4] for row in city.units}
        self.kind = {row[0]: row[3] for row in city.units}
        self.city_id = city.by_kind["city"][0]
        self.ids = {"appeal": 0, "assignment": 0, "reply": 0, "callback": 0, "event": 0}
        self.sources = [s for s, w in SOURCES for _ in range(w)]
        self.urgencies = [u for u, w in URGENCY_WEIGHTS for _ in range(w)]
        self.levels = [lv for lv, w in LEVELS for _ in range(w)]
        self.clear()

    def clear(self):
        self.appeals, self.assignments, self.replies, self.callbacks, self.events = [], [], [], [], []

    def _event(self, aid, action, unit, frm, to, at, reason=None):
        self.ids["event"] += 1
        self.events.append((self.ids["event"], aid, action, "压测", unit, frm, to, _ts(at), reason))

    def measured_work(self, departments: list[int]) -> None:
        """Work waiting, at every size, on the users the benchmark measures (a real city always
        has some): for each measured department an appeal to sign and one due within a day; for
        each 分管领导 a whistle to assign. The to-do pages then issue the same queries whatever
        the size of the city."""
        now = self.now
        towns = self.city.by_kind["township"]
        for dept in departments:
            town = next((t for t in towns if self.city.county_of.get(t) == self.city.county_of.get(dept)), towns[0])
            for state in ("to_sign", "handling"):
                self.ids["appeal"] += 1
                aid = self.ids["appeal"]
                received = now - (dt.timedelta(hours=2) if state == "to_sign" else dt.timedelta(days=6))
                reply_due = now + dt.timedelta(hours=20) if state == "handling" else self.deadlines.due(
                    received, "一般", "reply")
                assigned = received + dt.timedelta(minutes=30)
                sign_due = self.deadlines.due(assigned, "一般", "sign")
                self.ids["assignment"] += 1
                self.assignments.append((self.ids["assignment"], aid, dept, "single", "whistle", town, _ts(assigned),
                                         _ts(sign_due), None if state == "to_sign" else _ts(assigned),
                                         None, "pending" if state == "to_sign" else "signed", False, 1,
                                         _ts(received)))
                self._event(aid, "whistle_to_department", town, town, dept, assigned)
                self._appeal_row(aid, received, town, state, dept, None, sign_due if state == "to_sign" else None,
                                 reply_due)
        for county, leader in sorted(self.leaders.items()):
            town = next((t for t in towns if self.city.county_of.get(t) == county), None)
            if town is None:
                continue
            self.ids["appeal"] += 1
            received = now - dt.timedelta(days=1)
            self._event(self.ids["appeal"], "whistle_to_leader", town, town, None, received + dt.timedelta(hours=3))
            self._appeal_row(self.ids["appeal"], received, town, "to_dispatch", town, leader, None,
                             self.deadlines.due(received, "一般", "reply"))

    def _appeal_row(self, aid, received, town, state, handler, leader, sign_deadline, reply_due) -> None:
        grid = next((g for g in self.grids if self.parent[self.parent[g]] == town), self.grids[0])
        self.appeals.append((
            aid, f"SQ-{received.year}-{aid:06d}", "网格上报", None, _ts(received), self.categories[0][0], "压测待办诉求",
            grid, "压测", "13800000000", "一般", state, handler, leader, "township", town, _ts(sign_deadline),
            _ts(reply_due), None, None, None, None, 0, None, _ts(received), _ts(received), 1, None, 0, 0, 0))

    def month(self, lo: dt.datetime, hi: dt.datetime, n: int) -> None:
        span = (hi - lo).total_seconds()
        for _ in range(n):
            self._appeal(lo + dt.timedelta(seconds=int(self.rng.random() * span)))

    def _chain(self, source: str, grid: int, level: str) -> tuple[list[tuple[int, str]], int | None]:
        """[(unit, how it got there)] from the first handling unit to the resolving one, and the
        dispatcher's unit (None for a grid report)."""
        village = self.parent[grid]
        town = self.parent[village]
        county = self.parent[town]
        depts = self.departments.get(county) or self.departments["city"]
        if source == "网格上报":
            chain = [(grid, "report")]
            if level != "网格":
                chain.append((village, "escalate"))
            if level not in ("网格", "村社区"):
                chain.append((town, "escalate"))
            dispatcher = None
        else:
            dispatcher = county if self.rng.random() < 0.8 else self.city_id
            chain = [(town, "dispatch")]
        if level == "县区部门":
            chain.append((self.rng.choice(depts), "whistle"))
        elif level == "市直部门":
            chain.append((self.rng.choice(self.departments["city"]), "whistle"))
        return chain, dispatcher

    def _appeal(self, received: dt.datetime) -> None:  # noqa: C901 - one appeal's whole life, in order
        rng, now = self.rng, self.now
        self.ids["appeal"] += 1
        aid = self.ids["appeal"]
        source = rng.choice(self.sources)
        urgency = rng.choice(self.urgencies)
        level = rng.choice(self.levels)
        grid = rng.choice(self.grids)
        category, _default = rng.choice(self.categories)
        chain, dispatcher = self._chain(source, grid, level)
        reply_due = self.deadlines.due(received, urgency, "reply")
        reviewer = dispatcher if dispatcher is not None else self.parent[self.parent[grid]]
        state, handler, sign_deadline, leader = None, chain[0][0], None, None
        t = received
        if dispatcher is not None:
            self._event(aid, "create", dispatcher, None, dispatcher, received)
            t = received + dt.timedelta(minutes=rng.randint(5, 240))
            if t > now:  # still waiting at the dispatcher
                state, handler = "to_dispatch", dispatcher
        else:
            self._event(aid, "report", grid, None, grid, received)
        previous = dispatcher
        if state is None:
            for i, (unit, how) in enumerate(chain):
                if how != "report":
                    if how == "whistle" and rng.random() < 0.003 and t > now - dt.timedelta(days=10):
                        county = self.city.county_of.get(previous)
                        if county in self.leaders:  # waiting for the 分管领导
                            state, handler, leader = "to_dispatch", previous, self.leaders[county]
                            self._event(aid, "whistle_to_leader", previous, previous, None, t)
                            break
                    deadline = self.deadlines.due(t, urgency, "sign")
                    late = rng.random() < 0.08
                    signed = deadline + dt.timedelta(hours=rng.randint(1, 30)) if late else \
                        t + (deadline - t) * rng.random()
                    self.ids["assignment"] += 1
                    pending = signed > now
                    last = i == len(chain) - 1
                    self.assignments.append((
                        self.ids["assignment"], aid, unit, "single", how, previous, _ts(t), _ts(deadline),
                        None if pending else _ts(signed), None if pending or last else _ts(signed + dt.timedelta(hours=2)),
                        "pending" if pending else ("signed" if last else "ended"), False, 1, _ts(received)))
                    self._event(aid, how, previous or unit, previous, unit, t)
                    if pending:
                        state, handler, sign_deadline = "to_sign", unit, deadline
                        break
                    t = signed
                handler = unit
                if i < len(chain) - 1:
                    t = t + dt.timedelta(hours=rng.randint(2, 48))
                    if t > now:
                        state = "handling"
                        break
                previous = unit
        replied = closed = resolved_unit = callback_at = None
        reopen = 0
        verdicts = []
        if state is None:
            late = rng.random() < 0.12
            window = max(reply_due - t, dt.timedelta(hours=1))
            replied = reply_due + dt.timedelta(hours=rng.randint(2, 96)) if late else t + window * (0.2 + 0.8 * rng.random())
            stuck = rng.random() < 0.004  # an old one still open past its deadline (red)
            if replied > now or stuck:
                state, replied = "handling", None
            else:
                decided = replied + dt.timedelta(hours=rng.randint(2, 30))
                self.ids["reply"] += 1
                self.replies.append((self.ids["reply"], aid, handler, "诉求人", _ts(replied - dt.timedelta(hours=3)),
                                     "电话", "现场核实并处理", rng.choice(("已解决", "已解决", "已解决", "部分解决", "解释说明")),
                                     _ts(replied), _ts(replied), None if decided > now else "approved",
                                     None if decided > now else _ts(decided)))
                self._event(aid, "reply", handler, handler, reviewer, replied)
                if decided > now:
                    state = "to_review"
                else:
                    callback_at = decided + dt.timedelta(hours=rng.randint(4, 72))
                    if callback_at > now:
                        state = "to_callback"
                    else:
                        verdict = rng.choices(("满意", "基本满意", "不满意"), (70, 20, 10))[0]
                        self.ids["callback"] += 1
                        self.callbacks.append((self.ids["callback"], aid, verdict, _ts(callback_at)))
                        verdicts.append(verdict)
                        if verdict == "不满意":
                            reopen = 1
                            callback_at = callback_at + dt.timedelta(days=rng.randint(3, 10))
                            if callback_at > now:
                                state = "handling"
                            else:
                                self.ids["callback"] += 1
                                self.callbacks.append((self.ids["callback"], aid, "满意", _ts(callback_at)))
                                verdicts.append("满意")
                        if state is None:
                            state, closed, resolved_unit = "closed", callback_at, handler
                            self._event(aid, "close", reviewer, handler, None, callback_at)
        merged_into = None
        if state in ("to_dispatch", "to_sign") and aid > 1 and rng.random() < 0.01 and leader is None:
            state, merged_into, closed = "merged", aid - 1, t
        if state in ("to_sign", "to_dispatch") or state is None:
            pass
        resolved_level = level if state == "closed" else None
        number = f"SQ-{received.year}-{aid:06d}"
        external = f"12345-{received:%Y%m%d}-{aid:07d}" if source == "12345热线" else None
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        phone = f"13{rng.randint(100000000, 999999999)}"
        updated = max(x for x in (received, t, replied, callback_at, closed) if x is not None and x <= now)
        self.appeals.append((
            aid, number, source, external, _ts(received), category, f"{self.city.unit_name[grid]}反映的问题，请尽快处理",
            grid, name, phone, urgency, state, handler, leader, "dispatcher" if dispatcher is not None else "township",
            reviewer, _ts(sign_deadline), _ts(reply_due), _ts(replied), _ts(closed), resolved_level,
            resolved_unit, reopen, merged_into, _ts(received), _ts(updated), 1, verdicts[-1] if verdicts else None,
            len(verdicts), verdicts.count("满意"), verdicts.count("基本满意"),
        ))
