"""Staff commands and queries of online 民主测评: create a session with its ballot, open it
(issuing one-time codes), issue more, void codes, end it and record its tallies as the votes
group's ballots of the period. Each command takes the acting user (None: the system).

Only 组织部考评员 and admins run sessions, and only sessions whose unit lies in their scope
(another county's session is NotFound, like a missing one).
"""

from __future__ import annotations

import datetime as dt
import hashlib

from flask import current_app
from sqlalchemy import delete, func, insert, select, update

from app.core import audit, clock
from app.core.claims import claim
from app.core.commands import command
from app.core.errors import Conflict, DomainError, Forbidden, NotFound
from app.core.lookups import chunked
from app.evaluation.periods import claim_period, get_period
from app.extensions import db
from app.models import Ballot, Cadre, EvaluationPeriod, OrgUnit, RaterGroup
from app.security.roles import ADMIN, STAFF
from app.security.scope import apply_unit_scope, prefix_of, unit_in_scope
from app.voting import rules
from app.voting.models import VotingCode, VotingLine, VotingSession

MAX_CADRES = 300  # a ballot one fills in on a phone
OPENABLE_PERIOD_STATES = ("draft", "scoring")
TAKEN = "该测评活动已被他人变更状态，请刷新后重试"


# ---------------------------------------------------------------- who, which

def may_run(user) -> bool:
    """组织部考评员 and admins (and the system) run sessions."""
    if user is None:
        return True
    return bool({ADMIN, STAFF} & {r.name for r in getattr(user, "roles", None) or []})


def _require_runner(user) -> None:
    if not may_run(user):
        raise Forbidden("只有组织部考评员可以组织民主测评")


def scope_sessions(stmt, user):
    """Sessions whose unit lies in `user`'s subtree."""
    return apply_unit_scope(stmt, VotingSession.org_unit_id, prefix_of(user))


def get_session(session_id, user) -> VotingSession:
    """The session if it exists and its unit is in `user`'s scope; NotFound otherwise."""
    session = db.session.get(VotingSession, int(session_id)) if str(session_id).isdigit() else None
    if session is None or not unit_in_scope(session.org_unit, prefix_of(user)):
        raise NotFound("测评活动不存在")
    return session


def list_sessions(user, limit: int = 200) -> list[VotingSession]:
    stmt = scope_sessions(select(VotingSession), user).order_by(VotingSession.id.desc()).limit(limit)
    return list(db.session.scalars(stmt))


def hash_key() -> bytes:
    """The key codes are hashed with, derived from the app's secret key."""
    return hashlib.sha256(b"voting-code:" + current_app.config["SECRET_KEY"].encode()).digest()


def hash_code(code: str) -> str:
    return rules.code_hash(code, hash_key())


# ---------------------------------------------------------------- create

def create_session(period_code: str, group_name: str, unit_code: str, categories=(), title: str | None = None,
                   deadline: dt.datetime | None = None, *, user) -> VotingSession:
    """A session in 草稿 with its ballot: the 在职 cadres of the unit's subtree (of the given
    post categories, all when none). Every problem is reported at once."""
    _require_runner(user)
    errors = []
    period = db.session.scalar(select(EvaluationPeriod).where(EvaluationPeriod.code == (period_code or "").strip()))
    group = None
    if period is None:
        errors.append(f"考评期“{period_code}”不存在")
    else:
        if period.state not in OPENABLE_PERIOD_STATES:
            errors.append(f"考评期“{period.code}”当前状态为{period.state_label}，只能为草稿或评分中的考评期组织测评")
        group = next((g for g in period.scheme.rater_groups if g.name == (group_name or "").strip()), None)
        if group is None:
            errors.append(f"评价组“{group_name}”不在考评期“{period.code}”的考评方案中")
        elif group.kind != "votes":
            errors.append(f"评价组“{group.name}”按维度打分，不是投票（民主测评）评价组")
    unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == (unit_code or "").strip()))
    if unit is None or not unit_in_scope(unit, prefix_of(user)):
        errors.append(f"单位“{unit_code}”不存在或不在您的管辖范围内")
    categories = [c.strip() for c in categories or () if c and c.strip()]
    title = (title or "").strip()
    if len(title) > 100:
        errors.append("测评名称最多 100 个字符")
    if deadline is not None and deadline <= clock.now():
        errors.append("截止时间应晚于现在")
    cadres = [] if errors else _ballot_cadres(unit, categories)
    if not errors:
        if not cadres:
            errors.append("所选单位及岗位类别下没有在职干部，无法组织测评")
        elif len(cadres) > MAX_CADRES:
            errors.append(f"一次测评最多 {MAX_CADRES} 名干部，所选范围有 {len(cadres)} 名，请缩小单位或岗位类别")
        elif user is not None and getattr(user, "cadre_id", None) in {c.id for c in cadres}:
            errors.append("测评名单中包含您本人，不能由您组织这次测评")
    if errors:
        raise DomainError("；".join(errors))
    session = VotingSession(
        title=title or f"{period.name}·{group.name}·{unit.name}",
        period_id=period.id, group_id=group.id, org_unit_id=unit.id, categories="、".join(categories),
        state="draft", deadline=deadline, issued=0, created_by=audit.actor()[1] if user is None else user.username,
    )
    with command(user):
        db.session.add(session)
        db.session.flush()
        db.session.execute(insert(VotingLine), [
            {"session_id": session.id, "cadre_id": c.id, "sort": i, **dict.fromkeys(rules.CHOICE_KEYS, 0)}
            for i, c in enumerate(cadres)
        ])
    return session


