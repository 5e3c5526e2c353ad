"""Evaluation inputs of the generated city: score sheets with their values, ballots, entered
indicator scores and adjustments, for every period."""

from __future__ import annotations

import random
import time

from app.bench.bulk import BulkWriter
from app.bench.city import SHEETS_PER_CADRE, City

CADRES_PER_CHUNK = 2_500  # 50,000 sheets and 250,000 values per write
VOTERS = 30
SHEET_COLUMNS = ("id", "period_id", "cadre_id", "group_id", "version")
SCORE_COLUMNS = ("sheet_id", "dimension_id", "value")


def evaluation_inputs(writer: BulkWriter, rng: random.Random, city: City, periods: list[dict]) -> None:
    sheet_id = 0
    for p in periods:
        step = time.perf_counter()
        drift = {cid: rng.gauss(0, 2) for cid in range(1, city.cadre_count + 1)}
        sheets = values = 0
        for first in range(1, city.cadre_count + 1, CADRES_PER_CHUNK):
            cadres = range(first, min(first + CADRES_PER_CHUNK, city.cadre_count + 1))
            sheet_rows, score_rows = _sheets(rng, city, p, cadres, drift, sheet_id)
            sheet_id += len(sheet_rows)
            sheets += writer.write("score_sheet", SHEET_COLUMNS, sheet_rows, quiet=True)
            values += writer.write("sheet_score", SCORE_COLUMNS, score_rows, quiet=True)
        writer.echo(f"  {p['code']} 评分表：{sheets:,} 张，分值 {values:,} 行，{time.perf_counter() - step:.1f} 秒")
        writer.write("ballot", ("period_id", "cadre_id", "group_id", "excellent", "competent", "basic", "incompetent",
                                "unknown"), _ballots(rng, city, p, drift), label=f"{p['code']} 民主测评票")
        writer.write("indicator_score", ("period_id", "cadre_id", "indicator_id", "score"),
                     _indicators(rng, city, p, drift), label=f"{p['code']} 实绩指标")
        writer.write("adjustment", ("period_id", "cadre_id", "kind", "value", "reason", "status", "proposed_by",
                                    "approved_by"), _adjustments(rng, city, p), label=f"{p['code']} 加减分")


def _sheets(rng, city: City, p: dict, cadres, drift, last_id: int) -> tuple[list, list]:
    """SHEETS_PER_CADRE sheets per cadre (half per score group), 5 values each around the cadre's level."""
    gauss = rng.gauss
    period_id, (g1, g2), dims = p["id"], p["score_groups"], p["dimensions"]
    half = SHEETS_PER_CADRE // 2
    offsets = [(d, rng.uniform(-2, 2)) for d in dims]
    sheets, scores = [], []
    sid = last_id
    for cid in cadres:
        level = city.quality[cid] + drift[cid]
        for s in range(SHEETS_PER_CADRE):
            sid += 1
            sheets.append((sid, period_id, cid, g1 if s < half else g2, 1))
            lenient = gauss(0, 3)
            for did, off in offsets:
                v = level + off + lenient + gauss(0, 2.5)
                scores.append((sid, did, 100.0 if v > 100 else (40.0 if v < 40 else round(v, 1))))
    return sheets, scores


def _ballots(rng, city: City, p: dict, drift):
    for cid in range(1, city.cadre_count + 1):
        level = city.quality[cid] + drift[cid]
        share = min(0.9, max(0.05, (level - 72) / 25))
        excellent = sum(rng.random() < share for _ in range(VOTERS))
        basic = rng.randint(0, 2)
        incompetent = 1 if rng.random() < 0.05 else 0
        unknown = rng.randint(0, 1)
        competent = max(0, VOTERS - excellent - basic - incompetent - unknown)
        yield (p["id"], cid, p["votes_group"], excellent, competent, basic, incompetent, unknown)


def _indicators(rng, city: City, p: dict, drift):
    for cid in range(1, city.cadre_count + 1):
        for iid in p["entered"]:
            yield (p["id"], cid, iid, round(min(100.0, max(50.0, city.quality[cid] + drift[cid] + rng.gauss(0, 5))), 1))


def _adjustments(rng, city: City, p: dict):
    """About 3% of the cadres: mostly approved bonuses and deductions, some pending, a rare veto."""
    for cid in rng.sample(range(1, city.cadre_count + 1), max(1, city.cadre_count * 3 // 100)):
        r = rng.random()
        if r < 0.55:
            row = ("加分", float(rng.randint(1, 3)), "市级表彰", "approved")
        elif r < 0.85:
            row = ("减分", -float(rng.randint(1, 2)), "督查通报", "approved")
        elif r < 0.99:
            row = ("加分", 1.0, "待审批的表彰", "proposed")
        else:
            row = ("一票否决", 0.0, "违反廉洁纪律", "approved")
        kind, value, reason, status = row
        yield (p["id"], cid, kind, value, reason, status, "bench_staff_city",
               "bench_staff_county" if status == "approved" else None)
