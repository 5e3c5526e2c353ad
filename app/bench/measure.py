"""Measure the configured (generated) database against the targets of docs/PERFORMANCE.md.

- compute(): one period's results, against the floor of one bare SQL GROUP BY over the same
  sheets; statements issued by compute (constant whatever the size).
- pages through the real WSGI app (Flask test client, one client): p50/p95 latency, SQL
  queries per request, HTML bytes; for a city user and a county user.
- requests per second under gunicorn (2 workers, 8 client threads) and the workers' RSS.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import time
from pathlib import Path

from flask import current_app
from sqlalchemy import delete, event, func, select, text

from app.bench import BENCH_PASSWORD, COMPUTED_PERIOD, COUNTY_CODE, PERIODS, account
from app.bench.targets import evaluate, render_table  # noqa: F401  (render_table: for the CLI)
from app.core.errors import DomainError
from app.extensions import db
from app.models import Cadre, EvaluationPeriod, EvaluationResult, OrgUnit, ScoreSheet, SheetScore
from app.security import roles as R

FLOOR_SQL = (
    "SELECT s.cadre_id, s.group_id, v.dimension_id, COUNT(v.value), SUM(v.value), MAX(v.value), MIN(v.value) "
    "FROM sheet_score v JOIN score_sheet s ON v.sheet_id = s.id WHERE s.period_id = :p "
    "GROUP BY s.cadre_id, s.group_id, v.dimension_id"
)
LEVELS = ("city", "county")
NOT_AVAILABLE = "not available"


class QueryCounter:
    """Counts statements sent to the database while active: DBAPI round trips by default, or
    logical statements (`before_execute`: a bulk insert split into batches counts once)."""

    def __init__(self, event_name: str = "before_cursor_execute"):
        self.count = 0
        self.event_name = event_name

    def _hit(self, *args, **kwargs):
        self.count += 1

    def __enter__(self):
        self.count = 0
        event.listen(db.engine, self.event_name, self._hit)
        return self

    def __exit__(self, *exc):
        event.remove(db.engine, self.event_name, self._hit)


def measure(pages_only: bool = False, http: bool = True, repeat: int = 40, seconds: float = 10.0,
            baseline: dict | None = None) -> dict:
    """Run every measurement; returns the JSON-able report with PASS/FAIL checks."""
    subject = _subject()
    report = {"meta": _meta(subject), "compute": None, "pages": [], "throughput": [], "memory": None}
    if not pages_only:
        report["compute"] = measure_compute(subject["period_id"])
    report["maintenance"] = settle()
    report["pages"] = measure_pages(subject, repeat)
    report["appeals"] = measure_appeals(repeat)
    report["party"] = measure_party_structure(max(3, repeat // 4))
    if http and not pages_only:
        report["throughput"], report["memory"] = measure_throughput(subject, seconds)
    report["checks"] = evaluate(report, baseline)
    return report


def _subject() -> dict:
    """The bench data this run needs: the period, the county and one of its cadres."""
    period = db.session.scalar(select(EvaluationPeriod).where(EvaluationPeriod.code == COMPUTED_PERIOD))
    county = db.session.scalar(select(OrgUnit).where(OrgUnit.code == COUNTY_CODE))
    if period is None or county is None or current_app.appbuilder.sm.find_user(account(R.STAFF, "city")) is None:
        raise DomainError("未找到压测数据，请先运行：flask --app run bench --generate --cadres N --force")
    in_county = select(OrgUnit.id).where(OrgUnit.path.startswith(county.path))
    history = (
        select(EvaluationResult.cadre_id)
        .group_by(EvaluationResult.cadre_id)
        .having(func.count() >= len(PERIODS))
        .where(EvaluationResult.cadre_id.in_(select(Cadre.id).where(Cadre.org_unit_id.in_(in_county))))
        .order_by(EvaluationResult.cadre_id)
        .limit(1)
    )
    cadre = db.session.get(Cadre, db.session.scalar(history))
    if cadre is None:
        raise DomainError("压测数据不完整：该县没有三期考评结果齐全的干部，请重新生成")
    return {"period_id": period.id, "county": county.code, "cadre_id": cadre.id, "cadre_code": cadre.code}


def _meta(subject: dict) -> dict:
    count = lambda stmt: db.session.scalar(stmt)  # noqa: E731
    sheets = count(select(func.count()).select_from(ScoreSheet).where(ScoreSheet.period_id == subject["period_id"]))
    return {
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "database": db.engine.dialect.name,
        "database_url": db.engine.url.render_as_string(hide_password=True),
        "cadres": count(select(func.count()).select_from(Cadre)),
        "period": COMPUTED_PERIOD,
        "period_sheets": sheets,
        "all_sheet_values": count(select(func.count()).select_from(SheetScore)),
        "tasks": count(text("SELECT COUNT(*) FROM supervision_task")),
        "findings": count(text("SELECT COUNT(*) FROM finding")),
        "appeals": count(text("SELECT COUNT(*) FROM appeal")),
        "machine": machine(),
        "subject": subject,
    }


def machine() -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    mem = re.search(r"^MemTotal:\s+(\d+) kB", meminfo, re.M)
    return {
        "nproc": os.cpu_count(),
        "cpu": model.group(1).strip() if model else platform.processor(),
        "ram_gb": round(int(mem.group(1)) / 1024 / 1024, 1) if mem else None,
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],  # other work on the machine inflates latencies
    }


# ---------------------------------------------------------------- compute vs floor


def measure_compute(period_id: int, runs: int = 2) -> dict:
    """Best of `runs` for compute() and for the bare GROUP BY (run alternately, warm cache)."""
    from app.evaluation.compute import compute

    floors, computes, statements = [], [], 0
    for _ in range(runs):
        db.session.commit()
        start = time.perf_counter()
        rows = len(db.session.execute(text(FLOOR_SQL), {"p": period_id}).all())
        floors.append(time.perf_counter() - start)
        db.session.commit()
        with QueryCounter("before_execute") as counter:
            start = time.perf_counter()
            results = compute(COMPUTED_PERIOD)["results"]
            computes.append(time.perf_counter() - start)
        statements = counter.count
    floor, best = min(floors), min(computes)
    return {
        "compute_s": round(best, 3),
        "compute_runs_s": [round(x, 3) for x in computes],
        "floor_s": round(floor, 3),
        "floor_runs_s": [round(x, 3) for x in floors],
        "ratio": round(best / floor, 2) if floor else None,
        "results": results,
        "aggregate_rows": rows,
        "statements": statements,
    }


def settle() -> dict:
    """Bring the database to the state its own maintenance keeps it in before pages are timed.

    A recompute replaces 50,000 result rows; PostgreSQL's autovacuum (checking every minute,
    past 20 % dead rows) then vacuums the table, and index-only scans (the results screen's
    count) need that visibility map. The benchmark runs the same VACUUM (ANALYZE) at once
    rather than wait for it; on SQLite there is nothing to do."""
    if db.engine.dialect.name != "postgresql":
        return {"vacuum_s": None}
    db.session.commit()
    start = time.perf_counter()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) evaluation_result"))
    return {"vacuum_s": round(time.perf_counter() - start, 3)}


# ---------------------------------------------------------------- pages (single client)


def page_specs(subject: dict) -> list[dict]:
    """The measured pages: key, label, role, URL (None when the screen does not exist yet)."""
    county, cadre_id = subject["county"], subject["cadre_id"]
    sheets = _discover(lambda r: r == "/scoresheets/list/")
    if sheets:  # one cadre's sheets of every period (?cadre=<id>, as the screen's cadre picker sends it)
        sheets = f"{sheets[0]}?cadre={cadre_id}"
    tasks = _discover(lambda r: r == "/tasks/list/")
    specs = [
        ("cadre_list", "干部名册 cadre list", R.STAFF,
         f"/cadres/list/?unit={county}&_oc_CadreView=name&_od_CadreView=asc"),
        ("sheet_list", "评分表（单个干部）score sheets of one cadre", R.STAFF, sheets or None),
        ("task_list_red", "督查事项（红灯）tasks, red", R.SUPERVISOR, f"{tasks[0]}?light=red" if tasks else None),
        ("result_list", "考评结果 results", R.STAFF, "/results/list/" if _discover(lambda r: r == "/results/list/") else None),
        ("profile", "干部特写（三期）profile", R.STAFF,
         f"/cadre-profile/{cadre_id}" if _discover(lambda r: r == "/cadre-profile/<int:id>") else None),
        ("dashboard", "领导看板 dashboard", R.LEADER, "/dashboard/" if _discover(lambda r: r == "/dashboard/") else None),
        # the user's own unit: the whole city for the city account, the county for the county's
        ("party_structure", "党员结构分析 party structure", R.LEADER,
         "/party/structure" if _discover(lambda r: r == "/party/structure") else None),
        ("party_structure_json", "党员结构分析 JSON", R.LEADER,
         "/party/structure.json" if _discover(lambda r: r == "/party/structure.json") else None),
        *appeal_specs(),
    ]
    return [dict(key=k, label=label, role=role, url=url, api=url is not None and url.startswith("/api/"))
            for k, label, role, url in specs]


def appeal_specs() -> list[tuple]:
    """The appeals' lists and figures: the screens when they exist (the appeal list stands in
    as the REST list until then; the others are "not available"). The figures page covers a
    whole year of the user's own unit (the city, the county)."""
    today = dt.date.today()
    span = f"date_from={today - dt.timedelta(days=365)}&date_to={today}"

    def screen(rule, fallback):
        return rule if _discover(lambda r: r == rule) else fallback

    return [
        ("appeal_list", "诉求清单 appeal list", R.DISPATCHER, screen("/appeals/", "/api/v1/appeals/")),
        ("appeal_todo", "诉求待办 appeal to-do", R.LIAISON, screen("/appeals/todo/", None)),
        ("whistle_queue", "吹哨队列 whistle queue", R.LEADER, screen("/appeals/whistles/", None)),
        ("appeal_figures", "诉求办理统计（一年）appeal figures", R.STAFF,
         f"/appeals/figures/?{span}" if _discover(lambda r: r == "/appeals/figures/") else None),
    ]


