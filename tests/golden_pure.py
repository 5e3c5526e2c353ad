"""Golden case glue for the pure scoring tests: CSV/JSON in, export rows out, no database.

The aggregates built here (n, sum, max, min per cadre/group/dimension; vote counts; indicator
scores; adjustment sums; veto and 不定等次 flags) are what the set-based SQL of the compute
service hands to app.scoring.
"""

from __future__ import annotations

import csv
import json
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from app.evaluation import scoring
from app.evaluation.scoring import DimensionAggregate, SchemeRules, Standing

FIXED_HEAD = ["干部编号", "姓名", "岗位类别", "三评得分"]
FIXED_TAIL = ["调整分", "综合得分", "排名", "同类人数", "较上期", "等次"]
SHEET_KEYS = ("干部编号", "评价组")


def golden_dir() -> Path:
    """Return the golden case directory: tests/data/golden/case1, kept in the repository so a
    clone is self-contained (GOLDEN_DIR may point at another case directory)."""
    default = Path(__file__).resolve().parent / "data" / "golden" / "case1"
    case = Path(os.environ.get("GOLDEN_DIR") or default)
    if not (case / "scheme.json").is_file():
        raise FileNotFoundError(f"golden case not found at {case}: the suite needs it (no test skips for it)")
    return case


def read_csv(path: Path) -> list[dict[str, str]]:
    """Read a UTF-8 CSV (BOM tolerated) into dict rows."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def read_header(path: Path) -> list[str]:
    """Return the header row of a CSV."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return next(csv.reader(fh))


def load_rules(case: Path) -> SchemeRules:
    """Read scheme.json into SchemeRules."""
    return SchemeRules.from_json(json.loads((case / "scheme.json").read_text(encoding="utf-8")))


def load_periods(case: Path) -> list[dict]:
    """Read periods.json, in order."""
    return json.loads((case / "periods.json").read_text(encoding="utf-8"))


def export_columns(rules: SchemeRules) -> list[str]:
    """Return the result export header of DESIGN.md section 7."""
    entered = [i.name for i in rules.indicators if i.source == "entered"]
    return FIXED_HEAD + entered + FIXED_TAIL


@dataclass
class CadreInputs:
    """One cadre's aggregated inputs in one period."""

    sheets: dict[tuple[str, str], list[float]] = field(default_factory=dict)  # n, sum, max, min
    votes: dict[str, dict[str, int]] = field(default_factory=dict)
    indicators: dict[str, float] = field(default_factory=dict)
    additions: list[float] = field(default_factory=list)
    deductions: list[float] = field(default_factory=list)
    veto: bool = False
    undetermined: bool = False
    has_input: bool = False


def aggregate_period(period_dir: Path) -> dict[str, CadreInputs]:
    """Build the per-cadre aggregates of one period from its four CSV files."""
    inputs: dict[str, CadreInputs] = defaultdict(CadreInputs)
    for row in read_csv(period_dir / "sheets.csv"):
        cadre = inputs[row["干部编号"]]
        cadre.has_input = True
        for dim, cell in row.items():
            if dim not in SHEET_KEYS:
                _add_value(cadre.sheets, (row["评价组"], dim), float(cell))
    for row in read_csv(period_dir / "ballots.csv"):
        cadre = inputs[row["干部编号"]]
        cadre.has_input = True
        counts = {k: int(v) for k, v in row.items() if k not in SHEET_KEYS}
        cadre.votes[row["评价组"]] = counts
    for row in read_csv(period_dir / "indicators.csv"):
        cadre = inputs[row["干部编号"]]
        cadre.has_input = True
        cadre.indicators[row["指标"]] = float(row["得分"])
    for row in read_csv(period_dir / "adjustments.csv"):
        _add_adjustment(inputs[row["干部编号"]], row["类型"], float(row["分值"] or 0))
    return {code: c for code, c in inputs.items() if c.has_input}


