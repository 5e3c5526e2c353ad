"""Pure scoring math of 三评两比一综合 (DESIGN.md section 5): plain values in, plain values out.

The set-based SQL of the compute service feeds these functions aggregates (count, sum, max,
min per cadre/group/dimension; vote counts; indicator scores; adjustment sums). No Flask or
SQLAlchemy here. Findings from golden/case1 are noted next to the rule they settle.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Hashable
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal
from typing import NamedTuple

EXCELLENT = "优秀"
COMPETENT = "称职"
BASIC = "基本称职"
INCOMPETENT = "不称职"
UNDETERMINED = "不定等次"
UNKNOWN_VOTE = "不了解"
VOTE_GRADES = (EXCELLENT, COMPETENT, BASIC, INCOMPETENT)
DEFAULT_VOTE_POINTS = {EXCELLENT: 95.0, COMPETENT: 85.0, BASIC: 75.0, INCOMPETENT: 65.0}

SUGGEST_PROMOTE = "提拔重用人选"
SUGGEST_TALK = "提醒谈话"
SUGGEST_ADJUST = "组织调整"

GROUP_KINDS = ("scores", "votes")
INDICATOR_SOURCES = ("entered", "supervision", "appeals")
WEIGHT_TOLERANCE = 1e-6


@dataclass(frozen=True)
class GroupRule:
    """A rater group of a scheme (三评)."""

    name: str
    kind: str  # "scores" or "votes"
    weight: float
    points: dict[str, float] | None = None  # votes: {"优秀": 95, "称职": 85, ...}


@dataclass(frozen=True)
class IndicatorRule:
    """A performance indicator (实绩) of a scheme."""

    name: str
    weight: float
    source: str = "entered"  # "entered", "supervision" or "appeals"


@dataclass(frozen=True)
class SupervisionPenalties:
    """Points taken off the supervision indicator per event."""

    overdue_task: float = 5
    general: float = 2  # 一般
    serious: float = 5  # 较重
    severe: float = 10  # 严重
    overdue_rectification: float = 3


@dataclass(frozen=True)
class AppealsSettings:
    """诉求办理实绩 (PLATFORM.md §2): 100·(sign·签收及时率 + reply·按时答复率 +
    satisfaction·满意率) − reopen·重办件数, clamped to [0, 100]."""

    sign: float = 0.3
    reply: float = 0.4
    satisfaction: float = 0.3
    reopen: float = 2  # points per appeal reopened (重办) at least once


APPEALS_SETTING_LABELS = {"sign": "签收及时率权重", "reply": "按时答复率权重", "satisfaction": "满意率权重",
                          "reopen": "每件重办扣分"}


@dataclass(frozen=True)
class SchemeRules:
    """Every number of an evaluation scheme that the scoring rules need."""

    dimensions: dict[str, float]  # name -> weight, sums to 1
    groups: tuple[GroupRule, ...]
    sanping_weight: float  # alpha
    indicators: tuple[IndicatorRule, ...]
    trim_min: int = 5
    adjustment_cap: float = 5
    excellent_min: float = 90
    excellent_quota: float = 0.2
    competent_min: float = 75
    basic_min: float = 60
    penalties: SupervisionPenalties = field(default_factory=SupervisionPenalties)
    appeals: AppealsSettings = field(default_factory=AppealsSettings)
    name: str = ""

    @classmethod
    def from_json(cls, data: dict) -> SchemeRules:
        """Build the rules from the layout of golden/case1/scheme.json."""
        try:
            grades = data.get("grades", {})
            return cls(
                name=str(data.get("name", "")),
                dimensions={d["name"]: float(d["weight"]) for d in data["dimensions"]},
                groups=tuple(_group_from_json(g) for g in data["rater_groups"]),
                sanping_weight=float(data["sanping_weight"]),
                indicators=tuple(_indicator_from_json(i) for i in data.get("indicators", [])),
                trim_min=int(data.get("trim_min", 5)),
                adjustment_cap=float(data.get("adjustment_cap", 5)),
                excellent_min=float(grades.get("excellent_min", 90)),
                excellent_quota=float(grades.get("excellent_quota", 0.2)),
                competent_min=float(grades.get("competent_min", 75)),
                basic_min=float(grades.get("basic_min", 60)),
                penalties=SupervisionPenalties(**_penalties_from_json(data)),
                appeals=AppealsSettings(**_appeals_from_json(data)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"方案格式错误：{exc}") from exc

    def to_json(self) -> dict:
        """Return the rules in the layout that from_json reads."""
        return {
            "name": self.name,
            "trim_min": self.trim_min,
            "dimensions": [{"name": n, "weight": w} for n, w in self.dimensions.items()],
            "rater_groups": [_group_to_json(g) for g in self.groups],
            "sanping_weight": self.sanping_weight,
            "indicators": [
                {"name": i.name, "weight": i.weight, "source": i.source} for i in self.indicators
            ],
            "adjustment_cap": self.adjustment_cap,
            "grades": {
                "excellent_min": self.excellent_min,
                "excellent_quota": self.excellent_quota,
                "competent_min": self.competent_min,
                "basic_min": self.basic_min,
            },
            "supervision_penalties": vars(self.penalties).copy(),
            "appeals_settings": vars(self.appeals).copy(),
        }


def _group_from_json(g: dict) -> GroupRule:
    """Build one rater group from its JSON object."""
    kind = g.get("kind", "scores")
    points = g.get("points")
    if kind == "votes" and points is None:
        points = dict(DEFAULT_VOTE_POINTS)
    points = {k: float(v) for k, v in points.items()} if points is not None else None
    return GroupRule(name=g["name"], kind=kind, weight=float(g["weight"]), points=points)


def _group_to_json(g: GroupRule) -> dict:
    """Return one rater group as a JSON object."""
    out: dict = {"name": g.name, "kind": g.kind, "weight": g.weight}
    if g.points is not None:
        out["points"] = dict(g.points)
    return out


def _indicator_from_json(i: dict) -> IndicatorRule:
    """Build one indicator from its JSON object."""
    source = i.get("source", "entered")
    return IndicatorRule(name=i["name"], weight=float(i["weight"]), source=source)


def _penalties_from_json(data: dict) -> dict[str, float]:
    """Read the optional supervision penalties object."""
    raw = data.get("supervision_penalties") or data.get("penalties") or {}
    known = SupervisionPenalties.__dataclass_fields__
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ValueError(f"未知的督查扣分项 {', '.join(unknown)}")
    return {k: float(v) for k, v in raw.items()}


def _appeals_from_json(data: dict) -> dict[str, float]:
    """Read the optional 诉求办理实绩 settings object."""
    raw = data.get("appeals_settings") or {}
    if not isinstance(raw, dict):
        raise ValueError("appeals_settings 应为一个对象")
    unknown = sorted(set(raw) - set(AppealsSettings.__dataclass_fields__))
    if unknown:
        raise ValueError(f"未知的诉求办理实绩设置项 {', '.join(unknown)}")
    return {k: float(v) for k, v in raw.items()}


# ---------------------------------------------------------------- validation


def validate_scheme(rules: SchemeRules) -> list[str]:
    """Return every inconsistency of the scheme as a Chinese message (empty when valid)."""
    return [
        *_check_dimensions(rules),
        *_check_groups(rules),
        *_check_composite_weights(rules),
        *_check_grades(rules),
        *_check_penalties(rules.penalties),
        *_check_appeals(rules.appeals),
    ]


def _duplicates(names) -> list[str]:
    """Return the names that occur more than once, in first-seen order."""
    seen: set = set()
    dup: list[str] = []
    for n in names:
        if n in seen and n not in dup:
            dup.append(n)
        seen.add(n)
    return dup


def _weights_sum_to_one(weights) -> bool:
    """Tell whether the weights add up to 1 within tolerance."""
    return abs(math.fsum(weights) - 1) <= WEIGHT_TOLERANCE


def _check_dimensions(rules: SchemeRules) -> list[str]:
    """Check the assessment dimensions (德能勤绩廉)."""
    errors = []
    if not rules.dimensions:
        errors.append("至少需要一个考评维度")
    for name, w in rules.dimensions.items():
        if not str(name).strip():
            errors.append("考评维度名称不能为空")
        if w < 0:
            errors.append(f"考评维度“{name}”的权重不能为负数")
    if rules.dimensions and not _weights_sum_to_one(rules.dimensions.values()):
        total = math.fsum(rules.dimensions.values())
        errors.append(f"考评维度权重之和应为1，当前为{total:g}")
    return errors


def _check_groups(rules: SchemeRules) -> list[str]:
    """Check the rater groups (三评)."""
    errors = []
    if not rules.groups:
        errors.append("至少需要一个评价组")
    for dup in _duplicates(g.name for g in rules.groups):
        errors.append(f"评价组名称“{dup}”重复")
    for g in rules.groups:
        if not g.name.strip():
            errors.append("评价组名称不能为空")
        if g.kind not in GROUP_KINDS:
            errors.append(f"评价组“{g.name}”的类型应为 scores 或 votes")
        if not g.weight > 0:
            errors.append(f"评价组“{g.name}”的权重必须大于0")
        if g.kind == "votes":
            errors.extend(_check_points(g))
    if not rules.trim_min >= 3:
        errors.append("去掉最高最低分的最少份数不能小于3")
    return errors


def _check_points(g: GroupRule) -> list[str]:
    """Check the points of a votes group."""
    points = g.points or {}
    missing = [k for k in VOTE_GRADES if k not in points]
    errors = [f"评价组“{g.name}”缺少“{k}”票的分值" for k in missing]
    errors += [f"评价组“{g.name}”的票种“{k}”无效" for k in points if k not in VOTE_GRADES]
    errors += [
        f"评价组“{g.name}”的“{k}”票分值应在0到100之间"
        for k, v in points.items()
        if not 0 <= v <= 100
    ]
    return errors


def _check_composite_weights(rules: SchemeRules) -> list[str]:
    """Check alpha and the indicator weights (α + Σv = 1)."""
    errors = []
    if rules.sanping_weight < 0:
        errors.append("三评权重不能为负数")
    for dup in _duplicates(i.name for i in rules.indicators):
        errors.append(f"实绩指标名称“{dup}”重复")
    for i in rules.indicators:
        if not i.name.strip():
            errors.append("实绩指标名称不能为空")
        if i.weight < 0:
            errors.append(f"实绩指标“{i.name}”的权重不能为负数")
        if i.source not in INDICATOR_SOURCES:
            errors.append(f"实绩指标“{i.name}”的来源应为 entered、supervision 或 appeals")
    weights = [rules.sanping_weight, *(i.weight for i in rules.indicators)]
    if not _weights_sum_to_one(weights):
        errors.append(f"三评权重与实绩指标权重之和应为1，当前为{math.fsum(weights):g}")
    if sum(1 for i in rules.indicators if i.source == "supervision") > 1:
        errors.append("督查实绩指标最多只能有一个")
    if sum(1 for i in rules.indicators if i.source == "appeals") > 1:
        errors.append("诉求办理实绩指标最多只能有一个")
    return errors


def _check_grades(rules: SchemeRules) -> list[str]:
    """Check thresholds, quota and the adjustment cap."""
    errors = []
    if not 0 <= rules.basic_min <= rules.competent_min <= rules.excellent_min <= 100:
        errors.append("等次分数线应满足 0 ≤ 基本称职 ≤ 称职 ≤ 优秀 ≤ 100")
    if not 0 < rules.excellent_quota <= 1:
        errors.append("优秀比例应大于0且不超过1")
    if not rules.adjustment_cap >= 0:
        errors.append("调整分上限不能为负数")
    return errors


def _check_penalties(p: SupervisionPenalties) -> list[str]:
    """Check the supervision penalties."""
    return [f"督查扣分项“{k}”不能为负数" for k, v in vars(p).items() if v < 0]


def _check_appeals(a: AppealsSettings) -> list[str]:
    """Check the 诉求办理实绩 settings: three rate weights in [0, 1] summing to 1, a penalty ≥ 0."""
    errors = []
    weights = {k: getattr(a, k) for k in ("sign", "reply", "satisfaction")}
    for key, w in weights.items():
        if not 0 <= w <= 1:
            errors.append(f"诉求办理实绩的{APPEALS_SETTING_LABELS[key]}应在0到1之间")
    if not _weights_sum_to_one(weights.values()):
        errors.append(f"诉求办理实绩的三项权重（签收及时率、按时答复率、满意率）之和应为1，当前为{math.fsum(weights.values()):g}")
    if not a.reopen >= 0:
        errors.append("诉求办理实绩的每件重办扣分不能为负数")
    return errors


# ---------------------------------------------------------------- rounding


_ROUNDING = Context(prec=60)
_QUANTA = {p: (Decimal(1).scaleb(-(p + 10)), Decimal(1).scaleb(-p)) for p in range(7)}


def round_half_up(x: float, places: int = 2) -> float:
    """Round half away from zero on the decimal value of x, absorbing binary float error."""
    if not math.isfinite(x):
        raise ValueError(f"cannot round {x!r}")
    if round(x, places) == x:  # already a figure of `places` decimals (a rounded C, say): unchanged
        return x + 0.0
    snap, quantum = _QUANTA.get(places) or (Decimal(1).scaleb(-(places + 10)), Decimal(1).scaleb(-places))
    # repr reads 2.675 as "2.675"; snapping at 1e-12 turns 76.30499999999999 into its tie.
    d = Decimal(repr(float(x))).quantize(snap, ROUND_HALF_EVEN, _ROUNDING)
    return float(d.quantize(quantum, ROUND_HALF_UP, _ROUNDING)) + 0.0  # no -0.0


def _weighted_mean(pairs) -> float | None:
    """Return Σ w·x / Σ w over the pairs whose value is present, or None."""
    weights, products = [], []
    for w, x in pairs:
        if x is not None:
            weights.append(w)
            products.append(w * x)
    total_weight = math.fsum(weights)
    if not weights or total_weight <= 0:
        return None
    return math.fsum(products) / total_weight


# ---------------------------------------------------------------- 三评


def dimension_score(n: int, total: float, high: float, low: float, trim_min: int) -> float | None:
    """Return S[g,d]: the (trimmed) mean of one group's sheets for one dimension."""
    if n <= 0:
        return None
    # Golden: trim per dimension (its own max and min, not whole sheets); 4 sheets no, 6 yes.
    if n >= max(trim_min, 3):
        return (total - high - low) / (n - 2)
    return total / n


