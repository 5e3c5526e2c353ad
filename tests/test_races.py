"""Two staff taking the same decision at the same instant (issue 12, point 4): one winner and a
Chinese 409 (Conflict), never a 500, never two successes, nothing of the loser kept.

Each party runs in a thread of its own (own app context, session and connection) against the
real database, SQLite or PostgreSQL. The gate holds a party at its FIRST WRITE statement, i.e.
after every read and check it makes, which is exactly the window a race falls into:

- `race(...)`: every party is held until all have reached their first write, then all go;
- `meanwhile(app, late, early)`: `late` reads and checks, `early` then runs to its end
  (commit), then `late` writes: the decision `late` took is out of date.

The gate knows nothing of the services (it listens to the engine), so the same tests ran on
the code before the claims: there both parties succeeded, or the loser raised a database error
(IntegrityError on a unique key, a 500), and each test here failed.
"""

from __future__ import annotations

import threading
import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import delete, event, func, select, update

from app.core.errors import Conflict, DomainError
from app.evaluation import compute as eval_compute
from app.evaluation import entry as eval_entry
from app.evaluation import imports as eval_import
from app.evaluation import periods as evaluation
from app.evaluation import results as eval_results
from app.extensions import db
from app.models import (
    Adjustment,
    AuditLog,
    Ballot,
    Cadre,
    EvaluationPeriod,
    EvaluationResult,
    EvaluationScheme,
    Finding,
    OrgUnit,
    ResultUse,
    ScoreSheet,
    SupervisionTask,
)
from app.org.cadres import import_cadres
from app.org.units import create_unit, import_units, place_unit
from app.supervision import findings as F
from app.supervision import tasks as S
from tests.conftest import api_token, login
from tests.supervision_data import flashes, make_finding, make_task, now, page_text, user
from tests.test_eval_services import cadres, fill, new_period, scheme_json, sheets_csv

WRITES = ("INSERT", "UPDATE", "DELETE")


# ---------------------------------------------------------------- the gate


@contextmanager
def _held_at_first_write(app, holds: dict):
    """While inside: a thread whose ident is in `holds` calls its hold() just before its first
    INSERT/UPDATE/DELETE (once)."""
    def before(conn, cursor, statement, parameters, context, executemany):
        hold = holds.pop(threading.get_ident(), None)
        if hold is not None and statement.lstrip().upper().startswith(WRITES):
            hold()
        elif hold is not None:
            holds[threading.get_ident()] = hold

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _run(app, calls, holds_for) -> list:
    """Run each call in a thread of its own; `holds_for(i)` is its hold (or None). Returns per
    call "ok" or the exception it raised."""
    outcomes: list = [None] * len(calls)
    holds: dict = {}
    started = [threading.Event() for _ in calls]

    def run(i, fn):
        hold = holds_for(i)
        if hold is not None:
            holds[threading.get_ident()] = hold
        started[i].set()
        with app.app_context():
            try:
                fn()
                outcomes[i] = "ok"
            except Exception as exc:  # recorded; the test asserts on it
                outcomes[i] = exc
            finally:
                holds.pop(threading.get_ident(), None)
                db.session.remove()

    with _held_at_first_write(app, holds):
        threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    assert all(not t.is_alive() for t in threads), "a racing call hung"
    return outcomes


def race(app, *calls) -> list:
    """All calls at the same instant: each waits at its first write for the others."""
    barrier = threading.Barrier(len(calls))

    def hold():
        try:
            barrier.wait(timeout=15)
        except threading.BrokenBarrierError:  # another party was refused before writing
            pass

    return _run(app, calls, lambda i: hold)


def meanwhile(app, late, early) -> list:
    """`late` reads and checks; `early` runs to its end; then `late` goes on. Returns
    [outcome of late, outcome of early]."""
    late_ready, early_done = threading.Event(), threading.Event()

    def hold_late():
        late_ready.set()
        early_done.wait(60)

    def run_early():
        late_ready.wait(60)
        try:
            early()
        finally:
            early_done.set()

    def run_late():
        try:
            late()
        finally:
            late_ready.set()  # refused before any write: let the other party go anyway

    return _run(app, [run_late, run_early], lambda i: hold_late if i == 0 else None)


def as_user(app, name: str | None, fn):
    """Run `fn(acting_user)` as the user `name` (None: the system); the services take the
    acting user as an argument."""
    def call():
        return fn(None if name is None else user(name))
    return call


