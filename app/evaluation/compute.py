"""Computing a period's results (set-based SQL feeding app.scoring) and exporting them.

compute() reads every input with a fixed number of aggregate queries, whatever the number
of cadres: one GROUP BY over the sheet values, one query each for ballots, indicator
scores, approved adjustments, previous composites and the cadres concerned. The pure rules
of app.scoring turn the aggregates into results, which replace the period's old results in
one transaction (so computing twice gives the same rows).
"""

from __future__ import annotations

import datetime as dt
import gc
import json
from collections import defaultdict
from contextlib import contextmanager
from json.encoder import c_make_encoder, encode_basestring
from pathlib import Path

from sqlalchemy import JSON, Boolean, DateTime, case, delete, func, insert, select

from app.core import clock
from app.core.commands import command
from app.core.errors import Conflict, DomainError
from app.core.tabular import write_csv, write_xlsx
from app.evaluation import scoring
from app.evaluation.periods import claim_period, get_period, record_bulk, scheme_rules, state_label
from app.extensions import db
from app.models import (
    Adjustment,
    Ballot,
    Cadre,
    EvaluationPeriod,
    EvaluationResult,
    IndicatorScore,
    ScoreSheet,
    SheetScore,
)

COMPUTABLE_STATES = ("scoring", "locked")
NO_ADJUSTMENT = (0.0, 0.0, 0, 0, 0)


def _unencodable(value):
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _json_encoder():
    """Compact UTF-8 JSON of plain values. json.dumps builds a new C encoder on every call
    (a third of the cost for 200,000 small objects); this builds it once."""
    if c_make_encoder is None:  # pragma: no cover - CPython always has it
        return json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    encoder = c_make_encoder(None, _unencodable, encode_basestring, None, ":", ",", False, False, True)
    return lambda value: "".join(encoder(value, 0))


_JSON_ENCODE = _json_encoder()
EXPORT_HEAD = ["干部编号", "姓名", "岗位类别", "三评得分"]
EXPORT_TAIL = ["调整分", "综合得分", "排名", "同类人数", "较上期", "等次"]


class Fixed2(float):
    """A number that a CSV shows with exactly two decimals (5.00, -2.00) and xlsx as a number."""

    def __str__(self) -> str:
        return f"{float(self):.2f}"

    __repr__ = __str__


# ---------------------------------------------------------------- the aggregate queries


def _sheet_aggregates(period_id: int):
    """(cadre, group, dimension, n, sum, max, min) of the period's sheet values: one GROUP BY."""
    stmt = (
        select(
            ScoreSheet.cadre_id,
            ScoreSheet.group_id,
            SheetScore.dimension_id,
            func.count(SheetScore.value),
            func.sum(SheetScore.value),
            func.max(SheetScore.value),
            func.min(SheetScore.value),
        )
        .join(ScoreSheet, SheetScore.sheet_id == ScoreSheet.id)
        .where(ScoreSheet.period_id == period_id)
        .group_by(ScoreSheet.cadre_id, ScoreSheet.group_id, SheetScore.dimension_id)
    )
    return _raw_rows(stmt)


def _raw_rows(stmt) -> list[tuple]:
    """Run a select on the session's connection and return the DBAPI's plain tuples: for the
    500,000 aggregate rows of a city, SQLAlchemy's row objects would cost seconds."""
    connection = db.session.connection()
    compiled = stmt.compile(dialect=connection.dialect)
    params = compiled.params
    if compiled.positional:
        params = tuple(params[name] for name in compiled.positiontup)
    cursor = connection.connection.driver_connection.cursor()
    try:
        cursor.execute(str(compiled), params)
        return cursor.fetchall()
    finally:
        cursor.close()


def _ballots(period_id: int):
    stmt = select(
        Ballot.cadre_id,
        Ballot.group_id,
        Ballot.excellent,
        Ballot.competent,
        Ballot.basic,
        Ballot.incompetent,
        Ballot.unknown,
    ).where(Ballot.period_id == period_id)
    return _raw_rows(stmt)


def _indicator_scores(period_id: int):
    stmt = select(IndicatorScore.cadre_id, IndicatorScore.indicator_id, IndicatorScore.score).where(
        IndicatorScore.period_id == period_id
    )
    return _raw_rows(stmt)


