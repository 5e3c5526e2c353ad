"""Unit tests of the pure scoring rules (DESIGN.md section 5) and the golden case, no database."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.evaluation import scoring
from app.evaluation.scoring import (
    GroupRule,
    IndicatorRule,
    SchemeRules,
    Standing,
    SupervisionPenalties,
    adjusted,
    composite,
    delta,
    dimension_score,
    group_score,
    rank_and_grade,
    result_use_suggestions,
    round_half_up,
    sanping_score,
    supervision_indicator,
    validate_scheme,
    votes_score,
)

try:
    from tests import golden_pure
except ImportError:  # tests/ is not a package: pytest puts tests/ itself on sys.path
    import golden_pure

POINTS = {"优秀": 95, "称职": 85, "基本称职": 75, "不称职": 65}
DIMS = {"德": 0.2, "能": 0.2, "勤": 0.15, "绩": 0.3, "廉": 0.15}
GROUPS = (
    GroupRule("组织评价", "scores", 0.4),
    GroupRule("领导和同事评价", "scores", 0.3),
    GroupRule("群众评价", "votes", 0.3, POINTS),
)
NO_DB = settings(deadline=None, database=None, max_examples=200)


def make_rules(**overrides) -> SchemeRules:
    """Return the golden-like scheme with some settings overridden."""
    base = dict(
        dimensions=DIMS,
        groups=GROUPS,
        sanping_weight=0.6,
        indicators=(IndicatorRule("项目建设实绩", 0.2), IndicatorRule("基层治理实绩", 0.2)),
    )
    return SchemeRules(**{**base, **overrides})


def grades_of(result: dict) -> dict:
    """Return key -> grade from a rank_and_grade result."""
    return {k: v[3] for k, v in result.items()}


def ranks_of(result: dict) -> dict:
    """Return key -> rank from a rank_and_grade result."""
    return {k: v[0] for k, v in result.items()}


# ---------------------------------------------------------------- rule 1: trimming


def test_trims_highest_and_lowest_at_trim_min():
    # 60, 70, 80, 90, 100: n = 5 = trim_min, drop 100 and 60 → 240 / 3
    assert dimension_score(5, 400, 100, 60, 5) == pytest.approx(80.0)


def test_does_not_trim_below_trim_min():
    # 4 sheets 70, 80, 90, 99 → mean 84.75; trimmed it would be (339 − 99 − 70) / 2 = 85
    assert dimension_score(4, 70 + 80 + 90 + 99, 99, 70, 5) == pytest.approx(84.75)
    assert dimension_score(4, 70 + 80 + 90 + 99, 99, 70, 4) == pytest.approx(85.0)


def test_trim_threshold_follows_the_scheme():
    assert dimension_score(5, 400, 100, 60, 6) == pytest.approx(80.0)  # 400 / 5, untrimmed
    assert dimension_score(6, 480, 100, 60, 6) == pytest.approx(80.0)  # (480 − 160) / 4


def test_dimension_without_sheets_is_missing():
    assert dimension_score(0, 0, 0, 0, 5) is None


# ---------------------------------------------------------------- rule 2: group scores


def test_group_score_weights_dimensions():
    dims = {"德": 80, "能": 90, "勤": 70, "绩": 100, "廉": 60}
    # 0.2·80 + 0.2·90 + 0.15·70 + 0.3·100 + 0.15·60 = 16 + 18 + 10.5 + 30 + 9
    assert group_score(dims, DIMS) == pytest.approx(83.5)


def test_group_without_dimension_scores_is_missing():
    assert group_score({}, DIMS) is None


def test_votes_score_ignores_unknown_votes():
    counts = {"优秀": 2, "称职": 1, "基本称职": 1, "不称职": 0, "不了解": 6}
    assert votes_score(counts, POINTS) == pytest.approx((190 + 85 + 75) / 4)


def test_votes_with_only_unknown_are_missing():
    assert votes_score({"优秀": 0, "称职": 0, "基本称职": 0, "不称职": 0, "不了解": 17}, POINTS) is None
    assert votes_score({}, POINTS) is None


def test_votes_points_are_scheme_settings():
    points = {"优秀": 100, "称职": 80, "基本称职": 60, "不称职": 0}
    assert votes_score({"优秀": 1, "不称职": 1}, points) == pytest.approx(50)


# ---------------------------------------------------------------- rule 3: 三评


def test_sanping_uses_all_groups():
    t, missing = sanping_score({"组织评价": 90, "领导和同事评价": 80, "群众评价": 70}, GROUPS)
    assert t == pytest.approx(0.4 * 90 + 0.3 * 80 + 0.3 * 70)
    assert missing == []


def test_sanping_renormalizes_over_present_groups_and_flags_missing():
    t, missing = sanping_score({"组织评价": 90, "领导和同事评价": None, "群众评价": 70}, GROUPS)
    assert t == pytest.approx((0.4 * 90 + 0.3 * 70) / 0.7)
    assert missing == ["领导和同事评价"]


def test_sanping_without_any_group_is_missing():
    t, missing = sanping_score({}, GROUPS)
    assert t is None
    assert missing == [g.name for g in GROUPS]


# ---------------------------------------------------------------- rule 4: supervision indicator


def test_supervision_indicator_subtracts_penalties():
    # 100 − 5·1 − 2·2 − 5·1 − 10·1 − 3·2 = 70
    assert supervision_indicator(1, 2, 1, 1, 2, SupervisionPenalties()) == pytest.approx(70)


def test_supervision_indicator_is_never_negative():
    assert supervision_indicator(30, 0, 0, 0, 0, SupervisionPenalties()) == 0


def test_supervision_penalties_are_scheme_settings():
    penalties = SupervisionPenalties(overdue_task=1, general=0, serious=0, severe=0)
    assert supervision_indicator(3, 5, 0, 0, 1, penalties) == pytest.approx(94)


# ---------------------------------------------------------------- rule 5: composite


def test_composite_weights_sanping_and_indicators():
    c0, missing = composite(80, {"项目建设实绩": 90, "基层治理实绩": 70}, make_rules())
    assert c0 == pytest.approx(0.6 * 80 + 0.2 * 90 + 0.2 * 70)
    assert missing == []


def test_composite_renormalizes_a_missing_indicator():
    c0, missing = composite(80, {"项目建设实绩": 90}, make_rules())
    assert c0 == pytest.approx((0.6 * 80 + 0.2 * 90) / 0.8)
    assert missing == ["基层治理实绩"]


def test_composite_without_sanping_uses_indicators():
    c0, _ = composite(None, {"项目建设实绩": 90, "基层治理实绩": 70}, make_rules())
    assert c0 == pytest.approx(80)


def test_composite_without_anything_is_missing():
    assert composite(None, {}, make_rules())[0] is None


# ---------------------------------------------------------------- rule 6: adjustments, cap, clamp


def test_adjustment_is_capped_both_ways():
    assert adjusted(80, 7, 5) == (5, 85)
    assert adjusted(80, -9, 5) == (-5, 75)
    assert adjusted(80, 3, 5) == (3, 83)


def test_composite_is_clamped_to_0_and_100():
    assert adjusted(98.5, 5, 5) == (5, 100)
    assert adjusted(2, -5, 5) == (-5, 0)


def test_adjustments_total_subtracts_deductions():
    assert scoring.adjustments_total([3, 4], [2]) == pytest.approx(5)


def test_only_c_is_rounded():
    a, c = adjusted(80.123456, 1.5, 5)
    assert a == 1.5
    assert c == 81.62


# ---------------------------------------------------------------- rounding


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (93.775, 93.78),
        (2.675, 2.68),
        (1.005, 1.01),
        (0.125, 0.13),
        (76.30499999999999, 76.31),  # float sum of 76.305 exactly
        (80.13499999999999, 80.14),
        (70.25500000000001, 70.26),
        (93.774, 93.77),
        (-2.675, -2.68),
        (100, 100),
    ],
)
def test_round_half_up(value, expected):
    assert round_half_up(value) == expected


def test_round_half_up_gives_no_negative_zero():
    assert math.copysign(1, round_half_up(-0.001)) == 1


def test_round_half_up_places():
    assert round_half_up(2.5, 0) == 3
    assert round_half_up(0.0005, 3) == 0.001


# ---------------------------------------------------------------- rules 7 and 9: rank and grade


def test_ties_share_a_rank():
    peers = [Standing("a", 80), Standing("b", 70), Standing("c", 70), Standing("d", 60)]
    result = rank_and_grade(peers, make_rules())
    assert ranks_of(result) == {"a": 1, "b": 2, "c": 2, "d": 4}
    assert result["d"][1:3] == (4, 1.0)
    assert result["b"][2] == pytest.approx(0.5)


def test_quota_is_floored():
    # 14 peers × 20% = 2.8 → 2 places: the third 90+ cadre is 称职
    peers = [Standing(i, 99 - i) for i in range(14)]
    grades = grades_of(rank_and_grade(peers, make_rules()))
    assert [grades[i] for i in range(3)] == ["优秀", "优秀", "称职"]


def test_quota_floor_is_decimal_exact():
    # 0.29 × 100 is 28.999999999999996 in binary floats but 29 places
    assert scoring.quota_places(0.29, 100) == 29
    assert scoring.quota_places(0.2, 14) == 2


def test_tie_straddling_the_quota_gets_no_excellent():
    # 10 peers → 2 places; ranks 1, 2, 2: the tied block ends at place 3
    peers = [Standing("a", 99), Standing("b", 95), Standing("c", 95)]
    peers += [Standing(i, 70) for i in range(7)]
    grades = grades_of(rank_and_grade(peers, make_rules()))
    assert (grades["a"], grades["b"], grades["c"]) == ("优秀", "称职", "称职")


def test_tie_wholly_within_the_quota_is_excellent():
    peers = [Standing("a", 99), Standing("b", 95), Standing("c", 95)]
    peers += [Standing(i, 70) for i in range(12)]  # 15 peers → 3 places
    grades = grades_of(rank_and_grade(peers, make_rules()))
    assert (grades["a"], grades["b"], grades["c"]) == ("优秀", "优秀", "优秀")


def test_excellent_needs_the_threshold_even_within_quota():
    peers = [Standing("a", 89.99), Standing("b", 80)]
    assert grades_of(rank_and_grade(peers, make_rules(excellent_quota=1)))["a"] == "称职"


@pytest.mark.parametrize(
    ("c", "grade"),
    [(75, "称职"), (74.99, "基本称职"), (60, "基本称职"), (59.99, "不称职"), (0, "不称职")],
)
def test_threshold_grades(c, grade):
    peers = [Standing("x", c)]
    assert grades_of(rank_and_grade(peers, make_rules()))["x"] == grade


def test_veto_forces_incompetent_but_keeps_its_rank_place():
    peers = [Standing("a", 99, veto=True), Standing("b", 95), Standing("c", 80)]
    peers += [Standing(i, 70) for i in range(7)]
    result = rank_and_grade(peers, make_rules())
    assert result["a"] == (1, 10, 0.1, "不称职")
    assert result["b"][0] == 2
    assert result["b"][3] == "优秀"  # 10 peers → 2 places, the veto took place 1
    assert result["c"][0] == 3


def test_undetermined_takes_no_rank_place_and_is_not_counted():
    peers = [Standing("a", 99, undetermined=True), Standing("b", 95), Standing("c", 80)]
    result = rank_and_grade(peers, make_rules())
    assert result["a"] == (None, 2, None, "不定等次")
    assert result["b"][:2] == (1, 2)
    assert result["c"][:3] == (2, 2, 1.0)


def test_ranks_use_the_rounded_composite():
    peers = [Standing("a", 90.004), Standing("b", 90.001)]
    assert ranks_of(rank_and_grade(peers, make_rules())) == {"a": 1, "b": 1}


# ---------------------------------------------------------------- rule 8 and result use


def test_delta_against_previous_period():
    assert delta(72.71, 94.76) == -22.05
    assert delta(100, 100) == 0
    assert delta(80, None) is None


@pytest.mark.parametrize(
    ("grade", "previous", "veto", "expected"),
    [
        ("优秀", "优秀", False, ["提拔重用人选"]),
        ("优秀", "称职", False, []),
        ("优秀", None, False, []),
        ("称职", "优秀", False, []),
        ("基本称职", None, False, ["提醒谈话"]),
        ("不称职", None, False, ["组织调整"]),
        ("不称职", "优秀", True, ["组织调整"]),
        ("不定等次", None, True, ["组织调整"]),
        ("不定等次", None, False, []),
    ],
)
def test_result_use_suggestions(grade, previous, veto, expected):
    assert result_use_suggestions(grade, previous, veto) == expected


# ---------------------------------------------------------------- scheme


def test_golden_scheme_reads_and_is_valid():
    case = golden_pure.golden_dir()
    rules = golden_pure.load_rules(case)
    assert validate_scheme(rules) == []
    points = {k: float(v) for k, v in POINTS.items()}
    assert rules.groups[2] == GroupRule("群众评价", "votes", 0.3, points)
    assert (rules.trim_min, rules.adjustment_cap, rules.excellent_quota) == (5, 5, 0.2)
    assert SchemeRules.from_json(rules.to_json()) == rules


def test_valid_scheme_has_no_errors():
    assert validate_scheme(make_rules()) == []


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"dimensions": {"德": 0.5, "能": 0.4}}, "考评维度权重之和应为1"),
        ({"sanping_weight": 0.5}, "三评权重与实绩指标权重之和应为1"),
        ({"groups": (GroupRule("组织评价", "scores", 0),)}, "权重必须大于0"),
        ({"groups": GROUPS + (GroupRule("组织评价", "scores", 0.1),)}, "名称“组织评价”重复"),
        ({"groups": (GroupRule("群众评价", "votes", 1, {"优秀": 95}),)}, "缺少“称职”票的分值"),
        ({"groups": (GroupRule("x", "stars", 1),)}, "类型应为"),
        ({"trim_min": 2}, "不能小于3"),
        ({"excellent_quota": 0}, "优秀比例"),
        ({"excellent_quota": 1.5}, "优秀比例"),
        ({"competent_min": 95}, "等次分数线"),
        ({"basic_min": 80}, "等次分数线"),
        ({"adjustment_cap": -1}, "调整分上限"),
        ({"penalties": SupervisionPenalties(general=-2)}, "督查扣分项"),
        (
            {"indicators": (IndicatorRule("a", 0.2), IndicatorRule("a", 0.2))},
            "实绩指标名称“a”重复",
        ),
    ],
)
def test_invalid_scheme_is_reported(overrides, needle):
    errors = validate_scheme(make_rules(**overrides))
    assert any(needle in e for e in errors), errors


def test_from_json_rejects_a_malformed_scheme():
    with pytest.raises(ValueError, match="方案格式错误"):
        SchemeRules.from_json({"dimensions": []})


# ---------------------------------------------------------------- properties

scores = st.one_of(st.none(), st.floats(0, 100, allow_nan=False))


@NO_DB
@given(
    t=scores,
    i1=scores,
    i2=scores,
    weights=st.lists(st.floats(0.01, 1), min_size=3, max_size=3),
    adjustment=st.floats(-50, 50),
    cap=st.floats(0, 20),
)
def test_composite_stays_within_0_and_100(t, i1, i2, weights, adjustment, cap):
    total = sum(weights)
    rules = make_rules(
        sanping_weight=weights[0] / total,
        indicators=(
            IndicatorRule("p", weights[1] / total),
            IndicatorRule("q", weights[2] / total),
        ),
    )
    c0, _ = composite(t, {"p": i1, "q": i2}, rules)
    if c0 is None:
        assert t is None and i1 is None and i2 is None
        return
    assert -1e-9 <= c0 <= 100 + 1e-9
    a, c = adjusted(c0, adjustment, cap)
    assert abs(a) <= cap
    assert 0 <= c <= 100


standings = st.lists(
    st.tuples(st.integers(0, 10000), st.booleans(), st.integers(0, 9)),
    min_size=1,
    max_size=30,
)


@NO_DB
@given(rows=standings, quota=st.floats(0.01, 1))
def test_ranks_follow_descending_composite(rows, quota):
    peers = [Standing(i, c / 100, veto, flag == 0) for i, (c, veto, flag) in enumerate(rows)]
    result = rank_and_grade(peers, make_rules(excellent_quota=quota))
    ranked = sorted((p for p in peers if not p.undetermined), key=lambda p: -p.composite)
    ranks = [result[p.cadre_key][0] for p in ranked]
    assert ranks == sorted(ranks)
    for p in ranked:
        rank, count, pct, _ = result[p.cadre_key]
        assert rank == 1 + sum(1 for q in ranked if q.composite > p.composite)
        assert count == len(ranked) and pct == pytest.approx(rank / count)
    for p in peers:
        if p.undetermined:
            assert result[p.cadre_key][0] is None
    excellent = sum(1 for g in grades_of(result).values() if g == "优秀")
    assert excellent <= scoring.quota_places(quota, len(ranked))


# ---------------------------------------------------------------- golden case


def golden_periods():
    """Return the period codes of the golden case."""
    case = golden_pure.golden_dir()
    return [p["code"] for p in golden_pure.load_periods(case)]


@pytest.fixture(scope="module")
def golden_results():
    """Compute every period of the golden case once."""
    case = golden_pure.golden_dir()
    return golden_pure.compute_case(case)


def same_cell(expected: str, got) -> bool:
    """Compare an export cell: empty = None, numbers ±0.01, text exact."""
    if expected == "":
        return got is None
    if got is None:
        return False
    if isinstance(got, str):
        return got == expected
    return abs(float(expected) - float(got)) <= 0.01 + 1e-9


@pytest.mark.parametrize("period", golden_periods() or ["(golden case absent)"])
def test_golden_case_is_reproduced(golden_results, period):
    case = golden_pure.golden_dir()
    header, expected = golden_pure.read_expected(case, period)
    assert header == golden_pure.export_columns(golden_pure.load_rules(case))
    got = {row["干部编号"]: row for row in golden_results[period]}
    assert sorted(got) == [row["干部编号"] for row in expected]
    diffs = [
        (row["干部编号"], col, row[col], got[row["干部编号"]][col])
        for row in expected
        for col in header
        if not same_cell(row[col], got[row["干部编号"]][col])
    ]
    assert diffs == []
