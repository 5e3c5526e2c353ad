"""Online anonymous 民主测评 (issue 17): sessions and their transitions, the public ballot and
each of its refusals, the 优秀 cap on the server, one-use codes under concurrency, anonymity
(the schema and the rows after voting), tallies recorded as the group's ballots exactly as
an import would, scope, the CLI and the to-do."""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading

import pytest
from sqlalchemy import func, inspect, select, text, update

from app.core.errors import Conflict, DomainError, Forbidden, NotFound
from app.evaluation import imports as eval_import
from app.evaluation import results as eval_results
from app.extensions import db
from app.models import (
    AuditLog,
    AuthThrottle,
    Ballot,
    Cadre,
    EvaluationPeriod,
    EvaluationResult,
    OrgUnit,
    RaterGroup,
    VotingCode,
    VotingSession,
)
from app.voting import ballot as B
from app.voting import rules
from app.voting import sessions as V
from tests.conftest import login
from tests.supervision_data import user
from tests.test_eval_services import new_period
from tests.voting_data import GROUP, PERIOD, ballot_codes, ballots_of, cap, filled, open_new, tallies

NOW = dt.datetime.now


# ---------------------------------------------------------------- sessions


def test_a_session_lists_the_active_cadres_of_the_subtree_and_categories(app, ctx):
    session = V.create_session(PERIOD, GROUP, "XY03T02", ["乡镇党政副职"], user=user("kpy_luoshan"))
    lines = V.ballot_lines(session)
    town = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "XY03T02"))
    want = db.session.scalars(
        select(Cadre.code).join(OrgUnit).where(OrgUnit.path.startswith(town.path), Cadre.status == "在职",
                                               Cadre.post_category == "乡镇党政副职")
    ).all()
    assert sorted(ln.cadre.code for ln in lines) == sorted(want) and want
    assert session.state == "draft" and session.state_label == "草稿"
    assert session.created_by == "kpy_luoshan"
    assert V.turnout(session)["issued"] == 0
    V.delete_draft(session.id, user=user("kpy_luoshan"))
    assert db.session.get(VotingSession, session.id) is None


@pytest.mark.parametrize(("args", "message"), [
    (("NOPE-Y", GROUP, "XY03T01"), "考评期“NOPE-Y”不存在"),
    ((PERIOD, "组织评价", "XY03T01"), "不是投票（民主测评）评价组"),
    ((PERIOD, "无此组", "XY03T01"), "评价组“无此组”不在考评期"),
    ((PERIOD, GROUP, "XY04T01"), "单位“XY04T01”不存在或不在您的管辖范围内"),  # another county
    ((PERIOD, GROUP, "NOPE"), "单位“NOPE”不存在"),
    (("2024-Y", GROUP, "XY03T01"), "当前状态为已发布"),
])
def test_create_refusals(app, ctx, args, message):
    with pytest.raises(DomainError) as err:
        V.create_session(*args, user=user("kpy_luoshan"))
    assert message in err.value.message


def test_a_category_with_no_cadre_and_a_past_deadline_are_refused(app, ctx):
    with pytest.raises(DomainError, match="没有在职干部"):
        V.create_session(PERIOD, GROUP, "XY03T01", ["无此岗位"], user=None)
    with pytest.raises(DomainError, match="截止时间应晚于现在"):
        V.create_session(PERIOD, GROUP, "XY03T03", (), deadline=NOW() - dt.timedelta(hours=1), user=None)


@pytest.mark.parametrize("name", ["dcy_luoshan", "ld_luoshan", "llr_luoshan_t01"])
def test_only_staff_and_admins_run_sessions(app, ctx, name):
    with pytest.raises(Forbidden, match="只有组织部考评员可以组织民主测评"):
        V.create_session(PERIOD, GROUP, "XY03T01", user=user(name))