def _adjustments(period_id: int):
    """(cadre, Σ 加分, Σ 减分, veto, 不定等次, count) over the approved adjustments."""

    def flag(kind):
        return func.max(case((Adjustment.kind == kind, 1), else_=0))

    stmt = (
        select(
            Adjustment.cadre_id,
            func.sum(case((Adjustment.kind == "加分", Adjustment.value), else_=0.0)),
            func.sum(case((Adjustment.kind == "减分", func.abs(Adjustment.value)), else_=0.0)),
            flag("一票否决"),
            flag("不定等次"),
            func.count(Adjustment.id),
        )
        .where(Adjustment.period_id == period_id, Adjustment.status == "approved")
        .group_by(Adjustment.cadre_id)
    )
    return {row[0]: row[1:] for row in db.session.execute(stmt)}


def _previous_composites(period: EvaluationPeriod) -> dict[int, float | None]:
    if period.previous_id is None:
        return {}
    stmt = select(EvaluationResult.cadre_id, EvaluationResult.composite).where(
        EvaluationResult.period_id == period.previous_id
    )
    return dict(_raw_rows(stmt))


def _register(cadre_ids: set[int]) -> tuple[dict[int, str | None], dict[int, int]]:
    """Cadre id -> post category, and cadre id -> unit, for the given cadres (one read of the
    register's three columns: cheaper than re-reading the period's sheets to find who has input)."""
    categories, units = {}, {}
    for cid, category, unit_id in _raw_rows(select(Cadre.id, Cadre.post_category, Cadre.org_unit_id)):
        if cid in cadre_ids:
            categories[cid] = category
            units[cid] = unit_id
    return categories, units


# ---------------------------------------------------------------- compute


def compute(period_code: str, started: dt.datetime | None = None, *, user=None) -> dict:
    """Compute (or recompute) every result of a period as `user` (None: the system; who may
    compute is checked by results.compute_period); returns counts.

    `started`: the instant the period counts as computed at (default: once the inputs are
    read); an input changed after it makes the results stale.

    Computes of one period never interleave: the inputs are read and scored without a lock
    (a city takes seconds), then the period is claimed in the state and with the computed_at
    it had when the compute began. Of two computes at once the first to write wins; the
    other finds computed_at moved and gets a Conflict with nothing written (no duplicate
    results, no 500), as does a compute whose period was published meanwhile.
    """
    period = get_period(period_code)
    _check_computable(period)
    seen = period.computed_at
    rules = scheme_rules(period.scheme)
    with _no_cyclic_gc():
        inputs = _gather(period)
        now = clock.instant()  # full precision: inputs changed later in the same second make it stale
        scores = {cid: _score(cid, inputs, rules) for cid in inputs["cadres"]}
        standings = _standings(inputs, scores, rules)
        rows = [_result_row(period, cid, scores[cid], standings[cid], inputs, now) for cid in sorted(scores)]
        busy = f"考评期“{period.code}”正在由他人同时计算，本次计算未保存；请稍后刷新查看结果"
        with command(user, busy):
            claim_period(period, COMPUTABLE_STATES)  # not published meanwhile
            if period.computed_at != seen:  # another compute wrote first
                raise Conflict(busy)
            _current_units(rows)
            _replace_results(period, rows)
            period.peer_stats = peer_stats(rows, inputs["cadres"])
            period.computed_at = started or now
            record_bulk("compute", "evaluation_result", period, {"结果": len(rows)})
    return {"results": len(rows)}


def _current_units(rows: list[dict]) -> None:
    """Give each result its cadre's unit as of the write, not as of the read: a cadre moved
    to another county while the inputs were scored must not leave its new result visible to
    the old county (a move waits for the claimed period, models._results_follow_cadre)."""
    units = dict(_raw_rows(select(Cadre.id, Cadre.org_unit_id)))
    for row in rows:
        row["org_unit_id"] = units.get(row["cadre_id"], row["org_unit_id"])


def _check_computable(period: EvaluationPeriod) -> None:
    if period.state not in COMPUTABLE_STATES:
        raise Conflict(
            f"考评期“{period.code}”当前状态为{state_label(period.state)}，只有评分中或已锁定的考评期才能计算"
        )


