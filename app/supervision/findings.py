"""Inspection findings (督查发现问题): rectification workflow and accountability (DESIGN.md section 4).

待整改 → 整改中 (start_rectification, the unit's liaison) → 待验收 (report_rectification, the
liaison) → 已销号 (verify, a supervisor); 待验收 → 整改中 (reject, with a note).

Same contract as supervision_tasks: an optional `user` (None = CLI), `now`, role and row
checks (NotFound for a row out of scope), Chinese DomainError on an illegal transition with
nothing changed, audit by the ORM listener, one transaction per command,
`expected_version` for optimistic locking, and every transition claims the finding in the
state it read first (of two racing users one wins, the other gets a Conflict).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, and_, exists, false, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.models import (
    ACCOUNTABILITY_MEASURES,
    FINDING_STATES,
    SEVERITIES,
    Cadre,
    Finding,
    Inspection,
    OrgUnit,
    RectificationReport,
)
from app.security.scope import unit_visible_to, units_visible_to
from app.supervision import deadlines
from app.supervision.access import (
    check_version,
    claim,
    command,
    default_now,
    is_liaison,
    reads_subtree,
    require_liaison_of,
    require_supervisor,
    required_text,
    save_attachments,
    username,
)

MODES = ("明察", "暗访")
FINDING = "督查发现问题"
FINDING_NOT_FOUND = "督查发现问题不存在或不在您的管辖范围内"
OPEN_FINDING_STATES = ("pending", "rectifying", "awaiting_verification")
THIS_FINDING = "该问题"  # claim(): "该问题已被他人处理，请刷新后重试"


def finding_state_label(state: str) -> str:
    return FINDING_STATES.get(state, state)


def _refuse(finding: Finding, verb: str) -> DomainError:
    return DomainError(f"该问题当前状态为“{finding_state_label(finding.state)}”，不能{verb}")


# ---------------------------------------------------------------- scope

def scope_findings(stmt, user):
    """Restrict a select of Finding: liaisons their own unit's, readers their subtree's."""
    if user is None:
        return stmt
    if reads_subtree(user):
        return stmt.where(Finding.org_unit_id.in_(units_visible_to(user)))
    if is_liaison(user) and user.org_unit_id:
        return stmt.where(Finding.org_unit_id == user.org_unit_id)
    return stmt.where(false())


def scope_inspections(stmt, user):
    """Restrict a select of Inspection: readers their subtree's; liaisons the inspections
    of their own unit or with a finding on it."""
    if user is None:
        return stmt
    if reads_subtree(user):
        return stmt.where(Inspection.org_unit_id.in_(units_visible_to(user)))
    if is_liaison(user) and user.org_unit_id:
        own = user.org_unit_id
        found = exists().where(Finding.inspection_id == Inspection.id, Finding.org_unit_id == own)
        return stmt.where(or_(Inspection.org_unit_id == own, found))
    return stmt.where(false())


def get_finding(finding_id: int, user=None) -> Finding:
    """Return a finding the user may see, else NotFound."""
    finding = db.session.scalar(scope_findings(select(Finding).where(Finding.id == finding_id), user))
    if finding is None:
        raise NotFound(FINDING_NOT_FOUND)
    return finding


def get_inspection(inspection_id: int, user=None) -> Inspection:
    """Return an inspection the user may see, else NotFound."""
    stmt = scope_inspections(select(Inspection).where(Inspection.id == inspection_id), user)
    inspection = db.session.scalar(stmt)
    if inspection is None:
        raise NotFound("督查检查不存在或不在您的管辖范围内")
    return inspection


def _supervised(finding_id: int, user) -> Finding:
    require_supervisor(user)
    return get_finding(finding_id, user)


def _own(finding_id: int, user, what: str) -> Finding:
    finding = get_finding(finding_id, user)
    require_liaison_of(user, finding.org_unit_id, what)
    return finding


# ---------------------------------------------------------------- recording

INSPECTION = "督查检查"


def create_inspection(
    code: str, date: dt.date, place: str, team: str | None, mode: str, org_unit_id: int, user=None,
    now: dt.datetime | None = None,
) -> Inspection:
    """Record an inspection (明察/暗访) of a unit in the supervisor's subtree, dated today
    or earlier (an inspection is recorded after it took place)."""
    require_supervisor(user)
    code, place, team, unit = _inspection_fields(code, date, place, team, mode, org_unit_id, user, now)
    if db.session.scalar(select(Inspection.id).where(Inspection.code == code)) is not None:
        raise DomainError(f"检查编号“{code}”已存在")
    with command(user, INSPECTION):
        inspection = Inspection(
            code=code, date=date, place=place, team=team, mode=mode,
            org_unit=unit, org_unit_id=unit.id, created_by=username(user),
        )
        db.session.add(inspection)
    return inspection


def _inspection_fields(code, date, place, team, mode, org_unit_id, user, now):
    """The checked (code, place, team, unit) of an inspection form; DomainError on a bad one."""
    code = required_text(code, "检查编号不能为空")
    place = required_text(place, "检查地点不能为空")
    if len(code) > 32 or len(place) > 200 or len(team or "") > 200:
        raise DomainError("检查编号（32 字）、地点或检查组（200 字）过长")
    if mode not in MODES:
        raise DomainError("检查方式应为“明察”或“暗访”")
    if not isinstance(date, dt.date):
        raise DomainError("请填写检查日期")
    today = default_now(now).date()
    if date > today:
        raise DomainError(f"检查日期 {date.isoformat()} 晚于今天（{today.isoformat()}），请填写检查实际进行的日期")
    unit = db.session.get(OrgUnit, org_unit_id) if org_unit_id is not None else None
    if unit is None or not unit_visible_to(unit, user):
        raise DomainError("被检查单位不存在或不在您的管辖范围内")
    return code, place, (team or "").strip() or None, unit


def acted_findings(inspection_id: int) -> int:
    """How many findings of the inspection were acted on (整改 started, reported, verified,
    or accountability recorded): once one was, the inspection is fixed."""
    from sqlalchemy import func

    acted = or_(Finding.state != "pending", Finding.accountability.is_not(None),
                exists().where(RectificationReport.finding_id == Finding.id))
    return db.session.scalar(
        select(func.count()).select_from(Finding).where(Finding.inspection_id == inspection_id, acted)
    ) or 0


def inspection_editable(inspection: Inspection) -> bool:
    return acted_findings(inspection.id) == 0


def update_inspection(
    inspection_id: int, code: str, date: dt.date, place: str, team: str | None, mode: str, org_unit_id: int,
    user=None, now: dt.datetime | None = None, expected_version: int | None = None,
) -> Inspection:
    """Correct an inspection (supervisor) until one of its findings was acted on. Findings
    dated on the inspection's old date (the default) move to the new date with it."""
    require_supervisor(user)
    inspection = get_inspection(inspection_id, user)
    code, place, team, unit = _inspection_fields(code, date, place, team, mode, org_unit_id, user, now)
    clash = select(Inspection.id).where(Inspection.code == code, Inspection.id != inspection.id)
    if db.session.scalar(clash) is not None:
        raise DomainError(f"检查编号“{code}”已存在")
    if not inspection_editable(inspection):
        raise DomainError("本次检查发现的问题已开始整改或已记录问责，检查信息不能再修改")
    findings = db.session.scalars(select(Finding).where(Finding.inspection_id == inspection.id)).all()
    moved = [f for f in findings if f.found_on == inspection.date]
    early = [f for f in moved if f.deadline is not None and f.deadline < date]
    if early:
        raise DomainError(f"有 {len(early)} 个问题的整改期限早于新的检查日期，请先核对检查日期")
    with command(user, INSPECTION):
        claim(inspection, "version", (inspection.version,), "该检查")
        check_version(inspection, expected_version, INSPECTION)
        # The findings are checked again under the claim: one acted on meanwhile refuses.
        if not inspection_editable(inspection):
            raise DomainError("本次检查发现的问题已开始整改或已记录问责，检查信息不能再修改")
        for finding in moved:
            finding.found_on = date
        inspection.code, inspection.date, inspection.place, inspection.team = code, date, place, team
        inspection.mode, inspection.org_unit, inspection.org_unit_id = mode, unit, unit.id
    return inspection