def test_a_county_staff_member_sees_only_sessions_of_the_county(app, ctx):
    other, _ = open_new("XY04T05", 2)
    mine, _ = open_new("XY03T05", 2, user=user("kpy_luoshan"))
    luoshan = user("kpy_luoshan")
    with pytest.raises(NotFound):
        V.get_session(other, luoshan)
    with pytest.raises(NotFound):
        V.end_session(other, user=luoshan)
    ids = {s.id for s in V.list_sessions(luoshan)}
    assert mine in ids and other not in ids
    assert {mine, other} <= {s.id for s in V.list_sessions(user("kpy_city"))}


def test_transitions_and_their_refusals(app, ctx):
    staff = user("kpy_luoshan")
    session = V.create_session(PERIOD, GROUP, "XY03T04", user=staff)
    with pytest.raises(Conflict, match="只有进行中的测评可以结束"):
        V.end_session(session.id, user=staff)
    with pytest.raises(Conflict, match="只有已结束的测评可以计入票数"):
        V.record_session(session.id, user=staff)
    with pytest.raises(DomainError, match="测评码数量应在 1–5000 之间"):
        V.open_session(session.id, 0, user=staff)
    session, codes = V.open_session(session.id, 3, user=staff)
    assert session.state == "open" and len(codes) == 3 and session.issued == 3
    with pytest.raises(Conflict, match="不能开始"):
        V.open_session(session.id, 3, user=staff)
    with pytest.raises(Conflict, match="只能删除草稿"):
        V.delete_draft(session.id, user=staff)
    _s, more = V.issue_more(session.id, 2, user=staff)
    assert len(more) == 2 and not set(more) & set(codes)
    assert V.turnout(db.session.get(VotingSession, session.id))["issued"] == 5
    V.end_session(session.id, user=staff)
    with pytest.raises(Conflict, match="只有进行中的测评可以增发测评码"):
        V.issue_more(session.id, 1, user=staff)
    with pytest.raises(DomainError, match="没有收到任何选票"):
        V.record_session(session.id, user=staff)
    assert db.session.get(VotingSession, session.id).state == "ended"


def test_the_same_cadres_cannot_be_in_two_running_sessions(app, ctx):
    first, _ = open_new("XY05T01", 2)
    second = V.create_session(PERIOD, GROUP, "XY05", ["乡镇党政正职"], user=None)  # the county holds XY05T01
    with pytest.raises(Conflict, match="另一场进行中或未计入的测评"):
        V.open_session(second.id, 2, user=None)
    assert db.session.get(VotingSession, second.id).state == "draft"
    assert db.session.get(VotingSession, first).state == "open"


def test_codes_are_kept_only_as_hashes(app, ctx):
    sid, codes = open_new("XY05T02", 5)
    stored = set(db.session.scalars(select(VotingCode.code_hash).where(VotingCode.session_id == sid)))
    assert stored == {V.hash_code(c) for c in codes}
    dump = " ".join(str(v) for row in db.session.execute(select(VotingCode)).all() for v in row)
    assert not any(c in dump for c in codes)


# ---------------------------------------------------------------- the public ballot


def post_code(client, code):
    return client.post("/vote", data={"code": code})


def test_the_ballot_page_is_a_plain_form_named_by_cadre_codes(app, client):
    with app.app_context():
        sid, codes = open_new("XY05T03", 3)
        cadres, limit = ballot_codes(sid), cap(sid)
    assert client.get("/vote").status_code == 200
    page = post_code(client, rules.display(codes[0]).lower())
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "提交测评（仅一次）" in html
    assert page.headers["Cache-Control"] == "no-store"
    for code in cadres:
        values = re.findall(rf'type="radio" name="{code}" value="([^"]+)"', html)
        assert values == ["优秀", "称职", "基本称职", "不称职", "不了解"], code
    assert f"“优秀”最多 {limit} 人" in html and f'data-cap="{limit}"' in html
    assert 'name="viewport"' in html and "vote_ballot.js" in html


