"""Concurrent writers: no "database is locked" escapes, no update is lost (the version check
turns a same-row race into a handled conflict), and 8 clients uploading score sheets to a
real 2-worker gunicorn (with two job worker processes running the imports) for the same
period leave exactly the sheets they sent."""

from __future__ import annotations

import collections
import csv
import io
import json
import random
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from app.core.errors import Conflict
from app.extensions import db
from app.models import Cadre, OrgUnit
from app.org.cadres import check_cadre, import_cadres
from tests.conftest import ROOT, login, pg_url
from tests.jobs_support import start_worker
from tests.reliability_support import (
    CADRE_HEADER,
    CASE,
    STAFF_USER,
    Browser,
    Gunicorn,
    clone_database,
    golden_template,
    in_process_app,
    rows,
    scalar,
)

ARTIFACTS = ROOT / "test-artifacts"


def record(name: str, figures: dict) -> None:
    """Print the figures and keep them for docs/RELIABILITY.md (test-artifacts is not committed)."""
    figures = {"database": "postgresql" if pg_url() else "sqlite", **figures}
    print(f"\n[reliability] {name}: {json.dumps(figures, ensure_ascii=False)}")
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"reliability-{name}-{figures['database']}.json"
    path.write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")


# ---------------------------------------------------------------- (a) writers through the services


@pytest.fixture(scope="module")
def writer_app(request, tmp_path_factory):
    """An app of its own on a copy of the golden register (a WAL SQLite file, or PostgreSQL)."""
    template = golden_template(request.config, tmp_path_factory.getbasetemp())
    with clone_database(template, tmp_path_factory.mktemp("writers")) as url:
        application = in_process_app(url)
        yield application
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


def bump(app, cadre_id: int, pause: float) -> str:
    """One edit as the web form does it: read (GET), then write with the version read (POST)."""
    with app.app_context():
        cadre = db.session.get(Cadre, cadre_id)
        seen_version, value = cadre.version, int(cadre.position or 0)
        db.session.remove()
    time.sleep(pause)  # the user thinks; others may save meanwhile
    with app.app_context():
        cadre = db.session.get(Cadre, cadre_id)
        cadre.position = str(value + 1)
        try:
            check_cadre(cadre, expected_version=seen_version, user=None)
            db.session.commit()
            return "saved"
        except Conflict:
            db.session.rollback()
            return "conflict"
        except StaleDataError:  # changed between this read and this write: the UPDATE matched no row
            db.session.rollback()
            return "stale"
        finally:
            db.session.remove()


def import_batch(app, prefix: str, n: int) -> str:
    lines = [CADRE_HEADER] + [f"{prefix}{i:03d},并发{i},男,1980-01-01,X0T0,副镇长,副科,乡镇党政副职"
                                         for i in range(n)]
    with app.app_context():
        try:
            result = import_cadres(("\n".join(lines) + "\n").encode(), "c.csv", user=None)
            return f"imported:{result['created']}"
        finally:
            db.session.remove()


