"""Entering a period's inputs one at a time: score sheets, ballots, indicator scores, adjustments.

The bulk imports live in imports.py; this module holds the single-row commands behind the
entry grids. Every command checks the same three things first: the period is 评分中, the
cadre is in the user's scope, and the user is not that cadre. Every change of an input
marks the period's results stale (inputs_changed_at).
"""

from __future__ import annotations

import math
from contextlib import contextmanager

from sqlalchemy import select, update
from sqlalchemy.orm.attributes import flag_modified

from app.core import claims, clock
from app.core.audit import SYSTEM
from app.core.commands import command
from app.core.errors import Conflict, DomainError, Forbidden, NotFound
from app.evaluation.periods import claim_period, state_label
from app.extensions import db
from app.models import (
    ADJUSTMENT_KINDS,
    Adjustment,
    Ballot,
    Cadre,
    EvaluationPeriod,
    Indicator,
    IndicatorScore,
    RaterGroup,
    ScoreSheet,
    SheetScore,
)
from app.security.scope import apply_cadre_scope, prefix_of

STALE_MESSAGE = "该记录已被他人修改，请刷新后重试"
VOTE_FIELDS = {"excellent": "优秀", "competent": "称职", "basic": "基本称职", "incompetent": "不称职", "unknown": "不了解"}
REASON_MAX = 500


class InvalidInput(DomainError):
    """Refused input with one Chinese message per field (shown next to the field)."""

    status = 400

    def __init__(self, fields: dict[str, str]):
        self.fields = fields
        super().__init__("；".join(fields.values()))


# ---------------------------------------------------------------- shared checks


def period_for_input(period_id: int) -> EvaluationPeriod:
    """The period, which must be 评分中 for any of its inputs to change."""
    period = db.session.get(EvaluationPeriod, period_id)
    if period is None:
        raise NotFound("考评期不存在")
    if period.state != "scoring":
        raise Conflict(
            f"考评期“{period.code}”当前状态为{state_label(period.state)}，只有评分中的考评期才能录入或修改考评数据"
        )
    return period


def cadre_for_input(cadre_id, user) -> Cadre:
    """A cadre in `user`'s scope that `user` is not (nobody scores, imports or adjusts
    their own evaluation)."""
    try:
        cid = int(cadre_id)
    except (TypeError, ValueError):
        raise InvalidInput({"cadre": "请选择干部"})
    cadre = db.session.scalar(apply_cadre_scope(select(Cadre).where(Cadre.id == cid), Cadre.id, prefix_of(user)))
    if cadre is None:
        raise InvalidInput({"cadre": "干部不存在或不在您的管辖范围内"})
    if is_self(user, cadre.id):
        raise Forbidden("不能为本人评分、导入或调整本人的考评数据")
    return cadre


def is_self(user, cadre_id: int) -> bool:
    """Whether `user` is the cadre (a user linked to a cadre never enters its own inputs)."""
    return user is not None and getattr(user, "cadre_id", None) == cadre_id


def _user_id(user) -> int | None:
    """The id recorded as who entered an input (None: the command line)."""
    return getattr(user, "id", None)


def mark_inputs_changed(period: EvaluationPeriod) -> None:
    """Record that the period's inputs changed (its results are stale until recomputed).

    A Core update: the marker is derived bookkeeping, the change itself is audited.
    """
    stamp = clock.instant()
    db.session.execute(
        update(EvaluationPeriod).where(EvaluationPeriod.id == period.id).values(inputs_changed_at=stamp)
    )


def inputs_changed(period_code: str, *, user) -> None:
    """Mark a period stale after an import (the import commands leave the marker alone)."""
    period = db.session.scalar(select(EvaluationPeriod).where(EvaluationPeriod.code == period_code))
    if period is not None:
        with command(user):
            mark_inputs_changed(period)


def _score(raw, label: str) -> tuple[float | None, str | None]:
    text = "" if raw is None else str(raw).strip()
    if text == "":
        return None, f"{label}不能为空"
    try:
        value = float(text)
    except ValueError:
        return None, f"{label}“{text}”不是数字"
    if not math.isfinite(value) or not 0 <= value <= 100:
        return None, f"{label}应在 0–100 之间"
    return value, None


def _count(raw, label: str) -> tuple[int | None, str | None]:
    text = "" if raw is None else str(raw).strip()
    if text == "":
        return 0, None
    try:
        value = float(text)
    except ValueError:
        return None, f"{label}票数“{text}”不是数字"
    if not value.is_integer() or value < 0 or value > 1_000_000:
        return None, f"{label}票数应为非负整数"
    return int(value), None


@contextmanager
def _input_write(period: EvaluationPeriod, user):
    """Claim the period in 评分中 (app/core/claims.py), let the block write as `user`, commit;
    roll back everything on a refusal. A lock (or a second save of the same row) at the same
    instant then either waits for this write or makes it a Conflict: nothing is ever written
    into a period that was locked meanwhile."""
    with command(user, STALE_MESSAGE):
        claim_period(period, ("scoring",), f"考评期“{period.code}”{NOT_SCORING}")
        yield


