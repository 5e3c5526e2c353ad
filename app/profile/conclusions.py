"""The organization's written conclusion on a cadre (一综合): versioned, audited edits."""

from __future__ import annotations

from sqlalchemy import select

from app.core import clock
from app.core.audit import SYSTEM
from app.core.commands import command
from app.core.errors import Conflict, DomainError, Forbidden
from app.extensions import db
from app.models import CadreConclusion, EvaluationResult

MAX_LENGTH = 5000


def save_conclusion(cadre_id: int, period_id: int, text: str, expected_version, *, user) -> CadreConclusion:
    """Write, as `user`, the conclusion of a cadre's result in a period.

    expected_version: the version the editor started from (0 when there was none); any other
    current version means somebody saved in between, and the edit is refused. Nobody writes
    their own conclusion. The audit listener records the create/update (CadreConclusion is
    audited).
    """
    text = (text or "").strip()
    username = user.username if user is not None else SYSTEM
    if user is not None and user.cadre_id == cadre_id:
        raise Forbidden("不能为本人撰写考评结论")
    if not text:
        raise DomainError("考评结论不能为空")
    if len(text) > MAX_LENGTH:
        raise DomainError(f"考评结论最多 {MAX_LENGTH} 字")
    try:
        expected = int(expected_version)
    except (TypeError, ValueError):
        raise DomainError("缺少版本号，请刷新页面后重新编辑")
    has_result = db.session.scalar(
        select(EvaluationResult.id)
        .where(EvaluationResult.cadre_id == cadre_id, EvaluationResult.period_id == period_id)
    )
    if has_result is None:
        raise DomainError("该干部在此考评期没有考评结果，不能撰写结论")
    row = db.session.scalar(
        select(CadreConclusion).where(CadreConclusion.cadre_id == cadre_id, CadreConclusion.period_id == period_id)
    )
    current = row.version if row is not None else 0
    if expected != current:
        raise _stale(row)
    now = clock.now()
    with command(user, _stale(None).message):
        if row is None:
            row = CadreConclusion(cadre_id=cadre_id, period_id=period_id, text=text, updated_by=username,
                                  updated_at=now)
            db.session.add(row)
        else:
            row.text, row.updated_by, row.updated_at = text, username, now
    return row


def _stale(row: CadreConclusion | None) -> Conflict:
    if row is None:
        return Conflict("考评结论已被他人修改，您的修改未保存。请刷新页面，在最新版本上重新编辑。")
    when = row.updated_at.strftime("%Y-%m-%d %H:%M") if row.updated_at else ""
    return Conflict(
        f"考评结论已被{row.updated_by or '他人'}于 {when} 修改（当前为第 {row.version} 版），"
        "您的修改未保存。请刷新页面，在最新版本上重新编辑。"
    )