def one_wins(outcomes, message: str | None = None) -> int:
    """Exactly one "ok", the other a Conflict (409, Chinese); returns the winner's index."""
    assert outcomes.count("ok") == 1, outcomes
    loser = next(o for o in outcomes if o != "ok")
    assert isinstance(loser, Conflict) and loser.status == 409, repr(loser)
    if message is not None:
        assert message in loser.message, loser.message
    return outcomes.index("ok")


def refused(outcome, message: str) -> None:
    assert isinstance(outcome, DomainError) and outcome.status == 409, repr(outcome)
    assert message in outcome.message, outcome.message


def audit_count(table: str, row_id, key: str) -> int:
    rows = db.session.scalars(select(AuditLog).where(AuditLog.table_name == table, AuditLog.row_id == str(row_id),
                                                     AuditLog.action == "update"))
    return sum(1 for r in rows if f'"{key}"' in (r.new_values or ""))


# ---------------------------------------------------------------- adjustments


def _proposal(app, offset: int = 1) -> dict:
    """A proposed adjustment on a 罗山县 cadre (proposed on the command line)."""
    with app.app_context():
        period = new_period()
        cadre = db.session.scalar(select(Cadre).join(OrgUnit).where(OrgUnit.code.startswith("XY03T"))
                                  .order_by(Cadre.id).offset(offset))
        item = eval_entry.propose_adjustment(period.id, cadre.id, "加分", "3", "获省级表彰", user=None)
        return {"id": item.id, "period": period.id, "code": period.code}


def test_approve_and_reject_of_one_adjustment_at_once(app):
    adj = _proposal(app)
    outcomes = race(app, as_user(app, "kpy_city", lambda u: eval_entry.decide_adjustment(adj["id"], True, user=u)),
                    as_user(app, "kpy_luoshan", lambda u: eval_entry.decide_adjustment(adj["id"], False, user=u)))
    won = one_wins(outcomes, "该调整已被他人审批")
    with app.app_context():
        item = db.session.get(Adjustment, adj["id"])
        assert (item.status, item.approved_by) == (("approved", "kpy_city"), ("rejected", "kpy_luoshan"))[won]
        assert audit_count("adjustment", adj["id"], "status") == 1


def test_approve_and_reject_on_the_screen_at_once(app):
    adj = _proposal(app, offset=2)
    clients = [login(app.test_client(), name) for name in ("kpy_city", "kpy_luoshan")]
    responses: list = [None, None]

    def post(i, verb):
        return lambda: responses.__setitem__(i, clients[i].post(f"/adjustments/{verb}/{adj['id']}"))

    race(app, post(0, "approve"), post(1, "reject"))
    assert [r.status_code for r in responses] == [302, 302]
    shown = [" ".join(flashes(page_text(c.get(f"/adjustments/list/?period={adj['code']}")))) for c in clients]
    assert sum("该调整已被他人审批" in s for s in shown) == 1, shown
    assert sum("调整已批准" in s or "调整已驳回" in s for s in shown) == 1, shown


# ---------------------------------------------------------------- compute


def luoshan(n: int) -> list[Cadre]:
    """Cadres of 罗山县 (XY03): in the scope of kpy_city and of kpy_luoshan alike."""
    return list(db.session.scalars(select(Cadre).join(OrgUnit).where(OrgUnit.code.startswith("XY03T"))
                                   .order_by(Cadre.id).limit(n)))


def _filled_period(app, state: str = "scoring", computed: bool = False) -> dict:
    with app.app_context():
        period = new_period("scoring")
        fill(period, luoshan(5))
        if computed:
            eval_compute.compute(period.code)
        if state in ("locked", "published"):
            evaluation.transition(period.code, "lock", user=None)
        if state == "published":
            evaluation.transition(period.code, "publish", user=None)
        return {"id": period.id, "code": period.code}


def _results(period_id: int) -> dict:
    rows = db.session.scalars(select(EvaluationResult).where(EvaluationResult.period_id == period_id))
    return {r.cadre_id: (r.composite, r.rank, r.grade) for r in rows}


