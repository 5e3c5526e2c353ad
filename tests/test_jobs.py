"""Background jobs (issue 12, point 6): uploads, computes and big exports are queued by the web
and run by `flask jobs worker`; a job is claimed once, survives its worker's death, keeps the
imports' all-or-nothing rule and the creator's row scope, and only its creator sees it."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AppUser, AuditLog, Cadre, EvaluationPeriod, Job
from tests.conftest import ROOT, login, pg_url
from tests.jobs_support import follow_job, job_download, job_id, run_jobs, start_worker
from tests.reliability_support import (
    STAFF_USER,
    Browser,
    Gunicorn,
    big_cadre_file,
    clone_database,
    golden_template,
    in_process_app,
    scalar,
)

ARTIFACTS = ROOT / "test-artifacts"
FAST = {"JOB_POLL_SECONDS": "0.05", "JOB_HEARTBEAT_SECONDS": "0.1"}


@pytest.fixture()
def own_db(request, tmp_path_factory, tmp_path):
    """A copy of the golden register (units C0, X0T0, …; staff account rel_kpy) of its own."""
    template = golden_template(request.config, tmp_path_factory.getbasetemp())
    with clone_database(template, tmp_path) as url:
        yield url


HEADER = "干部编号,姓名,性别,出生日期,单位编码,职务,职级,岗位类别"


def cadre_file(*lines: str) -> bytes:
    return ("\n".join((HEADER,) + lines) + "\n").encode("utf-8")


def upload(client, data: bytes, name: str = "c.csv", url: str = "/cadres/upload/"):
    return client.post(url, data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def cadres(app, *codes: str) -> dict:
    with app.app_context():
        return {c.code: c.org_unit.code for c in db.session.scalars(select(Cadre).where(Cadre.code.in_(codes)))}


def job(app, pk: int) -> Job:
    with app.app_context():
        row = db.session.get(Job, pk)
        _ = row.errors, row.input_data, row.output_data  # deferred: load before the session ends
        db.session.expunge(row)
        return row


# ---------------------------------------------------------------- the web queues, the worker runs


def test_upload_answers_at_once_and_redirects_to_the_job_page(app, client):
    login(client, "kpy_city")
    started = time.monotonic()
    response = upload(client, cadre_file("JB0001,任务甲,男,1980-01-02,XY03T01,副镇长,副科,乡镇党政副职"))
    pk = job_id(response)
    assert time.monotonic() - started < 3
    assert cadres(app, "JB0001") == {}  # nothing imported by the request itself
    queued = client.get(f"/jobs/{pk}").get_data(as_text=True)
    assert "排队中" in queued and "job.js" in queued and "导入干部名册：c.csv" in queued
    assert client.get(f"/jobs/{pk}/status").get_json()["state"] == "queued"
    page = follow_job(client, app, response)
    assert "已完成" in page and "导入成功：新增 1 条，更新 0 条" in page
    assert cadres(app, "JB0001") == {"JB0001": "XY03T01"}
    status = client.get(f"/jobs/{pk}/status").get_json()
    assert status["finished"] and status["percent"] == 100 and status["state_label"] == "已完成"
    assert f'href="/jobs/{pk}"' in client.get("/jobs/list/").get_data(as_text=True)


def test_basic_checks_answer_on_the_upload_page_and_queue_nothing(app, client):
    login(client, "kpy_city")
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Job))
    for data, name, message in ((b"", "e.csv", "文件为空"), (b"x", "a.txt", "只支持 .xlsx 或 .csv 文件")):
        page = upload(client, data, name)
        assert page.status_code == 200 and message in page.get_data(as_text=True)
    assert "请选择要导入的文件" in client.post("/cadres/upload/", data={}).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Job)) == before


def test_a_user_with_too_many_waiting_jobs_is_refused_in_chinese(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "JOB_MAX_PENDING_PER_USER", 2)
    login(client, "kpy_city")
    data = cadre_file("JB0050,排队,男,1980-01-02,XY03T01,副镇长,副科,乡镇党政副职")
    first, second = job_id(upload(client, data)), job_id(upload(client, data))
    refused = upload(client, data)
    assert refused.status_code == 302 and refused.headers["Location"].endswith("/cadres/list/")
    page = client.get("/cadres/list/").get_data(as_text=True)
    assert "您已有 2 个后台任务在排队或运行中" in page
    other = login(app.test_client(), "kpy_luoshan")  # a limit per user: others still submit
    assert job_id(other.post("/cadres/upload/", data={"file": (io.BytesIO(data), "c.csv")},
                             content_type="multipart/form-data")) > second > first
    run_jobs(app)
    assert job_id(upload(client, data))  # once they have run, the user submits again
    run_jobs(app)


def test_bad_rows_fail_the_job_with_every_row_listed_and_nothing_written(app, client):
    login(client, "kpy_city")
    with app.app_context():
        audit_before = db.session.scalar(select(func.count()).select_from(AuditLog))
    data = cadre_file(
        "JB0100,好人,男,1980-01-02,XY03T01,副镇长,副科,乡镇党政副职",
        "JB0101,,男,1980-01-02,XY03T01,副镇长,副科,乡镇党政副职",
        "JB0102,坏日期,男,1980-13-45,XY03T01,副镇长,副科,乡镇党政副职",
        "JB0103,坏单位,男,1980-01-02,NOPE,副镇长,副科,乡镇党政副职",
        "JB0100,重复,男,1980-01-02,XY03T01,副镇长,副科,乡镇党政副职",
    )
    response = upload(client, data)
    page = follow_job(client, app, response)
    assert "失败" in page and "导入被拒绝，未写入任何数据。共 4 处错误" in page
    for line, fragment in ((3, "姓名不能为空"), (4, "不是有效日期"), (5, "单位编码“NOPE”不存在"), (6, "与第 2 行重复")):
        assert f"<td>{line}</td><td>" in page and fragment in page
    ended = job(app, job_id(response))
    assert ended.state == "failed" and ended.error_count == 4 and [e[0] for e in ended.errors] == [3, 4, 5, 6]
    assert ended.input_data is None  # the uploaded file is not kept once the job has ended
    errors_csv = client.get(f"/jobs/{ended.id}/errors.csv").get_data().decode("utf-8-sig")
    assert errors_csv.count("\n") == 5 and "姓名不能为空" in errors_csv
    assert cadres(app, "JB0100", "JB0101", "JB0102", "JB0103") == {}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditLog)) == audit_before


def test_a_county_staff_import_job_keeps_its_subtree(app, client):
    """The worker runs the job as its creator: 罗山县's staff cannot reach 光山县 (XY04)
    through a job any more than through the request (app/security/scope.py)."""
    login(client, "kpy_luoshan")
    with app.app_context():
        foreign = db.session.scalar(select(Cadre.code).join(Cadre.org_unit).where(Cadre.org_unit.has(code="XY04T01")))
    response = upload(client, cadre_file(
        "JB0200,本县,男,1980-01-02,XY03T01,副镇长,副科,乡镇党政副职",
        "JB0201,外县,男,1980-01-02,XY04T01,副镇长,副科,乡镇党政副职",
        f"{foreign},改外县人,男,1980-01-02,XY03T01,副镇长,副科,乡镇党政副职",
    ))
    page = follow_job(client, app, response)
    assert "单位编码“XY04T01”不存在或不在您的管辖范围内" in page
    assert f"干部编号 {foreign} 已存在且不在您的管辖范围内" in page
    assert cadres(app, "JB0200", "JB0201") == {} and cadres(app, foreign) == {foreign: "XY04T01"}
    ok = upload(client, cadre_file("JB0202,本县,男,1980-01-02,XY03T01,副镇长,副科,乡镇党政副职"))
    assert "导入成功：新增 1 条" in follow_job(client, app, ok)
    with app.app_context():
        actor = db.session.scalar(select(AuditLog.username).where(AuditLog.table_name == "cadre",
                                                                  AuditLog.action == "create").order_by(AuditLog.id.desc()))
        assert actor == "kpy_luoshan"  # the audit trail names the job's creator, not the worker
        creator = db.session.scalar(select(AppUser).where(AppUser.username == "kpy_luoshan"))
        assert job(app, job_id(ok)).org_unit_id == creator.org_unit_id == creator.org_unit.id
        assert creator.org_unit.code == "XY03"


def test_the_unit_upload_is_a_job_in_the_uploaders_scope(app, client):
    """组织机构 → 导入: a county admin's job may add units under its county, not elsewhere."""
    from app.models import OrgUnit

    login(client, "admin_luoshan")
    header = "单位编码,单位名称,类型,上级编码"
    outside = f"{header}\nJBU001,外县新村,村社区,XY04T01\n".encode()
    # The unit upload is checked and previewed at once (issue 14); only its confirmation queues the job.
    page = upload(client, outside, "u.csv", "/orgunits/upload/").get_data(as_text=True)
    assert "上级编码 XY04T01 不存在或不在您的管辖范围内" in page
    inside = f"{header}\nJBU002,本县新村,村社区,XY03T01\n".encode()
    preview = upload(client, inside, "u.csv", "/orgunits/upload/").get_data(as_text=True)
    confirm = {"confirm": re.search(r'name="confirm" value="(\d+)"', preview).group(1),
               "digest": re.search(r'name="digest" value="([0-9a-f]+)"', preview).group(1)}
    assert "导入成功：新增 1 条" in follow_job(client, app, client.post("/orgunits/upload/", data=confirm))
    with app.app_context():
        units = {u.code: u for u in db.session.scalars(select(OrgUnit).where(OrgUnit.code.in_(
            ["JBU001", "JBU002", "XY03T01"])))}
        assert "JBU001" not in units and units["JBU002"].path.startswith(units["XY03T01"].path)


