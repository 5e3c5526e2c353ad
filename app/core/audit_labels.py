"""Chinese for the audit trail (what the admin reads): actions, tables, every field and state,
names instead of ids, rounded numbers, readable dates, and long entries folded.

The trail stores plain JSON (app/core/audit.py); this module turns a page of entries into
text and HTML. Ids are resolved to names once per page (one query per kind of id), never
per entry.
"""

from __future__ import annotations

import json
from collections import defaultdict

from markupsafe import Markup, escape

from app.core.formats import datetime_text, display, number_text, parse_iso

ACTIONS = {"create": "新增", "update": "修改", "delete": "删除", "import": "导入", "compute": "计算",
           "unlock": "解锁", "open": "开始评分", "lock": "锁定", "publish": "发布", "login": "登录",
           "login_failed": "登录失败", "transition": "状态变更", "seed": "生成演示数据",
           "void_code": "作废测评码", "record_votes": "计入测评票数"}
TABLES = {
    "org_unit": "单位", "cadre": "干部", "career_record": "任职经历", "reward_penalty": "奖惩",
    "ab_user": "用户", "evaluation_scheme": "考评方案", "evaluation_dimension": "考评维度",
    "rater_group": "评价组", "evaluation_indicator": "实绩指标", "evaluation_period": "考评周期",
    "score_sheet": "评分表", "sheet_score": "评分", "ballot": "民主测评票", "indicator_score": "指标得分",
    "adjustment": "加减分调整", "evaluation_result": "考评结果", "result_use": "结果运用",
    "cadre_conclusion": "组织结论", "time_limit_rule": "时限规则", "work_calendar_day": "工作日历",
    "supervision_task": "督查事项", "task_assignment": "事项承办", "task_report": "办理反馈",
    "extension_request": "延期申请", "task_reminder": "催办", "inspection": "督查检查",
    "finding": "发现问题", "rectification_report": "整改反馈", "voting_session": "民主测评活动",
    "appeal": "诉求", "appeal_assignment": "诉求交办", "appeal_reply": "诉求答复", "appeal_callback": "诉求回访",
    "appeal_category": "高频事项", "appeal_time_limit": "诉求时限", "leader_charge": "分管关系",
}
FIELDS = {
    # shared
    "id": "编号", "code": "编码", "name": "名称", "kind": "类型", "parent_id": "上级单位", "path": "层级路径",
    "sort_order": "排序", "sort": "排序", "active": "启用", "state": "状态", "status": "状态",
    "version": "版本", "created_by": "创建人", "created_at": "创建时间", "updated_by": "修改人",
    "updated_at": "修改时间", "note": "说明", "reason": "事由", "title": "标题", "description": "描述",
    "content": "内容", "text": "内容", "date": "日期", "source": "来源", "weight": "权重",
    # org, cadres, users
    "gender": "性别", "ethnicity": "民族", "birth_date": "出生日期", "native_place": "籍贯",
    "party_join_date": "入党时间", "education": "学历", "org_unit_id": "单位", "position": "职务",
    "rank": "职级", "post_category": "岗位类别", "position_start": "任现职时间", "phone": "联系电话",
    "cadre_id": "干部", "start_date": "起始日期", "end_date": "终止日期", "unit_name": "单位",
    "issuer": "决定机关", "username": "用户名", "ip": "IP 地址", "fail_login_count": "连续登录失败次数",
    "locked": "账号已锁定", "inactive": "账号已停用",
    # evaluation
    "scheme_id": "考评方案", "period_id": "考评周期", "previous_id": "上一考评周期", "group_id": "评价组",
    "dimension_id": "考评维度", "indicator_id": "实绩指标", "sheet_id": "评分表", "value": "分值",
    "score": "得分", "trim_min": "去掉最高最低分的最少份数", "sanping_weight": "三评权重",
    "adjustment_cap": "调整分上限", "excellent_min": "优秀分数线", "excellent_quota": "优秀比例",
    "competent_min": "称职分数线", "basic_min": "基本称职分数线", "penalty_overdue_task": "事项超期扣分",
    "penalty_general": "一般问题扣分", "penalty_serious": "较重问题扣分", "penalty_severe": "严重问题扣分",
    "penalty_overdue_rectification": "整改超期扣分", "points_excellent": "优秀票分值",
    "points_competent": "称职票分值", "points_basic": "基本称职票分值", "points_incompetent": "不称职票分值",
    "excellent": "优秀票", "competent": "称职票", "basic": "基本称职票", "incompetent": "不称职票",
    "unknown": "不了解票", "computed_at": "计算时间", "inputs_changed_at": "数据变动时间",
    "peer_stats": "同类统计", "count": "人数", "avg_composite": "平均综合得分", "dims": "各维度平均分", "proposed_by": "提出人", "approved_by": "审批人", "decision": "决定",
    "decided_by": "决定人", "decided_at": "决定时间", "suggestion": "建议",
    # supervision
    "rule_id": "时限规则", "lead_unit_id": "主办单位", "responsible_cadre_id": "责任干部",
    "leader_in_charge": "分管领导", "supervisor_id": "督查员", "manual_deadline": "手工办结期限",
    "assigned_at": "交办时间", "complete_due": "办结期限", "original_complete_due": "原办结期限",
    "submitted_at": "报送办结时间", "completed_at": "办结时间", "terminated_at": "终止时间",
    "state_reason": "状态说明", "task_id": "督查事项", "assignment_id": "承办单位", "is_lead": "主办",
    "acknowledge_due": "签收期限", "first_report_due": "首次反馈期限", "next_report_due": "下次反馈期限",
    "signed_at": "签收时间", "signed_by": "签收人", "first_report_at": "首次反馈时间",
    "last_report_at": "最近反馈时间", "completion_reported_at": "报送办结时间", "done_text": "已完成工作",
    "undone_reason": "未完成原因", "next_steps": "下一步打算", "old_due": "原期限",
    "requested_date": "申请延至", "requested_by": "申请人", "requested_at": "申请时间",
    "decision_note": "审批意见", "milestone": "节点", "level": "级别", "due_at": "到期时间",
    "message": "催办内容", "read_at": "已读时间", "dedup_key": "去重标识", "acknowledge_days": "签收天数",
    "first_report_days": "首次反馈天数", "complete_days": "办结天数", "complete_months": "办结月数",
    "report_interval_days": "定期反馈间隔天数", "working_days": "按工作日计算", "long_term": "长期事项",
    "day": "日期", "year": "年份", "place": "地点", "team": "检查组", "mode": "方式",
    "inspection_id": "督查检查", "finding_id": "发现问题", "severity": "严重程度", "category": "类别",
    "requirement": "整改要求", "continuous": "持续整改", "deadline": "期限", "found_on": "发现日期",
    "rectified_at": "报送整改时间", "closed_at": "销号时间", "accountability": "问责方式",
    "accountability_note": "问责说明", "verdict": "验收结论", "verdict_note": "验收意见",
    "verdict_by": "验收人", "verdict_at": "验收时间",
    # voting
    "categories": "岗位类别", "issued": "已发放测评码", "opened_at": "开始时间", "ended_at": "结束时间",
    "recorded_at": "计入时间",
    # appeals
    "number": "诉求编号", "external_number": "工单编号", "received_at": "受理时间", "occurred_unit_id": "发生地",
    "citizen_name": "诉求人", "citizen_phone": "联系电话", "urgency": "紧急程度", "handler_unit_id": "承办单位",
    "leader_id": "分管领导", "reviewer_kind": "审核方", "reviewer_unit_id": "审核单位", "sign_deadline": "签收期限",
    "reply_deadline": "答复期限", "replied_at": "答复时间", "resolved_level": "解决层级",
    "resolved_unit_id": "解决单位", "reopen_count": "重办次数", "merged_into_id": "合并至",
    "supervision_task_id": "转督办事项", "created_by_id": "创建人", "appeal_id": "诉求", "role": "承办角色",
    "assigned_by_id": "交办人", "assigned_from_unit_id": "交办单位", "signed_by_id": "签收人",
    "refused_at": "退单时间", "refusal_kind": "退单理由", "refusal_text": "退单说明", "ruled_at": "退单处理时间",
    "ruling": "退单处理", "overruled": "退单已驳回", "contact_whom": "联系对象", "contact_at": "联系时间",
    "contact_way": "联系方式", "measures": "解决措施", "result": "结果", "result_note": "结果说明",
    "finished_at": "完成时间", "submitted_by_id": "答复人", "decided_by_id": "审核人", "by_id": "回访人",
    "at": "时间", "default_urgency": "默认紧急程度", "department_id": "建议承办部门",
    "needs_completion": "待完善", "sign_amount": "签收时限", "sign_unit": "签收时限单位",
    "reply_amount": "答复时限", "reply_unit": "答复时限单位", "callback_result": "回访结果",
    "callback_count": "回访次数", "satisfied_count": "满意次数", "basic_count": "基本满意次数",
}
# Where one key means something else in one table.
TABLE_FIELDS = {
    "cadre": {"name": "姓名", "status": "在职状态"},
    "ab_user": {"name": "姓名", "note": "说明"},
    "org_unit": {"name": "单位名称", "code": "单位编码"},
    "task_report": {"kind": "反馈类型"},
    "evaluation_period": {"kind": "周期类型"},
    "reward_penalty": {"kind": "奖惩类别", "title": "事项"},
}
_TASK_STATES = {"draft": "草稿", "assigned": "已交办", "in_progress": "办理中", "pending_review": "待审核",
                "completed": "已办结", "terminated": "已终止"}