@contextmanager
def _no_cyclic_gc():
    """Pause the cyclic garbage collector: a city's compute builds millions of small tuples
    and dicts (no cycles among them), and the collector's repeated passes over them cost
    about a tenth of the compute. Reference counting still frees everything as usual."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _gather(period: EvaluationPeriod) -> dict:
    """Run the fixed set of aggregate queries and key them by cadre, with names for ids."""
    scheme = period.scheme
    group_names = {g.id: g.name for g in scheme.rater_groups}
    dim_names = {d.id: d.name for d in scheme.dimensions}
    ind_names = {i.id: i.name for i in scheme.indicators}
    sheets: dict[int, dict] = defaultdict(dict)
    # 500,000 rows at city scale: the tuples are taken as they come (count, sum, max, min are
    # already int and floats) and made DimensionAggregates without a Python-level __new__.
    aggregate, new = scoring.DimensionAggregate, tuple.__new__
    keys = {(gid, did): (group, dim) for gid, group in group_names.items() for did, dim in dim_names.items()}
    rows = _sheet_aggregates(period.id)
    for row in rows:
        key = keys.get(row[1:3])
        if key is not None:
            sheets[row[0]][key] = new(aggregate, row[3:])
    with_input = {row[0] for row in rows}
    votes: dict[int, dict] = defaultdict(dict)
    for cid, gid, *counts in _ballots(period.id):
        with_input.add(cid)
        if gid in group_names:
            labels = (*scoring.VOTE_GRADES, scoring.UNKNOWN_VOTE)
            votes[cid][group_names[gid]] = dict(zip(labels, counts))
    indicators: dict[int, dict] = defaultdict(dict)
    for cid, iid, score in _indicator_scores(period.id):
        with_input.add(cid)
        if iid in ind_names:
            indicators[cid][ind_names[iid]] = float(score)
    categories, units = _register(with_input)
    return {
        # every cadre with a sheet, a ballot or an entered indicator score (-> post category)
        "cadres": categories,
        "units": units,
        "sheets": sheets,
        "votes": votes,
        "indicators": indicators,
        "adjustments": _adjustments(period.id),
        "previous": _previous_composites(period),
        "supervision": supervision_counts(period),
        # unit -> the figures of the cadres' own units (诉求办理实绩)
        "appeals": appeal_figures(period, set(units.values())) if _has_source(scheme, "appeals") else None,
    }


def _has_source(scheme, source: str) -> bool:
    return any(i.source == source for i in scheme.indicators)


def appeal_figures(period: EvaluationPeriod, unit_ids, now: dt.datetime | None = None) -> dict:
    """Unit id -> the 诉求 figures of the unit over the period (appeals received within its
    dates; app/appeals/indicator.py: three aggregate queries for all the units at once)."""
    from app.appeals.indicator import unit_figures

    return unit_figures(period.start_date, period.end_date, now or clock.now(), unit_ids)


def appeals_value(figures, rules: scoring.SchemeRules) -> float | None:
    """诉求办理实绩 of a unit's figures (None: no figures, or nothing to measure)."""
    if not figures:
        return None
    from app.appeals.indicator import rates

    sign, reply, satisfaction, reopened = rates(figures)
    return scoring.appeals_indicator(sign, reply, satisfaction, reopened, rules.appeals)