def group_score(dim_scores: dict[str, float], dimensions: dict[str, float]) -> float | None:
    """Return S[g] = Σ_d w_d · S[g,d] for a group of kind scores."""
    # Not in golden (imports reject blank cells): a missing dimension renormalizes like a group.
    return _weighted_mean((w, dim_scores.get(name)) for name, w in dimensions.items())


def votes_score(counts: dict[str, int], points: dict[str, float]) -> float | None:
    """Return S[g] of a votes group; None when no vote other than 不了解."""
    # Golden (G01007, G01020, G01033 2021): only 不了解 votes → no score, the group is 缺评.
    votes = {grade: counts.get(grade, 0) or 0 for grade in points if grade != UNKNOWN_VOTE}
    cast = sum(votes.values())
    if cast <= 0:
        return None
    return math.fsum(points[g] * v for g, v in votes.items()) / cast


def sanping_score(
    group_scores: dict[str, float | None], groups: tuple[GroupRule, ...]
) -> tuple[float | None, list[str]]:
    """Return (T, names of missing groups): weights renormalized over present groups."""
    # Golden (G01008 2021, no 领导和同事评价 sheets): T renormalizes over present groups.
    missing = [g.name for g in groups if group_scores.get(g.name) is None]
    t = _weighted_mean((g.weight, group_scores.get(g.name)) for g in groups)
    return t, missing