_FINDING_STATES = {"pending": "待整改", "rectifying": "整改中", "awaiting_verification": "待验收", "closed": "已销号"}
# Coded values, per table and field ("*": any table).
VALUES = {
    ("*", "state"): {**_TASK_STATES, **_FINDING_STATES, "scoring": "评分中", "locked": "已锁定",
                     "published": "已发布", "open": "进行中", "ended": "已结束", "recorded": "已计入",
                     "approved": "已批准", "rejected": "已驳回"},
    ("supervision_task", "state"): _TASK_STATES,
    ("finding", "state"): _FINDING_STATES,
    ("evaluation_period", "state"): {"draft": "草稿", "scoring": "评分中", "locked": "已锁定", "published": "已发布"},
    ("voting_session", "state"): {"draft": "草稿", "open": "进行中", "ended": "已结束", "recorded": "已计入"},
    ("extension_request", "state"): {"pending": "待审批", "approved": "已批准", "rejected": "已驳回"},
    ("org_unit", "kind"): {"city": "市", "county": "县区", "township": "乡镇街道", "village": "村社区",
                           "grid": "网格", "department": "部门"},
    ("rater_group", "kind"): {"scores": "评分", "votes": "投票"},
    ("work_calendar_day", "kind"): {"holiday": "法定节假日（休息）", "workday": "调休上班"},
    ("task_report", "kind"): {"progress": "进展反馈", "completion": "办结报告"},
    ("*", "milestone"): {"acknowledge": "签收部署", "first_report": "首次反馈", "report": "定期反馈",
                         "complete": "办结"},
    ("*", "level"): {"yellow": "即将到期", "red": "已超期", "manual": "人工催办"},
    ("appeal", "state"): {"to_dispatch": "待分派", "to_sign": "待签收", "handling": "办理中", "to_review": "待审核",
                          "to_callback": "待回访", "closed": "已办结", "merged": "已合并"},
    ("appeal_assignment", "state"): {"pending": "待签收", "signed": "已签收", "refused": "已退单", "ended": "已结束"},
    ("appeal_assignment", "role"): {"single": "承办", "lead": "牵头", "assist": "协办"},
    ("appeal_assignment", "kind"): {"dispatch": "分派", "escalate": "上报", "whistle": "吹哨", "leader": "领导指派"},
    ("appeal_assignment", "ruling"): {"reassign": "改派", "overrule": "驳回退单", "take_back": "收回办理",
                                      "merged": "已合并"},
    ("appeal", "reviewer_kind"): {"dispatcher": "热线调度员", "township": "乡镇街道"},
    ("appeal_reply", "decision"): {"approved": "审核通过", "returned": "退回重办"},
    ("*", "sign_unit"): {"hours": "小时", "working_days": "工作日"},
    ("*", "reply_unit"): {"hours": "小时", "working_days": "工作日"},
}