def supervision_counts(
    period: EvaluationPeriod, now: dt.datetime | None = None, cadre_id: int | None = None
) -> dict[int, tuple]:
    """Cadre -> (overdue tasks, 一般, 较重, 严重 findings, findings with overdue rectification)
    within the period dates: two GROUP BY queries, whatever the number of cadres (or for one
    cadre only, as a result's trace asks).

    Tasks: those whose responsible cadre is c, whose completion deadline falls within the
    period, and that were completed late (the lead unit's completion report at or after the
    deadline, as for the lights) or are still open past it; drafts and terminated items do
    not count. Findings: those naming c found within the period, by severity, and among them
    those whose 限期 rectification is (or was) overdue (supervision_findings' rule).
    """
    from sqlalchemy import and_, or_

    from app.models import SEVERITIES, Finding, SupervisionTask, finding_cadre
    from app.supervision.findings import rectification_overdue_condition
    from app.supervision.lights import LIT_STATES, OPEN_STATES

    now = now or clock.now()
    start = dt.datetime.combine(period.start_date, dt.time.min)
    end = dt.datetime.combine(period.end_date + dt.timedelta(days=1), dt.time.min)
    t = SupervisionTask
    late = or_(
        and_(t.submitted_at.is_not(None), t.submitted_at >= t.complete_due),
        and_(t.submitted_at.is_(None), t.state.in_(OPEN_STATES), t.complete_due <= now),
    )
    tasks = (
        select(t.responsible_cadre_id, func.count(t.id))
        .where(t.responsible_cadre_id.is_not(None), t.state.in_(LIT_STATES), t.complete_due >= start,
               t.complete_due < end, late)
        .group_by(t.responsible_cadre_id)
    )
    if cadre_id is not None:
        tasks = tasks.where(t.responsible_cadre_id == cadre_id)
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for cid, n in db.session.execute(tasks):
        counts[cid][0] = int(n)

    def severity(level):
        return func.sum(case((Finding.severity == level, 1), else_=0))

    findings = (
        select(
            finding_cadre.c.cadre_id, *(severity(level) for level in SEVERITIES),  # 一般, 较重, 严重
            func.sum(case((rectification_overdue_condition(now), 1), else_=0)),
        )
        .join(Finding, Finding.id == finding_cadre.c.finding_id)
        .where(Finding.found_on >= period.start_date, Finding.found_on <= period.end_date)
        .group_by(finding_cadre.c.cadre_id)
    )
    if cadre_id is not None:
        findings = findings.where(finding_cadre.c.cadre_id == cadre_id)
    for cid, general, serious, severe, overdue in db.session.execute(findings):
        counts[cid][1:] = [int(general or 0), int(serious or 0), int(severe or 0), int(overdue or 0)]
    return {cid: tuple(values) for cid, values in counts.items()}


def _indicator_values(
    entered: dict, rules: scoring.SchemeRules, supervision: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0),
    appeals: float | None = None,
) -> dict[str, float | None]:
    values: dict[str, float | None] = {}
    for ind in rules.indicators:
        if ind.source == "supervision":
            # 督查实绩 is derived for every cadre with a result: 100 less the scheme's penalties
            # for the cadre's overdue tasks and findings within the period (see supervision_counts).
            values[ind.name] = scoring.supervision_indicator(*supervision, penalties=rules.penalties)
        elif ind.source == "appeals":
            # 诉求办理实绩: the value of the cadre's own unit's figures (appeals_value, worked
            # out once per unit in _score's caller); none: missing.
            values[ind.name] = appeals
        else:
            values[ind.name] = entered.get(ind.name)
    return values


def _appeal_values(inputs: dict, rules: scoring.SchemeRules) -> dict:
    """Unit id -> 诉求办理实绩 (appeals_value): once per unit, not once per cadre."""
    if "appeal_values" not in inputs:
        inputs["appeal_values"] = {unit: appeals_value(figures, rules)
                                   for unit, figures in (inputs["appeals"] or {}).items()}
    return inputs["appeal_values"]


def _score(cid: int, inputs: dict, rules: scoring.SchemeRules) -> scoring.CadreScore:
    add, deduct, _veto, _undetermined, _n = inputs["adjustments"].get(cid, NO_ADJUSTMENT)
    total = scoring.adjustments_total([float(add or 0)], [float(deduct or 0)])
    indicators = _indicator_values(
        inputs["indicators"].get(cid, {}), rules, inputs["supervision"].get(cid, (0, 0, 0, 0, 0)),
        _appeal_values(inputs, rules).get(inputs["units"].get(cid)),
    )
    return scoring.score_cadre(inputs["sheets"].get(cid, {}), inputs["votes"].get(cid, {}), indicators, total, rules)


def _flags(cid: int, inputs: dict) -> tuple[bool, bool]:
    _add, _deduct, veto, undetermined, _n = inputs["adjustments"].get(cid, NO_ADJUSTMENT)
    return bool(veto), bool(undetermined)


def _standings(inputs: dict, scores: dict, rules: scoring.SchemeRules) -> dict:
    """Rank and grade each peer group (same post category)."""
    by_category: dict = defaultdict(list)
    for cid, category in inputs["cadres"].items():
        veto, undetermined = _flags(cid, inputs)
        by_category[category].append(scoring.Standing(cid, scores[cid].composite, veto, undetermined))
    out: dict = {}
    for peers in by_category.values():
        out.update(scoring.rank_and_grade(peers, rules))
    return out