def add_finding(
    inspection_id: int, org_unit_id: int, description: str, category: str, severity: str,
    cadre_ids=(), requirement: str | None = None, deadline: dt.date | None = None,
    continuous: bool = False, user=None, found_on: dt.date | None = None, now: dt.datetime | None = None,
) -> Finding:
    """Log a problem found by an inspection: 限期整改 needs a deadline, 持续整改 has none."""
    require_supervisor(user)
    inspection = get_inspection(inspection_id, user)
    unit = db.session.get(OrgUnit, org_unit_id) if org_unit_id is not None else None
    if unit is None or not unit_visible_to(unit, user):
        raise DomainError("问题所在单位不存在或不在您的管辖范围内")
    description = required_text(description, "请填写问题描述")
    category = required_text(category, "请填写问题类别")
    if len(category) > 50:
        raise DomainError("问题类别过长（最多 50 个字符）")
    if severity not in SEVERITIES:
        raise DomainError(f"问题严重程度应为 {'/'.join(SEVERITIES)} 之一")
    found_on = found_on or inspection.date
    if found_on > default_now(now).date():
        raise DomainError(f"发现日期 {found_on.isoformat()} 晚于今天，请填写实际发现问题的日期")
    if continuous and deadline is not None:
        raise DomainError("持续整改的问题不设整改期限")
    if not continuous and deadline is None:
        raise DomainError("限期整改的问题须设定整改期限")
    if deadline is not None and deadline < found_on:
        raise DomainError("整改期限不得早于发现日期")
    cadres = _cadres(cadre_ids, user)
    with command(user, FINDING):
        finding = Finding(
            inspection=inspection, inspection_id=inspection.id, org_unit=unit, org_unit_id=unit.id,
            description=description, category=category, severity=severity,
            requirement=(requirement or "").strip() or None, continuous=bool(continuous), deadline=deadline,
            state="pending", found_on=found_on, created_by=username(user), cadres=cadres,
        )
        db.session.add(finding)
    return finding


