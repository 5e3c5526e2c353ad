"""Evaluation use cases: schemes, periods and their state machine (DESIGN.md section 5).

Imports of inputs live in eval_import, computing and exporting results in eval_compute;
this module holds what both need (finding a period, turning a scheme into rules).
"""

from __future__ import annotations

from sqlalchemy import select

from app.core import audit, claims, safe_json
from app.core.commands import command
from app.core.errors import Conflict, DomainError, ImportRejected, NotFound
from app.core.tabular import parse_date
from app.evaluation import scoring
from app.extensions import db
from app.models import (
    PERIOD_KINDS,
    PERIOD_STATES,
    Dimension,
    EvaluationPeriod,
    EvaluationScheme,
    Indicator,
    RaterGroup,
)
from app.security.scope import require_may_run_periods

# state -> (command word, state it moves to); the only legal transitions.
TRANSITIONS = {"draft": ("open", "scoring"), "scoring": ("lock", "locked"), "locked": ("publish", "published")}
_VERBS = {"open": "开始评分", "lock": "锁定", "publish": "发布"}


def get_period(code: str) -> EvaluationPeriod:
    """Return the period with this code or raise NotFound."""
    period = db.session.scalar(select(EvaluationPeriod).where(EvaluationPeriod.code == code))
    if period is None:
        raise NotFound(f"考评期“{code}”不存在")
    return period


def state_label(state: str) -> str:
    return PERIOD_STATES.get(state, state)


def scheme_rules(scheme: EvaluationScheme) -> scoring.SchemeRules:
    """Return the pure scoring rules of a stored scheme."""
    return scoring.SchemeRules.from_json(_scheme_json(scheme))


def _scheme_json(scheme: EvaluationScheme) -> dict:
    groups = []
    for g in scheme.rater_groups:
        item = {"name": g.name, "kind": g.kind, "weight": g.weight}
        if g.kind == "votes":
            item["points"] = {
                scoring.EXCELLENT: g.points_excellent,
                scoring.COMPETENT: g.points_competent,
                scoring.BASIC: g.points_basic,
                scoring.INCOMPETENT: g.points_incompetent,
            }
        groups.append(item)
    return {
        "name": scheme.name,
        "trim_min": scheme.trim_min,
        "dimensions": [{"name": d.name, "weight": d.weight} for d in scheme.dimensions],
        "rater_groups": groups,
        "sanping_weight": scheme.sanping_weight,
        "indicators": [{"name": i.name, "weight": i.weight, "source": i.source} for i in scheme.indicators],
        "adjustment_cap": scheme.adjustment_cap,
        "grades": {
            "excellent_min": scheme.excellent_min,
            "excellent_quota": scheme.excellent_quota,
            "competent_min": scheme.competent_min,
            "basic_min": scheme.basic_min,
        },
        "supervision_penalties": {
            "overdue_task": scheme.penalty_overdue_task,
            "general": scheme.penalty_general,
            "serious": scheme.penalty_serious,
            "severe": scheme.penalty_severe,
            "overdue_rectification": scheme.penalty_overdue_rectification,
        },
        "appeals_settings": {
            "sign": _or(scheme.appeal_weight_sign, 0.3),
            "reply": _or(scheme.appeal_weight_reply, 0.4),
            "satisfaction": _or(scheme.appeal_weight_satisfaction, 0.3),
            "reopen": _or(scheme.appeal_penalty_reopen, 2),
        },
    }


def _or(value, default):
    return default if value is None else value


# ---------------------------------------------------------------- schemes


def import_scheme(json_data, *, user) -> tuple[EvaluationScheme, bool]:
    """Create or replace (by name) a scheme from the golden JSON layout; returns (scheme, created).
    Schemes are city-wide, like periods: only city staff and admins (and the CLI) may.

    A replacement claims the scheme's row before it checks that no period beyond 草稿 uses
    it: opening a period claims the same row, so of a replacement and an opening at the same
    instant one waits for the other and a period never runs on a scheme changed under it."""
    require_may_run_periods(user, "新建或修改考评方案")
    rules = _parse_scheme(json_data)
    errors = scoring.validate_scheme(rules)
    if not rules.name.strip():
        errors.insert(0, "方案名称不能为空")
    if errors:
        raise ImportRejected([(None, e) for e in errors])
    scheme = db.session.scalar(select(EvaluationScheme).where(EvaluationScheme.name == rules.name))
    created = scheme is None
    with command(user, f"方案“{rules.name}”已被他人同时创建或修改，您的方案未保存；请刷新后重试"):
        if created:
            scheme = EvaluationScheme(name=rules.name)
            db.session.add(scheme)
        else:
            claims.claim(scheme, "id", (scheme.id,), SCHEME_TAKEN)
            _check_replaceable(scheme)
            # Children go first so that a name kept in the new version does not collide.
            scheme.dimensions.clear()
            scheme.rater_groups.clear()
            scheme.indicators.clear()
            db.session.flush()
        _fill_scheme(scheme, rules)
    return scheme, created