def test_two_computes_of_one_period_at_once(app):
    p = _filled_period(app)
    outcomes = race(app, lambda: eval_compute.compute(p["code"]), lambda: eval_compute.compute(p["code"]))
    one_wins(outcomes, "正在由他人同时计算")
    with app.app_context():
        raced = _results(p["id"])
        assert len(raced) == 5
        assert db.session.scalar(select(func.count()).where(AuditLog.table_name == "evaluation_result",
                                                            AuditLog.row_id == f"period:{p['code']}")) == 1
        eval_compute.compute(p["code"])  # computing again changes nothing
        assert _results(p["id"]) == raced


def test_two_computes_on_the_screen_at_once(app):
    """Two clicks on 计算 at once: both are answered with a job page (never a 500); the worker
    then computes, and every job ends computed or refused in Chinese, never half-written."""
    from tests.jobs_support import job_id, run_jobs

    p = _filled_period(app)
    clients = [login(app.test_client(), "kpy_city") for _ in range(2)]
    responses: list = [None, None]

    def post(i):
        return lambda: responses.__setitem__(i, clients[i].post(f"/periods/compute/{p['id']}"))

    race(app, post(0), post(1))
    jobs = [job_id(r) for r in responses]
    run_jobs(app)
    pages = [page_text(c.get(f"/jobs/{pk}")) for c, pk in zip(clients, jobs)]
    assert all("已计算，共 5 名干部的结果" in page or "正在由他人同时计算" in page for page in pages), pages
    assert any("已计算，共 5 名干部的结果" in page for page in pages), pages
    with app.app_context():
        assert len(_results(p["id"])) == 5


def test_a_compute_does_not_write_into_a_period_published_meanwhile(app):
    p = _filled_period(app, "locked", computed=True)
    with app.app_context():
        before = (db.session.get(EvaluationPeriod, p["id"]).computed_at, _results(p["id"]))
    late, early = meanwhile(app, lambda: eval_compute.compute(p["code"]),
                            lambda: evaluation.transition(p["code"], "publish", user=None))
    assert early == "ok"
    refused(late, "请刷新后重试")
    with app.app_context():
        period = db.session.get(EvaluationPeriod, p["id"])
        assert period.state == "published" and (period.computed_at, _results(p["id"])) == before


def test_a_cadre_moved_while_its_period_computes_takes_its_new_result_along(app):
    """The result of a cadre moved to another county during a compute is the new county's
    (before, it kept the unit read at the start of the compute: visible to the old county)."""
    p = _filled_period(app)
    with app.app_context():
        cadre = luoshan(5)[-1]
        cid, home = cadre.id, cadre.org_unit_id
        away = db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == "XY04T01"))

    def move(unit_id):
        db.session.get(Cadre, cid).org_unit_id = unit_id
        db.session.commit()

    try:
        late, early = meanwhile(app, lambda: eval_compute.compute(p["code"]), lambda: move(away))
        assert (late, early) == ("ok", "ok")
        with app.app_context():
            result = db.session.scalar(select(EvaluationResult).where(EvaluationResult.period_id == p["id"],
                                                                      EvaluationResult.cadre_id == cid))
            assert result.org_unit_id == away
    finally:
        with app.app_context():
            move(home)


# ---------------------------------------------------------------- the period's state machine


@pytest.mark.parametrize("start, action", [("draft", "open"), ("scoring", "lock"), ("locked", "publish")])
def test_two_staff_move_one_period_at_once(app, start, action):
    if start == "draft":
        with app.app_context():
            period = new_period("draft")
            p = {"id": period.id, "code": period.code}
    else:
        p = _filled_period(app, start, computed=True)
    outcomes = race(app, lambda: evaluation.transition(p["code"], action, user=None),
                    lambda: evaluation.transition(p["code"], action, user=None))
    one_wins(outcomes, "已被他人变更状态")


def test_two_admins_unlock_one_period_at_once(app):
    p = _filled_period(app, "locked", computed=True)
    outcomes = race(app, lambda: eval_results.unlock(p["code"], "甲：补录评分", user=None),
                    lambda: eval_results.unlock(p["code"], "乙：补录评分", user=None))
    one_wins(outcomes, "已被他人解锁")
    with app.app_context():
        rows = db.session.scalars(select(AuditLog).where(AuditLog.action == "unlock",
                                                         AuditLog.row_id == str(p["id"]))).all()
        assert len(rows) == 1