# Ids shown as names: field -> (table of the named row). A row's own id uses its table.
ID_FIELDS = {
    "org_unit_id": "org_unit", "lead_unit_id": "org_unit", "parent_id": "org_unit", "cadre_id": "cadre",
    "responsible_cadre_id": "cadre", "period_id": "evaluation_period", "previous_id": "evaluation_period",
    "scheme_id": "evaluation_scheme", "group_id": "rater_group", "dimension_id": "evaluation_dimension",
    "indicator_id": "evaluation_indicator", "task_id": "supervision_task", "inspection_id": "inspection",
    "finding_id": "finding", "rule_id": "time_limit_rule", "supervisor_id": "ab_user",
    "assignment_id": "task_assignment",
    "occurred_unit_id": "org_unit", "handler_unit_id": "org_unit", "reviewer_unit_id": "org_unit",
    "resolved_unit_id": "org_unit", "assigned_from_unit_id": "org_unit", "department_id": "org_unit",
    "leader_id": "ab_user", "assigned_by_id": "ab_user", "supervision_task_id": "supervision_task",
    "appeal_id": "appeal", "merged_into_id": "appeal",
}
# Fields not worth an admin's attention (internal bookkeeping).
HIDDEN = {"id", "version", "dedup_key", "path"}
INLINE_MAX = 3  # entries with more fields than this are shown folded
TEXT_MAX = 40  # longer text is cut in the folded summary