def test_a_vote_counts_once_and_the_code_turns_used(app, client):
    with app.app_context():
        sid, codes = open_new("XY05T04", 3)
        cadres = ballot_codes(sid)
    form = filled(cadres, excellent=cap_of(app, sid)) | {"code": codes[0]}
    done = client.post("/vote/submit", data=form)
    assert done.status_code == 200 and "投票成功" in done.get_data(as_text=True)
    again = client.post("/vote/submit", data=form)
    assert again.status_code == 409 and "该测评码已经投过票" in again.get_data(as_text=True)
    reopened = post_code(client, codes[0])
    assert reopened.status_code == 409 and "该测评码已经投过票" in reopened.get_data(as_text=True)
    with app.app_context():
        t = tallies(sid)
        assert sum(v["excellent"] for v in t.values()) == cap_of(app, sid)
        assert all(sum(v.values()) == 1 for v in t.values())
        assert V.turnout(db.session.get(VotingSession, sid))["used"] == 1


def cap_of(app, sid):
    with app.app_context():
        return cap(sid)


def test_the_excellent_cap_and_a_missing_choice_are_refused_on_the_server(app, client):
    with app.app_context():
        sid, codes = open_new("XY06T01", 2)
        cadres, limit = ballot_codes(sid), cap(sid)
    over = filled(cadres, excellent=limit + 1) | {"code": codes[0]}
    page = client.post("/vote/submit", data=over)
    html = page.get_data(as_text=True)
    assert page.status_code == 400 and f"“优秀”最多可评 {limit} 人，您评了 {limit + 1} 人" in html
    assert html.count('value="优秀" required\n        checked') == limit + 1  # the choices are kept
    partial = {k: v for k, v in filled(cadres).items() if k != cadres[-1]} | {"code": codes[0]}
    page = client.post("/vote/submit", data=partial)
    assert page.status_code == 400 and "请为每位干部选择一项评价" in page.get_data(as_text=True)
    with app.app_context():  # nothing counted, the code still votes
        assert all(sum(v.values()) == 0 for v in tallies(sid).values())
        assert V.turnout(db.session.get(VotingSession, sid))["unused"] == 2
    assert client.post("/vote/submit", data=filled(cadres) | {"code": codes[0]}).status_code == 200


def test_unknown_void_expired_and_closed_codes_get_chinese_messages(app, client):
    with app.app_context():
        sid, codes = open_new("XY06T02", 4)
        cadres = ballot_codes(sid)
        V.void_code(sid, rules.display(codes[1]), user=None)
    cases = {"ABCD-EFGH-JKMN": (404, "测评码不存在"), "not a code": (404, "测评码不存在"),
             codes[1]: (410, "该测评码已作废")}
    for code, (status, message) in cases.items():
        for page in (post_code(client, code), client.post("/vote/submit", data=filled(cadres) | {"code": code})):
            assert (page.status_code, message in page.get_data(as_text=True)) == (status, True), code
    with app.app_context():
        db.session.execute(update(VotingSession).where(VotingSession.id == sid)
                           .values(deadline=NOW() - dt.timedelta(minutes=1)))
        db.session.commit()
    page = post_code(client, codes[2])
    assert page.status_code == 410 and "该测评码已过期：本次测评已于" in page.get_data(as_text=True)
    with app.app_context():
        db.session.execute(update(VotingSession).where(VotingSession.id == sid).values(deadline=None))
        db.session.commit()
        V.end_session(sid, user=None)
    for page in (post_code(client, codes[3]), client.post("/vote/submit", data=filled(cadres) | {"code": codes[3]})):
        assert page.status_code == 410 and "本次测评已结束，不能再投票" in page.get_data(as_text=True)
    with app.app_context():
        assert all(sum(v.values()) == 0 for v in tallies(sid).values())