def test_a_score_saved_while_the_period_is_locked_is_refused(app):
    with app.app_context():
        period = new_period()
        p = {"id": period.id, "code": period.code,
             "group": next(gr.id for gr in period.scheme.rater_groups if gr.kind == "scores"),
             "dims": [d.id for d in period.scheme.dimensions]}
        (cadre,) = cadres(1)
        cid = cadre.id
    values = {str(d): 80 for d in p["dims"]}
    late, early = meanwhile(
        app, as_user(app, "kpy_city", lambda u: eval_entry.save_sheet(p["id"], p["group"], cid, values, user=u)),
        lambda: evaluation.transition(p["code"], "lock", user=None))
    assert early == "ok"
    refused(late, "已被他人锁定或变更状态")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ScoreSheet)
                                 .where(ScoreSheet.period_id == p["id"])) == 0


def test_an_import_running_into_a_lock_writes_nothing(app):
    with app.app_context():
        period = new_period()
        p = {"id": period.id, "code": period.code}
        (cadre,) = cadres(1)
        data = sheets_csv([f"{cadre.code},组织评价,80,80,80,80,80"])
    late, early = meanwhile(app, lambda: eval_import.import_sheets(p["code"], data, "s.csv", user=None),
                            lambda: evaluation.transition(p["code"], "lock", user=None))
    assert early == "ok"
    refused(late, "未写入任何数据")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ScoreSheet)
                                 .where(ScoreSheet.period_id == p["id"])) == 0


def test_two_staff_enter_the_same_ballot_at_once(app):
    """Create-or-replace of one cadre's vote counts: the saves take turns (no duplicate key,
    no 500); the later one replaces the earlier one, as entering counts again does."""
    with app.app_context():
        period = new_period()
        pid = period.id
        gid = next(gr.id for gr in period.scheme.rater_groups if gr.kind == "votes")
        (cadre,) = luoshan(1)
        cid = cadre.id
    counts = [{"excellent": 3, "competent": 5}, {"excellent": 4, "competent": 6}]
    outcomes = race(app, *(as_user(app, name, lambda u, c=c: eval_entry.save_ballot(pid, gid, cid, c, user=u))
                           for name, c in zip(("kpy_city", "kpy_luoshan"), counts)))
    assert all(o == "ok" or isinstance(o, Conflict) for o in outcomes), outcomes
    with app.app_context():
        rows = db.session.scalars(select(Ballot).where(Ballot.period_id == pid, Ballot.cadre_id == cid)).all()
        assert len(rows) == 1 and (rows[0].excellent, rows[0].competent) in ((3, 5), (4, 6))


# ---------------------------------------------------------------- result use


def _uses(app, grades: int = 3) -> dict:
    """A computed period whose first `grades` results are 不称职 (→ 组织调整 suggestions)."""
    p = _filled_period(app, computed=True)
    with app.app_context():
        ids = [r.id for r in db.session.scalars(select(EvaluationResult).where(
            EvaluationResult.period_id == p["id"]).order_by(EvaluationResult.cadre_id).limit(grades))]
        db.session.execute(update(EvaluationResult).where(EvaluationResult.id.in_(ids)).values(grade="不称职"))
        db.session.commit()
    return p


def test_two_staff_draw_the_suggestions_at_once(app):
    p = _uses(app)
    outcomes = race(app, as_user(app, "kpy_city", lambda u: eval_results.generate_result_uses(p["code"], user=u)),
                    as_user(app, "kpy_city", lambda u: eval_results.generate_result_uses(p["code"], user=u)))
    assert all(o == "ok" or isinstance(o, Conflict) for o in outcomes), outcomes
    with app.app_context():
        rows = db.session.execute(select(ResultUse.cadre_id, ResultUse.suggestion)
                                  .where(ResultUse.period_id == p["id"])).all()
        assert len(rows) >= 3 and len(set(rows)) == len(rows)
        again = eval_results.generate_result_uses(p["code"], user=None)  # drawn once: nothing left to add
        assert again["added"] == 0 and again["total"] == len(rows)


def test_two_staff_decide_one_suggestion_at_once(app):
    p = _uses(app, grades=1)
    with app.app_context():
        eval_results.generate_result_uses(p["code"], user=None)
        use = db.session.scalar(select(ResultUse).where(ResultUse.period_id == p["id"]))
        uid, version = use.id, use.version
    outcomes = race(app, as_user(app, "kpy_city", lambda u: eval_results.decide_result_use(uid, "采纳", "甲", version, user=u)),
                    as_user(app, "kpy_luoshan", lambda u: eval_results.decide_result_use(uid, "暂缓", "乙", version, user=u)))
    won = one_wins(outcomes, "该建议已被他人修改")
    with app.app_context():
        use = db.session.get(ResultUse, uid)
        assert (use.decision, use.decided_by) == (("采纳", "kpy_city"), ("暂缓", "kpy_luoshan"))[won]
        assert use.version == version + 1