# ---------------------------------------------------------------- 实绩 and 一综合


def supervision_indicator(
    overdue_tasks: int,
    general: int,
    serious: int,
    severe: int,
    overdue_rectifications: int,
    penalties: SupervisionPenalties = SupervisionPenalties(),
) -> float:
    """Return 督查实绩 = max(0, 100 − the penalties of the cadre's overdue tasks and findings)."""
    lost = math.fsum(
        (
            penalties.overdue_task * overdue_tasks,
            penalties.general * general,
            penalties.serious * serious,
            penalties.severe * severe,
            penalties.overdue_rectification * overdue_rectifications,
        )
    )
    return max(0.0, 100.0 - lost)


def appeals_indicator(
    sign_rate: float | None,
    reply_rate: float | None,
    satisfaction_rate: float | None,
    reopened: int,
    settings: AppealsSettings = AppealsSettings(),
) -> float | None:
    """Return 诉求办理实绩 = 100·(w_s·签收及时率 + w_r·按时答复率 + w_m·满意率) − p·重办件数,
    clamped to [0, 100]; rates are fractions in [0, 1].

    A rate with nothing to measure (no assignment signed or overdue, no reply due, no call-back)
    is None: the weights are renormalized over the rates present, as a missing rater group is.
    No rate at all (a unit with no appeals to judge) gives None: the indicator is missing.
    """
    from app.appeals.rules import indicator  # the one formula (pure), with the scheme's settings

    return indicator(sign_rate, reply_rate, satisfaction_rate, reopened,
                     (settings.sign, settings.reply, settings.satisfaction), settings.reopen)


