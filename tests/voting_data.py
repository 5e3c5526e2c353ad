"""Helpers of the voting tests: sessions on the demo city, ballots filled in, tallies read."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Ballot, OrgUnit, VotingLine, VotingSession
from app.voting import sessions as V

PERIOD, GROUP = "2025-Y", "群众评价"


def open_new(unit_code: str, codes: int = 10, categories=(), user=None, deadline=None) -> tuple[int, list[str]]:
    """A session of the demo period for a unit's subtree, opened with `codes` codes (by the system)."""
    session = V.create_session(PERIOD, GROUP, unit_code, categories, f"测试测评 {unit_code}", user=user)
    session, plain = V.open_session(session.id, codes, deadline, user=user)
    return session.id, plain


def ballot_codes(session_id: int) -> list[str]:
    """The cadre codes of a session's ballot, in order."""
    return [ln.cadre.code for ln in V.ballot_lines(db.session.get(VotingSession, session_id))]


def cap(session_id: int) -> int:
    session = db.session.get(VotingSession, session_id)
    return V.cap_of(session, len(V.ballot_lines(session)))


def filled(cadres: list[str], excellent: int = 0, rest: str = "称职", **by_code) -> dict:
    """A ballot: the first `excellent` cadres 优秀, the others `rest`, overridden by `by_code`."""
    form = {code: ("优秀" if i < excellent else rest) for i, code in enumerate(cadres)}
    form.update(by_code)
    return form


def tallies(session_id: int) -> dict[str, dict[str, int]]:
    lines = db.session.scalars(select(VotingLine).where(VotingLine.session_id == session_id)).unique()
    return {ln.cadre.code: {k: getattr(ln, k) for k in ("excellent", "competent", "basic", "incompetent", "unknown")}
            for ln in lines}


def ballots_of(period_id: int, group_id: int, cadre_ids) -> dict[int, dict[str, int]]:
    rows = db.session.scalars(select(Ballot).where(Ballot.period_id == period_id, Ballot.group_id == group_id,
                                                   Ballot.cadre_id.in_(list(cadre_ids))))
    return {b.cadre_id: {k: getattr(b, k) for k in ("excellent", "competent", "basic", "incompetent", "unknown")}
            for b in rows}


def unit_id(code: str) -> int:
    return db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == code))


def draft_session(unit_code: str) -> int:
    """A session in 草稿 for a unit's subtree (the permission matrix's row of a county)."""
    return V.create_session(PERIOD, GROUP, unit_code, (), f"矩阵测评 {unit_code}", user=None).id