def test_a_decision_taken_while_suggestions_are_redrawn_is_kept(app):
    """Redrawing removes undecided suggestions that no longer follow from the results; one
    decided meanwhile stays, with its decision."""
    p = _uses(app, grades=0)
    with app.app_context():
        cid = db.session.scalar(select(EvaluationResult.cadre_id).where(EvaluationResult.period_id == p["id"]))
        use = ResultUse(period_id=p["id"], cadre_id=cid, suggestion="提拔重用人选")  # never follows: no previous period
        db.session.add(use)
        db.session.commit()
        uid, version = use.id, use.version
    late, early = meanwhile(app, as_user(app, "kpy_city", lambda u: eval_results.generate_result_uses(p["code"], user=u)),
                            as_user(app, "kpy_luoshan", lambda u: eval_results.decide_result_use(uid, "采纳", "",
                                                                                             version, user=u)))
    assert (late, early) == ("ok", "ok")
    with app.app_context():
        use = db.session.get(ResultUse, uid)
        assert use is not None and use.decision == "采纳"


# ---------------------------------------------------------------- schemes and periods created at once


def test_two_staff_create_a_scheme_of_one_name_at_once(app):
    name = f"并发方案{uuid.uuid4().hex[:6]}"
    outcomes = race(app, lambda: evaluation.import_scheme(scheme_json(name), user=None),
                    lambda: evaluation.import_scheme(scheme_json(name), user=None))
    one_wins(outcomes, "已被他人同时创建或修改")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(EvaluationScheme)
                                 .where(EvaluationScheme.name == name)) == 1


def test_a_scheme_is_not_replaced_under_a_period_opened_meanwhile(app):
    with app.app_context():
        period = new_period("draft")
        code, name = period.code, period.scheme.name
        dims = [d.name for d in period.scheme.dimensions]
    changed = {**scheme_json(name), "dimensions": [{"name": "德才", "weight": 1.0}]}
    late, early = meanwhile(app, lambda: evaluation.import_scheme(changed, user=None),
                            lambda: evaluation.transition(code, "open", user=None))
    assert early == "ok"
    refused(late, "不能替换")
    with app.app_context():
        scheme = db.session.scalar(select(EvaluationScheme).where(EvaluationScheme.name == name))
        assert [d.name for d in scheme.dimensions] == dims


def test_two_staff_create_a_period_of_one_code_at_once(app):
    with app.app_context():
        scheme, _ = evaluation.import_scheme(scheme_json(f"方案{uuid.uuid4().hex[:6]}"), user=None)
        name = scheme.name
    code = f"R-{uuid.uuid4().hex[:8]}"
    outcomes = race(app, *(lambda: evaluation.create_period(code, "并发期", "专项", name, "2024-01-01", "2024-12-31", user=None)
                           for _ in range(2)))
    one_wins(outcomes, "已被他人同时创建")


# ---------------------------------------------------------------- uploads of the register


def _cadre_file(codes) -> bytes:
    head = "干部编号,姓名,性别,出生日期,单位编码,职务,职级,岗位类别"
    lines = [f"{c},并发导入,男,1980-01-01,XY03T01,副镇长,副科,乡镇党政副职" for c in codes]
    return ("\n".join([head, *lines]) + "\n").encode()


def test_two_uploads_creating_the_same_cadres_at_once(app):
    tag = uuid.uuid4().hex[:6].upper()
    shared, only_a, only_b = f"RC{tag}1", f"RC{tag}A", f"RC{tag}B"
    outcomes = race(app, lambda: import_cadres(_cadre_file([shared, only_a]), "a.csv", user=None),
                    lambda: import_cadres(_cadre_file([shared, only_b]), "b.csv", user=None))
    won = one_wins(outcomes, f"干部编号 {shared} 已被他人同时导入或新增")
    with app.app_context():
        codes = set(db.session.scalars(select(Cadre.code).where(Cadre.code.startswith(f"RC{tag}"))))
        assert codes == {shared, (only_a, only_b)[won]}  # nothing of the losing file