NOT_SCORING = "已被他人锁定或变更状态，只有评分中的考评期才能录入或修改考评数据；请刷新后重试"


def _group(period: EvaluationPeriod, group_id, kind: str) -> RaterGroup:
    group = db.session.get(RaterGroup, int(group_id)) if str(group_id).isdigit() else None
    if group is None or group.scheme_id != period.scheme_id:
        raise NotFound("评价组不在该考评期的方案中")
    if group.kind != kind:
        raise DomainError(f"评价组“{group.name}”为{group.kind_label}组，不能录入{'评分表' if kind == 'scores' else '票数'}")
    return group


# ---------------------------------------------------------------- score sheets


def sheet_dict(sheet: ScoreSheet) -> dict:
    values = {str(s.dimension_id): s.value for s in sheet.scores}
    return {"id": sheet.id, "version": sheet.version, "cadre_id": sheet.cadre_id, "values": values}


def save_sheet(period_id: int, group_id: int, cadre_id, values: dict, sheet_id=None, version=None, *, user) -> dict:
    """Create a sheet, or update one whose version the user saw; returns the saved sheet."""
    period = period_for_input(period_id)
    group = _group(period, group_id, "scores")
    errors: dict[str, str] = {}
    cadre = None
    try:
        cadre = cadre_for_input(cadre_id, user)
    except InvalidInput as exc:
        errors.update(exc.fields)
    parsed = {}
    for dim in period.scheme.dimensions:
        value, err = _score((values or {}).get(str(dim.id)), dim.name)
        if err:
            errors[f"dim_{dim.id}"] = err
        parsed[dim.id] = value
    if errors:
        raise InvalidInput(errors)
    cadre_id, group_id = cadre.id, group.id
    with _input_write(period, user):
        if sheet_id:
            sheet = _sheet_for_edit(period, group, sheet_id, version, user)
            if sheet.cadre_id != cadre_id:
                sheet.cadre_id = cadre_id
            by_dim = {s.dimension_id: s for s in sheet.scores}
            for dim_id, value in parsed.items():
                if dim_id in by_dim:
                    by_dim[dim_id].value = value
                else:
                    sheet.scores.append(SheetScore(dimension_id=dim_id, value=value))
            flag_modified(sheet, "group_id")  # bump the version even when only the values change
            sheet.entered_by_id = _user_id(user)  # the last one to enter its values
        else:
            sheet = ScoreSheet(period_id=period.id, cadre_id=cadre_id, group_id=group_id, entered_by_id=_user_id(user))
            sheet.scores = [SheetScore(dimension_id=d, value=v) for d, v in parsed.items()]
            db.session.add(sheet)
        mark_inputs_changed(period)
    return sheet_dict(sheet)


def _sheet_for_edit(period, group, sheet_id, version, user) -> ScoreSheet:
    sheet = db.session.get(ScoreSheet, int(sheet_id)) if str(sheet_id).isdigit() else None
    in_scope = sheet is not None and db.session.scalar(
        apply_cadre_scope(select(Cadre.id).where(Cadre.id == sheet.cadre_id), Cadre.id, prefix_of(user))
    )
    if not in_scope or sheet.period_id != period.id or sheet.group_id != group.id:
        raise NotFound("评分表不存在或不在您的管辖范围内")
    if is_self(user, sheet.cadre_id):
        raise Forbidden("不能为本人评分、导入或调整本人的考评数据")
    if str(version) != str(sheet.version):
        raise Conflict(STALE_MESSAGE)
    return sheet


def delete_sheet(period_id: int, group_id: int, sheet_id, version, *, user) -> None:
    """Delete a sheet whose version the user saw."""
    period = period_for_input(period_id)
    group = _group(period, group_id, "scores")
    with _input_write(period, user):
        sheet = _sheet_for_edit(period, group, sheet_id, version, user)
        db.session.delete(sheet)
        mark_inputs_changed(period)


# ---------------------------------------------------------------- ballots and indicator scores


def ballot_dict(ballot: Ballot) -> dict:
    return {"id": ballot.id, "cadre_id": ballot.cadre_id, "values": {k: getattr(ballot, k) for k in VOTE_FIELDS}}


def save_ballot(period_id: int, group_id: int, cadre_id, counts: dict, *, user) -> dict:
    """Create or replace the vote counts of a votes group about one cadre."""
    period = period_for_input(period_id)
    group = _group(period, group_id, "votes")
    errors: dict[str, str] = {}
    cadre = None
    try:
        cadre = cadre_for_input(cadre_id, user)
    except InvalidInput as exc:
        errors.update(exc.fields)
    parsed = {}
    for key, label in VOTE_FIELDS.items():
        value, err = _count((counts or {}).get(key), label)
        if err:
            errors[key] = err
        parsed[key] = value
    if not errors and sum(parsed.values()) == 0:
        errors["excellent"] = "票数不能全部为 0"
    if errors:
        raise InvalidInput(errors)
    cadre_id, group_id = cadre.id, group.id
    with _input_write(period, user):  # a second save of the same ballot finds the first's row
        ballot = db.session.scalar(
            select(Ballot).where(Ballot.period_id == period.id, Ballot.group_id == group_id, Ballot.cadre_id == cadre_id)
        )
        if ballot is None:
            ballot = Ballot(period_id=period.id, group_id=group_id, cadre_id=cadre_id)
            db.session.add(ballot)
        for key, value in parsed.items():
            setattr(ballot, key, value)
        ballot.entered_by_id = _user_id(user)
        mark_inputs_changed(period)
    return ballot_dict(ballot)


