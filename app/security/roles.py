"""Roles as data: each role's permissions, synced into FAB's tables by `roles sync`.

Views collapse FAB's per-method permissions into a few per resource (`class_permission_name`
+ `method_permission_name`), so a role is a map: resource -> permissions on it.
"""

from __future__ import annotations

ADMIN = "系统管理员"
STAFF = "组织部考评员"
SUPERVISOR = "督查员"
LIAISON = "承办联络员"
LEADER = "县区领导"
ALL_ROLES = (ADMIN, STAFF, SUPERVISOR, LIAISON, LEADER)

# Views' method names -> the collapsed permission they need.
MODELVIEW_METHODS = {
    "list": "read",
    "show": "read",
    "download": "read",
    "export": "read",
    "add": "write",
    "edit": "write",
    "delete": "write",
    "muldelete": "write",
    "action": "write",
    "action_post": "write",
    "upload": "import",
}
# The workflow endpoints of supervision items and findings (screens and API alike) -> the
# permission they need: read, write (supervisors), handle / rectify (a liaison for its unit).
TASK_ACTIONS = {
    "assign_selected": "write", "assign": "write", "approve": "write", "return_task": "write",
    "terminate": "write", "remind": "write", "decide_extension": "write",
    "sign": "handle", "report": "handle", "complete": "handle", "request_extension": "handle",
    "read_reminder": "handle", "attachment": "read", "reports": "read", "report_detail": "read",
}
FINDING_ACTIONS = {"start": "rectify", "rectification": "rectify", "verify": "write", "reject": "write",
                   "accountability": "write", "attachment": "read"}
API_METHODS = {
    "get": "read",
    "get_list": "read",
    "info": "read",
    "post": "write",
    "put": "write",
    "delete": "write",
}

# Resources: OrgUnit, Cadre, AuditLog (foundation); Scheme, Period, Score, Adjustment, Result
# (evaluation); TimeLimitRule, WorkCalendar, Task, Inspection, Finding, SupervisionBoard
# (supervision); Todo (everyone's 我的待办); Profile (the 特写, dashboards, compare).
# Special permissions: Period.unlock (admin), Adjustment.approve (a second staff member),
# Result.read_unpublished (results before publication), Result.write (result use decisions,
# written conclusion), Task.handle and Finding.rectify (a liaison acting for its own unit).
ROLE_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    ADMIN: {
        "OrgUnit": ("read", "write", "import"),
        "Cadre": ("read", "write", "import"),
        "AuditLog": ("read",),
        "TimeLimitRule": ("read", "write"),
        "WorkCalendar": ("read", "write"),
        "Task": ("read", "write"),
        "Inspection": ("read", "write"),
        "Finding": ("read", "write"),
        "SupervisionBoard": ("read",),
        "Scheme": ("read", "write", "import"),
        "Period": ("read", "write", "unlock"),
        "Result": ("read", "read_unpublished"),
        "Profile": ("read",),
        "Todo": ("read",),
        "Voting": ("read", "write"),
    },
    STAFF: {
        "OrgUnit": ("read",),
        "Cadre": ("read", "write", "import"),
        "Scheme": ("read", "write", "import"),
        "Period": ("read", "write"),
        "Score": ("read", "write", "import"),
        "Adjustment": ("read", "write", "approve"),
        "Result": ("read", "read_unpublished", "write"),
        "Profile": ("read",),
        "Todo": ("read",),
        "Voting": ("read", "write"),  # 民主测评 sessions of their scope (the ballot at /vote is public)
    },
    SUPERVISOR: {
        "OrgUnit": ("read",),
        "Cadre": ("read",),
        "TimeLimitRule": ("read",),
        "WorkCalendar": ("read",),
        "Task": ("read", "write"),
        "Inspection": ("read", "write"),
        "Finding": ("read", "write"),
        "SupervisionBoard": ("read",),
        "Result": ("read",),
        "Profile": ("read",),
        "Todo": ("read",),
    },
    LIAISON: {
        "Task": ("read", "handle"),
        "Inspection": ("read",),
        "Finding": ("read", "rectify"),
        "Todo": ("read",),
    },
    LEADER: {
        "OrgUnit": ("read",),
        "Cadre": ("read",),
        "Task": ("read",),
        "Inspection": ("read",),
        "Finding": ("read",),
        "SupervisionBoard": ("read",),
        "Result": ("read",),
        "Profile": ("read",),
    },
}

