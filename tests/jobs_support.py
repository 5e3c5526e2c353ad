"""Helpers of the tests that meet background jobs: run the queue with the real worker (in
this process, or as `flask jobs worker` processes), and follow an answer to its job page."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

JOB_URL = re.compile(r"/jobs/(\d+)$")


def run_jobs(app) -> int:
    """Run every queued job with the real worker (claim, acting user, fence) in this process."""
    from app.jobs.worker import Worker

    return Worker(app, poll_seconds=0).run(until_idle=True)


def job_id(response) -> int:
    """The id of the job a web answer redirected to (it must redirect to a job page)."""
    assert response.status_code == 302, (response.status_code, response.get_data(as_text=True)[:500])
    match = JOB_URL.search(response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def follow_job(client, app, response) -> str:
    """Run the job `response` queued and return its page, as its user sees it when it ends."""
    pk = job_id(response)
    run_jobs(app)
    page = client.get(f"/jobs/{pk}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def start_worker(url: str, log: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    """`flask --app run jobs worker ARGS` as an operator would start it, on database `url`."""
    from tests.reliability_support import cli_env

    environment = cli_env(url)
    environment.update(env or {})
    out = log.open("ab")
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "run", "jobs", "worker", *args], cwd=ROOT,
                            env=environment, stdout=out, stderr=subprocess.STDOUT)


def job_download(client, app, response):
    """The file of the export job `response` redirected to, once the job has run."""
    pk = job_id(response)
    run_jobs(app)
    download = client.get(f"/jobs/{pk}/download")
    assert download.status_code == 200, client.get(f"/jobs/{pk}").get_data(as_text=True)[-2000:]
    return download