def test_another_users_job_answers_404(app, client):
    login(client, "kpy_city")
    pk = job_id(upload(client, cadre_file("JB0300,他人,男,1980-01-02,XY03T01,副镇长,副科,乡镇党政副职")))
    run_jobs(app)
    assert client.get(f"/jobs/{pk}").status_code == 200
    other = app.test_client()
    login(other, "admin")  # an admin too sees only the jobs they started
    for path in (f"/jobs/{pk}", f"/jobs/{pk}/status", f"/jobs/{pk}/download", f"/jobs/{pk}/errors.csv",
                 "/jobs/99999999"):
        assert other.get(path).status_code == 404, path
    assert f'href="/jobs/{pk}"' not in other.get("/jobs/list/").get_data(as_text=True)
    assert "我的后台任务" in other.get("/jobs/list/").get_data(as_text=True)


def test_compute_is_a_job_queued_once_per_period(app, client):
    from tests.test_eval_views import new_period

    p = new_period(app)
    login(client, "kpy_city")
    first = client.post(f"/periods/compute/{p['id']}")
    pk = job_id(first)
    assert job_id(client.post(f"/periods/compute/{p['id']}")) == pk  # already queued: its page, no second job
    with app.app_context():
        assert db.session.get(EvaluationPeriod, p["id"]).computed_at is None  # the request computed nothing
    assert f"考评期“{p['code']}”已计算" in follow_job(client, app, first)
    with app.app_context():
        assert db.session.get(EvaluationPeriod, p["id"]).computed_at is not None
        jobs_before = db.session.scalar(select(func.count()).select_from(Job))
    county = login(app.test_client(), "kpy_luoshan")
    refused = county.post(f"/periods/compute/{p['id']}", follow_redirects=True).get_data(as_text=True)
    assert "只有市级组织部考评员可以计算考评期结果" in refused
    published = new_period(app, state="published")
    refused = client.post(f"/periods/compute/{published['id']}", follow_redirects=True).get_data(as_text=True)
    assert "只有评分中或已锁定的考评期才能计算" in refused
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Job)) == jobs_before