def test_wrong_codes_are_rate_limited_per_address(app):
    with app.app_context():
        sid, codes = open_new("XY06T03", 2)
    saved = app.config.get("VOTE_RATE_LIMIT")
    app.config["VOTE_RATE_LIMIT"] = "3 per 300 second"
    try:
        guesser = app.test_client()
        guesser.environ_base["REMOTE_ADDR"] = "10.77.0.1"
        neighbour = app.test_client()
        neighbour.environ_base["REMOTE_ADDR"] = "10.77.0.2"
        assert post_code(guesser, codes[0]).status_code == 200  # a right code does not count
        assert [post_code(guesser, f"ABCD-EFGH-JK{x}{x}").status_code for x in "MNP"] == [404] * 3
        page = post_code(guesser, codes[1])  # even a right code, once the address is over the limit
        assert page.status_code == 429 and "错误的测评码输入次数过多" in page.get_data(as_text=True)
        assert page.headers["Retry-After"]
        assert post_code(neighbour, codes[1]).status_code == 200  # another address is not held
        with app.app_context():
            keys = set(db.session.scalars(select(AuthThrottle.key)))
            assert "vote:10.77.0.1" in keys and "vote:10.77.0.2" not in keys
    finally:
        app.config["VOTE_RATE_LIMIT"] = saved


def test_the_only_cookie_is_the_forms_csrf_session_and_a_missing_token_is_refused(app):
    import json
    import zlib
    from base64 import urlsafe_b64decode

    app.config["WTF_CSRF_ENABLED"] = True
    try:
        client = app.test_client()
        page = client.get("/vote")
        cookies = page.headers.getlist("Set-Cookie")
        assert len(cookies) == 1 and cookies[0].startswith("session=") and "HttpOnly" in cookies[0]
        payload = cookies[0].split("=", 1)[1].split(";")[0].split(".")
        raw = payload[1] if payload[0] == "" else payload[0]
        data = urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        keys = set(json.loads(zlib.decompress(data) if payload[0] == "" else data))
        # the CSRF token, plus the flags Flask and Flask-Login keep in the same cookie: no identity
        assert keys <= {"csrf_token", "_permanent", "_fresh"} and "csrf_token" in keys, keys
        refused = app.test_client().post("/vote", data={"code": "ABCD-EFGH-JKMN"})
        assert refused.status_code == 400 and "页面已过期" in refused.get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
        ok = client.post("/vote", data={"code": "ABCD-EFGH-JKMN", "csrf_token": token})
        assert ok.status_code == 404 and "测评码不存在" in ok.get_data(as_text=True)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


# ---------------------------------------------------------------- concurrency


