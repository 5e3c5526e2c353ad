"""The 12345 link (PLATFORM.md §3): hotline work orders in, answers back.

`import_hotline` (a file: the CLI and the dispatchers' upload) and `import_records` (the JSON
API) share one check and one write. All-or-nothing: every row is checked first and every bad
row is listed in Chinese; nothing is written unless all pass. Idempotent on 工单编号: a number
already held for source 12345热线 is skipped and counted. A 诉求类别 the catalogue does not know
is added to it, marked for the dispatcher to complete. Imported appeals start 待分派 at the
importing dispatcher's unit (the city for the CLI), which reviews their replies.

Set-based: one lookup query per table (units, categories, numbers already held, time limits,
the work calendar), then bulk inserts of the appeals and their first history lines; a file of
10,000 rows is a handful of statements, not 10,000 round trips.

`hotline_updates` / `export_updates`: every hotline appeal changed since an instant, with its
state, handling unit, reply, reply time and call-back result (a merged duplicate answers with
its master's outcome).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from sqlalchemy import func, insert, select

from app.appeals import rules
from app.core import audit, clock
from app.core.commands import command
from app.core.errors import DomainError, ImportRejected
from app.core.lookups import chunked, rows_by_key
from app.core.progress import checking, writing
from app.core.tabular import check_header, read_table, write_csv, write_xlsx
from app.extensions import db
from app.models import (
    Appeal,
    AppealCategory,
    AppealEvent,
    AppealReply,
    AppealTimeLimit,
    OrgUnit,
)
from app.security.scope import prefix_of, unit_in_scope

SOURCE = "12345热线"
HEADER = ["工单编号", "受理时间", "诉求人", "联系电话", "诉求类别", "诉求内容", "发生地编码", "紧急程度"]
UPDATE_HEADER = ["工单编号", "状态", "办理单位", "答复内容", "答复时间", "回访结果"]
PLACE_KINDS = ("grid", "village", "township")
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%dT%H:%M", "%Y%m%d%H%M%S")
PHONE = re.compile(r"^[0-9+\-() ]{3,30}$")
MAX_CONTENT = 5000
FUTURE_SLACK = dt.timedelta(minutes=10)  # the hotline's clock may run a little ahead of ours


# ---------------------------------------------------------------- in


def import_hotline(data: bytes, filename: str, progress=None, *, user, unit_code: str | None = None) -> dict:
    """Import a hotline file (.xlsx or UTF-8 .csv) as `user`; counts (see `_import`)."""
    header, rows = read_table(data, filename)
    check_header(header, HEADER)
    return _import(rows, progress, user=user, unit_code=unit_code)


def import_records(records, *, user, unit_code: str | None = None) -> dict:
    """Import a JSON list of work orders (the same fields as the file's columns); line numbers
    in the errors are the records' positions, from 1."""
    if not isinstance(records, list):
        raise ImportRejected([(None, "请求体须为 JSON 数组（每个元素一个工单）")])
    rows, errors = [], []
    for i, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            errors.append((i, "每个工单须为 JSON 对象"))
            continue
        row = {key: _text(record.get(key)) for key in HEADER}
        problems = []
        unknown = sorted(str(k) for k in record if k not in HEADER)
        if unknown:
            problems.append("无法识别的字段：" + "、".join(unknown))
        nested = [key for key in HEADER if isinstance(record.get(key), (dict, list, bool))]
        if nested:
            problems.append("字段须为文本或数字：" + "、".join(nested))
        control = [key for key, value in row.items() if "\x00" in value]
        if control:  # PostgreSQL cannot store a NUL character
            problems.append("字段含有非法字符（NUL）：" + "、".join(control))
        if problems:
            row["__extra__"] = "；".join(problems)
        rows.append((i, row))
    if errors:
        raise ImportRejected(errors)
    return _import(rows, None, user=user, unit_code=unit_code)


def _text(value) -> str:
    if value is None or isinstance(value, (dict, list, bool)):
        return ""  # a nested or boolean value is refused with the row (import_records)
    return str(value).strip()


def parse_time(text: str) -> dt.datetime:
    """A 受理时间 as 2026-03-04 08:30[:00] (also with / or T); ValueError otherwise."""
    text = text.strip()
    for fmt in TIME_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ValueError(text)


def _dispatch_unit(user, unit_code: str | None) -> OrgUnit:
    """The unit the imported appeals wait at (待分派): the given one (in the user's scope), the
    user's own, or the city (a root) for the system."""
    if unit_code:
        unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == unit_code))
        if unit is None or not unit_in_scope(unit, prefix_of(user)):
            raise ImportRejected([(None, f"调度单位“{unit_code}”不存在或不在您的管辖范围内")])
        return unit
    unit = getattr(user, "org_unit", None) if user is not None else None
    if unit is None:
        unit = db.session.scalar(select(OrgUnit).where(OrgUnit.parent_id.is_(None)).order_by(OrgUnit.id))
    if unit is None:
        raise ImportRejected([(None, "尚未建立组织机构，不能导入 12345 工单")])
    return unit