def test_a_big_export_is_a_job_with_the_same_file_filters_and_scope(app, client, monkeypatch):
    """Over EXPORT_SYNC_MAX_ROWS rows an export is a job; its file is the one the request
    would have answered: the same search filters and the same row scope (罗山县 only)."""
    login(client, "kpy_luoshan")
    everything = client.get("/cadres/export/csv").get_data().decode("utf-8-sig")
    filtered = client.get("/cadres/export/csv?_flt_0_gender=女")
    results = client.get("/results/golden/csv?period=2024-Y")
    assert filtered.status_code == results.status_code == 200
    monkeypatch.setitem(app.config, "EXPORT_SYNC_MAX_ROWS", 3)
    from_job = job_download(client, app, client.get("/cadres/export/csv?_flt_0_gender=女"))
    assert from_job.get_data() == filtered.get_data()
    assert from_job.headers["Content-Disposition"] == filtered.headers["Content-Disposition"]
    text = from_job.get_data().decode("utf-8-sig")
    assert 3 < text.count("\n") < everything.count("\n") and "XY04" not in text and "XY03" in text
    queued = client.get("/results/golden/csv?period=2024-Y")
    golden = job_download(client, app, queued)
    assert golden.get_data() == results.get_data() and golden.get_data().count(b"\n") > 3
    page = client.get(f"/jobs/{job_id(queued)}").get_data(as_text=True)
    assert "导出完成：共" in page and "下载 考评结果_2024-Y.csv" in page