def _discover(match) -> tuple[str, str] | None:
    """(rule, endpoint) of the shortest GET route whose rule matches, from app.url_map."""
    rules = sorted((r for r in current_app.url_map.iter_rules() if "GET" in r.methods and match(r.rule)),
                   key=lambda r: len(r.rule))
    return (rules[0].rule, rules[0].endpoint) if rules else None


def _request(client, method: str, url: str, **kwargs):
    """One request in an app context of its own, as under a server.

    The CLI command runs inside an app context, and Flask reuses an active one for a
    request: `g` (the user, the cached scope, the CSRF token) would leak between requests.
    """
    with current_app.app_context():
        return client.open(url, method=method, **kwargs)


def logged_in_client(username: str):
    """A Flask test client logged in through the real form (with its CSRF token)."""
    client = current_app.test_client()
    html = _request(client, "GET", "/login/").get_data(as_text=True)
    from app.bench.http_load import CSRF

    form = {"username": username, "password": BENCH_PASSWORD}
    match = CSRF.search(html)
    if match:
        form["csrf_token"] = match.group(1) or match.group(2)
    response = _request(client, "POST", "/login/", data=form)
    if response.status_code != 302 or "/login" in response.headers.get("Location", ""):
        raise DomainError(f"压测账号 {username} 登录失败（{response.status_code}）")
    return client