def _limits() -> dict[str, rules.TimeLimits]:
    """Every urgency's time limits: one query (the defaults where no row holds one)."""
    out = dict(rules.DEFAULT_LIMITS)
    for row in db.session.scalars(select(AppealTimeLimit)):
        out[row.urgency] = rules.TimeLimits(rules.Limit(row.sign_amount, row.sign_unit),
                                            rules.Limit(row.reply_amount, row.reply_unit))
    return out


def _check(rows, progress, user, now, dispatch: OrgUnit) -> tuple[list, list, dict, set[str]]:
    """(errors, good rows, categories by name, new category names)."""
    prefix = prefix_of(user)
    numbers = [row.get("工单编号", "") for _, row in rows]
    held = set()
    for part in chunked([n for n in dict.fromkeys(numbers) if n]):
        held.update(db.session.scalars(select(Appeal.external_number)
                                       .where(Appeal.source == SOURCE, Appeal.external_number.in_(part))))
    units = rows_by_key(OrgUnit.code, [row.get("发生地编码", "") for _, row in rows if row.get("发生地编码")])
    categories = {c.name: c for c in db.session.scalars(select(AppealCategory))}
    errors, good, seen, new_categories = [], [], {}, set()
    for line, row in checking(rows, progress):
        row_errors = []
        number = row.get("工单编号", "")
        if not number:
            row_errors.append("工单编号不能为空")
        elif len(number) > 64:
            row_errors.append("工单编号过长（最多 64 个字符）")
        elif number in seen:
            row_errors.append(f"工单编号“{number}”与第 {seen[number]} 行重复")
        seen.setdefault(number, line)
        received = None
        text = row.get("受理时间", "")
        if not text:
            row_errors.append("受理时间不能为空")
        else:
            try:
                received = parse_time(text)
            except ValueError:
                row_errors.append(f"受理时间“{text}”格式错误，应为 YYYY-MM-DD HH:MM[:SS]")
            else:
                if received > now + FUTURE_SLACK:
                    row_errors.append(f"受理时间“{text}”晚于当前时间")
        name = row.get("诉求人", "")
        if len(name) > 50:
            row_errors.append("诉求人姓名过长（最多 50 个字符）")
        phone = row.get("联系电话", "")
        if phone and not PHONE.match(phone):
            row_errors.append("联系电话格式错误（只能包含数字、+、- 和括号）")
        category = row.get("诉求类别", "")
        if not category:
            row_errors.append("诉求类别不能为空")
        elif len(category) > 100:
            row_errors.append("诉求类别过长（最多 100 个字符）")
        content = row.get("诉求内容", "")
        if not content:
            row_errors.append("诉求内容不能为空")
        elif len(content) > MAX_CONTENT:
            row_errors.append(f"诉求内容过长（最多 {MAX_CONTENT} 个字符）")
        code = row.get("发生地编码", "")
        unit = units.get(code)
        if not code:
            row_errors.append("发生地编码不能为空")
        elif unit is None or not unit_in_scope(unit, prefix):
            row_errors.append(f"发生地编码“{code}”不存在或不在您的管辖范围内")
        elif unit.kind not in PLACE_KINDS:
            row_errors.append(f"发生地“{code}”是{unit.kind_label}，应为网格、村社区或乡镇街道")
        elif not unit.path.startswith(dispatch.path):
            row_errors.append(f"发生地“{code}”不在调度单位“{dispatch.name}”的管辖范围内")
        urgency = row.get("紧急程度", "")
        known = categories.get(category)
        if not urgency:
            urgency = known.default_urgency if known is not None else "一般"
        elif urgency not in rules.URGENCIES:
            row_errors.append(f"紧急程度“{urgency}”无效，应为 {'/'.join(rules.URGENCIES)} 之一")
        if "__extra__" in row:
            row_errors.append(row["__extra__"])
        errors += [(line, e) for e in row_errors]
        if not row_errors:
            if known is None:
                new_categories.add(category)
            good.append({"line": line, "number": number, "received": received, "name": name or None,
                         "phone": phone or None, "category": category, "content": content, "unit": unit,
                         "urgency": urgency, "held": number in held})
    return errors, good, categories, new_categories