def action_label(value: str) -> str:
    return ACTIONS.get(value, value)


def table_label(value: str) -> str:
    return TABLES.get(value, value)


def field_label(table: str, key: str) -> str:
    return TABLE_FIELDS.get(table, {}).get(key) or FIELDS.get(key, key)


def value_text(table: str, key: str, val, names: dict | None = None) -> str:
    """One value as the admin reads it: a coded state in Chinese, an id as its name, a
    number rounded, a date or time to the minute, a dictionary as its short summary."""
    codes = VALUES.get((table, key)) or VALUES.get(("*", key))
    if codes and isinstance(val, str) and val in codes:
        return codes[val]
    named = ID_FIELDS.get(key) or (table if key == "id" else None)
    if named and names is not None and isinstance(val, int) and not isinstance(val, bool):
        name = names.get((named, val))
        if name:
            return name
    if isinstance(val, str) and val[:1] in "{[":
        val = _literal(val)
    if isinstance(val, dict):
        return _dict_text(table, val, names, 0)
    if isinstance(val, list):
        return "、".join(value_text(table, key, v, names) for v in val)
    if isinstance(val, float):
        return number_text(val)
    if isinstance(val, str) and parse_iso(val) is not None:
        return datetime_text(val)
    return display(val)


def _literal(text: str):
    """A dictionary or list written as Python text (older entries stored them so), else the text."""
    import ast

    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text
    return value if isinstance(value, (dict, list)) else text


def _dict_text(table: str, data: dict, names, depth: int) -> str:
    """`县区党政正职（人数 20，平均综合得分 88.09，各维度平均分（德 86.19，…））`: labelled, rounded."""
    parts = []
    for key, val in data.items():
        label = field_label(table, str(key))
        if isinstance(val, dict):
            parts.append(f"{label}（{_dict_text(table, val, names, depth + 1)}）")
        else:
            parts.append(f"{label}{'：' if depth == 0 else ' '}{value_text(table, str(key), val, names)}")
    return ("；" if depth == 0 else "，").join(parts)


def _load(value: str | None):
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return value


def pairs(table: str, value: str | None, names: dict | None = None) -> list[tuple[str, str]]:
    """[(字段, 值)] of the JSON of old or new values."""
    data = _load(value)
    if data is None:
        return []
    if not isinstance(data, dict):
        return [("", value_text(table, "", data, names))]
    return [(field_label(table, k), value_text(table, k, v, names)) for k, v in data.items() if k not in HIDDEN]


def values_label(value: str | None, table: str = "", names: dict | None = None) -> str:
    """'字段：值；…' from the JSON of old or new values (plain text: exports, show pages)."""
    return "；".join(f"{k}：{v}" if k else v for k, v in pairs(table, value, names))


def changes(entry, names: dict | None = None) -> list[tuple[str, str]]:
    """[(字段, '旧 → 新')] of an update, [(字段, 值)] of anything else."""
    table = entry.table_name
    old, new = _load(entry.old_values), _load(entry.new_values)
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in list(dict.fromkeys([*new, *old])):
            if key in HIDDEN:
                continue
            before = value_text(table, key, old.get(key), names) if key in old else ""
            after = value_text(table, key, new.get(key), names) if key in new else ""
            out.append((field_label(table, key), f"{before or '（空）'} → {after or '（空）'}"))
        return out
    return pairs(table, entry.new_values if entry.new_values else entry.old_values, names)