def _add_value(aggs: dict, key: tuple[str, str], value: float) -> None:
    """Fold one sheet value into the (n, sum, max, min) aggregate of its key."""
    agg = aggs.get(key)
    if agg is None:
        aggs[key] = [1, value, value, value]
    else:
        aggs[key] = [agg[0] + 1, agg[1] + value, max(agg[2], value), min(agg[3], value)]


def _add_adjustment(cadre: CadreInputs, kind: str, value: float) -> None:
    """Record one approved adjustment."""
    if kind == "加分":
        cadre.additions.append(value)
    elif kind == "减分":
        cadre.deductions.append(value)
    elif kind == "一票否决":
        cadre.veto = True
    elif kind == "不定等次":
        cadre.undetermined = True
    else:
        raise ValueError(f"unknown adjustment type {kind}")


def indicator_values(cadre: CadreInputs, rules: SchemeRules) -> dict[str, float | None]:
    """Return entered scores, and 100 for a supervision indicator (the case has no tasks)."""
    values: dict[str, float | None] = {}
    for ind in rules.indicators:
        if ind.source == "supervision":
            values[ind.name] = scoring.supervision_indicator(0, 0, 0, 0, 0, rules.penalties)
        else:
            values[ind.name] = cadre.indicators.get(ind.name)
    return values


def compute_period(case: Path, period: dict, previous: dict[str, dict] | None) -> list[dict]:
    """Return the export rows of one period, ordered by 干部编号; values are plain Python."""
    rules = load_rules(case)
    register = {r["干部编号"]: r for r in read_csv(case / "cadres.csv")}
    inputs = aggregate_period(case / period["code"])
    scores = {code: _score(c, rules) for code, c in inputs.items()}
    standings = _standings(inputs, scores, register, rules)
    rows = []
    for code in sorted(inputs):
        s = scores[code]
        rank, count, _pct, grade = standings[code]
        prev = (previous or {}).get(code)
        row = {"干部编号": code, "姓名": register[code]["姓名"], "岗位类别": register[code]["岗位类别"]}
        row["三评得分"] = _r(s.sanping)
        entered = [i.name for i in rules.indicators if i.source == "entered"]
        row.update({name: _r(s.indicators[name]) for name in entered})
        row.update({"调整分": _r(s.adjustment), "综合得分": s.composite, "排名": rank})
        row.update({"同类人数": count, "等次": grade})
        row["较上期"] = scoring.delta(s.composite, prev["综合得分"] if prev else None)
        rows.append(row)
    return rows


def _score(cadre: CadreInputs, rules: SchemeRules) -> scoring.CadreScore:
    """Score one cadre from its aggregates."""
    sheets = {k: DimensionAggregate(*v) for k, v in cadre.sheets.items()}
    total = scoring.adjustments_total(cadre.additions, cadre.deductions)
    return scoring.score_cadre(sheets, cadre.votes, indicator_values(cadre, rules), total, rules)


def _standings(inputs, scores, register, rules) -> dict[str, tuple]:
    """Rank and grade every peer group (same 岗位类别) of the period."""
    by_category: dict[str, list[Standing]] = defaultdict(list)
    for code, cadre in inputs.items():
        standing = Standing(code, scores[code].composite, cadre.veto, cadre.undetermined)
        by_category[register[code]["岗位类别"]].append(standing)
    out: dict[str, tuple] = {}
    for peers in by_category.values():
        out.update(scoring.rank_and_grade(peers, rules))
    return out


def _r(value: float | None) -> float | None:
    """Round for the export, keeping None."""
    return None if value is None else scoring.round_half_up(value)


def compute_case(case: Path) -> dict[str, list[dict]]:
    """Compute every period of the case in order; previous periods feed 较上期."""
    results: dict[str, list[dict]] = {}
    for period in load_periods(case):
        prev_rows = results.get(period.get("previous") or "")
        previous = {r["干部编号"]: r for r in prev_rows} if prev_rows else None
        results[period["code"]] = compute_period(case, period, previous)
    return results


def read_expected(case: Path, code: str) -> tuple[list[str], list[dict[str, str]]]:
    """Return (header, rows) of expected_<period>.csv."""
    path = case / f"expected_{code}.csv"
    return read_header(path), read_csv(path)
