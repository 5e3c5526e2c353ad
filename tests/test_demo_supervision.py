"""The demo supervision data: `seed-demo` on a fresh database gives a few hundred items in
every state and light and findings in every state; running it again adds nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT, run_cli

COUNT_SCRIPT = r"""
import datetime as dt, json
from collections import Counter
from sqlalchemy import select
from app import create_app
from app.extensions import db
from app.models import Finding, SupervisionTask
from app.supervision.findings import rectification_overdue
from app.supervision.tasks import task_light
app = create_app()
with app.app_context():
    now = dt.datetime.now()
    tasks = list(db.session.scalars(select(SupervisionTask).where(SupervisionTask.code.startswith("DEMO-"))))
    findings = list(db.session.scalars(select(Finding)))
    print(json.dumps({
        "tasks": len(tasks),
        "states": Counter(t.state for t in tasks),
        "lights": Counter(str(task_light(t, now)) for t in tasks if t.state in ("assigned", "in_progress", "pending_review", "completed")),
        "findings": len(findings),
        "finding_states": Counter(f.state for f in findings),
        "severities": Counter(f.severity for f in findings),
        "overdue": sum(1 for f in findings if rectification_overdue(f, now)),
        "accountability": sum(1 for f in findings if f.accountability),
    }))
"""


def _counts(url: str) -> dict:
    env = dict(os.environ)
    env.update(DATABASE_URL=url, APP_CONFIG="config.ProductionConfig",
               SECRET_KEY="cli-test-secret-key-0123456789abcdefghijklmnop", PYTHONPATH=str(ROOT))
    env.pop("TEST_DATABASE_URL", None)
    out = subprocess.run([sys.executable, "-c", COUNT_SCRIPT], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_seed_demo_makes_a_living_supervision_system(fresh_db_url):
    run_cli(fresh_db_url, "setup")
    run_cli(fresh_db_url, "seed-demo")
    counts = _counts(fresh_db_url)
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

    run_cli(fresh_db_url, "seed-demo")
    again = _counts(fresh_db_url)
    assert (again["tasks"], again["findings"]) == (counts["tasks"], counts["findings"])


def test_seed_demo_supervision_is_idempotent(ctx):
    from app.supervision.demo import seed_demo_supervision

    assert seed_demo_supervision() is False
