"""The demo's 民主测评: one session of the period in 评分中 for a township of 罗山县, open,
with 30 codes issued and a few ballots cast (the typed counts stay until it is closed).

The demo's codes come from a seeded generator, so the README can name a few unused ones to
try the ballot at /vote with; real sessions draw theirs from the operating system."""

from __future__ import annotations

import random

from sqlalchemy import select

from app.core import clock
from app.extensions import db
from app.models import EvaluationPeriod
from app.voting import ballot, rules
from app.voting import sessions as V

PERIOD, GROUP, UNIT = "2025-Y", "群众评价", "XY03T01"
CODES, CAST = 30, 6
SEED = "民主测评演示"


def demo_codes() -> list[str]:
    return rules.new_codes(CODES, random.Random(SEED))


def seed_demo_voting() -> bool:
    period = db.session.scalar(select(EvaluationPeriod).where(EvaluationPeriod.code == PERIOD))
    if period is None or period.state != "scoring":
        return False
    session = V.create_session(PERIOD, GROUP, UNIT, (), "2025年度罗山县第一乡镇干部群众评价（演示）", user=None)
    session, codes = V.open_session(session.id, CODES, user=None, rng=random.Random(SEED))
    lines = V.ballot_lines(session)
    cap = V.cap_of(session, len(lines))
    rng = random.Random(2025)
    for code in codes[:CAST]:
        form = {}
        excellent = 0
        for line in lines:
            label = rng.choice(("优秀", "称职", "称职", "称职", "基本称职", "不了解"))
            if label == "优秀":
                if excellent >= cap:
                    label = "称职"
                else:
                    excellent += 1
            form[line.cadre.code] = label
        ballot.cast(code, form, clock.now())
    return True