def composite(
    t: float | None, indicator_scores: dict[str, float | None], rules: SchemeRules
) -> tuple[float | None, list[str]]:
    """Return (C0, missing indicator names): α·T + Σ v_k·I_k renormalized over present parts."""
    # Golden (G01004, 基层治理实绩 missing): C0 = (α·T + v·I) / (α + v), renormalized like a group.
    missing = [i.name for i in rules.indicators if indicator_scores.get(i.name) is None]
    parts = [(rules.sanping_weight, t)]
    parts += [(i.weight, indicator_scores.get(i.name)) for i in rules.indicators]
    return _weighted_mean(parts), missing


def adjustments_total(additions, deductions) -> float:
    """Return the signed sum of approved adjustments: Σ 加分 − Σ 减分 (values are positive)."""
    return math.fsum(additions) - math.fsum(abs(d) for d in deductions)


def adjusted(c0: float, adjustments_total: float, cap: float) -> tuple[float, float]:
    """Return (A clipped to ±cap, C = round_half_up(clamp(C0 + A, 0, 100)))."""
    # Golden (G01001: +10 → 调整分 5.00, 96.63+5 → 100.00): cap the sum, clamp after adding A.
    a = max(-cap, min(cap, adjustments_total)) + 0.0
    return a, round_half_up(max(0.0, min(100.0, c0 + a)))