def _import(rows, progress, *, user, unit_code: str | None) -> dict:
    """Check every row, then write the new ones (all or nothing): {"created", "skipped",
    "categories_added", "dispatch_unit"}."""
    if not rows:
        raise ImportRejected([(None, "没有工单数据")])
    now = clock.now().replace(microsecond=0)
    dispatch = _dispatch_unit(user, unit_code)
    errors, good, categories, new_categories = _check(rows, progress, user, now, dispatch)
    if errors:
        raise ImportRejected(errors)
    fresh = [g for g in good if not g["held"]]
    skipped = len(good) - len(fresh)
    writing(rows, progress)
    with command(user, "工单已被他人同时导入，本次未写入任何数据，请重试（已导入的工单会被跳过）"):
        if fresh:
            _write(fresh, categories, new_categories, dispatch, user, now)
        audit.record(db.session, "import", "appeal", f"hotline:{now:%Y%m%d%H%M%S}", None,
                     {"新增": len(fresh), "跳过（已导入）": skipped, "新增诉求类别": len(new_categories)},
                     unit_id=dispatch.id)
    return {"created": len(fresh), "skipped": skipped, "categories_added": sorted(new_categories),
            "dispatch_unit": dispatch.code}


def _write(fresh: list[dict], categories: dict, new_categories: set[str], dispatch: OrgUnit, user, now) -> None:
    if new_categories:
        urgency = {}
        for g in fresh:  # the first row's urgency of a new category becomes its default
            urgency.setdefault(g["category"], g["urgency"])
        rows = [{"name": name, "default_urgency": urgency[name], "needs_completion": True, "active": True,
                 "version": 1} for name in sorted(new_categories)]
        db.session.execute(insert(AppealCategory), rows)
        for name, cid in db.session.execute(select(AppealCategory.name, AppealCategory.id)
                                            .where(AppealCategory.name.in_(sorted(new_categories)))):
            categories[name] = cid
    category_ids = {name: (c if isinstance(c, int) else c.id) for name, c in categories.items()}
    limits = _limits()
    from app.supervision.setup import work_calendar

    calendar = work_calendar()
    from app.appeals.services import next_numbers

    numbers = next_numbers(len(fresh), now)
    user_id = getattr(user, "id", None)
    appeals = []
    for g, number in zip(fresh, numbers):
        appeals.append({
            "number": number, "source": SOURCE, "external_number": g["number"], "received_at": g["received"],
            "category_id": category_ids[g["category"]], "content": g["content"], "occurred_unit_id": g["unit"].id,
            "citizen_name": g["name"], "citizen_phone": g["phone"], "urgency": g["urgency"], "state": rules.TO_DISPATCH,
            "handler_unit_id": dispatch.id, "reviewer_kind": "dispatcher", "reviewer_unit_id": dispatch.id,
            "reply_deadline": rules.reply_deadline(g["received"], limits[g["urgency"]], calendar),
            "reopen_count": 0, "callback_count": 0, "satisfied_count": 0, "basic_count": 0, "created_by_id": user_id, "created_at": now, "updated_at": now, "version": 1,
        })
    ids = db.session.scalars(insert(Appeal).returning(Appeal.id, sort_by_parameter_order=True), appeals).all()
    actor_name = user.username if user is not None else audit.SYSTEM
    events = [{"appeal_id": aid, "action": "create", "actor_id": user_id, "actor_name": actor_name,
               "actor_unit_id": getattr(user, "org_unit_id", None), "to_unit_id": dispatch.id, "at": now,
               "reason": f"12345热线工单 {g['number']} 导入", "detail": {"source": SOURCE, "import": True}}
              for aid, g in zip(ids, fresh)]
    db.session.execute(insert(AppealEvent), events)