# ---------------------------------------------------------------- progress


def test_the_import_services_report_progress_and_stay_the_same_without_a_callback(ctx):
    from app.core.errors import ImportRejected
    from app.org.cadres import import_cadres

    seen = []
    bad = cadre_file(*[f"JP{i:05d},进度,男,1980-01-02,NOPE,副镇长,副科,乡镇党政副职" for i in range(2500)])
    with pytest.raises(ImportRejected):
        import_cadres(bad, "p.csv", progress=lambda done, total, message: seen.append((done, total)), user=None)
    assert seen == [(0, 2500), (1000, 2500), (2000, 2500)]
    seen.clear()
    good = cadre_file("JP10001,进度,男,1980-01-02,XY03T01,副镇长,副科,乡镇党政副职")
    assert import_cadres(good, "p.csv", progress=lambda *a: seen.append(a), user=None) == {"created": 1, "updated": 0}
    assert seen[0][:2] == (0, 1) and seen[-1][:2] == (1, 1) and "正在写入" in seen[-1][2]
    assert import_cadres(good, "p.csv", user=None) == {"created": 0, "updated": 1}  # the CLI's call, unchanged


def test_progress_moves_on_the_job_while_it_runs(app, client, monkeypatch):
    """A real worker thread beats the job's row while the service checks 20,000 rows: a reader
    (the job page's JSON) sees the count of checked rows move forward from 0 through the rows
    being checked; at the end every bad row is kept."""
    from app.jobs.worker import Worker

    login(client, "kpy_city")
    rows = [f"JQ{i:05d},进度,男,1980-01-02,NOPE{i % 7},副镇长,副科,乡镇党政副职" for i in range(20_000)]
    pk = job_id(upload(client, cadre_file(*rows)))
    monkeypatch.setitem(app.config, "JOB_HEARTBEAT_SECONDS", 0.05)
    worker = threading.Thread(target=Worker(app, poll_seconds=0).run, kwargs={"until_idle": True})
    worker.start()
    seen = []
    while worker.is_alive():
        status = client.get(f"/jobs/{pk}/status").get_json()
        seen.append((status["state"], status["done"], status["total"], status["percent"]))
        time.sleep(0.02)
    worker.join()
    running = [done for state, done, _total, _ in seen if state == "running"]
    assert running == sorted(running), seen  # it only moves forward
    assert any(0 < done < 20_000 for done in running) and len(set(running)) >= 2, seen[:50]
    assert all(total == 20_000 for state, _, total, _ in seen if state == "running" and total)
    ended = client.get(f"/jobs/{pk}/status").get_json()
    assert ended["state"] == "failed" and ended["error_count"] == 20_000
    page = client.get(f"/jobs/{pk}").get_data(as_text=True)
    assert "共 20000 处错误" in page and "第 1 / 20 页" in page and page.count("不存在或不在您的管辖范围内") == 1000
    assert "单位编码“NOPE6”" in client.get(f"/jobs/{pk}?page=19").get_data(as_text=True)
    assert client.get(f"/jobs/{pk}/errors.csv").get_data().decode("utf-8-sig").count("\n") == 20_001


# ---------------------------------------------------------------- imports at the stated limits (PostgreSQL)