# ---------------------------------------------------------------- 两比 and grade


@dataclass
class Standing:
    """One cadre's rounded C in a peer group, with its veto and 不定等次 flags."""

    cadre_key: Hashable
    composite: float | None
    veto: bool = False
    undetermined: bool = False


def quota_places(quota: float, peer_count: int) -> int:
    """Return floor(quota · peer count), computed on decimals (0.29·100 → 29, not 28)."""
    places = Decimal(repr(float(quota))) * peer_count
    return int(places.to_integral_value(rounding=ROUND_FLOOR))


def base_grade(c: float, rules: SchemeRules) -> str:
    """Return the grade of C by thresholds alone (称职, 基本称职 or 不称职)."""
    if c >= rules.competent_min:
        return COMPETENT
    if c >= rules.basic_min:
        return BASIC
    return INCOMPETENT


def rank_and_grade(
    peers: list[Standing], rules: SchemeRules
) -> dict[Hashable, tuple[int | None, int, float | None, str]]:
    """Return key -> (rank, peer count, percentile, grade) for ONE peer group (post category)."""
    # Golden (2021 村党组织书记: 13 results, 同类人数 12): 不定等次 takes no place, is not counted.
    # A result without C (nothing scored) is treated the same way.
    ranked = [p for p in peers if _takes_place(p)]
    count = len(ranked)
    values = sorted(round_half_up(p.composite) for p in ranked)  # ascending, for bisect
    places = quota_places(rules.excellent_quota, count)
    out: dict[Hashable, tuple[int | None, int, float | None, str]] = {}
    for p in peers:
        if not _takes_place(p):
            # Not in golden: a veto still forces 不称职 on a 不定等次 result.
            out[p.cadre_key] = (None, count, None, INCOMPETENT if p.veto else UNDETERMINED)
            continue
        c = round_half_up(p.composite)
        above = bisect_right(values, c)
        rank = 1 + count - above  # competition ranking: 1, 2, 2, 4 (O(log n) per cadre)
        block_end = rank + (above - bisect_left(values, c)) - 1
        out[p.cadre_key] = (rank, count, rank / count, _grade(p, c, block_end, places, rules))
    return out


def _takes_place(p: Standing) -> bool:
    """Tell whether the result takes a rank place and counts in 同类人数."""
    return not p.undetermined and p.composite is not None


def _grade(p: Standing, c: float, block_end: int, places: int, rules: SchemeRules) -> str:
    """Return the grade of a ranked cadre whose tied block ends at place block_end."""
    # Golden (G01007 2021 rank 2, G01005 2022 rank 4): a veto keeps its rank place and is counted.
    if p.veto:
        return INCOMPETENT
    # Golden (2022 乡镇党政正职: 2 places, 95.28 tied at 2-3): a block straddling the quota gets no 优秀.
    if c >= rules.excellent_min and block_end <= places:
        return EXCELLENT
    return base_grade(c, rules)