def _in_threads(app, calls) -> list:
    """Run each call in its own thread (own session and connection), all released at once."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(i, fn):
        with app.app_context():
            barrier.wait(30)
            try:
                outcomes[i] = fn()
            except Exception as exc:  # the test asserts on it
                outcomes[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a voter hung"
    return outcomes


def test_one_code_submitted_at_once_eight_times_counts_once(app):
    with app.app_context():
        sid, codes = open_new("XY06T04", 1)
        cadres = ballot_codes(sid)
    form = filled(cadres, rest="基本称职")
    outcomes = _in_threads(app, [lambda: B.cast(codes[0], form, NOW())] * 8)
    assert sum(1 for o in outcomes if isinstance(o, int)) == 1, outcomes
    losers = [o for o in outcomes if not isinstance(o, int)]
    assert all(isinstance(o, B.VoteRefused) and o.reason == "used" for o in losers), losers
    with app.app_context():
        assert all(v == {"excellent": 0, "competent": 0, "basic": 1, "incompetent": 0, "unknown": 0}
                   for v in tallies(sid).values())


def test_many_codes_at_once_lose_no_vote(app):
    with app.app_context():
        sid, codes = open_new("XY06T05", 12)
        cadres, limit = ballot_codes(sid), cap(sid)
    forms = [filled(cadres, excellent=i % (limit + 1), rest=("称职", "不了解")[i % 2]) for i in range(12)]
    outcomes = _in_threads(app, [lambda c=c, f=f: B.cast(c, f, NOW()) for c, f in zip(codes, forms)])
    assert all(isinstance(o, int) for o in outcomes), outcomes
    with app.app_context():
        want = rules.tally([rules.check_ballot(f, [(c, c) for c in cadres], limit)[0] for f in forms])
        assert tallies(sid) == want


def test_ending_while_ballots_are_cast_counts_each_ballot_or_refuses_it(app):
    with app.app_context():
        sid, codes = open_new("XY07T01", 6)
        cadres = ballot_codes(sid)
    calls = [lambda c=c: B.cast(c, filled(cadres), NOW()) for c in codes] + [lambda: V.end_session(sid, user=None)]
    outcomes = _in_threads(app, calls)
    counted = sum(1 for o in outcomes[:-1] if isinstance(o, int))
    refused = [o for o in outcomes[:-1] if not isinstance(o, int)]
    assert all(isinstance(o, B.VoteRefused) and o.reason == "closed" for o in refused), refused
    with app.app_context():
        assert all(v["competent"] == counted for v in tallies(sid).values())
        assert V.turnout(db.session.get(VotingSession, sid))["used"] == counted


# ---------------------------------------------------------------- anonymity


def test_nothing_links_a_code_a_time_or_an_order_to_the_choices(app, client, caplog):
    """After votes are cast, no table row, audit entry or log line holds a code; the code rows
    keep only their hash and state; the lines only counts; two orders of the same ballots
    leave the same stored state."""
    caplog.set_level(logging.DEBUG)
    with app.app_context():
        a_id, a_codes = open_new("XY07T02", 3)
        b_id, b_codes = open_new("XY07T03", 3)
        a_cadres, b_cadres = ballot_codes(a_id), ballot_codes(b_id)
        audit_before = db.session.scalar(select(func.max(AuditLog.id)))
        throttle_before = db.session.scalar(select(func.count()).select_from(AuthThrottle))
    # the same three ballots (by position on the ballot), in two different orders
    shapes = [{0: "优秀"}, {0: "不称职", 1: "基本称职"}, {1: "不了解"}]

    def form(cadres, shape):
        return {c: shape.get(i, "称职") for i, c in enumerate(cadres)}

    for code, shape in zip(a_codes, shapes):
        assert client.post("/vote/submit", data=form(a_cadres, shape) | {"code": code}).status_code == 200
    for code, shape in zip(b_codes, reversed(shapes)):
        assert client.post("/vote/submit", data=form(b_cadres, shape) | {"code": code}).status_code == 200

    with app.app_context():
        # 1. the schema: no time on a line or a code, no sequence number on a code, nothing refers to a code
        insp = inspect(db.engine)
        assert {c["name"] for c in insp.get_columns("voting_code")} == {"code_hash", "session_id", "state"}
        line_columns = {c["name"]: c for c in insp.get_columns("voting_line")}
        assert set(line_columns) == {"id", "session_id", "cadre_id", "sort", "excellent", "competent", "basic",
                                     "incompetent", "unknown"}
        for table in insp.get_table_names():
            for fk in insp.get_foreign_keys(table):
                assert fk["referred_table"] != "voting_code", table
        # 2. the rows: each line holds counts only, equal for both orders
        a_rows = [(ln.sort, ln.excellent, ln.competent, ln.basic, ln.incompetent, ln.unknown)
                  for ln in V.ballot_lines(db.session.get(VotingSession, a_id))]
        b_rows = [(ln.sort, ln.excellent, ln.competent, ln.basic, ln.incompetent, ln.unknown)
                  for ln in V.ballot_lines(db.session.get(VotingSession, b_id))]
        assert a_rows == b_rows
        assert sorted(db.session.execute(select(VotingCode.state).where(VotingCode.session_id == a_id)).scalars()) \
            == ["used"] * 3
        # 3. no plain code anywhere in the database, and the hashes only in voting_code
        plain = [c for c in a_codes + b_codes] + [rules.display(c) for c in a_codes + b_codes]
        hashes = [V.hash_code(c) for c in a_codes + b_codes]
        for table in insp.get_table_names():
            rows = db.session.execute(text(f'SELECT * FROM "{table}"')).all()
            blob = "\n".join(" ".join(str(v) for v in row) for row in rows)
            assert not [c for c in plain if c in blob], table
            if table != "voting_code":
                assert not [h for h in hashes if h in blob], table
        # 4. voting wrote no audit entry and no throttle row (only wrong codes are counted)
        assert db.session.scalar(select(func.max(AuditLog.id))) == audit_before
        assert db.session.scalar(select(func.count()).select_from(AuthThrottle)) == throttle_before
    # 5. no log line carries a code
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert not [c for c in plain if c in logged]


def test_the_audit_keeps_session_events_only(app, ctx):
    sid, codes = open_new("XY07T04", 2)
    B.cast(codes[0], filled(ballot_codes(sid)), NOW())
    V.void_code(sid, codes[1], user=None)
    V.close_session(sid, user=None)
    entries = db.session.execute(select(AuditLog.table_name, AuditLog.action, AuditLog.new_values)
                                 .where(AuditLog.table_name.in_(("voting_session", "voting_line", "voting_code",
                                                                 "ballot")))
                                 .where(AuditLog.row_id.in_((str(sid), f"period:{PERIOD}")))).all()
    kinds = [(t, a) for t, a, _ in entries]
    assert ("voting_session", "create") in kinds and ("voting_session", "void_code") in kinds
    assert ("ballot", "record_votes") in kinds
    assert not [k for k in kinds if k[0] in ("voting_line", "voting_code")]
    assert not any(c in (v or "") for _, _, v in entries for c in codes + [V.hash_code(c) for c in codes])


# ---------------------------------------------------------------- recording


def test_closing_writes_the_tallies_as_the_groups_ballots(app, ctx):
    period = db.session.scalar(select(EvaluationPeriod).where(EvaluationPeriod.code == PERIOD))
    group = db.session.scalar(select(RaterGroup).where(RaterGroup.scheme_id == period.scheme_id,
                                                       RaterGroup.name == GROUP))
    eval_results.compute_period(PERIOD, user=None)
    sid, codes = open_new("XY07T05", 5)
    cadres = ballot_codes(sid)
    limit = cap(sid)
    forms = [filled(cadres, excellent=min(limit, i), rest=("称职", "基本称职", "不了解")[i % 3]) for i in range(4)]
    for code, form in zip(codes, forms):
        B.cast(code, form, NOW())
    ids = dict(db.session.execute(select(Cadre.code, Cadre.id).where(Cadre.code.in_(cadres))).all())
    typed = ballots_of(period.id, group.id, ids.values())
    assert len(typed) == len(cadres)  # the demo typed counts for every cadre
    others = db.session.scalar(select(func.count()).select_from(Ballot).where(Ballot.period_id == period.id))
    outcome = V.close_session(sid, user=user("kpy_city"))
    assert outcome == {"cadres": len(cadres), "replaced": len(cadres), "votes": 4}
    want = rules.tally([rules.check_ballot(f, [(c, c) for c in cadres], limit)[0] for f in forms])
    assert ballots_of(period.id, group.id, ids.values()) == {ids[c]: want[c] for c in cadres}
    assert db.session.scalar(select(func.count()).select_from(Ballot).where(Ballot.period_id == period.id)) == others
    db.session.refresh(period)
    assert eval_results.is_stale(period)  # the results computed before are stale
    session = db.session.get(VotingSession, sid)
    assert session.state == "recorded" and session.recorded_at is not None
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "record_votes").order_by(AuditLog.id.desc()))
    assert entry.username == "kpy_city" and '"选票": 4' in entry.new_values


def test_compute_uses_recorded_votes_exactly_as_imported_ones(app, ctx):
    sid, codes = open_new("XY08T01", 6)
    cadres = ballot_codes(sid)
    limit = cap(sid)
    for i, code in enumerate(codes):
        B.cast(code, filled(cadres, excellent=limit if i % 2 else 0, rest=("称职", "不称职", "不了解")[i % 3]), NOW())
    V.close_session(sid, user=None)
    eval_results.compute_period(PERIOD, user=None)
    ids = dict(db.session.execute(select(Cadre.code, Cadre.id).where(Cadre.code.in_(cadres))).all())

    def composites():
        rows = db.session.execute(select(EvaluationResult.cadre_id, EvaluationResult.composite, EvaluationResult.sanping)
                                  .join(EvaluationPeriod).where(EvaluationPeriod.code == PERIOD,
                                                                EvaluationResult.cadre_id.in_(ids.values()))).all()
        return {cid: (c, s) for cid, c, s in rows}

    from_votes = composites()
    counts = tallies(sid)
    header = "干部编号,评价组,优秀,称职,基本称职,不称职,不了解\n"
    body = "".join(f"{c},{GROUP}," + ",".join(str(counts[c][k]) for k in rules.CHOICE_KEYS) + "\n" for c in cadres)
    eval_import.import_sheets(PERIOD, (header + body).encode(), "votes.csv", user=None)
    eval_results.compute_period(PERIOD, user=None)
    assert composites() == from_votes and len(from_votes) == len(cadres)


def test_recording_into_a_locked_period_is_refused_and_nothing_is_written(app, ctx):
    period = new_period("scoring")
    session = V.create_session(period.code, "群众评价", "XY08T02", user=None)
    session, codes = V.open_session(session.id, 2, user=None)
    B.cast(codes[0], filled(ballot_codes(session.id)), NOW())
    from app.evaluation.periods import lock_period

    lock_period(period.code, user=None)
    with pytest.raises(Conflict, match="只有评分中的考评期才能计入票数"):
        V.close_session(session.id, user=None)
    assert db.session.get(VotingSession, session.id).state == "ended"  # voting stopped, votes kept
    assert db.session.scalar(select(func.count()).select_from(Ballot).where(Ballot.period_id == period.id)) == 0


# ---------------------------------------------------------------- screens


def test_staff_create_open_watch_and_close_on_the_screens(app, client):
    login(client, "kpy_luoshan")
    page = client.get("/voting/add/")
    assert page.status_code == 200 and "新建民主测评" in page.get_data(as_text=True)
    made = client.post("/voting/add/", data={"period": PERIOD, "group": GROUP, "unit": "XY03T03",
                                            "category": ["乡镇党政正职", "乡镇党政副职"], "title": "罗山三乡镇测评"})
    assert made.status_code == 302
    sid = int(made.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    show = client.get(f"/voting/{sid}").get_data(as_text=True)
    assert "罗山三乡镇测评" in show and "草稿" in show and "开始测评并发放测评码" in show
    sheet = client.post(f"/voting/{sid}/open", data={"codes": "7"})
    html = sheet.get_data(as_text=True)
    codes = re.findall(r'<div class="slip-code">([A-Z0-9-]+)</div>', html)
    assert sheet.status_code == 200 and len(codes) == 7 and "测评码只显示这一次" in html
    assert sheet.headers["Cache-Control"] == "no-store"
    href = re.search(r'id="download-codes" href="([^"]+)"', html).group(1)
    from urllib.parse import unquote

    assert unquote(href.split(",", 1)[1]).split() == [c.replace("-", "") for c in codes]
    voter = app.test_client()
    with app.app_context():
        cadres = ballot_codes(sid)
    assert voter.post("/vote/submit", data=filled(cadres) | {"code": codes[0]}).status_code == 200
    live = client.get(f"/voting/{sid}/turnout").get_json()
    assert live == {"state": "open", "state_label": "进行中", "issued": 7, "used": 1, "void": 0, "unused": 6,
                    "rate": 14.3}
    assert "票数在测评结束后显示" in client.get(f"/voting/{sid}").get_data(as_text=True)
    assert client.get("/voting/list/").get_data(as_text=True).count("罗山三乡镇测评") == 1
    closed = client.post(f"/voting/{sid}/close", follow_redirects=True).get_data(as_text=True)
    assert "测评已结束并计入：1 张选票" in closed and "已计入" in closed


def test_other_roles_and_other_counties_are_refused_on_the_screens(app, client):
    with app.app_context():
        other, _ = open_new("XY04T02", 2)
    login(client, "kpy_luoshan")
    assert client.get(f"/voting/{other}").status_code == 404
    assert client.post(f"/voting/{other}/end").status_code == 404
    assert client.get(f"/voting/{other}/turnout").status_code == 404
    login(client, "ld_luoshan")
    assert client.get("/voting/list/").status_code in (302, 403)
    with app.app_context():
        assert db.session.get(VotingSession, other).state == "open"


# ---------------------------------------------------------------- CLI and to-do


def test_cli_open_writes_the_codes_and_close_records(app, tmp_path):
    runner = app.test_cli_runner()
    out = tmp_path / "codes.txt"
    result = runner.invoke(args=["voting", "open", "--period", PERIOD, "--group", GROUP, "--unit", "XY08T03",
                                 "--category", "乡镇党政正职", "--codes", "4", "--deadline", "2099-12-31 18:00", str(out)])
    assert result.exit_code == 0, result.output
    sid = int(result.stdout.strip().splitlines()[-1])
    codes = out.read_text(encoding="utf-8").split()
    assert len(codes) == 4 and all(rules.normalize(c) == c for c in codes)
    with app.app_context():
        assert db.session.get(VotingSession, sid).deadline == dt.datetime(2099, 12, 31, 18, 0)
        cadres = ballot_codes(sid)
        B.cast(codes[0], filled(cadres), NOW())
    result = runner.invoke(args=["voting", "close", "--session", str(sid)])
    assert result.exit_code == 0 and "已结束并计入：选票 1 张" in result.output
    result = runner.invoke(args=["voting", "close", "--session", str(sid)])
    assert result.exit_code == 1 and "只有已结束的测评可以计入票数" in result.output
    bad = runner.invoke(args=["voting", "open", "--period", PERIOD, "--group", "组织评价", "--unit", "XY08T04",
                              "--codes", "4", str(tmp_path / "x.txt")])
    assert bad.exit_code == 1 and "不是投票（民主测评）评价组" in bad.output


def test_todo_names_sessions_past_their_deadline_and_unrecorded_ones(app, ctx):
    from app.voting.menu import provider

    sid, _ = open_new("XY03T02", 1, categories=["村党组织书记"], user=user("kpy_luoshan"))
    db.session.execute(update(VotingSession).where(VotingSession.id == sid)
                       .values(deadline=NOW() - dt.timedelta(hours=1)))
    db.session.commit()
    groups = {g.key: g for g in provider(user("kpy_luoshan"), NOW())}
    assert sid in [int(i.url.rsplit("/", 1)[1]) for i in groups["voting_overdue"].items]
    assert provider(user("ld_luoshan"), NOW()) == []
    assert sid not in [int(i.url.rsplit("/", 1)[1]) for g in provider(user("kpy_city"), NOW() - dt.timedelta(days=1))
                       for i in g.items if g.key == "voting_overdue"]


def test_the_demo_has_a_session_with_votes(app, ctx):
    session = db.session.scalar(select(VotingSession).where(VotingSession.title.contains("演示")))
    assert session is not None and session.state == "open"
    assert V.turnout(session)["used"] == 6 and V.turnout(session)["issued"] == 30
    from app.voting.demo import demo_codes

    assert [V.hash_code(c) for c in demo_codes()][:1] == list(db.session.scalars(
        select(VotingCode.code_hash).where(VotingCode.code_hash == V.hash_code(demo_codes()[0]))))