def _ballot_cadres(unit: OrgUnit, categories: list[str]) -> list[Cadre]:
    stmt = (
        select(Cadre).join(OrgUnit, OrgUnit.id == Cadre.org_unit_id)
        .where(OrgUnit.path.startswith(unit.path, autoescape=True), Cadre.status == "在职")
        .order_by(OrgUnit.path, OrgUnit.sort_order, Cadre.code)
    )
    if categories:
        stmt = stmt.where(Cadre.post_category.in_(categories))
    return list(db.session.scalars(stmt).unique())


def delete_draft(session_id, *, user) -> None:
    """Delete a session that was never opened."""
    _require_runner(user)
    session = get_session(session_id, user)
    with command(user, TAKEN):
        claim(session, "state", ("draft",), "只能删除草稿状态的测评活动；" + TAKEN)
        db.session.delete(session)


# ---------------------------------------------------------------- open, issue, void

def open_session(session_id, codes: int, deadline: dt.datetime | None = None, *, user, rng=None):
    """草稿 → 进行中, issuing `codes` one-time codes; returns (session, the codes in plain text).

    The plain codes exist only in the answer: the caller shows them once (the sheet, the
    file) and the database keeps their hashes."""
    _require_runner(user)
    session = get_session(session_id, user)
    count = _code_count(codes)
    if deadline is not None and deadline <= clock.now():
        raise DomainError("截止时间应晚于现在")
    with command(user, TAKEN):
        claim(session, "state", ("draft",), f"测评活动当前状态为{session.state_label}，不能开始；" + TAKEN)
        period = db.session.get(EvaluationPeriod, session.period_id)
        if period.state not in OPENABLE_PERIOD_STATES:
            raise Conflict(f"考评期“{period.code}”当前状态为{period.state_label}，不能开始测评")
        claim_period(period, OPENABLE_PERIOD_STATES)  # two sessions of the same cadres open one at a time
        _check_no_overlap(session)
        plain = _issue(session, count, rng)
        session.state = "open"
        session.opened_at = clock.now()
        if deadline is not None:
            session.deadline = deadline
    return session, plain


def issue_more(session_id, codes: int, *, user, rng=None) -> tuple[VotingSession, list[str]]:
    """More codes for a session in progress (more voters came, a sheet was lost)."""
    _require_runner(user)
    session = get_session(session_id, user)
    count = _code_count(codes)
    with command(user, TAKEN):
        claim(session, "state", ("open",), f"测评活动当前状态为{session.state_label}，只有进行中的测评可以增发测评码")
        plain = _issue(session, count, rng)
    return session, plain


def _code_count(raw) -> int:
    try:
        count = int(str(raw).strip())
    except (TypeError, ValueError):
        raise DomainError("测评码数量应为整数")
    if not 1 <= count <= rules.MAX_CODES:
        raise DomainError(f"测评码数量应在 1–{rules.MAX_CODES} 之间")
    return count


