"""Two users moving the same item or finding at the same instant: each in a thread of its own
with its own app context and session, both having read the row and passed every check
before either writes. Exactly one succeeds; the other gets the Chinese conflict (409 through
the API, a flash in the UI, never a 500), nothing of the loser is kept, one audit row."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.core.errors import Conflict, DomainError
from app.extensions import db
from app.models import (
    AuditLog,
    ExtensionRequest,
    Finding,
    RectificationReport,
    SupervisionTask,
    TaskAssignment,
    TaskReport,
)
from app.org.users import create_user
from app.supervision import findings as F
from app.supervision import tasks as S
from app.supervision.setup import seed_defaults
from tests.conftest import PASSWORD, api_token, login
from tests.supervision_data import flashes, make_finding, make_task, now, page_text, user

TAKEN = "该事项已被他人处理，请刷新后重试"
LIAISON_A, LIAISON_B = "llr_luoshan_t01", "llr_race_t01"  # two liaisons of 罗山县 XY03T01
SUP_A, SUP_B = "dcy_luoshan", "dcy_city"


@pytest.fixture(scope="module", autouse=True)
def second_liaison(app):
    with app.app_context():
        seed_defaults()
        create_user(LIAISON_B, PASSWORD, "承办联络员", "XY03T01")
        db.session.commit()


@contextmanager
def same_instant(monkeypatch, module, parties: int = 2):
    """Hold every caller of `module`'s commands at the start of its transaction until all
    `parties` are there (they have all read the row and passed their checks), then release them."""
    barrier = threading.Barrier(parties)
    real = module.command

    @contextmanager
    def gated(*args, **kwargs):
        try:
            barrier.wait(timeout=20)
        except threading.BrokenBarrierError:  # another party was refused before writing
            pass
        with real(*args, **kwargs):
            yield

    monkeypatch.setattr(module, "command", gated)
    try:
        yield
    finally:
        monkeypatch.setattr(module, "command", real)


def race(app, monkeypatch, module, *calls) -> list:
    """Run each call in a thread of its own (own app context and session) at the same instant;
    return per call "ok" or the exception it raised."""
    outcomes: list = [None] * len(calls)

    def run(i, fn):
        with app.app_context():
            try:
                fn()
                outcomes[i] = "ok"
            except Exception as exc:  # recorded; the test asserts on it
                outcomes[i] = exc
            finally:
                db.session.remove()

    with same_instant(monkeypatch, module, len(calls)):
        threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert all(not t.is_alive() for t in threads), "a racing command hung"
    return outcomes


def one_wins(outcomes, message: str = TAKEN) -> int:
    """Exactly one "ok"; the other a Conflict with `message`. Returns the winner's index."""
    assert outcomes.count("ok") == 1, outcomes
    loser = next(o for o in outcomes if o != "ok")
    assert isinstance(loser, Conflict) and loser.message == message, repr(loser)
    return outcomes.index("ok")


def audit_updates(table: str, row_id: int, key: str) -> int:
    rows = db.session.scalars(select(AuditLog).where(
        AuditLog.table_name == table, AuditLog.row_id == str(row_id), AuditLog.action == "update"))
    return sum(1 for r in rows if f'"{key}"' in (r.new_values or ""))


def in_review(**kw) -> dict:
    """An item whose lead unit (XY03T01) has reported completion: 待审核."""
    row = make_task(sign=True, **kw)
    S.submit_completion(row["assignments"]["XY03T01"], "已完成", user=None, now=now())
    return row


# ---------------------------------------------------------------- 签收


@pytest.mark.parametrize("other_unit_signed", [False, True], ids=["first-signature", "task-already-in-progress"])
def test_two_liaisons_of_one_unit_sign_at_once(app, monkeypatch, other_unit_signed):
    with app.app_context():
        row = make_task()
        if other_unit_signed:
            S.sign(row["assignments"]["XY03D01"], user=None, now=now())
        aid = row["assignments"]["XY03T01"]
        moves = audit_updates("supervision_task", row["id"], "state")
    outcomes = race(app, monkeypatch, S,
                    lambda: S.sign(aid, user=user(LIAISON_A), now=now()),
                    lambda: S.sign(aid, user=user(LIAISON_B), now=now()))
    winner = (LIAISON_A, LIAISON_B)[one_wins(outcomes)]
    with app.app_context():
        assignment = db.session.get(TaskAssignment, aid)
        assert assignment.signed_by == winner and assignment.signed_at is not None
        assert db.session.get(SupervisionTask, row["id"]).state == "in_progress"
        assert audit_updates("task_assignment", aid, "signed_at") == 1
        # 已交办 → 办理中 once (on the first signature), never twice
        assert audit_updates("supervision_task", row["id"], "state") == moves + (not other_unit_signed)