SCHEME_TAKEN = "该考评方案已被他人修改或删除，请刷新后重试"


def _parse_scheme(json_data) -> scoring.SchemeRules:
    try:
        data = safe_json.loads(json_data) if isinstance(json_data, (bytes, str)) else json_data
    except safe_json.JsonRefused as exc:
        raise ImportRejected([(None, f"方案文件不是有效的 JSON：{exc.message}")])
    except (ValueError, UnicodeDecodeError) as exc:
        raise ImportRejected([(None, f"方案文件不是有效的 JSON：{exc}")])
    if not isinstance(data, dict):
        raise ImportRejected([(None, "方案文件应为一个 JSON 对象")])
    try:
        rules = scoring.SchemeRules.from_json(data)
    except (ValueError, RecursionError) as exc:
        raise ImportRejected([(None, str(exc) if isinstance(exc, ValueError) else "方案格式错误：嵌套层数过深")])
    # float() turns "NaN", "inf" and 1e999 (text in a JSON file, or typed into the form) into
    # numbers that no weight check catches (NaN compares false with everything).
    bad = safe_json.non_finite_paths(rules.to_json())
    if bad:
        raise ImportRejected([(None, f"方案中的数值必须是有限的数字（不能是 NaN 或 Infinity）：{'、'.join(bad)}")])
    return rules


def _check_replaceable(scheme: EvaluationScheme) -> None:
    busy = db.session.scalars(
        select(EvaluationPeriod.code).where(EvaluationPeriod.scheme_id == scheme.id, EvaluationPeriod.state != "draft")
    ).all()
    if busy:
        raise Conflict(f"方案“{scheme.name}”已被非草稿状态的考评期使用（{'、'.join(busy)}），不能替换")


def _fill_scheme(scheme: EvaluationScheme, rules: scoring.SchemeRules) -> None:
    scheme.trim_min = rules.trim_min
    scheme.sanping_weight = rules.sanping_weight
    scheme.adjustment_cap = rules.adjustment_cap
    scheme.excellent_min = rules.excellent_min
    scheme.excellent_quota = rules.excellent_quota
    scheme.competent_min = rules.competent_min
    scheme.basic_min = rules.basic_min
    p = rules.penalties
    scheme.penalty_overdue_task = p.overdue_task
    scheme.penalty_general = p.general
    scheme.penalty_serious = p.serious
    scheme.penalty_severe = p.severe
    scheme.penalty_overdue_rectification = p.overdue_rectification
    a = rules.appeals
    scheme.appeal_weight_sign = a.sign
    scheme.appeal_weight_reply = a.reply
    scheme.appeal_weight_satisfaction = a.satisfaction
    scheme.appeal_penalty_reopen = a.reopen
    for sort, (name, weight) in enumerate(rules.dimensions.items()):
        scheme.dimensions.append(Dimension(name=name, weight=weight, sort=sort))
    for sort, g in enumerate(rules.groups):
        points = g.points or {}
        scheme.rater_groups.append(
            RaterGroup(
                name=g.name,
                kind=g.kind,
                weight=g.weight,
                sort=sort,
                points_excellent=points.get(scoring.EXCELLENT),
                points_competent=points.get(scoring.COMPETENT),
                points_basic=points.get(scoring.BASIC),
                points_incompetent=points.get(scoring.INCOMPETENT),
            )
        )
    for sort, i in enumerate(rules.indicators):
        scheme.indicators.append(Indicator(name=i.name, weight=i.weight, source=i.source, sort=sort))


# ---------------------------------------------------------------- periods