def _issue(session: VotingSession, count: int, rng) -> list[str]:
    plain = rules.new_codes(count, rng)
    key = hash_key()
    hashes = [rules.code_hash(code, key) for code in plain]
    taken = set()
    for part in chunked(hashes):  # a collision at 59 bits: practically never, checked anyway
        taken.update(db.session.scalars(select(VotingCode.code_hash).where(VotingCode.code_hash.in_(part))))
    if taken:
        raise Conflict("生成的测评码与已有测评码重复，请重试")
    db.session.execute(insert(VotingCode), [{"code_hash": h, "session_id": session.id, "state": "unused"}
                                            for h in hashes])
    session.issued = (session.issued or 0) + count
    return plain


def _check_no_overlap(session: VotingSession) -> None:
    """No cadre may be on two sessions of the same period and group that are in progress or
    ended and not yet recorded: the later recording would silently replace the other's counts."""
    other = VotingLine.__table__.alias("other_line")
    mine = VotingLine.__table__
    stmt = (
        select(Cadre.code).select_from(mine)
        .join(other, other.c.cadre_id == mine.c.cadre_id)
        .join(VotingSession, VotingSession.id == other.c.session_id)
        .join(Cadre, Cadre.id == mine.c.cadre_id)
        .where(mine.c.session_id == session.id, VotingSession.id != session.id,
               VotingSession.period_id == session.period_id, VotingSession.group_id == session.group_id,
               VotingSession.state.in_(("open", "ended")))
        .order_by(Cadre.code).limit(11)
    )
    shared = list(db.session.scalars(stmt))
    if shared:
        shown = "、".join(shared[:10]) + (" 等" if len(shared) > 10 else "")
        raise Conflict(f"干部 {shown} 已在同一考评期、同一评价组的另一场进行中或未计入的测评中，不能同时测评")


def void_code(session_id, raw_code: str, *, user) -> None:
    """Void one unused code of the session (a slip lost or handed to the wrong person)."""
    _require_runner(user)
    session = get_session(session_id, user)
    code = rules.normalize(raw_code)
    if code is None:
        raise DomainError("测评码格式不正确（应为 12 位字母和数字）")
    with command(user, TAKEN):
        claim(session, "state", ("open", "draft"), f"测评活动当前状态为{session.state_label}，不能作废测评码")
        changed = db.session.execute(
            update(VotingCode).where(VotingCode.code_hash == hash_code(code), VotingCode.session_id == session.id,
                                     VotingCode.state == "unused").values(state="void")
        ).rowcount
        if changed != 1:
            raise DomainError("该测评码不属于本次测评，或已使用、已作废")
        audit.record(db.session, "void_code", "voting_session", session.id, None, {"作废测评码": 1},
                     unit_id=session.org_unit_id)


def void_unused(session_id, *, user) -> int:
    """Void every unused code of the session (a whole sheet lost); returns how many."""
    _require_runner(user)
    session = get_session(session_id, user)
    with command(user, TAKEN):
        claim(session, "state", ("open",), f"测评活动当前状态为{session.state_label}，不能作废测评码")
        changed = db.session.execute(
            update(VotingCode).where(VotingCode.session_id == session.id, VotingCode.state == "unused")
            .values(state="void")
        ).rowcount
        audit.record(db.session, "void_code", "voting_session", session.id, None, {"作废测评码": changed},
                     unit_id=session.org_unit_id)
    return changed


# ---------------------------------------------------------------- end and record

def end_session(session_id, *, user) -> VotingSession:
    """进行中 → 已结束: no code votes any more. Every code row is rewritten in the same
    transaction, so that none keeps the trace of the transaction that used it."""
    _require_runner(user)
    session = get_session(session_id, user)
    with command(user, TAKEN):
        claim(session, "state", ("open",), f"测评活动当前状态为{session.state_label}，只有进行中的测评可以结束")
        db.session.execute(update(VotingCode).where(VotingCode.session_id == session.id)
                           .values(state=VotingCode.state))
        session.state = "ended"
        session.ended_at = clock.now()
    return session


