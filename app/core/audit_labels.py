"""Chinese names for the audit trail's actions, tables and fields (what the admin reads)."""

from __future__ import annotations

import json

ACTIONS = {"create": "新增", "update": "修改", "delete": "删除", "import": "导入", "compute": "计算",
           "unlock": "解锁", "open": "开始评分", "lock": "锁定", "publish": "发布", "login": "登录",
           "login_failed": "登录失败", "transition": "状态变更",
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
}
FIELDS = {
    "id": "编号", "code": "编码", "name": "名称", "kind": "类型", "parent_id": "上级", "path": "层级路径",
    "sort_order": "排序", "active": "启用", "gender": "性别", "ethnicity": "民族", "birth_date": "出生日期",
    "native_place": "籍贯", "party_join_date": "入党时间", "education": "学历", "org_unit_id": "单位",
    "position": "职务", "rank": "职级", "post_category": "岗位类别", "position_start": "任现职时间",
    "status": "状态", "phone": "联系电话", "cadre_id": "干部", "start_date": "起始日期", "end_date": "终止日期",
    "unit_name": "单位", "date": "日期", "title": "标题", "issuer": "决定机关", "state": "状态",
    "reason": "事由", "value": "分值", "score": "得分", "period_id": "考评周期", "group_id": "评价组",
    "text": "内容", "decision": "决定", "note": "备注", "suggestion": "建议", "description": "描述",
    "severity": "严重程度", "category": "类别", "deadline": "期限", "content": "内容", "source": "来源",
    "categories": "岗位类别", "issued": "已发放测评码", "opened_at": "开始时间", "ended_at": "结束时间",
    "recorded_at": "计入时间", "created_by": "创建人", "created_at": "创建时间",
}


def action_label(value: str) -> str:
    return ACTIONS.get(value, value)


def table_label(value: str) -> str:
    return TABLES.get(value, value)


def _value(val) -> str:
    if val is True:
        return "是"
    if val is False:
        return "否"
    return "" if val is None else str(val)


def values_label(value: str | None) -> str:
    """'字段：值；…' from the JSON of old or new values."""
    if not value:
        return ""
    try:
        data = json.loads(value)
    except ValueError:
        return value
    if not isinstance(data, dict):
        return str(data)
    shown = []
    for key, val in data.items():
        shown.append(f"{FIELDS.get(key, key)}：{_value(val)}")
    return "；".join(shown)