def _cadres(cadre_ids, user) -> list[Cadre]:
    ids = list(dict.fromkeys(cadre_ids or ()))
    if not ids:
        return []
    found = {c.id: c for c in db.session.scalars(select(Cadre).where(Cadre.id.in_(ids)))}
    bad = [i for i in ids if i not in found or not unit_visible_to(found[i].org_unit, user)]
    if bad:
        raise DomainError("责任干部不存在或不在您的管辖范围内")
    return [found[i] for i in ids]


# ---------------------------------------------------------------- rectification workflow

def start_rectification(finding_id: int, user=None, expected_version: int | None = None) -> Finding:
    """待整改 → 整改中, by the liaison of the finding's unit."""
    finding = _own(finding_id, user, "开始整改")
    if finding.state != "pending":
        raise _refuse(finding, "开始整改")
    with command(user, FINDING):
        claim(finding, "state", ("pending",), THIS_FINDING)
        check_version(finding, expected_version, FINDING)
        finding.state = "rectifying"
    return finding


def report_rectification(
    finding_id: int, text: str, attachments=(), user=None, now: dt.datetime | None = None,
    expected_version: int | None = None,
) -> RectificationReport:
    """整改中 → 待验收 with the liaison's rectification report (attachments as in task reports)."""
    now = default_now(now)
    finding = _own(finding_id, user, "报送整改情况")
    if finding.state != "rectifying":
        raise _refuse(finding, "报送整改情况")
    text = required_text(text, "请填写整改情况")
    with command(user, FINDING):
        claim(finding, "state", ("rectifying",), THIS_FINDING)
        check_version(finding, expected_version, FINDING)
        report = RectificationReport(finding_id=finding.id, text=text, created_at=now, created_by=username(user))
        db.session.add(report)
        db.session.flush()
        save_attachments("rectification_report", report.id, attachments, user)
        finding.state, finding.rectified_at = "awaiting_verification", now
    return report


def verify(
    finding_id: int, user=None, now: dt.datetime | None = None, note: str | None = None,
    expected_version: int | None = None,
) -> Finding:
    """验收通过, 销号 (supervisor): 待验收 → 已销号."""
    now = default_now(now)
    finding = _supervised(finding_id, user)
    if finding.state != "awaiting_verification":
        raise _refuse(finding, "验收销号")
    with command(user, FINDING):
        claim(finding, "state", ("awaiting_verification",), THIS_FINDING)
        check_version(finding, expected_version, FINDING)
        _verdict(finding, "通过", note, user, now)
        finding.state, finding.closed_at = "closed", now
    return finding