def record_session(session_id, *, user) -> dict:
    """已结束 → 已计入: the tallies become the votes group's ballots of the period for the
    cadres on the ballot (replacing typed or imported counts), all or nothing; the period's
    results are stale. The period must be 评分中."""
    _require_runner(user)
    session = get_session(session_id, user)
    period = session.period
    refused = f"考评期“{period.code}”已被他人锁定或变更状态，只有评分中的考评期才能计入票数；未写入任何数据"
    with command(user, TAKEN):
        claim(session, "state", ("ended",), f"测评活动当前状态为{session.state_label}，只有已结束的测评可以计入票数")
        if period.state != "scoring":
            raise Conflict(f"考评期“{period.code}”当前状态为{period.state_label}，只有评分中的考评期才能计入票数")
        claim_period(period, ("scoring",), refused)
        counts = turnout(session)
        if counts["used"] == 0:
            raise DomainError("本次测评没有收到任何选票，不能计入")
        lines = _line_rows(session)
        cadre_ids = [line["cadre_id"] for line in lines]
        replaced = 0
        for part in chunked(cadre_ids):
            replaced += db.session.execute(delete(Ballot).where(
                Ballot.period_id == period.id, Ballot.group_id == session.group_id, Ballot.cadre_id.in_(part))
            ).rowcount or 0
        db.session.execute(insert(Ballot), [
            {"period_id": period.id, "group_id": session.group_id, "cadre_id": line["cadre_id"],
             **{key: line[key] for key in rules.CHOICE_KEYS}} for line in lines
        ])
        period.inputs_changed_at = clock.instant()  # results computed before are stale
        session.state = "recorded"
        session.recorded_at = clock.now()
        audit.record(db.session, "record_votes", "ballot", f"period:{period.code}", None,
                     {"测评活动": session.id, "评价组": session.group.name, "干部": len(lines), "替换": replaced,
                      "选票": counts["used"]}, unit_id=session.org_unit_id)
    return {"cadres": len(lines), "replaced": replaced, "votes": counts["used"]}


def close_session(session_id, *, user) -> dict:
    """End voting and record the tallies (the 结束并计入 button, `voting close`). When the
    period cannot take them, the session stays ended and the refusal says why."""
    session = get_session(session_id, user)
    if session.state == "open":
        end_session(session_id, user=user)
    return record_session(session_id, user=user)


# ---------------------------------------------------------------- reading

def turnout(session: VotingSession) -> dict:
    """Codes issued, used, void and unused (the live turnout)."""
    counts = dict(db.session.execute(
        select(VotingCode.state, func.count()).where(VotingCode.session_id == session.id).group_by(VotingCode.state)
    ).all())
    used, void, unused = (counts.get(k, 0) for k in ("used", "void", "unused"))
    issued = used + void + unused
    valid = issued - void
    return {"issued": issued, "used": used, "void": void, "unused": unused,
            "rate": round(100.0 * used / valid, 1) if valid else 0.0}


def _line_rows(session: VotingSession) -> list[dict]:
    stmt = select(VotingLine.cadre_id, *(getattr(VotingLine, k) for k in rules.CHOICE_KEYS)).where(
        VotingLine.session_id == session.id).order_by(VotingLine.sort)
    return [{"cadre_id": row[0], **dict(zip(rules.CHOICE_KEYS, row[1:]))} for row in db.session.execute(stmt)]


def ballot_lines(session: VotingSession) -> list[VotingLine]:
    """The ballot in order, each line with its cadre (and the cadre's unit)."""
    stmt = select(VotingLine).where(VotingLine.session_id == session.id).order_by(VotingLine.sort)
    return list(db.session.scalars(stmt).unique())


def tallies_visible(session: VotingSession) -> bool:
    """Counts are shown once voting has ended: watched live, they would let whoever sees a
    voter submit learn that voter's choices."""
    return session.state in ("ended", "recorded")


def cap_of(session: VotingSession, cadres: int) -> int:
    return rules.excellent_cap(session.period.scheme.excellent_quota, cadres)


def votes_groups(period: EvaluationPeriod) -> list[RaterGroup]:
    return [g for g in period.scheme.rater_groups if g.kind == "votes"]


def periods_for_new_sessions() -> list[EvaluationPeriod]:
    return list(db.session.scalars(select(EvaluationPeriod).where(EvaluationPeriod.state.in_(OPENABLE_PERIOD_STATES))
                                    .order_by(EvaluationPeriod.code.desc())))


def period_by_code(code: str) -> EvaluationPeriod:
    return get_period(code)
