"""Shared machinery of the 诉求办理 screens: an appeal as a plain row for lists, to-dos and
exports (lights at the request's clock, the citizen masked), the list's request filters in
SQL, and the Chinese outcome of a workflow POST."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from flask import abort, flash, has_request_context, redirect, request, url_for
from sqlalchemy import or_, select

from app.appeals import rules
from app.appeals.models import APPEAL_STATES, Appeal, AppealCategory
from app.core.errors import Conflict, DomainError, NotFound
from app.core.formats import datetime_text
from app.core.personal import mask_name, mask_phone
from app.extensions import db
from app.models import OrgUnit
from app.web.context import request_now as now

PAGE_SIZE = 25
COUNT_CAP = 10_000  # a list counts at most this many rows (a city's year holds 500,000): "10000 件以上"
LIGHTS = (("red", "红灯（已超期）"), ("yellow", "黄灯（即将超期）"), ("green", "绿灯（正常）"))
LIGHT_SHORT = {"green": "正常", "yellow": "临期", "red": "超期", "done": "按时", "overdue_done": "超期完成"}
OPEN_STATES = rules.OPEN_STATES
BEFORE_REPLY = ("to_dispatch", "to_sign", "handling")


# ---------------------------------------------------------------- lights

def sign_light(appeal: Appeal, at: dt.datetime) -> str | None:
    """The light of the pending assignment's sign deadline (only while 待签收): the services'."""
    from app.appeals import services as S

    return S.sign_light(appeal, at)


def reply_light(appeal: Appeal, at: dt.datetime) -> str | None:
    """The light of the reply deadline: running until a reply is approved, then 按时 / 超期完成."""
    from app.appeals import services as S

    return S.reply_light(appeal, at)


def light_condition(light: str, at: dt.datetime):
    """SQL: appeals whose running deadline (sign while 待签收, else reply) shows `light` now."""
    a, window = Appeal, dt.timedelta(hours=24)
    sign = (a.state == "to_sign") & a.sign_deadline.is_not(None)
    running = a.replied_at.is_(None) & (a.state != "merged")
    if light == "red":
        return (sign & (a.sign_deadline < at)) | (running & (a.reply_deadline < at))
    if light == "yellow":
        return (sign & (a.sign_deadline >= at) & (a.sign_deadline < at + window)) | (
            running & (a.reply_deadline >= at) & (a.reply_deadline < at + window))
    if light == "green":
        return running & (a.reply_deadline >= at + window) & (~sign | (a.sign_deadline >= at + window))
    return None


# ---------------------------------------------------------------- rows

def place_text(appeal: Appeal) -> str:
    return appeal.occurred_unit.name if appeal.occurred_unit is not None else ""


def appeal_row(appeal: Appeal, at: dt.datetime | None = None) -> dict:
    """One appeal as lists, to-dos and exports show it: the citizen masked (PLATFORM.md §5)."""
    at = at or now()
    sign, reply = sign_light(appeal, at), reply_light(appeal, at)
    return {
        "id": appeal.id,
        "number": appeal.number,
        "external_number": appeal.external_number or "",
        "source": appeal.source,
        "category": appeal.category.name if appeal.category is not None else "",
        "content": appeal.content,
        "place": place_text(appeal),
        "citizen": mask_name(appeal.citizen_name),
        "phone": mask_phone(appeal.citizen_phone),
        "urgency": appeal.urgency,
        "state": appeal.state,
        "state_label": APPEAL_STATES.get(appeal.state, appeal.state),
        "handler": appeal.handler_unit.name if appeal.handler_unit is not None else "",
        "sign_light": sign,
        "sign_light_label": LIGHT_SHORT.get(sign, ""),
        "sign_due": datetime_text(appeal.sign_deadline) if appeal.state == "to_sign" else "",
        "reply_light": reply,
        "reply_light_label": LIGHT_SHORT.get(reply, ""),
        "reply_due": datetime_text(appeal.reply_deadline),
        "received_at": datetime_text(appeal.received_at),
        "replied_at": datetime_text(appeal.replied_at),
        "closed_at": datetime_text(appeal.closed_at),
        "resolved_level": appeal.resolved_level or "",
        "reopen_count": appeal.reopen_count or 0,
        "url": url_for("AppealView.show", pk=appeal.id) if has_request_context() else "",
    }


# ---------------------------------------------------------------- the list's filters

def arg(name: str) -> str:
    return (request.args.get(name) or "").strip()[:100] if has_request_context() else ""


def parse_day(raw: str, what: str) -> dt.date | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise DomainError(f"{what}格式不正确，应为 年-月-日（如 2026-03-01）")


def apply_filters(stmt, args: dict, at: dt.datetime):
    """Narrow a select of appeals by the list's search form: q (number, 工单编号 or content),
    state, category, light, date_from/date_to (received), unit (occurred in that subtree or
    handled there; the caller checks the code lies in scope)."""
    a = Appeal
    if q := args.get("q"):
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(a.number.ilike(pattern, escape="\\"), a.external_number.ilike(pattern, escape="\\"),
                              a.content.ilike(pattern, escape="\\")))
    if (state := args.get("state")) in APPEAL_STATES:
        stmt = stmt.where(a.state == state)
    elif state == "open":
        stmt = stmt.where(a.state.in_(OPEN_STATES))
    if (category := args.get("category") or "").isdigit():
        stmt = stmt.where(a.category_id == int(category))
    if (light := args.get("light")) and (cond := light_condition(light, at)) is not None:
        stmt = stmt.where(cond)
    if start := parse_day(args.get("date_from", ""), "开始日期"):
        stmt = stmt.where(a.received_at >= dt.datetime.combine(start, dt.time()))
    if end := parse_day(args.get("date_to", ""), "结束日期"):
        stmt = stmt.where(a.received_at < dt.datetime.combine(end + dt.timedelta(days=1), dt.time()))
    if code := args.get("unit"):
        from app.security.scope import subtree_ids, unit_path_by_code

        units = subtree_ids(unit_path_by_code(code))
        stmt = stmt.where(or_(a.occurred_unit_id.in_(units), a.handler_unit_id.in_(units)))
    return stmt


def list_args() -> dict:
    return {k: arg(k) for k in ("q", "state", "category", "light", "date_from", "date_to", "unit")}


def categories() -> list[AppealCategory]:
    return db.session.scalars(select(AppealCategory).where(AppealCategory.active).order_by(AppealCategory.name)).all()


def with_args(**changes) -> str:
    args = {k: v for k, v in request.args.items() if v}
    args.update({k: v for k, v in changes.items() if v is not None})
    args = {k: v for k, v in args.items() if v not in ("", None)}
    return request.path + ("?" + urlencode(args) if args else "")


def unit_by_code(code: str) -> OrgUnit | None:
    return db.session.scalar(select(OrgUnit).where(OrgUnit.code == code)) if code else None


# ---------------------------------------------------------------- POSTs

def run_action(pk: int, fn, success: str, render):
    """Run a workflow service for a POST form and go back to the appeal's page with its Chinese
    outcome: a refusal is flashed (nothing changed); a lost race answers 409 with the message
    (`render`: the view's render_template); an appeal out of scope is a 404."""
    back = url_for("AppealView.show", pk=pk)
    try:
        fn()
    except NotFound:
        abort(404)
    except Conflict as exc:
        return render("appeals/refused.html", title="操作未保存", message=exc.message, back=back), 409
    except DomainError as exc:
        flash(exc.message, "danger")
    else:
        flash(success, "success")
    return redirect(back)


def form_text(name: str) -> str:
    return (request.form.get(name) or "").strip()


def form_int(name: str) -> int | None:
    raw = form_text(name)
    return int(raw) if raw.isdigit() and len(raw) < 12 else None


def form_ints(name: str) -> list[int]:
    return [int(v) for v in request.form.getlist(name) if v.strip().isdigit() and len(v.strip()) < 12]


def form_datetime(name: str, what: str) -> dt.datetime:
    raw = form_text(name).replace("T", " ")
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(raw, fmt)
        except ValueError:
            continue
    raise DomainError(f"请填写有效的{what}（如 2026-03-01 09:30）")


def send_table(body: bytes, fmt: str, name: str):
    """A download of an export file (.csv or .xlsx) named `name`."""
    from app.web.downloads import CSV_MIME, XLSX_MIME, download

    return download(body, CSV_MIME if fmt == "csv" else XLSX_MIME, f"{name}.{fmt}")


def export_appeals(stmt, fmt: str, at: dt.datetime):
    """The appeals of `stmt` (scoped and filtered) as a masked, formula-safe file."""
    from sqlalchemy.orm import lazyload

    from app.appeals.exports import EXPORT_LIMIT, appeals_file

    items = db.session.scalars(stmt.options(lazyload(Appeal.assignments)).limit(EXPORT_LIMIT)).all()
    return send_table(appeals_file([appeal_row(a, at) for a in items], fmt), fmt, "诉求清单")


def capped_page(stmt, page: int, walk=None, place=None) -> tuple[int, bool, list]:
    """(count, whether the count was capped, the page's appeals) of a select of appeals: the
    count stops at COUNT_CAP (a whole city's year need not be counted for every page).

    `walk`: the same select with the scope in its walking form (access.scope_appeals), read
    for the page when the count was capped: so many rows match that walking the ordered
    index meets the page's rows soon, where gathering and sorting all of them would not.
    `place`: a select of a subset of the rows (those that happened in the subtree) counted
    first, in the same statement: when it alone passes the cap, the whole select is not
    counted (a CASE evaluates the branch it takes only, on SQLite and PostgreSQL)."""
    from sqlalchemy import case, func

    def capped_count(select_):
        counted = select_.with_only_columns(Appeal.id).order_by(None).limit(COUNT_CAP + 1).subquery()
        return select(func.count()).select_from(counted).scalar_subquery()

    if place is None:
        total = db.session.scalar(select(capped_count(stmt)))
    else:
        total = db.session.scalar(select(case((capped_count(place) > COUNT_CAP, COUNT_CAP + 1),
                                              else_=capped_count(stmt))))
    capped = total > COUNT_CAP
    page = min(page, max(0, (min(total, COUNT_CAP) - 1) // PAGE_SIZE))
    source = walk if capped and walk is not None else stmt
    items = db.session.scalars(source.offset(page * PAGE_SIZE).limit(PAGE_SIZE)).all()
    return min(total, COUNT_CAP), capped, items
