"""Generate a realistic city of N cadres for the benchmark (docs/PERFORMANCE.md).

The bulk tables (units, cadres, score sheets and their values, ballots, indicator scores,
adjustments, supervision) are written as plain tuples through app.bench.bulk, with ids
assigned here so that children can refer to parents without a round trip. The few rows that
carry rules (scheme, periods, accounts) go through the services, as an operator's would;
results come from the real compute().
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time

import click

from app.appeals import cells as figure_cells
from app.bench import BENCH_PASSWORD, CITY_CODE, PERIODS, bench_accounts
from app.bench.bulk import BulkWriter, analyze, drop_everything, fast_load_pragmas, is_empty
from app.bench.city import City
from app.bench.gen_appeals import appeals
from app.bench.gen_evaluation import evaluation_inputs
from app.bench.gen_party import party
from app.bench.gen_supervision import supervision
from app.core.errors import DomainError
from app.org.demo import COUNTIES, EDUCATIONS, GIVEN, SURNAMES, TOWN_SUFFIX, TOWN_WORDS, VILLAGE_WORDS

REFERENCE_CADRES = 50_000  # the city the issue describes; unit counts scale from it
DEPARTMENT_NAMES = (
    "组织部", "宣传部", "统战部", "政法委", "发展和改革委员会", "教育局", "公安局", "民政局", "财政局",
    "人力资源和社会保障局", "自然资源局", "生态环境局", "住房和城乡建设局", "交通运输局", "水利局",
    "农业农村局", "商务局", "文化广电和旅游局", "卫生健康委员会", "应急管理局",
)
SCHEME = {
    "name": "压测考评方案",
    "trim_min": 5,
    "dimensions": [{"name": n, "weight": w} for n, w in (("德", 0.2), ("能", 0.2), ("勤", 0.15), ("绩", 0.3),
                                                          ("廉", 0.15))],
    "rater_groups": [
        {"name": "组织评价", "kind": "scores", "weight": 0.4},
        {"name": "领导和同事评价", "kind": "scores", "weight": 0.3},
        {"name": "群众评价", "kind": "votes", "weight": 0.3,
         "points": {"优秀": 95, "称职": 85, "基本称职": 75, "不称职": 65}},
    ],
    "sanping_weight": 0.6,
    "indicators": [
        {"name": "项目建设实绩", "weight": 0.15, "source": "entered"},
        {"name": "基层治理实绩", "weight": 0.1, "source": "entered"},
        {"name": "督查实绩", "weight": 0.1, "source": "supervision"},
        {"name": "诉求办理实绩", "weight": 0.05, "source": "appeals"},
    ],
    "adjustment_cap": 5,
    "grades": {"excellent_min": 90, "excellent_quota": 0.2, "competent_min": 75, "basic_min": 60},
}


def generate(n_cadres: int, force: bool, echo=click.echo, seed: int = 2026) -> dict:
    """Fill the configured (empty, or wiped with force) database with a city of n_cadres cadres."""
    if n_cadres < 100:
        raise DomainError("干部数量至少为 100")
    started = time.perf_counter()
    _prepare_database(force, echo)
    rng = random.Random(seed)
    writer = BulkWriter(echo)
    fast_load_pragmas(True)
    try:
        city = _org_tree(writer, rng, n_cadres)
        _cadres(writer, rng, city, n_cadres)
        periods = _scheme_and_periods(echo)
        evaluation_inputs(writer, rng, city, periods)
        supervision(writer, rng, city, n_cadres / REFERENCE_CADRES)
        party(writer, rng, city)
        writer.fix_sequences(("org_unit", "cadre", "score_sheet", "supervision_task", "task_assignment",
                              "inspection", "finding", "party_org", "party_member"))
        _accounts(echo)
        appeals(writer, rng, city, n_cadres / REFERENCE_CADRES)
        step = time.perf_counter()
        figure_cells.rebuild_now()
        echo(f"  诉求统计格（按单位、日）：{time.perf_counter() - step:.1f} 秒")
        _compute_and_close(periods, echo)
        step = time.perf_counter()
        analyze()
        echo(f"  统计信息（ANALYZE）：{time.perf_counter() - step:.1f} 秒")
    finally:
        fast_load_pragmas(False)
    total = time.perf_counter() - started
    echo(f"生成完成：{n_cadres:,} 名干部，共 {sum(writer.counts.values()):,} 行批量数据，用时 {total:.0f} 秒")
    return {"cadres": n_cadres, "rows": writer.counts, "seconds": round(total, 1)}


def _prepare_database(force: bool, echo) -> None:
    """Refuse a database with data unless forced; then build the schema and roles (the `setup` step)."""
    from flask_migrate import upgrade

    from app.security.sync import sync_roles

    if not os.environ.get("DATABASE_URL"):
        raise DomainError("请用环境变量 DATABASE_URL 指定一个专用的压测数据库（不会写入默认的 instance/app.db）")
    if not is_empty():
        if not force:
            raise DomainError("数据库中已有数据，压测数据只能生成到空数据库；加 --force 将清空整个数据库后重新生成")
        echo("清空数据库（--force）…")
        drop_everything()
    step = time.perf_counter()
    upgrade()
    sync_roles()
    echo(f"  数据库结构与角色：{time.perf_counter() - step:.1f} 秒")


# ---------------------------------------------------------------- org tree and cadres


def _scaled(reference: int, scale: float, minimum: int) -> int:
    return max(minimum, round(reference * scale))


def _org_tree(writer: BulkWriter, rng: random.Random, n_cadres: int) -> City:
    """City, 10 counties, townships, villages and departments, sized after the reference city."""
    scale = n_cadres / REFERENCE_CADRES
    n_towns = _scaled(200, scale, len(COUNTIES))
    n_villages = _scaled(3500, scale, n_towns)
    n_depts = _scaled(20, scale, 2)
    city = City(by_kind={k: [] for k in ("city", "county", "township", "village", "department")})
    ids = iter(range(1, 10**7))

    def add(code, name, kind, parent, sort):
        uid = next(ids)
        path = (parent[5] if parent else "/") + f"{uid}/"
        row = (uid, code, name, kind, parent[0] if parent else None, path, sort)
        city.units.append(row)
        city.by_kind[kind].append(uid)
        city.unit_name[uid] = name
        city.county_of[uid] = (parent and city.county_of.get(parent[0])) or (uid if kind == "county" else None)
        return row

    top = add(CITY_CODE, "信阳市", "city", None, 0)
    for d in range(n_depts):
        add(f"{CITY_CODE}D{d + 1:02d}", "市委" + _dept_name(d), "department", top, d + 1)
    for c, (code, name) in enumerate(COUNTIES):
        county = add(code, name, "county", top, c + 1)
        towns = n_towns // len(COUNTIES) + (1 if c < n_towns % len(COUNTIES) else 0)
        for t in range(towns):
            words = rng.sample(TOWN_WORDS, 2)
            town = add(f"{code}T{t + 1:02d}", "".join(words) + rng.choice(TOWN_SUFFIX), "township", county, t + 1)
            global_t = len(city.by_kind["township"]) - 1
            per_town = n_villages // n_towns + (1 if global_t < n_villages % n_towns else 0)
            for v in range(per_town):
                add(f"{code}T{t + 1:02d}V{v + 1:02d}", "".join(rng.sample(VILLAGE_WORDS, 2)) + "村", "village", town,
                    v + 1)
        for d in range(n_depts):
            add(f"{code}D{d + 1:02d}", name + _dept_name(d), "department", county, 100 + d)
    writer.write("org_unit", ("id", "code", "name", "kind", "parent_id", "path", "sort_order", "active"),
                 (row + (True,) for row in city.units), label="单位")
    return city


def _dept_name(i: int) -> str:
    base = DEPARTMENT_NAMES[i % len(DEPARTMENT_NAMES)]
    return base if i < len(DEPARTMENT_NAMES) else f"{base}（{i // len(DEPARTMENT_NAMES) + 1}）"


# kind -> share of the cadres, (category of the first `heads` cadres of a unit, of the others)
CADRE_MIX = {
    "county": (0.01, 2, ("县区党政正职", "县委书记", "正处"), ("县区党政副职", "副县长", "副处")),
    "township": (0.32, 2, ("乡镇党政正职", "党委书记", "正科"), ("乡镇党政副职", "副乡镇长", "副科")),
    "department": (0.32, 1, ("县直部门正职", "局长", "正科"), ("县直部门副职", "副局长", "副科")),
    "village": (0.35, 1, ("村党组织书记", "村党支部书记", "村干部"), ("村党组织书记", "村两委委员", "村干部")),
}


def _cadres(writer: BulkWriter, rng: random.Random, city: City, n: int) -> None:
    """The register, spread over every unit kind, with two career records each and some rewards."""
    placements = []
    for kind, (share, heads, head, other) in CADRE_MIX.items():
        units = city.by_kind[kind] + (city.by_kind["city"] if kind == "county" else [])
        count = n - len(placements) if kind == "village" else round(n * share)
        for j in range(count):
            placements.append((units[j % len(units)], j // len(units) < heads, head, other))
    rng.shuffle(placements)
    city.quality = [0.0]
    rows = []
    for cid, (unit_id, is_head, head, other) in enumerate(placements, start=1):
        category, position, rank = head if is_head else other
        city.cadres_of.setdefault(unit_id, []).append(cid)
        city.quality.append(min(97.0, max(62.0, rng.gauss(84, 6))))
        birth = dt.date(rng.randint(1966, 1995), rng.randint(1, 12), rng.randint(1, 28))
        rows.append((
            cid, f"XY{cid:06d}", rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2)))),
            rng.choice(("男", "男", "女")), "汉族" if rng.random() < 0.9 else "回族", birth.isoformat(),
            "河南" + rng.choice(("信阳", "驻马店", "南阳", "周口", "郑州")),
            dt.date(min(birth.year + 22, 2020), rng.randint(1, 12), 1).isoformat(), rng.choice(EDUCATIONS),
            unit_id, position, rank, category, dt.date(rng.randint(2016, 2024), rng.randint(1, 12), 1).isoformat(),
            "在职", f"139{rng.randint(10000000, 99999999)}", 1,
        ))
    writer.write("cadre", ("id", "code", "name", "gender", "ethnicity", "birth_date", "native_place",
                           "party_join_date", "education", "org_unit_id", "position", "rank", "post_category",
                           "position_start", "status", "phone", "version"), rows, label="干部")
    careers, rewards = [], []
    for row in rows:
        cid, start = row[0], dt.date.fromisoformat(row[13])
        prior = dt.date(start.year - rng.randint(3, 6), start.month, 1)
        careers.append((cid, prior.isoformat(), start.isoformat(), "乡镇党政办", rng.choice(("主任", "副主任", "科员"))))
        careers.append((cid, start.isoformat(), None, city.unit_name[row[9]], row[10]))
        r = rng.random()
        if r < 0.25:
            rewards.append((cid, "奖励", f"{rng.randint(2019, 2025)}-06-30", rng.choice(("年度考核优秀", "市级先进个人")),
                            "中共信阳市委"))
        elif r < 0.29:
            rewards.append((cid, "惩戒", f"{rng.randint(2019, 2025)}-03-15", "诫勉谈话", "县纪委监委"))
    writer.write("career_record", ("cadre_id", "start_date", "end_date", "unit_name", "position"), careers,
                 label="任职经历")
    writer.write("reward_penalty", ("cadre_id", "kind", "date", "title", "issuer"), rewards, label="奖惩")


# ---------------------------------------------------------------- scheme, periods, accounts, results


def _scheme_and_periods(echo) -> list[dict]:
    """The scheme and the three yearly periods, through the evaluation services; opened for scoring."""
    from app.evaluation import periods as evaluation

    scheme, _ = evaluation.import_scheme(SCHEME, user=None)
    out, previous = [], None
    for code, name, year in PERIODS:
        period = evaluation.create_period(code, name, "年度", scheme.name, dt.date(year, 1, 1),
                                          dt.date(year, 12, 31), previous, user=None)
        evaluation.open_period(code, user=None)
        out.append({"id": period.id, "code": code, "year": year})
        previous = code
    groups = {g.name: g.id for g in scheme.rater_groups}
    for p in out:
        p.update(
            score_groups=[groups["组织评价"], groups["领导和同事评价"]],
            votes_group=groups["群众评价"],
            dimensions=[d.id for d in scheme.dimensions],
            entered=[i.id for i in scheme.indicators if i.source == "entered"],
        )
    echo(f"  考评方案与考评期：{', '.join(p['code'] for p in out)}")
    return out


def _accounts(echo) -> None:
    from app.org.users import create_user

    for username, role, unit_code, display in bench_accounts():
        create_user(username, BENCH_PASSWORD, role, unit_code, None, display)
    echo(f"  压测账号：{len(bench_accounts())} 个（密码 {BENCH_PASSWORD}）")


def _compute_and_close(periods: list[dict], echo) -> None:
    """Compute every period in order (so that deltas exist); publish all but the last, lock the last."""
    from app.evaluation import periods as evaluation
    from app.evaluation.compute import compute

    for i, p in enumerate(periods):
        step = time.perf_counter()
        result = compute(p["code"])
        evaluation.lock_period(p["code"], user=None)
        if i < len(periods) - 1:
            evaluation.publish_period(p["code"], user=None)
        echo(f"  计算 {p['code']}：{result['results']:,} 个结果，{time.perf_counter() - step:.1f} 秒")
