"""Results of a period: who may see which, staleness, computing, result use, unlocking.

Results are computed by eval_compute; this module adds what the screens need around them.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import lazyload

from app.core import audit, claims, clock
from app.core.commands import command
from app.core.errors import Conflict, DomainError, Forbidden, NotFound
from app.evaluation import compute as eval_compute
from app.evaluation import scoring
from app.evaluation.entry import is_self
from app.evaluation.periods import claim_period, get_period, state_label
from app.extensions import db
from app.models import Cadre, EvaluationPeriod, EvaluationResult, ResultUse
from app.security.roles import ADMIN
from app.security.scope import apply_cadre_scope, prefix_of, require_may_run_periods

DECISIONS = ("采纳", "暂缓", "不采纳")
NOTE_MAX = 500


def visible_periods(include_unpublished: bool) -> list[EvaluationPeriod]:
    """Periods whose results the user may read, newest first (their schemes load only if used)."""
    stmt = (
        select(EvaluationPeriod)
        .options(lazyload(EvaluationPeriod.scheme))
        .order_by(EvaluationPeriod.start_date.desc(), EvaluationPeriod.code.desc())
    )
    if not include_unpublished:
        stmt = stmt.where(EvaluationPeriod.state == "published")
    return list(db.session.scalars(stmt))


def published_period_ids():
    """A subquery of the ids of published periods."""
    return select(EvaluationPeriod.id).where(EvaluationPeriod.state == "published")


def is_stale(period: EvaluationPeriod) -> bool:
    """Whether an input changed after the results were computed."""
    return bool(period.computed_at and period.inputs_changed_at and period.inputs_changed_at > period.computed_at)


def compute_period(code: str, *, user) -> dict:
    """Compute a period's results as `user`; results are current as of the moment the inputs
    were read. Periods are city-wide: only city staff and admins (and the system) may."""
    require_may_run_periods(user, "计算考评期结果")
    # eval_compute marks the period computed as of this instant: an input changed after it
    # (even within the same second) makes the results stale, one changed before is included.
    return eval_compute.compute(code, started=clock.instant(), user=user)


def unlock(code: str, reason: str, *, user) -> EvaluationPeriod:
    """Admin only: move a locked or published period back to 评分中, with a written reason."""
    if user is not None and ADMIN not in {r.name for r in getattr(user, "roles", [])}:
        raise Forbidden("只有系统管理员可以解锁考评期")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("解锁必须填写原因")
    if len(reason) > NOTE_MAX:
        raise DomainError(f"解锁原因过长（最多 {NOTE_MAX} 个字符）")
    period = get_period(code)
    if period.state not in UNLOCKABLE:
        raise _not_unlockable(period)
    old = period.state
    with command(user, f"考评期“{period.code}”已被他人解锁或变更状态，请刷新后重试"):
        claim_period(period, (old,), f"考评期“{period.code}”已被他人解锁或变更状态，请刷新后重试")
        period.state = "scoring"
        audit.record(db.session, "unlock", "evaluation_period", period.id,
                     {"state": old}, {"state": "scoring", "reason": reason})
    return period


UNLOCKABLE = ("locked", "published")


def _not_unlockable(period: EvaluationPeriod) -> Conflict:
    return Conflict(f"考评期“{period.code}”当前状态为{state_label(period.state)}，只有已锁定或已发布的考评期才能解锁")


# ---------------------------------------------------------------- result use (结果运用)


def generate_result_uses(code: str, *, user) -> dict:
    """Draw the suggestions from the period's results in the user's scope.

    Decided suggestions are kept as they are; undecided ones that no longer follow from the
    results are removed; new ones are added.
    """
    period = get_period(code)
    with command(user, f"考评期“{period.code}”的结果运用建议已被他人同时生成，请刷新后重试"):
        # Generations of one period take turns, and read the results as of their turn: a
        # second one finds the first's rows, a compute committed meanwhile is used.
        claim_period(period, (period.state,))
        if period.computed_at is None:
            raise Conflict(f"考评期“{period.code}”尚未计算结果，请先计算")
        wanted = _wanted_uses(period, prefix_of(user))
        existing_stmt = apply_cadre_scope(select(ResultUse).where(ResultUse.period_id == period.id),
                                          ResultUse.cadre_id, prefix_of(user))
        existing = {(u.cadre_id, u.suggestion): u for u in db.session.scalars(existing_stmt)}
        removed = [u.id for key, u in existing.items() if key not in wanted and u.decision is None]
        added = [key for key in sorted(wanted) if key not in existing]
        if removed:
            # A decision recorded meanwhile keeps its suggestion (the decision does not claim the period).
            db.session.execute(delete(ResultUse).where(ResultUse.id.in_(removed), ResultUse.decision.is_(None)))
        db.session.add_all(ResultUse(period_id=period.id, cadre_id=c, suggestion=s) for c, s in added)
    return {"added": len(added), "removed": len(removed), "total": len(wanted)}


def _wanted_uses(period: EvaluationPeriod, prefix: str | None) -> set[tuple[int, str]]:
    """(cadre, suggestion) that follow from the period's results in the subtree of `prefix`."""
    stmt = apply_cadre_scope(
        select(EvaluationResult.cadre_id, EvaluationResult.grade, EvaluationResult.veto).where(
            EvaluationResult.period_id == period.id
        ),
        EvaluationResult.cadre_id,
        prefix,
    )
    results = db.session.execute(stmt).all()
    previous = {}
    if period.previous_id:
        previous = dict(
            db.session.execute(
                select(EvaluationResult.cadre_id, EvaluationResult.grade).where(
                    EvaluationResult.period_id == period.previous_id
                )
            ).all()
        )
    return {
        (cid, s)
        for cid, grade, veto in results
        for s in scoring.result_use_suggestions(grade, previous.get(cid), bool(veto))
    }


def decide_result_use(use_id: int, decision: str, note: str, version, *, user) -> ResultUse:
    """Record the staff decision on a suggestion (the change is audited)."""
    use = db.session.get(ResultUse, use_id)
    in_scope = use is not None and db.session.scalar(
        apply_cadre_scope(select(Cadre.id).where(Cadre.id == use.cadre_id), Cadre.id, prefix_of(user))
    )
    if not in_scope:
        raise NotFound("结果运用建议不存在或不在您的管辖范围内")
    if is_self(user, use.cadre_id):
        raise Forbidden("不能对本人的结果运用作出决定")
    if decision not in DECISIONS:
        raise DomainError(f"决定应为 {'/'.join(DECISIONS)} 之一")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise DomainError(f"备注过长（最多 {NOTE_MAX} 个字符）")
    if str(version) != str(use.version):
        raise Conflict(USE_TAKEN)
    username = user.username if user is not None else audit.SYSTEM
    with command(user, USE_TAKEN):
        claims.claim(use, "version", (use.version,), USE_TAKEN)  # one decision wins
        use.decision = decision
        use.note = note or None
        use.decided_by = username
        use.decided_at = clock.now()
    return use


USE_TAKEN = "该建议已被他人修改，请刷新后重试"