# Every logged-in user keeps these: their own account page and password change.
SELF_SERVICE = (
    ("can_userinfo", "AppUserView"),
    ("can_this_form_get", "UserInfoEditView"),
    ("can_this_form_post", "UserInfoEditView"),
    ("can_this_form_get", "ResetMyPasswordView"),
    ("can_this_form_post", "ResetMyPasswordView"),
    ("can_read", "Lookup"),
    ("can_read", "Job"),  # 我的后台任务: one's own background jobs only (app/views_jobs.py)
    ("menu_access", "我的后台任务"),
)

# Chinese names for FAB's permission and resource names, for the admin's security screens.
PERMISSION_LABELS = {
    "can_read": "查看", "can_write": "编辑", "can_import": "导入", "menu_access": "菜单",
    "can_add": "新增", "can_edit": "编辑", "can_delete": "删除", "can_list": "列表", "can_show": "详情",
    "can_download": "下载", "can_userinfo": "个人信息", "resetmypassword": "修改本人密码",
    "resetpasswords": "重置密码", "userinfoedit": "编辑个人信息", "copyrole": "复制角色",
    "can_this_form_get": "打开表单", "can_this_form_post": "提交表单", "can_get": "读取",
    "can_post": "新增", "can_put": "修改", "can_info": "元数据", "can_chart": "图表",
    "can_unlock": "解锁", "can_approve": "审批", "can_read_unpublished": "查看未发布", "can_handle": "承办",
    "can_rectify": "整改反馈",
}
RESOURCE_LABELS = {
    "Cadre": "干部", "OrgUnit": "组织机构", "AuditLog": "审计日志", "Lookup": "搜索选择",
    "Scheme": "考评方案", "Period": "考评周期", "Score": "评分数据", "Adjustment": "加减分调整",
    "Result": "考评结果", "TimeLimitRule": "时限规则", "WorkCalendar": "工作日历", "Task": "督查事项",
    "Inspection": "督查检查", "Finding": "督查发现问题", "SupervisionBoard": "督查总览", "Todo": "我的待办",
    "Profile": "干部特写", "Job": "后台任务", "Voting": "民主测评",
    "AppUserView": "用户", "AppRoleView": "角色", "AppGroupView": "用户组", "AppPermissionViewView": "权限分配",
    "AppPermissionView": "权限", "AppViewMenuView": "视图菜单", "PermissionModelView": "权限",
    "ViewMenuModelView": "视图菜单", "PermissionViewModelView": "权限分配", "ResetMyPasswordView": "修改密码",
    "ResetPasswordView": "重置密码", "UserInfoEditView": "个人信息", "AppUserStatsView": "用户统计",
    "UserStatsChartView": "用户统计", "MenuApi": "菜单接口", "OpenApi": "接口文档", "SwaggerView": "接口文档页面",
    "SecurityApi": "登录接口", "Security": "安全", "List Users": "用户列表", "List Roles": "角色列表",
    "List Groups": "用户组列表", "User's Statistics": "用户统计", "Base Permissions": "基础权限",
    "Views/Menus": "视图菜单", "Permission on Views/Menus": "权限分配",
}


def permission_label(name: str) -> str:
    return PERMISSION_LABELS.get(name, name)


def resource_label(name: str) -> str:
    return RESOURCE_LABELS.get(name, name)


def describe_permissions(pvs) -> str:
    """'查看·干部；编辑·干部…' for a list of FAB permission-views."""
    return "；".join(
        f"{permission_label(pv.permission.name)}·{resource_label(pv.view_menu.name)}" for pv in pvs or []
    )