def _result_row(period, cid, score: scoring.CadreScore, standing, inputs, now) -> dict:
    rank, peer_count, percentile, grade = standing
    veto, undetermined = _flags(cid, inputs)
    flags = []
    if score.missing_groups:
        flags.append("缺评：" + "、".join(score.missing_groups))
    if score.missing_indicators:
        flags.append("缺指标：" + "、".join(score.missing_indicators))
    return {
        "period_id": period.id,
        "cadre_id": cid,
        "org_unit_id": inputs["units"][cid],
        "sanping": score.sanping,
        "group_scores": score.group_scores,
        "indicator_scores": score.indicators,
        "composite_raw": score.composite_raw,
        "adjustment": score.adjustment,
        "composite": score.composite,
        "rank": rank,
        "peer_count": peer_count,
        "percentile": percentile,
        "delta": scoring.delta(score.composite, inputs["previous"].get(cid)),
        "grade": grade,
        "veto": veto,
        "undetermined": undetermined,
        "flags": "；".join(flags) or None,
        "dimension_scores": score.dimensions,
        "inputs": _input_counts(cid, inputs),
        "computed_at": now,
    }


def _input_counts(cid: int, inputs: dict) -> dict:
    """What the result was computed from, as counts (services.eval_trace compares them with
    the inputs of today): sheets and votes per group, entered indicator scores, approved
    adjustments, and the supervision counts behind 督查实绩."""
    sheets: dict[str, int] = {}
    for (group, _dim), agg in inputs["sheets"].get(cid, {}).items():
        sheets[group] = max(sheets.get(group, 0), agg.n)
    ballots = {group: sum(counts.values()) for group, counts in inputs["votes"].get(cid, {}).items()}
    return {
        "sheets": sheets,
        "ballots": ballots,
        "indicators": inputs["indicators"].get(cid, {}),
        "adjustments": int(inputs["adjustments"].get(cid, NO_ADJUSTMENT)[4]),
        "supervision": list(inputs["supervision"].get(cid, (0, 0, 0, 0, 0))),
        **({"appeals": list(inputs["appeals"].get(inputs["units"].get(cid)) or ())}
           if inputs["appeals"] is not None else {}),
    }


def peer_stats(rows: list[dict], categories: dict[int, str | None]) -> dict:
    """Post category -> peer count, average composite (results with a grade-bearing composite,
    不定等次 excluded) and average score per dimension, for the profiles' peer comparison."""
    sums: dict = defaultdict(lambda: {"n": 0, "total": 0.0, "dims": defaultdict(lambda: [0, 0.0])})
    for row in rows:
        entry = sums[categories.get(row["cadre_id"]) or ""]
        if row["composite"] is not None and not row["undetermined"]:
            entry["n"] += 1
            entry["total"] += row["composite"]
        for name, value in (row["dimension_scores"] or {}).items():
            if value is not None:
                acc = entry["dims"][name]
                acc[0] += 1
                acc[1] += value
    return {
        category: {
            "count": e["n"],
            "avg_composite": e["total"] / e["n"] if e["n"] else None,
            "dims": {name: total / n for name, (n, total) in e["dims"].items()},
        }
        for category, e in sums.items()
    }


def _replace_results(period, rows: list[dict]) -> None:
    """Delete the period's results and insert the new ones: two statements (a Core executemany)."""
    db.session.execute(delete(EvaluationResult).where(EvaluationResult.period_id == period.id))
    if rows:
        _insert_many(EvaluationResult.__table__, rows)


def _insert_many(table, rows: list[dict]) -> None:
    """One DBAPI executemany of plain tuples (on PostgreSQL one COPY): JSON written compact
    (UTF-8, no escapes) and datetimes as SQLAlchemy stores them; at city scale SQLAlchemy's
    per-row parameter processing of 50,000 results costs more than the database's work, and
    on PostgreSQL an executemany of 50,000 rows took 4.4 s where COPY takes well under one."""
    connection = db.session.connection()
    dialect = connection.dialect
    keys = list(rows[0])
    compiled = insert(table).compile(dialect=dialect, column_keys=keys)
    order = compiled.positiontup if compiled.positional else keys
    encoders = {key: _encoder(table.c[key].type, dialect) for key in keys}
    values = [[row[key] for key in order] for row in rows]
    for i, key in enumerate(order):
        encode = encoders[key]
        if encode is not None:
            for value in values:
                if value[i] is not None:
                    value[i] = encode(value[i])
    cursor = connection.connection.driver_connection.cursor()
    try:
        if dialect.name == "postgresql":
            quote = dialect.identifier_preparer.quote
            columns = ", ".join(quote(key) for key in order)
            with cursor.copy(f"COPY {quote(table.name)} ({columns}) FROM STDIN") as copy:
                for value in values:
                    copy.write_row(value)
        else:
            if not compiled.positional:
                values = [dict(zip(order, value)) for value in values]
            cursor.executemany(str(compiled), values)
    finally:
        cursor.close()


