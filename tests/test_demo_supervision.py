"""The demo supervision data: `seed-demo` gives a few hundred items in
every state and light and findings in every state; running it again adds nothing."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import select

from app.extensions import db
from app.models import Finding, SupervisionTask
from app.supervision.findings import rectification_overdue
from app.supervision.tasks import task_light
from tests.conftest import run_cli


def _counts() -> dict:
    now = dt.datetime.now()
    tasks = list(db.session.scalars(select(SupervisionTask).where(SupervisionTask.code.startswith("DEMO-"))))
    findings = list(db.session.scalars(select(Finding)))
    return {
        "tasks": len(tasks),
        "states": Counter(t.state for t in tasks),
        "lights": Counter(str(task_light(t, now)) for t in tasks
                          if t.state in ("assigned", "in_progress", "pending_review", "completed")),
        "findings": len(findings),
        "finding_states": Counter(f.state for f in findings),
        "severities": Counter(f.severity for f in findings),
        "overdue": sum(1 for f in findings if rectification_overdue(f, now)),
        "accountability": sum(1 for f in findings if f.accountability),
    }


def test_seed_demo_makes_a_living_supervision_system(app):
    """The module's database is the demo city as `flask seed-demo` makes it (tests/conftest.py)."""
    with app.app_context():
        counts = _counts()
    assert counts["tasks"] >= 200, counts
    for state in ("draft", "assigned", "in_progress", "pending_review", "completed", "terminated"):
        assert counts["states"].get(state, 0) > 0, (state, counts)
    for light in ("green", "yellow", "red", "overdue_done"):
        assert counts["lights"].get(light, 0) > 0, (light, counts)
    assert counts["findings"] >= 150, counts
    for state in ("pending", "rectifying", "awaiting_verification", "closed"):
        assert counts["finding_states"].get(state, 0) > 0, (state, counts)
    assert set(counts["severities"]) == {"一般", "较重", "严重"}, counts
    assert counts["overdue"] > 0 and counts["accountability"] > 0, counts

    run_cli(app.config["SQLALCHEMY_DATABASE_URI"], "seed-demo")  # the operator's command, again
    with app.app_context():
        db.session.remove()
        again = _counts()
    assert (again["tasks"], again["findings"]) == (counts["tasks"], counts["findings"])


def test_seed_demo_supervision_is_idempotent(ctx):
    from app.supervision.demo import seed_demo_supervision

    assert seed_demo_supervision() is False