def delta(current: float, previous: float | None) -> float | None:
    """Return 较上期 = C − previous C (both rounded), or None without a previous result."""
    # Golden: any previous C counts (G01040 不定等次, G01007 veto); none → empty (G01005, G01014).
    if previous is None or current is None:
        return None
    return round_half_up(round_half_up(current) - round_half_up(previous))


def result_use_suggestions(grade: str, previous_grade: str | None, veto: bool) -> list[str]:
    """Return the 结果运用 suggestions for a cadre's grade, previous grade and veto."""
    suggestions = []
    if grade == EXCELLENT and previous_grade == EXCELLENT:
        suggestions.append(SUGGEST_PROMOTE)
    if grade == BASIC:
        suggestions.append(SUGGEST_TALK)
    if grade == INCOMPETENT or veto:
        suggestions.append(SUGGEST_ADJUST)
    return suggestions


# ---------------------------------------------------------------- one cadre end to end


class DimensionAggregate(NamedTuple):
    """Aggregate of one cadre's sheets of one group for one dimension (a tuple: 500,000 of
    them are built per period at city scale)."""

    n: int
    total: float
    high: float
    low: float


@dataclass(frozen=True)
class CadreScore:
    """Every computed number of one cadre before ranking."""

    group_scores: dict[str, float | None]
    sanping: float | None
    missing_groups: list[str]
    indicators: dict[str, float | None]
    missing_indicators: list[str]
    composite_raw: float | None  # C0
    adjustment: float  # A, clipped
    composite: float | None  # C, rounded
    dimensions: dict[str, float | None] = field(default_factory=dict)  # S[d] across the score groups


def score_cadre(
    sheets: dict[tuple[str, str], DimensionAggregate],
    votes: dict[str, dict[str, int]],
    indicator_scores: dict[str, float | None],
    adjustment_sum: float,
    rules: SchemeRules,
) -> CadreScore:
    """Apply rules 1-6 to one cadre's aggregates: sheets keyed by (group, dimension)."""
    by_group = {g.name: _group_dimensions(g, sheets, rules) for g in rules.groups if g.kind == "scores"}
    group_scores = {
        g.name: group_score(by_group[g.name], rules.dimensions) if g.kind == "scores" else _votes_group(g, votes)
        for g in rules.groups
    }
    t, missing_groups = sanping_score(group_scores, rules.groups)
    c0, missing_indicators = composite(t, indicator_scores, rules)
    a, c = adjusted(0.0 if c0 is None else c0, adjustment_sum, rules.adjustment_cap)
    return CadreScore(
        group_scores=group_scores,
        sanping=t,
        missing_groups=missing_groups,
        indicators={i.name: indicator_scores.get(i.name) for i in rules.indicators},
        missing_indicators=missing_indicators,
        composite_raw=c0,
        adjustment=a,
        composite=None if c0 is None else c,
        dimensions=dimensions_across_groups(by_group, rules),
    )


def _votes_group(g: GroupRule, votes) -> float | None:
    """Return the score of a votes group from the cadre's vote counts."""
    counts = votes.get(g.name)
    return votes_score(counts, g.points or DEFAULT_VOTE_POINTS) if counts else None


def _group_dimensions(g: GroupRule, sheets, rules: SchemeRules) -> dict[str, float | None]:
    """Return S[g,d] of a scores group for each dimension with sheets."""
    dims = {}
    for d in rules.dimensions:
        agg = sheets.get((g.name, d))
        if agg is not None:
            dims[d] = dimension_score(agg.n, agg.total, agg.high, agg.low, rules.trim_min)
    return dims


def dimensions_across_groups(by_group: dict[str, dict[str, float | None]], rules: SchemeRules) -> dict:
    """Return S[d] = Σ_g w_g · S[g,d] / Σ_g w_g over the score groups present for d (the
    profile's per-dimension score; weights renormalized like T), for every dimension."""
    groups = [(g.weight, by_group[g.name]) for g in rules.groups if g.kind == "scores"]
    out: dict[str, float | None] = {}
    for d in rules.dimensions:  # _weighted_mean, inlined: five times per cadre at city scale
        weights, products = [], []
        for w, scores in groups:
            x = scores.get(d)
            if x is not None:
                weights.append(w)
                products.append(w * x)
        total_weight = math.fsum(weights)
        out[d] = math.fsum(products) / total_weight if weights and total_weight > 0 else None
    return out