def _encoder(column_type, dialect):
    """How a value of the column type is sent to the driver (None: as is)."""
    if isinstance(column_type, JSON):
        return _JSON_ENCODE
    if isinstance(column_type, DateTime) and dialect.name == "sqlite":
        return lambda value: value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(column_type, Boolean) and dialect.name == "sqlite":
        return int
    return None


# ---------------------------------------------------------------- export


def export_columns(scheme) -> list[str]:
    """The result export header of DESIGN.md section 7 for a scheme."""
    entered = [i.name for i in scheme.indicators if i.source == "entered"]
    return EXPORT_HEAD + entered + EXPORT_TAIL


def export_rows(period: EvaluationPeriod) -> tuple[list[str], list[list]]:
    """(header, rows) of a period's results, ordered by 干部编号."""
    scheme = period.scheme
    entered = [i.name for i in scheme.indicators if i.source == "entered"]
    stmt = (
        select(EvaluationResult, Cadre.code, Cadre.name, Cadre.post_category)
        .join(Cadre, EvaluationResult.cadre_id == Cadre.id)
        .where(EvaluationResult.period_id == period.id)
        .order_by(Cadre.code)
    )
    rows = []
    for result, code, name, category in db.session.execute(stmt):
        indicators = result.indicator_scores or {}
        rows.append(
            [
                code,
                name,
                category,
                _num(result.sanping),
                *(_num(indicators.get(n)) for n in entered),
                _num(result.adjustment),
                _num(result.composite),
                result.rank,
                result.peer_count,
                _num(result.delta),
                result.grade,
            ]
        )
    return export_columns(scheme), rows


def list_export_rows(period: EvaluationPeriod) -> tuple[list[str], list[list]]:
    """(header, rows) of the results screen's export: the standard columns plus each cadre's
    unit and every indicator of the scheme, 督查实绩 included, ordered by 干部编号."""
    from app.models import OrgUnit

    names = [i.name for i in period.scheme.indicators]
    stmt = (
        select(EvaluationResult, Cadre.code, Cadre.name, OrgUnit.name, Cadre.position, Cadre.post_category)
        .join(Cadre, EvaluationResult.cadre_id == Cadre.id)
        .join(OrgUnit, OrgUnit.id == EvaluationResult.org_unit_id)
        .where(EvaluationResult.period_id == period.id)
        .order_by(Cadre.code)
    )
    rows = []
    for result, code, name, unit, position, category in db.session.execute(stmt):
        indicators = result.indicator_scores or {}
        rows.append([code, name, unit, position, category, _num(result.sanping),
                     *(_num(indicators.get(n)) for n in names), _num(result.adjustment), _num(result.composite),
                     result.rank, result.peer_count, _num(result.delta), result.grade, result.flags or ""])
    header = ["干部编号", "姓名", "所属单位", "职务", "岗位类别", "三评得分", *names, *EXPORT_TAIL, "提示"]
    return header, rows


def _num(value) -> Fixed2 | None:
    return None if value is None else Fixed2(scoring.round_half_up(float(value)))


def export(period_code: str, path: str) -> int:
    """Write the period's results to a .csv or .xlsx file; returns the row count."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise DomainError("导出文件只支持 .csv 或 .xlsx")
    period = get_period(period_code)
    if period.computed_at is None:
        raise Conflict(f"考评期“{period.code}”尚未计算结果，请先计算")
    header, rows = export_rows(period)
    data = write_csv(header, rows) if suffix == ".csv" else write_xlsx(header, rows, title=period.code)
    Path(path).write_bytes(data)
    return len(rows)