def test_two_units_signing_at_once_both_succeed(app, monkeypatch):
    """Different assignments of one item: no false conflict, the item moves to 办理中 once."""
    with app.app_context():
        row = make_task()
        moves = audit_updates("supervision_task", row["id"], "state")
    lead, assist = row["assignments"]["XY03T01"], row["assignments"]["XY03D01"]
    outcomes = race(app, monkeypatch, S,
                    lambda: S.sign(lead, user=user(LIAISON_A), now=now()),
                    lambda: S.sign(assist, user=user("llr_luoshan_d01"), now=now()))
    assert outcomes == ["ok", "ok"]
    with app.app_context():
        assert all(db.session.get(TaskAssignment, a).signed_at for a in (lead, assist))
        assert db.session.get(SupervisionTask, row["id"]).state == "in_progress"
        assert audit_updates("supervision_task", row["id"], "state") == moves + 1


# ---------------------------------------------------------------- reports and extensions


def test_two_liaisons_report_completion_at_once(app, monkeypatch):
    with app.app_context():
        row = make_task(sign=True)
        moves = audit_updates("supervision_task", row["id"], "state")
    aid = row["assignments"]["XY03T01"]
    outcomes = race(app, monkeypatch, S,
                    lambda: S.submit_completion(aid, "甲报送办结", user=user(LIAISON_A), now=now()),
                    lambda: S.submit_completion(aid, "乙报送办结", user=user(LIAISON_B), now=now()))
    one_wins(outcomes)
    with app.app_context():
        assert db.session.get(SupervisionTask, row["id"]).state == "pending_review"
        reports = db.session.scalar(select(func.count()).select_from(TaskReport).where(
            TaskReport.assignment_id == aid, TaskReport.kind == "completion"))
        assert reports == 1
        assert audit_updates("supervision_task", row["id"], "state") == moves + 1


def test_two_liaisons_ask_an_extension_at_once(app, monkeypatch):
    with app.app_context():
        row = make_task(sign=True)
        new_date = (db.session.get(SupervisionTask, row["id"]).complete_due + timedelta(days=10)).date()
    aid = row["assignments"]["XY03T01"]
    outcomes = race(app, monkeypatch, S,
                    lambda: S.request_extension(row["id"], aid, new_date, "甲", user=user(LIAISON_A), now=now()),
                    lambda: S.request_extension(row["id"], aid, new_date, "乙", user=user(LIAISON_B), now=now()))
    assert outcomes.count("ok") == 1, outcomes
    loser = next(o for o in outcomes if o != "ok")
    assert isinstance(loser, DomainError) and "已有待审批的延期申请" in loser.message
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ExtensionRequest).where(
            ExtensionRequest.task_id == row["id"])) == 1


@pytest.mark.parametrize("decisions", [(True, True), (True, False)], ids=["approve-approve", "approve-reject"])
def test_two_supervisors_decide_an_extension_at_once(app, monkeypatch, decisions):
    with app.app_context():
        row = make_task(sign=True)
        task = db.session.get(SupervisionTask, row["id"])
        due, old_version = task.complete_due, task.version
        new_date = (due + timedelta(days=10)).date()
        request = S.request_extension(row["id"], row["assignments"]["XY03T01"], new_date, "需要更多时间",
                                      user=user(LIAISON_A), now=now())
        rid = request.id
    outcomes = race(app, monkeypatch, S,
                    lambda: S.decide_extension(rid, decisions[0], "同意", user=user(SUP_A), now=now()),
                    lambda: S.decide_extension(rid, decisions[1], "不同意", user=user(SUP_B), now=now()))
    won = one_wins(outcomes, "该延期申请已被他人处理，请刷新后重试")
    with app.app_context():
        request = db.session.get(ExtensionRequest, rid)
        assert request.state == ("approved" if decisions[won] else "rejected")
        assert request.decided_by == (SUP_A, SUP_B)[won]
        task = db.session.get(SupervisionTask, row["id"])
        assert (task.complete_due != due) == decisions[won]
        assert task.version == old_version + decisions[won]  # moved once, or not at all
        assert audit_updates("extension_request", rid, "state") == 1


# ---------------------------------------------------------------- supervisors' transitions


SUPERVISOR_RACES = {
    "assign-assign": ("draft", lambda pk, u: S.assign(pk, user=u, now=now()),
                      lambda pk, u: S.assign(pk, user=u, now=now())),
    "approve-approve": ("review", lambda pk, u: S.approve_completion(pk, user=u, now=now()),
                        lambda pk, u: S.approve_completion(pk, user=u, now=now())),
    "approve-return": ("review", lambda pk, u: S.approve_completion(pk, user=u, now=now()),
                       lambda pk, u: S.return_task(pk, "材料不全", user=u, now=now())),
    "terminate-approve": ("review", lambda pk, u: S.terminate(pk, "不再需要", user=u, now=now()),
                          lambda pk, u: S.approve_completion(pk, user=u, now=now())),
    "terminate-terminate": ("assigned", lambda pk, u: S.terminate(pk, "甲终止", user=u, now=now()),
                            lambda pk, u: S.terminate(pk, "乙终止", user=u, now=now())),
}