def test_two_uploads_creating_the_same_units_at_once(app):
    code = f"XY03T01R{uuid.uuid4().hex[:4]}"
    data = f"单位编码,单位名称,类型,上级编码\n{code},并发村,村社区,XY03T01\n".encode()
    outcomes = race(app, lambda: import_units(data, "u.csv", user=None), lambda: import_units(data, "u.csv", user=None))
    one_wins(outcomes, "已被他人同时导入或新增")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OrgUnit).where(OrgUnit.code == code)) == 1


@contextmanager
def _two_units(app):
    """Two fresh units A and B under 罗山县 (removed afterwards with whatever was put under them)."""
    tag = uuid.uuid4().hex[:6]
    with app.app_context():
        county = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "XY03"))
        ids = [create_unit(f"RU{tag}{x}", f"并发单位{x}", "department", county).id for x in "AB"]
        made = set(ids)
    try:
        yield ids, made
    finally:
        with app.app_context():
            rows = db.session.scalars(select(OrgUnit).where(OrgUnit.id.in_(made))).all()
            for unit in sorted(rows, key=lambda u: -u.path.count("/")):  # the deepest first
                db.session.execute(delete(OrgUnit).where(OrgUnit.id == unit.id))
            db.session.commit()


def _move(uid: int, parent_id: int) -> None:
    unit = db.session.get(OrgUnit, uid)
    unit.parent = db.session.get(OrgUnit, parent_id)
    # Paths and cycles under concurrency, whatever the kinds: the 王 tree forbids a 部门 under a
    # 部门 outright (issue 14), and no two kinds may each sit under the other.
    place_unit(unit, user=None, check_kinds=False)
    db.session.commit()


def _paths_consistent(ids) -> None:
    for uid in ids:
        unit = db.session.get(OrgUnit, uid)
        assert unit.path == unit.parent.path + f"{unit.id}/", (unit.code, unit.path, unit.parent.path)


def test_two_moves_at_once_make_no_cycle(app):
    with _two_units(app) as ((a, b), _made):
        outcomes = race(app, lambda: _move(a, b), lambda: _move(b, a))
        assert outcomes.count("ok") == 1, outcomes
        loser = next(o for o in outcomes if o != "ok")
        assert isinstance(loser, DomainError) and "不能把单位移动到它自己或它的下级单位之下" in loser.message
        with app.app_context():
            _paths_consistent([a, b])


def test_a_unit_added_under_a_unit_moved_meanwhile_gets_the_new_path(app):
    with _two_units(app) as ((a, b), made):
        box: list = []

        def add():
            box.append(create_unit(f"RV{uuid.uuid4().hex[:6]}", "并发新增", "village",
                                   db.session.get(OrgUnit, a)).id)

        late, early = meanwhile(app, add, lambda: _move(a, b))
        assert (late, early) == ("ok", "ok")
        made.update(box)
        with app.app_context():
            _paths_consistent([a, b, box[0]])


# ---------------------------------------------------------------- supervision, beyond the workflow


def test_two_supervisors_record_accountability_at_once(app):
    with app.app_context():
        fid = make_finding()["id"]
        version = db.session.get(Finding, fid).version
    outcomes = race(app, lambda: F.set_accountability(fid, ["约谈"], "甲", user=user("dcy_luoshan")),
                    lambda: F.set_accountability(fid, ["诫勉"], "乙", user=user("dcy_city")))
    won = one_wins(outcomes, "该问题已被他人处理")
    with app.app_context():
        finding = db.session.get(Finding, fid)
        assert finding.accountability == ("约谈", "诫勉")[won] and finding.version == version + 1


def test_a_draft_assigned_meanwhile_is_not_deleted(app):
    with app.app_context():
        row = make_task(ago=None)
    client = app.test_client()
    headers = api_token(client, "dcy_luoshan")
    box: list = []
    late, early = meanwhile(app, lambda: box.append(client.delete(f"/api/v1/tasks/{row['id']}", headers=headers)),
                            lambda: S.assign(row["id"], user=user("dcy_city"), now=now()))
    assert (late, early) == ("ok", "ok")
    assert box[0].status_code == 409, box[0].get_data(as_text=True)
    assert box[0].get_json()["message"] == "该事项已被他人处理，请刷新后重试"
    with app.app_context():
        assert db.session.get(SupervisionTask, row["id"]).state == "assigned"