def test_a_cadre_import_of_more_codes_than_postgresql_takes_parameters_is_checked_whole(ctx):
    """70,000 rows: one IN (...) of every code broke PostgreSQL's 65,535-parameter limit (a 500
    on the upload, a traceback on the CLI); the lookup goes in chunks and every row is judged."""
    from app.core.errors import ImportRejected
    from app.org.cadres import import_cadres

    data = cadre_file(*[f"JL{i:06d},上限,男,1980-01-02,NOPE,副镇长,副科,乡镇党政副职" for i in range(70_000)])
    with pytest.raises(ImportRejected) as refused:
        import_cadres(data, "limit.csv", user=None)
    assert len(refused.value.errors) == 70_000


def test_indicator_scores_beyond_postgresql_parameters_are_replaced_whole(own_db):
    """33,000 (cadre, indicator) pairs: the DELETE of the scores they replace took two
    parameters a pair in one statement (66,000 > 65,535 on PostgreSQL); it goes in chunks."""
    from sqlalchemy import insert

    from app.evaluation.imports import import_indicators
    from app.models import OrgUnit

    application = in_process_app(own_db)
    with application.app_context():
        unit = db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == "X0T0"))
        db.session.execute(insert(Cadre), [
            {"code": f"JI{i:05d}", "name": "指标", "gender": "男", "org_unit_id": unit, "status": "在职",
             "post_category": "乡镇党政副职", "version": 1} for i in range(16_500)])
        db.session.commit()
        lines = ["干部编号,指标,得分"] + [f"JI{i:05d},{name},{80 + i % 20}" for i in range(16_500)
                                          for name in ("项目建设实绩", "基层治理实绩")]
        data = ("\n".join(lines) + "\n").encode()
        assert import_indicators("2021-Y", data, "i.csv", user=None) == {"scores": 33_000, "replaced": 0}
        assert import_indicators("2021-Y", data, "i.csv", user=None) == {"scores": 33_000, "replaced": 33_000}
        db.session.remove()


# ---------------------------------------------------------------- claims, stale workers


def _queue(app, count: int, kind: str = "noop-test") -> list[int]:
    from app.jobs import services as jobs

    with app.app_context():
        user = db.session.scalar(select(AppUser).where(AppUser.username == "kpy_city"))
        return [jobs.submit(kind, f"测试任务{i}", user).id for i in range(count)]


def _drop(app, ids) -> None:
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(Job.__table__.delete().where(Job.id.in_(ids)))


