"""Evaluation commands in process: state machine, all-or-nothing imports, set-based compute."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import event, func, select

from app.core.errors import Conflict, ImportRejected
from app.evaluation.compute import compute
from app.evaluation.imports import import_adjustments, import_indicators, import_sheets
from app.evaluation.periods import create_period, import_scheme, transition
from app.extensions import db
from app.models import Ballot, Cadre, EvaluationPeriod, EvaluationResult, OrgUnit, ScoreSheet

DIMS = ["德", "能", "勤", "绩", "廉"]


def scheme_json(name: str) -> dict:
    return {
        "name": name,
        "trim_min": 5,
        "dimensions": [{"name": d, "weight": 0.2} for d in DIMS],
        "rater_groups": [
            {"name": "组织评价", "kind": "scores", "weight": 0.5},
            {"name": "群众评价", "kind": "votes", "weight": 0.5},
        ],
        "sanping_weight": 0.6,
        "indicators": [
            {"name": "项目建设实绩", "weight": 0.2, "source": "entered"},
            {"name": "督查实绩", "weight": 0.2, "source": "supervision"},
        ],
        "adjustment_cap": 5,
        "grades": {"excellent_min": 90, "excellent_quota": 0.2, "competent_min": 75, "basic_min": 60},
    }


def new_period(state: str = "scoring") -> EvaluationPeriod:
    """A period on a scheme of its own, moved on to the given state."""
    tag = uuid.uuid4().hex[:8]
    scheme, _ = import_scheme(scheme_json(f"测试方案{tag}"), user=None)
    period = create_period(f"T-{tag}", f"测试期{tag}", "专项", scheme.name, "2024-01-01", "2024-12-31", user=None)
    for action, reached in (("open", "scoring"), ("lock", "locked"), ("publish", "published")):
        if period.state == state:
            break
        transition(period.code, action, user=None)
        assert period.state == reached
    return period


def cadres(n: int) -> list[Cadre]:
    return list(db.session.scalars(select(Cadre).order_by(Cadre.code).limit(n)))


def sheets_csv(rows: list[str]) -> bytes:
    return ("干部编号,评价组," + ",".join(DIMS) + "\n" + "\n".join(rows) + "\n").encode("utf-8")


def fill(period: EvaluationPeriod, people: list[Cadre]) -> None:
    sheet_rows, ballot_rows, ind_rows = [], [], []
    for i, c in enumerate(people):
        for k in range(6):
            sheet_rows.append(f"{c.code},组织评价," + ",".join(str(70 + (i * 3 + k * 5 + j) % 30) for j in range(5)))
        ballot_rows.append(f"{c.code},群众评价,{i % 7},{10 + i % 5},2,1,1")
        ind_rows.append(f"{c.code},项目建设实绩,{60 + i % 40}")
    import_sheets(period.code, sheets_csv(sheet_rows), "s.csv", user=None)
    ballots = "干部编号,评价组,优秀,称职,基本称职,不称职,不了解\n" + "\n".join(ballot_rows) + "\n"
    import_sheets(period.code, ballots.encode("utf-8"), "b.csv", user=None)
    indicators = "干部编号,指标,得分\n" + "\n".join(ind_rows) + "\n"
    import_indicators(period.code, indicators.encode("utf-8"), "i.csv", user=None)


def count_sheets(period: EvaluationPeriod) -> int:
    return db.session.scalar(select(func.count()).select_from(ScoreSheet).where(ScoreSheet.period_id == period.id))


def test_state_machine_refuses_illegal_transitions(ctx):
    period = new_period("draft")
    for action in ("lock", "publish"):
        with pytest.raises(Conflict, match="草稿"):
            transition(period.code, action, user=None)
    transition(period.code, "open", user=None)
    with pytest.raises(Conflict, match="评分中"):
        transition(period.code, "open", user=None)
    transition(period.code, "lock", user=None)
    with pytest.raises(Conflict, match="尚未计算"):
        transition(period.code, "publish", user=None)
    compute(period.code)
    transition(period.code, "publish", user=None)
    for action in ("open", "lock", "publish"):
        with pytest.raises(Conflict, match="已发布"):
            transition(period.code, action, user=None)
    with pytest.raises(Conflict, match="已发布"):
        compute(period.code)


@pytest.mark.parametrize("state", ["draft", "locked"])
def test_imports_refused_outside_scoring(ctx, state):
    period = new_period(state)
    (c,) = cadres(1)
    with pytest.raises(ImportRejected, match="只有评分中"):
        import_sheets(period.code, sheets_csv([f"{c.code},组织评价,1,2,3,4,5"]), "s.csv", user=None)
    with pytest.raises(ImportRejected, match="只有评分中"):
        import_indicators(period.code, f"干部编号,指标,得分\n{c.code},项目建设实绩,80\n".encode(), "i.csv", user=None)
    assert count_sheets(period) == 0


def test_bad_rows_are_all_listed_and_nothing_is_written(ctx):
    period = new_period()
    a, b = cadres(2)
    data = sheets_csv(
        [
            f"{a.code},组织评价,90,90,90,90,90",
            "NOPE,组织评价,90,90,90,90,90",
            f"{a.code},群众评价,90,90,90,90,90",
            f"{b.code},组织评价,-1,90,90,90,90",
            f"{b.code},组织评价,90,x,90,90,90",
            f"{b.code},组织评价,90,90,,90,90",
        ]
    )
    with pytest.raises(ImportRejected) as err:
        import_sheets(period.code, data, "s.csv", user=None)
    assert {line for line, _ in err.value.errors} == {3, 4, 5, 6, 7}
    assert count_sheets(period) == 0

    bad_ind = f"干部编号,指标,得分\n{a.code},督查实绩,90\n{a.code},无此指标,90\n{b.code},项目建设实绩,120\n"
    with pytest.raises(ImportRejected) as err:
        import_indicators(period.code, bad_ind.encode(), "i.csv", user=None)
    assert {line for line, _ in err.value.errors} == {2, 3, 4}
    assert "督查" in err.value.message

    bad_adj = f"干部编号,类型,分值,事由\n{a.code},奖励,1,x\n{a.code},加分,,x\n{a.code},加分,1,\n"
    with pytest.raises(ImportRejected) as err:
        import_adjustments(period.code, bad_adj.encode(), "a.csv", user=None)
    assert {line for line, _ in err.value.errors} == {2, 3, 4}


def test_ballots_are_replaced_and_sheets_appended(ctx):
    period = new_period()
    (c,) = cadres(1)
    ballots = f"干部编号,评价组,优秀,称职,基本称职,不称职,不了解\n{c.code},群众评价,1,2,3,4,5\n".encode()
    import_sheets(period.code, ballots, "b.csv", user=None)
    import_sheets(period.code, ballots.replace(b",1,2,", b",9,2,"), "b.csv", user=None)
    rows = db.session.scalars(select(Ballot).where(Ballot.period_id == period.id)).all()
    assert [(r.excellent, r.competent) for r in rows] == [(9, 2)]
    one = sheets_csv([f"{c.code},组织评价,80,80,80,80,80"])
    import_sheets(period.code, one, "s.csv", user=None)
    with pytest.raises(ImportRejected, match="导入过"):  # the same file twice (issue 14): refused
        import_sheets(period.code, one, "s.csv", user=None)
    import_sheets(period.code, sheets_csv([f"{c.code},组织评价,81,80,80,80,80"]), "s2.csv", user=None)
    assert count_sheets(period) == 2


def test_a_cadre_user_cannot_score_itself(app):
    with app.app_context():
        period = new_period()  # opened outside a request: by the system (periods are run by city staff)
        (c,) = cadres(1)
        ids = (period.id, period.code, c.id, c.code)
    period_id, period_code, cadre_id, cadre_code = ids
    with app.app_context():
        me = SimpleNamespace(is_authenticated=True, id=None, username="x", cadre_id=cadre_id, org_unit_id=None,
                             org_unit=db.session.scalar(select(OrgUnit).where(OrgUnit.parent_id.is_(None))))
        with pytest.raises(ImportRejected, match="本人"):
            import_sheets(period_code, sheets_csv([f"{cadre_code},组织评价,99,99,99,99,99"]), "s.csv", user=me)
        assert count_sheets(db.session.get(EvaluationPeriod, period_id)) == 0


def test_scheme_in_use_cannot_be_replaced(ctx):
    period = new_period()
    with pytest.raises(Conflict, match="不能替换"):
        import_scheme(scheme_json(period.scheme.name), user=None)


def test_compute_is_set_based_and_idempotent(app):
    def statements_for(n: int) -> tuple[int, int]:
        with app.app_context():
            period = new_period()
            fill(period, cadres(n))
            seen = []

            def count(conn, cursor, statement, *args):
                seen.append(statement)

            event.listen(db.engine, "before_cursor_execute", count)
            try:
                compute(period.code)
            finally:
                event.remove(db.engine, "before_cursor_execute", count)
            first = _results(period)
            compute(period.code)
            assert _results(period) == first  # idempotent: same rows, same values
            return len(seen), len(first)

    small, small_rows = statements_for(3)
    large, large_rows = statements_for(12)
    assert (small_rows, large_rows) == (3, 12)
    assert small == large, f"compute ran {small} statements for 3 cadres but {large} for 12"


def _results(period) -> list[tuple]:
    rows = db.session.execute(
        select(
            EvaluationResult.cadre_id,
            EvaluationResult.composite,
            EvaluationResult.rank,
            EvaluationResult.grade,
            EvaluationResult.flags,
        )
        .where(EvaluationResult.period_id == period.id)
        .order_by(EvaluationResult.cadre_id)
    )
    return [tuple(r) for r in rows]


def test_cli_style_import_after_compute_marks_results_stale(app):
    """Any import after computing (CLI or upload) marks the period's results stale."""
    from app.evaluation.results import is_stale
    from app.models import EvaluationPeriod

    with app.app_context():
        period = db.session.scalar(select(EvaluationPeriod).where(EvaluationPeriod.state == "scoring"))
        assert period is not None, "the demo city has a period open for scoring"
        from app.evaluation.compute import compute
        from app.evaluation.imports import import_indicators

        compute(period.code)
        db.session.refresh(period)
        assert not is_stale(period)
        cadre = db.session.scalar(select(Cadre).join(Cadre.org_unit).order_by(Cadre.id))
        indicator = next(i for i in period.scheme.indicators if i.source == "entered")
        data = f"干部编号,指标,得分\n{cadre.code},{indicator.name},88\n".encode()
        import_indicators(period.code, data, "i.csv", user=None)
        db.session.refresh(period)
        assert is_stale(period)