@pytest.mark.parametrize("case", list(SUPERVISOR_RACES))
def test_two_supervisors_move_one_item_at_once(app, monkeypatch, case):
    start, first, second = SUPERVISOR_RACES[case]
    with app.app_context():
        row = {"draft": lambda: make_task(ago=None), "assigned": make_task, "review": in_review}[start]()
        before = audit_updates("supervision_task", row["id"], "state")
    pk = row["id"]
    outcomes = race(app, monkeypatch, S, lambda: first(pk, user(SUP_A)), lambda: second(pk, user(SUP_B)))
    one_wins(outcomes)
    with app.app_context():
        task = db.session.get(SupervisionTask, pk)
        assert audit_updates("supervision_task", pk, "state") == before + 1
        if case == "assign-assign":
            assert task.state == "assigned" and len(task.assignments) == 2


# ---------------------------------------------------------------- findings


def test_two_liaisons_move_one_finding_at_once(app, monkeypatch):
    with app.app_context():
        fid = make_finding()["id"]
    outcomes = race(app, monkeypatch, F,
                    lambda: F.start_rectification(fid, user=user(LIAISON_A)),
                    lambda: F.start_rectification(fid, user=user(LIAISON_B)))
    one_wins(outcomes, "该问题已被他人处理，请刷新后重试")
    outcomes = race(app, monkeypatch, F,
                    lambda: F.report_rectification(fid, "甲已整改", user=user(LIAISON_A), now=now()),
                    lambda: F.report_rectification(fid, "乙已整改", user=user(LIAISON_B), now=now()))
    one_wins(outcomes, "该问题已被他人处理，请刷新后重试")
    with app.app_context():
        assert db.session.get(Finding, fid).state == "awaiting_verification"
        assert db.session.scalar(select(func.count()).select_from(RectificationReport).where(
            RectificationReport.finding_id == fid)) == 1
        assert audit_updates("finding", fid, "state") == 2


def test_two_supervisors_verify_and_reject_at_once(app, monkeypatch):
    with app.app_context():
        fid = make_finding()["id"]
        F.start_rectification(fid, user=None)
        F.report_rectification(fid, "已整改", user=None, now=now())
    outcomes = race(app, monkeypatch, F,
                    lambda: F.verify(fid, user=user(SUP_A), now=now()),
                    lambda: F.reject(fid, "整改不到位", user=user(SUP_B), now=now()))
    won = one_wins(outcomes, "该问题已被他人处理，请刷新后重试")
    with app.app_context():
        finding = db.session.get(Finding, fid)
        assert finding.state == ("closed", "rectifying")[won]
        report = db.session.scalar(select(RectificationReport).where(RectificationReport.finding_id == fid))
        assert report.verdict == ("通过", "驳回")[won] and report.verdict_by == (SUP_A, SUP_B)[won]
        assert audit_updates("finding", fid, "state") == 3


# ---------------------------------------------------------------- through the API and the screens


def test_two_liaisons_sign_through_the_api_at_once(app, monkeypatch):
    with app.app_context():
        row = make_task()
    clients = [app.test_client(), app.test_client()]
    headers = [api_token(c, name) for c, name in zip(clients, (LIAISON_A, LIAISON_B))]
    responses: list = [None, None]

    def post(i):
        return lambda: responses.__setitem__(
            i, clients[i].post(f"/api/v1/tasks/{row['id']}/sign", headers=headers[i], json={}))

    race(app, monkeypatch, S, post(0), post(1))
    assert sorted(r.status_code for r in responses) == [200, 409], [r.get_data(as_text=True) for r in responses]
    loser = next(r for r in responses if r.status_code == 409)
    assert loser.get_json()["message"] == TAKEN
    with app.app_context():
        assert audit_updates("task_assignment", row["assignments"]["XY03T01"], "signed_at") == 1


def test_two_liaisons_sign_on_the_screen_at_once(app, monkeypatch):
    with app.app_context():
        row = make_task()
    aid = row["assignments"]["XY03T01"]
    clients = [login(app.test_client(), name) for name in (LIAISON_A, LIAISON_B)]
    responses: list = [None, None]

    def post(i):
        return lambda: responses.__setitem__(
            i, clients[i].post(f"/tasks/{row['id']}/sign", data={"assignment_id": aid}))

    race(app, monkeypatch, S, post(0), post(1))
    assert [r.status_code for r in responses] == [302, 302]
    shown = [" ".join(flashes(page_text(c.get(f"/tasks/show/{row['id']}")))) for c in clients]
    assert sum("已签收" in s and TAKEN not in s for s in shown) == 1, shown
    assert sum(TAKEN in s for s in shown) == 1, shown
    with app.app_context():
        assert audit_updates("task_assignment", aid, "signed_at") == 1