def changes_html(items: list[tuple[str, str]]) -> Markup:
    """The changes as HTML: a few short ones inline, a longer list folded in <details>."""
    if not items:
        return Markup("")
    lines = [Markup("<b>{}</b>：{}").format(k, v) if k else escape(v) for k, v in items]
    short = len(items) <= INLINE_MAX and all(len(v) <= TEXT_MAX for _, v in items)
    if short:
        return Markup("<br>").join(lines)
    head = "；".join(f"{k}：{_cut(v)}" if k else _cut(v) for k, v in items[:2])
    return Markup('<details class="audit-changes"><summary>{}…（共 {} 项）</summary><div>{}</div></details>').format(
        head, len(items), Markup("<br>").join(lines))


def _cut(text: str) -> str:
    return text if len(text) <= TEXT_MAX else text[: TEXT_MAX - 1] + "…"


# ---------------------------------------------------------------- names of ids, one query per kind

def _name_columns():
    """table -> (model, expression naming a row), built on first use (models import late)."""
    from sqlalchemy import func

    from app import models as m

    return {
        "org_unit": (m.OrgUnit, m.OrgUnit.name),
        "cadre": (m.Cadre, m.Cadre.name),
        "evaluation_period": (m.EvaluationPeriod, m.EvaluationPeriod.name),
        "evaluation_scheme": (m.EvaluationScheme, m.EvaluationScheme.name),
        "rater_group": (m.RaterGroup, m.RaterGroup.name),
        "evaluation_dimension": (m.Dimension, m.Dimension.name),
        "evaluation_indicator": (m.Indicator, m.Indicator.name),
        "supervision_task": (m.SupervisionTask, m.SupervisionTask.code + " " + m.SupervisionTask.title),
        "inspection": (m.Inspection, m.Inspection.code),
        "finding": (m.Finding, m.Finding.category),
        "time_limit_rule": (m.TimeLimitRule, m.TimeLimitRule.name),
        "ab_user": (m.AppUser, func.coalesce(m.AppUser.first_name, "") + func.coalesce(m.AppUser.last_name, "")),
        "voting_session": (m.VotingSession, m.VotingSession.title),
        "appeal": (m.Appeal, m.Appeal.number),
    }


def _wanted(entries) -> dict[str, set[int]]:
    wanted: dict[str, set[int]] = defaultdict(set)
    for entry in entries:
        if entry.row_id and str(entry.row_id).isdigit():
            wanted[entry.table_name].add(int(entry.row_id))
        if entry.user_id:
            wanted["ab_user"].add(entry.user_id)
        for raw in (entry.old_values, entry.new_values):
            data = _load(raw)
            if not isinstance(data, dict):
                continue
            for key, val in data.items():
                if key in ID_FIELDS and isinstance(val, int) and not isinstance(val, bool):
                    wanted[ID_FIELDS[key]].add(val)
                if key == "id" and isinstance(val, int):
                    wanted[entry.table_name].add(val)
    return wanted


def resolve_names(session, entries) -> dict[tuple[str, int], str]:
    """{(table, id): name} for every id the entries mention, one query per table."""
    from sqlalchemy import select

    columns = _name_columns()
    names: dict[tuple[str, int], str] = {}
    wanted = _wanted(entries)
    for table, ids in wanted.items():
        if table not in columns or not ids:
            continue
        model, label = columns[table]
        for pk, name in session.execute(select(model.id, label).where(model.id.in_(sorted(ids)))):
            if name:
                names[(table, pk)] = str(name)
    assignments = wanted.get("task_assignment")
    if assignments:
        from app import models as m

        stmt = (select(m.TaskAssignment.id, m.OrgUnit.name)
                .join(m.OrgUnit, m.OrgUnit.id == m.TaskAssignment.org_unit_id)
                .where(m.TaskAssignment.id.in_(sorted(assignments))))
        for pk, name in session.execute(stmt):
            names[("task_assignment", pk)] = name
    return names


def row_text(entry, names: dict) -> str:
    """The row an entry is about: its name when it has one (`张三（#12）`), else its key."""
    row = entry.row_id or ""
    if row.startswith("period:"):
        return f"考评周期 {row.split(':', 1)[1]}"
    name = names.get((entry.table_name, int(row))) if row.isdigit() else None
    return f"{name}（#{row}）" if name else row


def who_text(entry, names: dict) -> str:
    """Who acted: the person's name and login name (`系统管理员（市）（admin）`), or 命令行."""
    name = names.get(("ab_user", entry.user_id)) if entry.user_id else None
    if name and name != entry.username:
        return f"{name}（{entry.username}）"
    return entry.username or ""