def test_racing_claims_take_each_job_exactly_once(app):
    """Eight threads claim at once (SQLite: one writer; PostgreSQL: FOR UPDATE SKIP LOCKED)."""
    from app.jobs import services as jobs

    ids = _queue(app, 40)
    taken: dict[int, list[str]] = {i: [] for i in ids}
    start = threading.Barrier(8)

    def claimer(n: int) -> None:
        with app.app_context():
            start.wait()
            while True:
                with db.engine.connect() as conn:
                    left = conn.execute(select(func.count()).select_from(Job).where(
                        Job.id.in_(ids), Job.state == "queued")).scalar()
                if not left:
                    return
                got = jobs.claim_next(f"race-{n}:{n}:x")
                if got is not None:
                    taken.setdefault(got, []).append(f"race-{n}")

    try:
        threads = [threading.Thread(target=claimer, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert {k: v for k, v in taken.items() if len(v) != 1} == {}
        assert set(taken) == set(ids)
        with app.app_context():
            claims = dict(db.session.execute(select(Job.id, Job.claim).where(Job.id.in_(ids))).all())
        assert all(claims[i].startswith(taken[i][0] + ":") for i in ids)
        assert len({who for v in taken.values() for who in v}) > 1  # they did race
    finally:
        _drop(app, ids)


def test_stale_and_dead_workers_jobs_are_queued_again(app):
    """No heartbeat for JOB_STALE_SECONDS, or a known-dead claim: queued again; a job whose data
    was committed is only marked ended; a job whose worker died three times fails."""
    from app.jobs import services as jobs

    ids = _queue(app, 5)
    old = dt.datetime.now() - dt.timedelta(minutes=5)
    fresh = dt.datetime.now()
    setups = [  # (heartbeat, attempts, committed_at, claim) -> expected state
        ((old, 1, None, "elsewhere:1:a"), "queued"),
        ((fresh, 1, None, "elsewhere:1:b"), "running"),
        ((old, 1, fresh, "elsewhere:1:c"), "succeeded"),
        ((old, 3, None, "elsewhere:1:d"), "failed"),
        ((fresh, 1, None, "elsewhere:2:dead"), "queued"),
    ]
    try:
        with app.app_context(), db.engine.begin() as conn:
            for pk, ((beat, attempts, committed, claim), _) in zip(ids, setups):
                conn.execute(Job.__table__.update().where(Job.id == pk).values(
                    state="running", heartbeat_at=beat, attempts=attempts, committed_at=committed, claim=claim))
        with app.app_context():
            assert jobs.requeue_stale(60, ["elsewhere:2:dead"]) == 4
            states = dict(db.session.execute(select(Job.id, Job.state).where(Job.id.in_(ids))).all())
            assert [states[pk] for pk in ids] == [want for _, want in setups]
            assert db.session.get(Job, ids[0]).claim is None and "重新排队" in db.session.get(Job, ids[0]).message
            assert "多次意外停止" in db.session.get(Job, ids[3]).message
            # the live worker of ids[1] lost nothing; the re-queued ones are not its to finish
            assert jobs.beat(ids[1], "elsewhere:1:b", 1, 2, "…") and not jobs.beat(ids[0], "elsewhere:1:a", 1, 2, "…")
    finally:
        _drop(app, ids)


def test_a_commit_by_a_worker_that_lost_its_claim_writes_nothing(app):
    """The fence: the job was queued again behind a slow worker's back (another worker may run
    it); the slow worker's import then refuses to commit, and nothing of it is written."""
    from app.jobs import services as jobs
    from app.org.cadres import import_cadres

    (pk,) = _queue(app, 1)
    try:
        with app.app_context():
            claim = "slow:1:x"
            with db.engine.begin() as conn:  # claimed by a slow worker...
                conn.execute(Job.__table__.update().where(Job.id == pk).values(state="running", claim=claim))
            with db.engine.begin() as conn:  # ...which another found stale and queued again
                conn.execute(Job.__table__.update().where(Job.id == pk).values(state="queued", claim=None))
            unfence = jobs.fence(db.session(), pk, claim)
            try:
                with pytest.raises(jobs.JobLost):
                    import_cadres(cadre_file("JF0001,围栏,男,1980-01-02,XY03T01,副镇长,副科,乡镇党政副职"), "f.csv", user=None)
            finally:
                unfence()
            assert db.session.scalar(select(Cadre).where(Cadre.code == "JF0001")) is None
            assert db.session.get(Job, pk).committed_at is None
    finally:
        _drop(app, [pk])


# ---------------------------------------------------------------- real worker processes and gunicorn


def queue_imports(url: str, files: list[tuple[str, bytes]]) -> list[int]:
    """Cadre imports queued by rel_kpy on database `url`, as the upload queues them."""
    from app.jobs import services as jobs

    application = in_process_app(url)
    with application.app_context():
        user = db.session.scalar(select(AppUser).where(AppUser.username == STAFF_USER))
        ids = [jobs.submit("import", f"导入干部名册：{name}", user, {"view": "CadreView"}, data, name).id
               for name, data in files]
        db.session.remove()
    return ids


_ENGINES: dict = {}


def job_rows(url: str, ids) -> dict[int, dict]:
    """The jobs' rows read straight from the database (one engine per database: tests poll)."""
    from sqlalchemy import create_engine, text

    engine = _ENGINES.get(url) or _ENGINES.setdefault(url, create_engine(url))
    keys = ("id", "state", "attempts", "claim", "result", "done", "total", "message")
    with engine.connect() as conn:
        found = conn.execute(text(f"SELECT {', '.join(keys)} FROM job WHERE id IN ({','.join(map(str, ids))})"))
        found = [tuple(r) for r in found]
    if url.startswith("postgresql"):
        engine.dispose()  # the test drops the database at its end
        _ENGINES.pop(url, None)
    out = {}
    for row in found:
        item = dict(zip(keys, row))
        if isinstance(item["result"], str):
            item["result"] = json.loads(item["result"])
        out[item["id"]] = item
    return out


def wait_until(check, timeout: float, what: str, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what() if callable(what) else what}"
        time.sleep(every)


def stop(proc: subprocess.Popen, sig=signal.SIGTERM) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
    return proc.wait(timeout=60)


def record(name: str, figures: dict) -> None:
    """Print the figures and keep them for docs/RELIABILITY.md (test-artifacts is not committed)."""
    figures = {"database": "postgresql" if pg_url() else "sqlite", **figures}
    print(f"\n[reliability] {name}: {json.dumps(figures, ensure_ascii=False)}")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"reliability-{name}-{figures['database']}.json").write_text(
        json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")


def test_two_worker_processes_run_each_job_exactly_once(own_db, tmp_path):
    log = tmp_path / "workers.log"
    workers = [start_worker(own_db, log, env=FAST) for _ in range(2)]
    try:
        wait_until(lambda: log.read_text(errors="replace").count("已启动") == 2, 60, "two workers")
        files = [(f"w{k}.csv", cadre_file(*[f"W{k:02d}{i:04d},并发,男,1980-01-02,X0T0,科员,科员,乡镇党政副职"
                                             for i in range(300)])) for k in range(12)]
        before = scalar(own_db, "SELECT count(*) FROM cadre")
        ids = queue_imports(own_db, files)
        wait_until(lambda: all(j["state"] in ("succeeded", "failed") for j in job_rows(own_db, ids).values()),
                   300, "the twelve jobs")
    finally:
        codes = [stop(w) for w in workers]
    ended = job_rows(own_db, ids)
    assert codes == [0, 0], log.read_text(errors="replace")[-3000:]
    assert [(j["state"], j["attempts"], j["result"]) for j in ended.values()] == \
        [("succeeded", 1, {"created": 300, "updated": 0})] * 12
    assert scalar(own_db, "SELECT count(*) FROM cadre") == before + 3600
    assert scalar(own_db, "SELECT count(*) FROM audit_log WHERE table_name = 'cadre' AND action = 'update'") == 0
    by_worker = {j["claim"].rsplit(":", 1)[0] for j in ended.values()}
    assert len(by_worker) == 2, by_worker  # both took jobs from the one queue, none twice
    assert "Traceback" not in log.read_text(errors="replace")


def test_a_stopped_or_killed_worker_loses_no_job(own_db, tmp_path):
    """SIGTERM while the job checks its rows puts it back in the queue (nothing written);
    SIGKILL leaves it running without a heartbeat; the next worker queues it again at start
    (the dead process was of this host) and runs it to the end, exactly once."""
    count = 15_000
    path = big_cadre_file(tmp_path / "big.csv", count, "X0T0", prefix="R")
    before = scalar(own_db, "SELECT count(*) FROM cadre")
    (pk,) = queue_imports(own_db, [("big.csv", path.read_bytes())])
    log = tmp_path / "worker.log"

    seen = []

    def running_with_progress():  # claimed, still checking (a stop then comes before any write)
        job = job_rows(own_db, [pk])[pk]
        if not seen or seen[-1] != (job["state"], job["done"]):
            seen.append((job["state"], job["done"]))
        return job["state"] == "running" and job["done"] < count and job

    workers = [start_worker(own_db, log, env=FAST)]
    try:
        wait_until(running_with_progress, 120, lambda: f"the first worker's progress (seen: {seen})", every=0.02)
        assert stop(workers[0], signal.SIGTERM) == 0
        _second_and_third_workers(own_db, pk, count, before, log, workers, running_with_progress)
    finally:
        for worker in workers:
            stop(worker, signal.SIGKILL)


def _second_and_third_workers(own_db, pk, count, before, log, workers, running_with_progress):
    released = job_rows(own_db, [pk])[pk]
    assert (released["state"], released["attempts"], released["claim"]) == ("queued", 0, None), released
    assert "重新排队" in released["message"]
    assert scalar(own_db, "SELECT count(*) FROM cadre") == before

    workers.append(start_worker(own_db, log, env=FAST))
    taken = wait_until(running_with_progress, 120, "the second worker's progress", every=0.02)
    stop(workers[-1], signal.SIGKILL)
    assert job_rows(own_db, [pk])[pk]["state"] == "running"  # nobody left to say otherwise
    assert scalar(own_db, "SELECT count(*) FROM cadre") == before

    workers.append(start_worker(own_db, log, "--until-idle", env=FAST))
    assert workers[-1].wait(timeout=600) == 0, log.read_text(errors="replace")[-3000:]
    ended = job_rows(own_db, [pk])[pk]
    assert (ended["state"], ended["attempts"], ended["result"]) == \
        ("succeeded", 2, {"created": count, "updated": 0}), ended
    assert ended["claim"] != taken["claim"]
    assert scalar(own_db, "SELECT count(*) FROM cadre") == before + count
    assert scalar(own_db, "SELECT count(*) FROM audit_log WHERE table_name = 'cadre' AND action = 'update'") == 0
    assert "queued again" in log.read_text(errors="replace")


def test_a_big_cadre_upload_through_gunicorn_outlives_the_web_worker_timeout(own_db, tmp_path):
    """The headline: a real gunicorn whose workers are killed after JOBS_GUNICORN_TIMEOUT
    seconds (3) and a real worker process. The upload of a cadre file that takes the import far
    longer than that answers at once with the job's page, the job is polled to success and
    every row is in. On today's main the upload request itself imports, and gunicorn kills it.
    JOBS_UPLOAD_ROWS=150000 is the reliability run of docs/RELIABILITY.md."""
    count = int(os.environ.get("JOBS_UPLOAD_ROWS", "15000"))
    timeout = int(os.environ.get("JOBS_GUNICORN_TIMEOUT", "3"))
    path = big_cadre_file(tmp_path / "big.csv", count, "X0T0", prefix="G")
    before = scalar(own_db, "SELECT count(*) FROM cadre")
    with Gunicorn(own_db, tmp_path / "gunicorn.log", timeout=timeout) as server:
        worker = start_worker(own_db, tmp_path / "worker.log", env={"JOB_HEARTBEAT_SECONDS": "0.5"})
        try:
            browser = Browser(server.base)
            browser.login(STAFF_USER)
            started = time.monotonic()
            status, _body = browser.upload("/cadres/upload/", "big.csv", path.read_bytes())
            answered = time.monotonic() - started
            assert status == 302, (status, _body[:500])
            pk = int(re.search(r"/jobs/(\d+)$", browser.headers["Location"]).group(1))
            samples = []

            def finished():
                code, status = browser.json("GET", f"/jobs/{pk}/status")
                assert code == 200, (code, status)
                samples.append((round(time.monotonic() - started, 1), status["state"], status["percent"],
                                status["writing"]))
                return status["finished"] and status

            final = wait_until(finished, 1800, "the upload's job", every=0.5)
            elapsed = time.monotonic() - started
            page = browser.get(f"/jobs/{pk}")[1]
        finally:
            assert stop(worker) == 0
        log = Path(server.log).read_text(errors="replace")
    assert final["state"] == "succeeded", final
    assert f"导入成功：新增 {count} 条，更新 0 条" in page
    assert answered < timeout, answered
    assert elapsed > timeout, f"the import took {elapsed:.1f} s: too small to outlive the web worker's timeout"
    assert "WORKER TIMEOUT" not in log and "Traceback" not in log, log[-3000:]
    assert scalar(own_db, "SELECT count(*) FROM cadre") == before + count
    running = sorted({p for _, state, p, _w in samples if state == "running"})
    writing = [t for t, state, _p, w in samples if w]
    assert len(running) >= 2 and writing, samples  # the bar moved, then showed the write
    record(f"jobs-upload-{count}", {
        "rows": count, "file_mb": round(path.stat().st_size / 2**20, 1), "gunicorn_timeout_s": timeout,
        "upload_answered_s": round(answered, 2), "job_done_after_s": round(elapsed, 1),
        "percents_seen_while_running": running, "polls": len(samples),
        "writing_from_s_to_s": [writing[0], writing[-1]] if writing else None,
    })