def test_concurrent_writers_lose_no_update_and_never_see_a_lock(writer_app):
    app = writer_app
    with app.app_context():
        ids = list(db.session.scalars(select(Cadre.id).order_by(Cadre.id).limit(5)))
        for cid in ids:
            db.session.get(Cadre, cid).position = "0"
        db.session.commit()
        versions = {cid: db.session.get(Cadre, cid).version for cid in ids}
        db.session.remove()
    own, shared = ids[:4], ids[4]
    rng = random.Random(7)
    outcomes: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    errors: list[str] = []

    def own_writer(cid):
        for _ in range(10):
            outcomes["own"][bump(app, cid, rng.random() * 0.005)] += 1

    def shared_writer(_):
        saved = 0
        for _ in range(60):  # retry until 10 increments of the shared cadre are saved
            result = bump(app, shared, rng.random() * 0.01)
            outcomes["shared"][result] += 1
            saved += result == "saved"
            if saved == 10:
                return

    def importer(k):
        for j in range(4):
            outcomes["import"][import_batch(app, f"W{k}{j}{uuid.uuid4().hex[:4]}", 25).split(":")[0]] += 1

    def guarded(fn, arg):
        try:
            fn(arg)
        except Exception as exc:  # anything here (e.g. "database is locked") fails the test
            errors.append(f"{type(exc).__name__}: {exc}")

    started = time.monotonic()
    jobs = [(own_writer, c) for c in own] + [(shared_writer, i) for i in range(4)] + [(importer, k) for k in range(2)]
    threads = [threading.Thread(target=guarded, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    elapsed = time.monotonic() - started
    assert not errors, errors[:5]
    with app.app_context():
        for cid in own:
            cadre = db.session.get(Cadre, cid)
            assert cadre.position == "10" and cadre.version == versions[cid] + 10
        cadre = db.session.get(Cadre, shared)
        saved = outcomes["shared"]["saved"]
        # Every save that was reported is in the row, and nothing else: no lost, no silent overwrite.
        assert int(cadre.position) == saved == 40 and cadre.version == versions[shared] + saved
        assert db.session.scalar(select(func.count()).select_from(Cadre).where(Cadre.name.startswith("并发"))) == 200
        db.session.remove()
    assert outcomes["own"] == {"saved": 40} and outcomes["import"] == {"imported": 8}
    record("writers", {"threads": len(jobs), "seconds": round(elapsed, 2),
                       "own_saves": outcomes["own"]["saved"], "shared": dict(outcomes["shared"]),
                       "imports": outcomes["import"]["imported"], "errors": len(errors)})


def test_the_edit_form_reports_a_lost_race_in_chinese(app, client):
    """Two staff open the same edit form; the second save is refused, the first one stays."""
    with app.app_context():
        unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "XY03T02"))
        cadre = Cadre(code="HR" + uuid.uuid4().hex[:8], name="竞争", gender="男", org_unit_id=unit.id,
                      post_category="乡镇党政副职", status="在职", position="原职")
        db.session.add(cadre)
        db.session.commit()
        cid, code, unit_id = cadre.id, cadre.code, unit.id
    other = app.test_client()
    login(client, "kpy_luoshan")
    login(other, "kpy_city")
    forms = []
    for c in (client, other):
        html = c.get(f"/cadres/edit/{cid}").get_data(as_text=True)
        forms.append(re.search(r'name="expected_version"[^>]*value="(\d+)"|value="(\d+)"[^>]*name="expected_version"',
                               html))
    version = next(g for g in forms[0].groups() if g)
    assert forms[1] and version == next(g for g in forms[1].groups() if g)

    def save(c, position):
        data = {"code": code, "name": "竞争", "gender": "男", "org_unit": str(unit_id), "post_category": "乡镇党政副职",
                "status": "在职", "position": position, "expected_version": version}
        return c.post(f"/cadres/edit/{cid}", data=data, follow_redirects=True)

    first = save(client, "甲改")
    second = save(other, "乙改")
    assert first.status_code == 200 and second.status_code == 200
    assert "已被他人修改" in second.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Cadre, cid).position == "甲改"
        db.session.delete(db.session.get(Cadre, cid))
        db.session.commit()


# ---------------------------------------------------------------- (b) 8 clients against gunicorn


def sheet_chunks(n: int) -> tuple[list[str], list[list[list[str]]]]:
    with (CASE / "2021-Y" / "sheets.csv").open(encoding="utf-8-sig", newline="") as fh:
        table = [r for r in csv.reader(fh) if r]
    header, body = table[0], table[1:]
    return header, [body[i::n] for i in range(n)]


def csv_bytes(header, body) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header] + body)
    return buf.getvalue().encode("utf-8")


def stored_sheets(url: str) -> collections.Counter:
    """Every stored sheet of 2021-Y as (cadre code, group, values in dimension order)."""
    found = rows(url, """
        SELECT s.id, c.code, g.name, d.name, v.value FROM score_sheet s
        JOIN evaluation_period p ON p.id = s.period_id JOIN cadre c ON c.id = s.cadre_id
        JOIN rater_group g ON g.id = s.group_id JOIN sheet_score v ON v.sheet_id = s.id
        JOIN evaluation_dimension d ON d.id = v.dimension_id WHERE p.code = '2021-Y'""")
    sheets: dict[int, dict] = collections.defaultdict(dict)
    for sid, code, group, dim, value in found:
        sheets[sid].update({"干部编号": code, "评价组": group, dim: value})
    return collections.Counter(tuple(sorted((k, str(float(v)) if k not in ("干部编号", "评价组") else v)
                                            for k, v in s.items())) for s in sheets.values())