def reject(
    finding_id: int, note: str, user=None, now: dt.datetime | None = None, expected_version: int | None = None
) -> Finding:
    """验收不通过 (supervisor): 待验收 → 整改中, with a note."""
    now = default_now(now)
    finding = _supervised(finding_id, user)
    if finding.state != "awaiting_verification":
        raise _refuse(finding, "驳回整改")
    note = required_text(note, "驳回整改须说明理由")
    with command(user, FINDING):
        claim(finding, "state", ("awaiting_verification",), THIS_FINDING)
        check_version(finding, expected_version, FINDING)
        _verdict(finding, "驳回", note, user, now)
        finding.state = "rectifying"
    return finding


def _verdict(finding: Finding, verdict: str, note, user, now) -> None:
    report = db.session.scalar(
        select(RectificationReport)
        .where(RectificationReport.finding_id == finding.id)
        .order_by(RectificationReport.created_at.desc(), RectificationReport.id.desc())
        .limit(1)
    )
    if report is not None:
        report.verdict, report.verdict_note = verdict, (note or "").strip() or None
        report.verdict_by, report.verdict_at = username(user), now


def set_accountability(
    finding_id: int, measures, note: str | None = None, user=None, expected_version: int | None = None
) -> Finding:
    """Record the accountability measures (约谈、通报批评、诫勉、组织处理、纪律处分); [] clears them."""
    finding = _supervised(finding_id, user)
    measures = list(dict.fromkeys(measures or ()))
    unknown = [m for m in measures if m not in ACCOUNTABILITY_MEASURES]
    if unknown:
        raise DomainError(f"问责方式“{'、'.join(unknown)}”无效，应为 {'、'.join(ACCOUNTABILITY_MEASURES)} 中的一项或多项")
    check_version(finding, expected_version, FINDING)
    with command(user, FINDING):
        # Two supervisors recording at the same instant: the one that writes first wins, the
        # other (who read the same version) gets a Conflict instead of overwriting it.
        claim(finding, "version", (finding.version,), THIS_FINDING)
        ordered = [m for m in ACCOUNTABILITY_MEASURES if m in measures]
        finding.accountability = "、".join(ordered) or None
        finding.accountability_note = (note or "").strip() or None
    return finding


# ---------------------------------------------------------------- overdue rectification

def rectification_due(finding: Finding) -> dt.datetime | None:
    """The instant a 限期 rectification falls due (end of the deadline day); None for 持续."""
    if finding.continuous or finding.deadline is None:
        return None
    return deadlines.end_of_day(finding.deadline)


def rectification_overdue(finding: Finding, now: dt.datetime) -> bool:
    """Whether a 限期 rectification is (or was) late.

    Open (待整改/整改中): now is past the deadline day. 待验收 and 已销号: the report that
    went to verification (`rectified_at`) came after the deadline day. 持续整改: never.
    """
    due = rectification_due(finding)
    if due is None:
        return False
    if finding.state in ("awaiting_verification", "closed"):
        return finding.rectified_at is not None and finding.rectified_at >= due
    return now >= due


class _day(FunctionElement):
    """The calendar day of a timestamp, portable: date(x) on SQLite, CAST(x AS DATE) elsewhere."""

    type = Date()
    inherit_cache = True


@compiles(_day)
def _day_default(element, compiler, **kw):
    return f"CAST({compiler.process(element.clauses, **kw)} AS DATE)"


@compiles(_day, "sqlite")
def _day_sqlite(element, compiler, **kw):
    return f"date({compiler.process(element.clauses, **kw)})"


def rectification_overdue_condition(now: dt.datetime):
    """SQL twin of `rectification_overdue`: done at or after end_of_day(deadline) is the
    same as done's calendar day > deadline; now past it is deadline < now's day."""
    done = _day(Finding.rectified_at)
    return and_(
        Finding.continuous.is_not(True),
        Finding.deadline.is_not(None),
        or_(
            and_(Finding.state.in_(("pending", "rectifying")), Finding.deadline < now.date()),
            and_(Finding.state.in_(("awaiting_verification", "closed")), done > Finding.deadline),
        ),
    )


def overdue_filter(stmt, now: dt.datetime):
    """Filter a select of Finding to those whose rectification is (or was) overdue at `now`."""
    return stmt.where(rectification_overdue_condition(now))