def save_indicators(period_id: int, cadre_id, scores: dict, *, user) -> dict:
    """Create, replace or (empty value) remove a cadre's entered indicator scores."""
    period = period_for_input(period_id)
    errors: dict[str, str] = {}
    cadre = None
    try:
        cadre = cadre_for_input(cadre_id, user)
    except InvalidInput as exc:
        errors.update(exc.fields)
    indicators = [i for i in period.scheme.indicators if i.source == "entered"]
    parsed: dict[int, float | None] = {}
    for ind in indicators:
        raw = (scores or {}).get(str(ind.id))
        if raw is None or str(raw).strip() == "":
            parsed[ind.id] = None
            continue
        value, err = _score(raw, ind.name)
        if err:
            errors[f"ind_{ind.id}"] = err
        parsed[ind.id] = value
    if not errors and all(v is None for v in parsed.values()):
        errors["cadre"] = "请至少填写一项指标得分"
    if errors:
        raise InvalidInput(errors)
    cadre_id = cadre.id
    with _input_write(period, user):  # a second save for the same cadre finds the first's rows
        existing = {
            s.indicator_id: s
            for s in db.session.scalars(
                select(IndicatorScore).where(IndicatorScore.period_id == period.id, IndicatorScore.cadre_id == cadre_id)
            )
        }
        for ind_id, value in parsed.items():
            row = existing.get(ind_id)
            if value is None:
                if row is not None:
                    db.session.delete(row)
            elif row is None:
                db.session.add(IndicatorScore(period_id=period.id, cadre_id=cadre_id, indicator_id=ind_id, score=value,
                                              entered_by_id=_user_id(user)))
            else:
                row.score = value
                row.entered_by_id = _user_id(user)
        mark_inputs_changed(period)
    return {"cadre_id": cadre_id, "values": {str(k): v for k, v in parsed.items()}}


def entered_indicators(period: EvaluationPeriod) -> list[Indicator]:
    return [i for i in period.scheme.indicators if i.source == "entered"]


# ---------------------------------------------------------------- adjustments


def propose_adjustment(period_id: int, cadre_id, kind: str, value, reason: str, *, user) -> Adjustment:
    """Propose an adjustment; it counts only once another staff member approves it."""
    period = period_for_input(period_id)
    errors: dict[str, str] = {}
    cadre = None
    try:
        cadre = cadre_for_input(cadre_id, user)
    except InvalidInput as exc:
        errors.update(exc.fields)
    if kind not in ADJUSTMENT_KINDS:
        errors["kind"] = f"类型应为 {'/'.join(ADJUSTMENT_KINDS)} 之一"
    number = 0.0
    if kind in ("加分", "减分"):
        number, err = _score(value, "分值")
        if err:
            errors["value"] = err
        elif number == 0:
            errors["value"] = "加分或减分的分值应大于 0"
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = "事由不能为空"
    elif len(reason) > REASON_MAX:
        errors["reason"] = f"事由过长（最多 {REASON_MAX} 个字符）"
    if errors:
        raise InvalidInput(errors)
    username = user.username if user is not None else SYSTEM
    cadre_id = cadre.id
    with _input_write(period, user):
        item = Adjustment(
            period_id=period.id, cadre_id=cadre_id, kind=kind, value=number or 0.0, reason=reason,
            status="proposed", proposed_by=username,
        )
        db.session.add(item)
    return item


def decide_adjustment(adjustment_id: int, approve: bool, *, user) -> Adjustment:
    """Approve or reject a proposed adjustment; never by the staff member who proposed it."""
    item = db.session.get(Adjustment, adjustment_id)
    in_scope = item is not None and db.session.scalar(
        apply_cadre_scope(select(Cadre.id).where(Cadre.id == item.cadre_id), Cadre.id, prefix_of(user))
    )
    if not in_scope:
        raise NotFound("调整记录不存在或不在您的管辖范围内")
    period = period_for_input(item.period_id)
    if item.status != "proposed":
        raise Conflict(f"该调整已{item.status_label}，不能重复审批")
    username = user.username if user is not None else SYSTEM
    if username == item.proposed_by:
        raise Forbidden("调整须由提议人以外的另一名考评员审批，不能审批本人提议的调整")
    if is_self(user, item.cadre_id):
        raise Forbidden("不能为本人评分、导入或调整本人的考评数据")
    with _input_write(period, user):
        # Approve and reject of one proposal at the same instant: one decision wins.
        claims.claim(item, "status", ("proposed",), "该调整已被他人审批，请刷新后重试")
        item.status = "approved" if approve else "rejected"
        item.approved_by = username
        if approve:
            mark_inputs_changed(period)
    return item