def as_key(header, row) -> tuple:
    return tuple(sorted((h, str(float(v)) if h not in ("干部编号", "评价组") else v) for h, v in zip(header, row)))


def test_eight_clients_upload_sheets_to_gunicorn_for_the_same_period(request, tmp_path_factory, tmp_path):
    template = golden_template(request.config, tmp_path_factory.getbasetemp())
    header, chunks = sheet_chunks(8)
    bad = chunks[7] + [["NOPE01", "组织评价", "90", "90", "90", "90", "90"]]  # the last client's file is refused
    files = [csv_bytes(header, c) for c in chunks[:7]] + [csv_bytes(header, bad)]
    with clone_database(template, tmp_path) as url:
        period_id = scalar(url, "SELECT id FROM evaluation_period WHERE code = '2021-Y'")
        workers = [start_worker(url, tmp_path / "jobs.log", env={"JOB_POLL_SECONDS": "0.1"}) for _ in range(2)]
        with Gunicorn(url, tmp_path / "gunicorn.log") as server:

            def client(k: int) -> dict:
                browser = Browser(server.base)
                browser.login(STAFF_USER)
                status, _ = browser.upload(f"/entry/upload/{period_id}/sheets", f"sheets{k}.csv", files[k])
                job = urlsplit(browser.headers.get("Location", "")).path  # the import is a background job
                pages = ["/entry/list/", "/results/list/?period=2021-Y", "/cadres/list/", "/cadre-profile/1"]
                reads = [browser.get(pages[i % len(pages)])[0] for i in range(12)]  # reads while others write
                deadline = time.monotonic() + 120
                while status == 302 and time.monotonic() < deadline:
                    if browser.json("GET", f"{job}/status")[1].get("finished"):
                        break
                    time.sleep(0.1)
                html = browser.get(job)[1] if status == 302 else ""
                rejected = "导入被拒绝，未写入任何数据" in html
                return {"k": k, "upload": status, "rejected": rejected, "reported": "NOPE01" in html,
                        "saved": "导入成功" in html, "reads": reads, "requests": browser.requests}

            started = time.monotonic()
            try:
                with ThreadPoolExecutor(8) as pool:
                    results = list(pool.map(client, range(8)))
            finally:
                for worker in workers:
                    worker.terminate()
                    worker.wait(timeout=60)
            elapsed = time.monotonic() - started
            log = Path(server.log).read_text(errors="replace")
        statuses = [r["upload"] for r in results] + [s for r in results for s in r["reads"]]
        assert all(s < 500 for s in statuses), results
        assert [(r["upload"], r["saved"]) for r in results[:7]] == [(302, True)] * 7, results  # jobs succeeded
        assert results[7]["upload"] == 302 and results[7]["rejected"] and results[7]["reported"], results[7]
        assert "Traceback" not in (tmp_path / "jobs.log").read_text(errors="replace")
        assert "Traceback" not in log and "database is locked" not in log, log[-3000:]
        want = collections.Counter(as_key(header, row) for chunk in chunks[:7] for row in chunk)
        got = stored_sheets(url)
        assert sum(got.values()) == sum(want.values()) == sum(len(c) for c in chunks[:7])
        assert got == want  # exactly the sheets sent: none lost, none doubled, none of the refused file
        assert scalar(url, "SELECT count(*) FROM audit_log WHERE table_name = 'score_sheet' AND action = 'import'") == 7
    record("gunicorn-sheets", {
        "clients": 8, "workers": 2, "requests": sum(r["requests"] for r in results), "seconds": round(elapsed, 2),
        "sheets_written": sum(got.values()), "uploads_refused_and_reported": 1, "http_5xx": 0,
    })