# ---------------------------------------------------------------- back


def _since(value) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    text = str(value or "").strip()
    if not text:
        raise DomainError("请指定起始时间（since，格式 YYYY-MM-DD HH:MM[:SS]）")
    try:
        return parse_time(text)
    except ValueError:
        try:
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time.min)
        except ValueError:
            raise DomainError(f"起始时间“{text}”格式错误，应为 YYYY-MM-DD 或 YYYY-MM-DD HH:MM[:SS]")


def hotline_updates(since, *, user, limit: int | None = None) -> list[dict]:
    """Every hotline appeal in `user`'s scope changed at or after `since` (oldest change
    first): 工单编号, 状态, 办理单位, 答复内容, 答复时间, 回访结果, and the change time."""
    from app.appeals.access import scope_appeals

    since = _since(since)
    a = Appeal
    stmt = (select(a.id, a.external_number, a.state, a.handler_unit_id, a.merged_into_id, a.replied_at, a.updated_at)
            .where(a.source == SOURCE, a.updated_at >= since).order_by(a.updated_at, a.id))
    stmt = scope_appeals(stmt, user)
    if limit:
        stmt = stmt.limit(limit)
    rows = db.session.execute(stmt).all()
    masters = {r.merged_into_id for r in rows if r.state == rules.MERGED and r.merged_into_id}
    facts = _outcomes({r.id for r in rows} | masters)
    out = []
    for r in rows:
        own = facts["appeals"].get(r.id, {})
        source = facts["appeals"].get(r.merged_into_id, own) if r.state == rules.MERGED else own
        reply = facts["replies"].get(source.get("id", r.id))
        callback = source.get("callback_result")
        out.append({
            "工单编号": r.external_number,
            "状态": rules.state_label(r.state),
            "办理单位": facts["units"].get(source.get("handler_unit_id", r.handler_unit_id), ""),
            "答复内容": reply[0] if reply else "",
            "答复时间": _iso(source.get("replied_at") or (reply[1] if reply else None)),
            "回访结果": callback or "",
            "更新时间": _iso(r.updated_at),
        })
    return out


def _outcomes(ids: set[int]) -> dict:
    """The appeals' handling units' names, latest call-back result (kept on the appeal) and
    latest approved reply (a reply still under review or returned is not an answer yet):
    chunked queries."""
    appeals, replies, unit_ids = {}, {}, set()
    for part in chunked(sorted(ids)):
        for aid, handler, replied, callback in db.session.execute(
                select(Appeal.id, Appeal.handler_unit_id, Appeal.replied_at, Appeal.callback_result)
                .where(Appeal.id.in_(part))):
            appeals[aid] = {"id": aid, "handler_unit_id": handler, "replied_at": replied, "callback_result": callback}
            unit_ids.add(handler)
        stmt = (select(AppealReply.appeal_id, AppealReply.result, AppealReply.result_note, AppealReply.measures,
                       AppealReply.submitted_at)
                .where(AppealReply.appeal_id.in_(part), AppealReply.decision == "approved")
                .order_by(AppealReply.appeal_id, AppealReply.id))
        for aid, result, note, measures, submitted in db.session.execute(stmt):
            text = f"办理结果：{result}；解决措施：{measures}" + (f"；说明：{note}" if note else "")
            replies[aid] = (text, submitted)
    units = {}
    for part in chunked(sorted(u for u in unit_ids if u)):
        units.update(db.session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(part))).all())
    return {"appeals": appeals, "replies": replies, "units": units}


def export_updates(since, path: str, *, user=None) -> int:
    """Write the hotline updates since `since` to a .csv or .xlsx file; the row count."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise DomainError("导出文件只支持 .csv 或 .xlsx")
    rows = [[u[k] for k in UPDATE_HEADER] for u in hotline_updates(since, user=user)]
    body = write_csv(UPDATE_HEADER, rows) if suffix == ".csv" else write_xlsx(UPDATE_HEADER, rows, title="12345回传")
    Path(path).write_bytes(body)
    return len(rows)


def _iso(value) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds")


def count_held() -> int:
    """How many hotline appeals are held (for messages and the benchmark)."""
    return db.session.scalar(select(func.count()).select_from(Appeal).where(Appeal.source == SOURCE)) or 0