def test_compute_stores_dimension_scores_input_counts_and_peer_figures(app):
    """What the profile and the trace read instead of scanning: each result's dimension scores
    and input counts, and the period's peer-group averages, checked against the raw inputs."""
    from collections import defaultdict

    from app.models import SheetScore

    with app.app_context():
        period = new_period()
        people = cadres(8)
        fill(period, people)
        compute(period.code)
        results = db.session.scalars(select(EvaluationResult).where(EvaluationResult.period_id == period.id)).all()
        assert len(results) == 8
        categories = {c.id: c.post_category for c in people}
        expected: dict = defaultdict(lambda: {"composites": [], "dims": defaultdict(list)})
        for r in results:
            # the one scores group (组织评价) is the whole dimension score: the trimmed mean of its six sheets
            values = db.session.execute(
                select(SheetScore.value).join(ScoreSheet).where(
                    ScoreSheet.period_id == period.id, ScoreSheet.cadre_id == r.cadre_id,
                    SheetScore.dimension_id == period.scheme.dimensions[0].id)
            ).scalars().all()
            trimmed = (sum(values) - max(values) - min(values)) / (len(values) - 2)
            assert list(r.dimension_scores) == list(DIMS)
            assert r.dimension_scores[DIMS[0]] == pytest.approx(trimmed)
            sheets = db.session.scalar(select(func.count()).select_from(ScoreSheet).where(
                ScoreSheet.period_id == period.id, ScoreSheet.cadre_id == r.cadre_id))
            ballot = db.session.scalars(select(Ballot).where(Ballot.period_id == period.id,
                                                             Ballot.cadre_id == r.cadre_id)).one()
            votes = ballot.excellent + ballot.competent + ballot.basic + ballot.incompetent + ballot.unknown
            assert r.inputs["sheets"] == {"组织评价": sheets} and sheets == 6
            assert r.inputs["ballots"] == {"群众评价": votes}
            assert set(r.inputs["indicators"]) == {"项目建设实绩"}
            assert r.inputs["adjustments"] == 0 and len(r.inputs["supervision"]) == 5
            entry = expected[categories[r.cadre_id] or ""]
            if r.composite is not None and not r.undetermined:
                entry["composites"].append(r.composite)
            for name, value in r.dimension_scores.items():
                entry["dims"][name].append(value)
        stats = db.session.get(EvaluationPeriod, period.id).peer_stats
        assert set(stats) == set(expected)
        for category, entry in expected.items():
            assert stats[category]["count"] == len(entry["composites"])
            assert stats[category]["avg_composite"] == pytest.approx(sum(entry["composites"]) / len(entry["composites"]))
            for name, values in entry["dims"].items():
                assert stats[category]["dims"][name] == pytest.approx(sum(values) / len(values))