def measure_pages(subject: dict, repeat: int) -> list[dict]:
    # A dozen bench accounts log in within a minute (pages and API tokens): more than the
    # per-address login limit allows a stranger; the benchmark's own logins are not throttled.
    limited = current_app.config.get("AUTH_RATE_LIMITED")
    current_app.config["AUTH_RATE_LIMITED"] = False
    try:
        return _measure_pages(subject, repeat)
    finally:
        current_app.config["AUTH_RATE_LIMITED"] = limited


def _measure_pages(subject: dict, repeat: int) -> list[dict]:
    out = []
    clients: dict[str, object] = {}
    db.session.commit()
    for spec in page_specs(subject):
        for level in LEVELS:
            row = {**spec, "level": level, "user": account(spec["role"], level)}
            if spec["url"] is None:
                out.append({**row, "status": NOT_AVAILABLE})
                continue
            client = clients.get(row["user"]) or clients.setdefault(row["user"], logged_in_client(row["user"]))
            headers = _token(client, row["user"]) if spec.get("api") else None
            out.append({**row, **_time_page(client, spec["url"], repeat, headers)})
    return out


def _token(client, username: str) -> dict:
    """A JWT for the REST endpoints (they take no session cookie)."""
    answer = _request(client, "POST", "/api/v1/security/login",
                      json={"username": username, "password": BENCH_PASSWORD, "provider": "db"})
    if answer.status_code != 200:
        raise DomainError(f"压测账号 {username} 获取接口令牌失败（{answer.status_code}）")
    return {"Authorization": f"Bearer {answer.get_json()['access_token']}"}


