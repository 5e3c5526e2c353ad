"""The public side of online 民主测评: a code opens the ballot, a filled-in ballot is counted.

No account: the code is the only credential. Casting turns the code used and adds one to
the chosen count of each cadre in ONE transaction, so a ballot is counted exactly when its
code is spent; two submissions of the same code at once count once (the second finds the
code used). Nothing written names the code's row next to the choices, a time or an order:
the code row only flips to "used", the lines only grow their counts (app/voting/models.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import case, select, update

from app.core.commands import command
from app.core.errors import DomainError
from app.extensions import db
from app.voting import rules
from app.voting.models import VotingCode, VotingLine, VotingSession
from app.voting.sessions import ballot_lines, cap_of, hash_code

MESSAGES = {
    "unknown": "测评码不存在，请核对后重新输入（测评码为 12 位字母和数字，不含 0、1、I、L、O）",
    "used": "该测评码已经投过票，每个测评码只能投票一次",
    "void": "该测评码已作废，请向工作人员领取新的测评码",
    "expired": "该测评码已过期：本次测评已于 {deadline} 截止投票",
    "closed": "本次测评已结束，不能再投票",
    "not_open": "本次测评尚未开始，请稍后再试",
}


class VoteRefused(DomainError):
    """A code that cannot vote (unknown, used, void, expired, or its session closed)."""

    status = 403

    def __init__(self, reason: str, deadline: dt.datetime | None = None):
        text = MESSAGES[reason].format(deadline=deadline.strftime("%Y-%m-%d %H:%M") if deadline else "")
        super().__init__(text)
        self.reason = reason


class BallotInvalid(DomainError):
    """A ballot that breaks a rule (a cadre left out, too many 优秀): nothing counted, code kept."""

    def __init__(self, errors: list[str]):
        super().__init__("；".join(errors))
        self.errors = errors


@dataclass
class OpenBallot:
    """What the ballot page shows: the session's names, the cadres in order, the 优秀 cap."""

    title: str
    period: str
    group: str
    deadline: dt.datetime | None
    cap: int
    cadres: list[dict] = field(default_factory=list)  # code, name, unit, position


def _find(raw_code: str | None) -> tuple[str, VotingCode, VotingSession]:
    code = rules.normalize(raw_code)
    row = db.session.get(VotingCode, hash_code(code)) if code else None
    if row is None:
        raise VoteRefused("unknown")
    return code, row, db.session.get(VotingSession, row.session_id)


def _check(row_state: str, session_state: str, deadline: dt.datetime | None, now: dt.datetime) -> None:
    if session_state in ("ended", "recorded"):
        raise VoteRefused("closed")
    if session_state != "open":
        raise VoteRefused("not_open")
    if row_state == "void":
        raise VoteRefused("void")
    if row_state == "used":
        raise VoteRefused("used")
    if deadline is not None and now > deadline:
        raise VoteRefused("expired", deadline)


def open_ballot(raw_code: str | None, now: dt.datetime) -> OpenBallot:
    """The ballot a code opens; VoteRefused (with its Chinese message) when it cannot vote."""
    _code, row, session = _find(raw_code)
    _check(row.state, session.state, session.deadline, now)
    lines = ballot_lines(session)
    return OpenBallot(
        title=session.title, period=session.period.name, group=session.group.name, deadline=session.deadline,
        cap=cap_of(session, len(lines)),
        cadres=[{"code": ln.cadre.code, "name": ln.cadre.name, "unit": ln.cadre.org_unit.name,
                 "position": ln.cadre.position or ""} for ln in lines],
    )


def is_unknown(exc: Exception) -> bool:
    """Whether a refusal was for a code that does not exist (what the address throttle counts)."""
    return isinstance(exc, VoteRefused) and exc.reason == "unknown"


def _check_session(session_id: int, now: dt.datetime, lock: bool = False) -> None:
    stmt = select(VotingSession.state, VotingSession.deadline).where(VotingSession.id == session_id)
    state, deadline = db.session.execute(stmt.with_for_update() if lock else stmt).one()
    _check("unused", state, deadline, now)


def cast(raw_code: str | None, form: dict, now: dt.datetime) -> int:
    """Count one filled-in ballot and spend its code, in one transaction; returns the number
    of cadres rated. BallotInvalid (nothing counted, the code still unused) or VoteRefused."""
    _code, row, session = _find(raw_code)
    _check(row.state, session.state, session.deadline, now)
    lines = ballot_lines(session)
    chosen, errors = rules.check_ballot(form, [(ln.cadre.code, ln.cadre.name) for ln in lines], cap_of(session, len(lines)))
    if errors:
        raise BallotInvalid(errors)
    ids = {ln.cadre.code: ln.cadre_id for ln in lines}
    by_key: dict[str, list[int]] = {}
    for cadre_code, key in chosen.items():
        by_key.setdefault(key, []).append(ids[cadre_code])
    code_hash, session_id = row.code_hash, session.id
    with command(None, MESSAGES["used"]):
        # Locks in one order everywhere (session, then codes, then lines): ending the session
        # waits for the ballots being counted, and a ballot never waits behind a code the
        # ending holds.
        _check_session(session_id, now, lock=True)
        spent = db.session.execute(
            update(VotingCode).where(VotingCode.code_hash == code_hash, VotingCode.session_id == session_id,
                                     VotingCode.state == "unused").values(state="used")
        ).rowcount
        if spent != 1:  # someone voted with this code, or it was voided, since it was read
            state = db.session.scalar(select(VotingCode.state).where(VotingCode.code_hash == code_hash))
            raise VoteRefused("void" if state == "void" else "used")
        _check_session(session_id, now)  # SQLite: read again under the write lock the UPDATE took
        table = VotingLine.__table__
        values = {key: table.c[key] + case(dict.fromkeys(cadres, 1), value=table.c.cadre_id, else_=0)
                  for key, cadres in by_key.items()}
        counted = db.session.execute(update(table).where(table.c.session_id == session_id).values(values)).rowcount
        if counted != len(lines):
            raise DomainError("测评名单已变化，请重新输入测评码后再投票")
    return len(chosen)