def create_period(code, name, kind, scheme_name, start, end, previous_code=None, *, user) -> EvaluationPeriod:
    """Create a period in 草稿; every problem is reported at once. Periods are city-wide: only
    city staff and admins (and the CLI) may."""
    require_may_run_periods(user, "新建考评期")
    errors = []
    code, name = (code or "").strip(), (name or "").strip()
    if not code or len(code) > 32:
        errors.append("考评期编码不能为空且最多 32 个字符")
    elif db.session.scalar(select(EvaluationPeriod.id).where(EvaluationPeriod.code == code)):
        errors.append(f"考评期编码“{code}”已存在")
    if not name or len(name) > 100:
        errors.append("考评期名称不能为空且最多 100 个字符")
    if kind not in PERIOD_KINDS:
        errors.append(f"考评期类型“{kind}”无效，应为 {'/'.join(PERIOD_KINDS)} 之一")
    scheme = db.session.scalar(select(EvaluationScheme).where(EvaluationScheme.name == scheme_name))
    if scheme is None:
        errors.append(f"考评方案“{scheme_name}”不存在")
    dates = {}
    for label, text in (("开始日期", start), ("结束日期", end)):
        try:
            dates[label] = parse_date(str(text)) if not hasattr(text, "year") else text
        except ValueError:
            errors.append(f"{label}“{text}”不是有效日期（应为 YYYY-MM-DD）")
    if len(dates) == 2 and dates["开始日期"] > dates["结束日期"]:
        errors.append("开始日期不能晚于结束日期")
    previous = None
    if previous_code:
        previous = db.session.scalar(select(EvaluationPeriod).where(EvaluationPeriod.code == previous_code))
        if previous is None:
            errors.append(f"上一考评期“{previous_code}”不存在")
    if errors:
        raise DomainError("；".join(errors))
    period = EvaluationPeriod(
        code=code,
        name=name,
        kind=kind,
        scheme=scheme,
        start_date=dates["开始日期"],
        end_date=dates["结束日期"],
        previous=previous,
        state="draft",
    )
    with command(user, f"考评期编码“{code}”已被他人同时创建，未保存；请刷新后重试"):
        db.session.add(period)
    return period


def transition(period_code: str, action: str, *, user) -> EvaluationPeriod:
    """Move a period on by one step (open, lock or publish); anything else is refused.
    Periods are city-wide: only city staff and admins may (the CLI too).

    The period is claimed in the state it was read in: of two people locking (or locking and
    publishing, or a lock and a score being saved) at the same instant one wins, the other
    gets a Conflict and nothing of theirs is kept."""
    require_may_run_periods(user, "变更考评期状态")
    period = get_period(period_code)
    _check_step(period, action)
    with command(user, f"考评期“{period.code}”{PERIOD_TAKEN}"):
        claim_period(period, (period.state,))
        _check_step(period, action)  # computed_at as of the claim
        if action == "open":  # held against a replacement of the scheme (import_scheme)
            claims.claim(period.scheme, "id", (period.scheme_id,), SCHEME_TAKEN)
        period.state = TRANSITIONS[period.state][1]
    return period


PERIOD_TAKEN = "已被他人变更状态或正在计算，请刷新后重试"


def claim_period(period: EvaluationPeriod, states, message: str | None = None) -> None:
    """Claim the period's row while it is in one of `states` (see app/services/claims.py):
    every command that changes a period or its inputs does this first, so state changes,
    input changes and computes of one period never interleave."""
    claims.claim(period, "state", tuple(states), message or f"考评期“{period.code}”{PERIOD_TAKEN}")


def _check_step(period: EvaluationPeriod, action: str) -> None:
    step = TRANSITIONS.get(period.state)
    if step is None or step[0] != action:
        allowed = f"当前只能{_VERBS[step[0]]}" if step else "已发布的考评期不能再变更状态"
        raise Conflict(f"考评期“{period.code}”当前状态为{state_label(period.state)}，不能{_VERBS[action]}；{allowed}")
    if action == "publish" and period.computed_at is None:
        raise Conflict(f"考评期“{period.code}”尚未计算结果，不能发布")


def open_period(code: str, *, user) -> EvaluationPeriod:
    return transition(code, "open", user=user)


def lock_period(code: str, *, user) -> EvaluationPeriod:
    return transition(code, "lock", user=user)


def publish_period(code: str, *, user) -> EvaluationPeriod:
    return transition(code, "publish", user=user)


def record_bulk(action: str, table: str, period: EvaluationPeriod, summary: dict) -> None:
    """One summary audit row for a bulk write that bypassed the ORM listener; it is about the
    acting user's unit (the subtree whose rows it wrote)."""
    audit.record(db.session, action, table, f"period:{period.code}", None, summary, unit_id=audit.actor_unit_id())