def _time_page(client, url: str, repeat: int, headers: dict | None = None) -> dict:
    kwargs = {"headers": headers} if headers else {}
    for _ in range(3):  # warm caches (templates, permissions, the database's pages)
        _request(client, "GET", url, **kwargs)
    times, counts, statuses, size = [], [], set(), 0
    for _ in range(repeat):
        with QueryCounter() as counter:
            start = time.perf_counter()
            response = _request(client, "GET", url, **kwargs)
            body = response.get_data()
            times.append(time.perf_counter() - start)
        counts.append(counter.count)
        statuses.add(response.status_code)
        size = len(body)
    times.sort()
    return {
        "status": statuses.pop() if len(statuses) == 1 else sorted(statuses),
        "requests": repeat,
        "p50_ms": round(times[len(times) // 2] * 1000, 1),
        "p95_ms": round(times[min(len(times) - 1, int(len(times) * 0.95))] * 1000, 1),
        "queries": max(counts),
        "queries_min": min(counts),
        "html_bytes": size,
    }


# ---------------------------------------------------------------- party: 结构分析, its three paths


def measure_party_structure(repeat: int) -> dict | None:
    """The structure figures (app/party/structure.structure) for the city and the county
    user's unit along their three paths: a day never asked about (every member counted, what
    the first reader of a new day or of a past date waits for), a kept day (the page's usual
    path: the cells summed), and a kept day right after one member changed (that unit counted
    again for every kept day; the change itself not timed)."""
    from app.models import PartyMember
    from app.party.models import PartyStructureCell, PartyStructureDay
    from app.party.structure import structure

    if not db.session.scalar(select(func.count()).select_from(PartyMember)):
        return None
    members = db.session.scalars(select(PartyMember.id).order_by(PartyMember.id).limit(repeat)).all()
    out = []
    for level in LEVELS:
        user = current_app.appbuilder.sm.find_user(account(R.LEADER, level))
        unit = db.session.get(OrgUnit, user.org_unit_id)
        paths: dict[str, list[float]] = {"new_day": [], "kept": [], "after_change": []}
        for i in range(repeat):
            as_of = dt.date.today() - dt.timedelta(days=400 + i)  # forgotten first: counted whole
            db.session.execute(delete(PartyStructureCell.__table__).where(PartyStructureCell.as_of == as_of))
            db.session.execute(delete(PartyStructureDay.__table__).where(PartyStructureDay.as_of == as_of))
            db.session.commit()
            began = time.perf_counter()
            structure(unit, as_of)
            paths["new_day"].append(time.perf_counter() - began)
        today = dt.date.today()
        structure(unit, today)
        for _ in range(repeat):
            began = time.perf_counter()
            data = structure(unit, today)
            paths["kept"].append(time.perf_counter() - began)
        for member_id in members:
            db.session.execute(text("UPDATE party_member SET flowing = flowing WHERE id = :id"), {"id": member_id})
            db.session.commit()
            began = time.perf_counter()
            structure(unit, today)
            paths["after_change"].append(time.perf_counter() - began)
        row = {"level": level, "unit": unit.code, "members": data["total"], "runs": repeat}
        for path, times in paths.items():
            times.sort()
            row[f"{path}_p50_ms"] = round(times[len(times) // 2] * 1000, 1)
            row[f"{path}_max_ms"] = round(times[-1] * 1000, 1)
        out.append(row)
    return {"structure": out}


# ---------------------------------------------------------------- appeals: the figures service, the 12345 import


HOTLINE_ROWS = 10_000


def measure_appeals(repeat: int) -> dict | None:
    """The figures service over a whole year for the city and the county user (what the figures
    page asks), and a 10,000-row hotline import (removed again after it is timed)."""
    from app.models import Appeal

    if not db.session.scalar(select(func.count()).select_from(Appeal)):
        return None
    return {"figures": [_time_figures(level, max(3, repeat // 4)) for level in LEVELS],
            "hotline_import": measure_hotline_import()}


def _time_figures(level: str, repeat: int) -> dict:
    from app.appeals import services as S

    user = current_app.appbuilder.sm.find_user(account(R.STAFF, level))
    today = dt.date.today()
    start = today - dt.timedelta(days=365)
    S.figures(user, user.org_unit_id, start, today)  # warm
    times, queries = [], 0
    for _ in range(repeat):
        db.session.commit()
        with QueryCounter() as counter:
            began = time.perf_counter()
            result = S.figures(user, user.org_unit_id, start, today)
            times.append(time.perf_counter() - began)
        queries = counter.count
    times.sort()
    return {"level": level, "unit": result["code"], "received": result["received"], "runs": repeat,
            "p50_ms": round(times[len(times) // 2] * 1000, 1), "max_ms": round(times[-1] * 1000, 1),
            "queries": queries}


def hotline_file(rows: int, tag: str) -> bytes:
    """A 12345 file of `rows` work orders on the city's grids and catalogue."""
    from app.appeals.hotline import HEADER
    from app.core.tabular import write_csv
    from app.models import AppealCategory

    grids = db.session.scalars(select(OrgUnit.code).where(OrgUnit.kind == "grid").order_by(OrgUnit.id).limit(500)).all()
    categories = db.session.scalars(select(AppealCategory.name).order_by(AppealCategory.id)).all() or ["其他事项"]
    if not grids:
        raise DomainError("压测数据中没有网格，请重新生成")
    when = (dt.datetime.now() - dt.timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S")
    body = [[f"{tag}-{i:06d}", when, "压测", "13800000000", categories[i % len(categories)], "压测工单内容",
             grids[i % len(grids)], ("一般", "紧急", "复杂")[i % 3]] for i in range(rows)]
    return write_csv(HEADER, body)


def measure_hotline_import(rows: int = HOTLINE_ROWS) -> dict:
    """Import `rows` new work orders as the city's dispatcher (seconds, statements), then
    remove them, so that runs do not pile up appeals."""
    import uuid

    from app.appeals.hotline import SOURCE, import_hotline
    from app.models import Appeal, AppealEvent

    tag = "BENCH-" + uuid.uuid4().hex[:8]
    data = hotline_file(rows, tag)
    user = current_app.appbuilder.sm.find_user(account(R.DISPATCHER, "city"))
    db.session.commit()
    with QueryCounter("before_execute") as counter:
        began = time.perf_counter()
        counts = import_hotline(data, "bench.csv", user=user)
        seconds = time.perf_counter() - began
    made = select(Appeal.id).where(Appeal.source == SOURCE, Appeal.external_number.startswith(tag + "-"))
    db.session.execute(AppealEvent.__table__.delete().where(AppealEvent.appeal_id.in_(made)))
    db.session.execute(Appeal.__table__.delete().where(Appeal.source == SOURCE,
                                                       Appeal.external_number.startswith(tag + "-")))
    db.session.commit()
    return {"rows": rows, "created": counts["created"], "seconds": round(seconds, 2), "statements": counter.count}


# ---------------------------------------------------------------- gunicorn


def measure_throughput(subject: dict, seconds: float) -> tuple[list[dict], dict | None]:
    """Requests per second for the cadre list and the profile; worker RSS after the run."""
    from app.bench.http_load import Server, load, login

    specs = {s["key"]: s for s in page_specs(subject)}
    wanted = [specs["cadre_list"], specs["profile"]]
    server = Server(current_app.config["SECRET_KEY"])
    out, memory = [], None
    try:
        server.wait_ready()
        jar = login(server.port, account(R.STAFF, "city"), BENCH_PASSWORD)
        for spec in wanted:
            if spec["url"] is None:
                out.append({"key": spec["key"], "label": spec["label"], "status": NOT_AVAILABLE})
                continue
            load(server.port, spec["url"], jar, threads=2, seconds=2, max_requests=20)  # warm both workers
            out.append({"key": spec["key"], "label": spec["label"], **load(server.port, spec["url"], jar,
                                                                          seconds=seconds)})
        rss = server.worker_rss_mb()
        memory = {"worker_rss_mb": rss, "max_mb": max(rss) if rss else None}
    finally:
        server.stop()
    return out, memory
