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
GRID_WORKER = "网格员"
DISPATCHER = "热线调度员"
ALL_ROLES = (ADMIN, STAFF, SUPERVISOR, LIAISON, LEADER, GRID_WORKER, DISPATCHER)

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

# The appeals (诉求) workflow endpoints (screens and API) -> the permission they need: report
# (a 网格员's quick report), dispatch (a 热线调度员: create, dispatch, rule on refusals, review,
# call back, merge, hotline import), handle (a unit's liaison or the grid's 网格员: sign,
# refuse, escalate, whistle, reply), lead (a 分管领导 naming lead and assisting departments),
# supervise (a 督查员's 转督办).
APPEAL_ACTIONS = {
    "report": "report", "create": "dispatch", "dispatch": "dispatch", "rule": "dispatch", "review": "dispatch",
    "callback": "dispatch", "merge": "dispatch", "sign": "handle", "refuse": "handle", "escalate": "handle",
    "whistle": "handle", "reply": "handle", "leader_assign": "lead", "to_supervision": "supervise",
    "history": "read", "figures": "read",
}

# The 诉求办理 screens (app/appeals/views*.py) -> the permission they need on their resource:
# Appeal (诉求清单, 诉求待办, the detail page and its forms), AppealReport (上报诉求),
# AppealDispatch (分派队列), AppealWhistle (吹哨队列), AppealFigures (诉求办理统计). A screen of
# its own resource is in the menu only for the roles that may use it. The reviewer of a grid
# report is the township's liaison and a refusal is ruled by whoever assigned it (a dispatcher,
# a village or township, a 分管领导): those forms need only read, the services decide who acts.
APPEAL_SCREEN_METHODS = {
    "index": "read", "show": "read", "export": "read",
    "sign": "handle", "refuse": "handle", "escalate": "handle", "whistle": "handle", "whistle_leader": "handle",
    "reply": "handle", "dispatch": "dispatch", "merge": "dispatch", "rule": "read", "review": "read",
    "callback": "read", "leader_assign": "lead", "supervise": "supervise",
}

# The 诉求 settings screens (高频事项目录, 诉求时限, 分管领导): read to see, write to change.
APPEAL_SETTINGS_METHODS = {"index": "read", "save": "write", "add": "write", "remove": "write"}

# Resources: OrgUnit, Cadre, AuditLog (foundation); Scheme, Period, Score, Adjustment, Result
# (evaluation); TimeLimitRule, WorkCalendar, Task, Inspection, Finding, SupervisionBoard
# (supervision); Todo (everyone's 我的待办); Profile (the 特写, dashboards, compare); PartyOrg,
# PartyMember, PartyStructure (the party register and its 结构分析); Instruction (工作指令, the
# sender's side: read = what one sent or what one's subtree received, with the rates; write =
# compose, send, 催办, 转督办), InstructionInbox (one's own copies: read, reply), Pairing (支部联支部).
# Special permissions: Period.unlock (admin), Adjustment.approve (a second staff member),
# Result.read_unpublished (results before publication), Result.write (result use decisions,
# written conclusion), Task.handle and Finding.rectify (a liaison acting for its own unit);
# Appeal (诉求: read, report, dispatch, handle, lead, supervise, import — APPEAL_ACTIONS),
# AppealCategory and AppealTimeLimit (the catalogue and the time limits), LeaderCharge (分管).
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
        "PartyOrg": ("read", "write", "import"),
        "PartyMember": ("read", "write", "import"),
        "PartyStructure": ("read",),
        "Instruction": ("read", "write"),
        "InstructionInbox": ("read", "reply"),
        "Pairing": ("read", "write"),
        "Appeal": ("read",),
        "AppealFigures": ("read",),
        "AppealCategory": ("read", "write"),
        "AppealTimeLimit": ("read", "write"),
        "LeaderCharge": ("read", "write"),
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
        "PartyOrg": ("read", "write", "import"),
        "PartyMember": ("read", "write", "import"),
        "PartyStructure": ("read",),
        "Instruction": ("read", "write"),
        "InstructionInbox": ("read", "reply"),
        "Pairing": ("read", "write"),
        "Appeal": ("read",),  # the figures behind the 诉求办理实绩 indicator
        "AppealFigures": ("read",),
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
        "Instruction": ("read", "write"),  # 转督办 too (a supervisor makes the item)
        "InstructionInbox": ("read", "reply"),
        "Pairing": ("read",),
        "Appeal": ("read", "supervise"),  # 转督办
        "AppealFigures": ("read",),
    },
    LIAISON: {
        "Task": ("read", "handle"),
        "Inspection": ("read",),
        "Finding": ("read", "rectify"),
        "Todo": ("read",),
        "PartyOrg": ("read",),
        "PartyMember": ("read",),
        "PartyStructure": ("read",),
        "InstructionInbox": ("read", "reply"),  # their own copies: read receipt, reply
        "Pairing": ("read",),
        "Appeal": ("read", "handle"),  # sign and handle the own unit's appeals
        "AppealFigures": ("read",),
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
        "PartyOrg": ("read",),
        "PartyMember": ("read",),
        "PartyStructure": ("read",),
        "Instruction": ("read", "write"),
        "InstructionInbox": ("read", "reply"),
        "Pairing": ("read",),
        "Todo": ("read",),  # whistles waiting for the 分管领导
        "Appeal": ("read", "lead"),
        "AppealWhistle": ("read",),  # 吹哨队列 (empty unless the leader is in charge of departments)
        "AppealFigures": ("read",),
    },
    GRID_WORKER: {  # bound to a grid: reports and handles the grid's appeals
        "Todo": ("read",),
        "Appeal": ("read", "report", "handle"),
        "InstructionInbox": ("read", "reply"),  # instructions sent to grid workers
        "AppealReport": ("read",),  # 上报诉求
        "AppealFigures": ("read",),
    },
    DISPATCHER: {  # 12345 dispatcher, bound to the city or a county
        "Todo": ("read",),
        "Appeal": ("read", "dispatch", "import"),
        "AppealDispatch": ("read",),  # 分派队列
        "AppealFigures": ("read",),
        "AppealCategory": ("read", "write"),
        "InstructionInbox": ("read", "reply"),
        "AppealHotline": ("read", "import"),  # 12345工单导入 (the upload screen; the API takes Appeal.import)
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
    "can_rectify": "整改反馈", "can_reply": "反馈", "can_report": "上报诉求", "can_dispatch": "分派与审核", "can_lead": "分管领导指派",
    "can_supervise": "转督办",
}
RESOURCE_LABELS = {
    "AppealHotline": "12345工单导入",
    "Cadre": "干部", "OrgUnit": "组织机构", "AuditLog": "审计日志", "Lookup": "搜索选择",
    "Scheme": "考评方案", "Period": "考评周期", "Score": "评分数据", "Adjustment": "加减分调整",
    "Result": "考评结果", "TimeLimitRule": "时限规则", "WorkCalendar": "工作日历", "Task": "督查事项",
    "Inspection": "督查检查", "Finding": "督查发现问题", "SupervisionBoard": "督查总览", "Todo": "我的待办",
    "Profile": "干部特写", "Job": "后台任务", "Voting": "民主测评", "Instruction": "工作指令",
    "InstructionInbox": "收到的工作指令", "Pairing": "支部联支部",
    "PartyOrg": "党组织", "PartyMember": "党员", "PartyStructure": "党员结构分析",
    "Appeal": "诉求办理", "AppealCategory": "高频事项目录", "AppealTimeLimit": "诉求时限", "LeaderCharge": "分管领导",
    "AppealReport": "上报诉求", "AppealDispatch": "分派队列", "AppealWhistle": "吹哨队列", "AppealFigures": "诉求办理统计",
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


SELF = "本人账号"
# What an admin reads on the roles screen: each resource under the screen name of its menu,
# in menu order; FAB's internals (menu entries, list-action endpoints, form GET/POST pairs,
# the API's own resources) are folded into the permission they serve or left out.
SCREEN_LABELS = {
    "Cadre": "干部名册（含任职经历、奖惩）", "OrgUnit": "组织机构", "AuditLog": "审计日志",
    "Scheme": "考评方案", "Period": "考评周期", "Score": "评分录入", "Adjustment": "加减分调整",
    "Result": "考评结果", "Voting": "民主测评", "Todo": "我的待办", "Task": "督查事项",
    "Inspection": "督查检查", "Finding": "督查发现问题", "SupervisionBoard": "督查总览",
    "TimeLimitRule": "时限规则", "WorkCalendar": "工作日历", "Profile": "干部特写与领导看板",
    "PartyOrg": "党组织", "PartyMember": "党员名册", "PartyStructure": "党员结构分析",
    "Instruction": "工作指令", "InstructionInbox": "收到的工作指令", "Pairing": "支部联支部",
    "Appeal": "诉求办理", "AppealCategory": "高频事项目录", "AppealTimeLimit": "诉求时限", "LeaderCharge": "分管领导",
    "AppealReport": "上报诉求", "AppealDispatch": "分派队列", "AppealWhistle": "吹哨队列", "AppealFigures": "诉求办理统计",
    "AppUserView": "用户", "AppRoleView": "角色", "ResetPasswordView": "用户",
    "AppealHotline": "12345工单导入",
    "Job": "我的后台任务", SELF: SELF,
}
# Every user's own account and helpers, shown once as 本人账号.
SELF_SERVICE_GROUP = {("can_userinfo", "AppUserView"): "查看本人信息", ("resetmypassword", "AppUserView"): "修改密码",
                      ("userinfoedit", "AppUserView"): "编辑本人信息", ("can_this_form_get", "UserInfoEditView"): "编辑本人信息",
                      ("can_this_form_post", "UserInfoEditView"): "编辑本人信息",
                      ("can_this_form_get", "ResetMyPasswordView"): "修改密码",
                      ("can_this_form_post", "ResetMyPasswordView"): "修改密码"}
ACTION_LABELS = {
    "can_read": "查看", "can_write": "编辑", "can_import": "导入", "can_unlock": "解锁",
    "can_approve": "审批", "can_read_unpublished": "查看未发布结果", "can_handle": "承办",
    "can_rectify": "整改反馈", "can_reply": "接收反馈", "can_report": "上报诉求", "can_dispatch": "分派与审核", "can_lead": "分管领导指派",
    "can_supervise": "转督办", "can_list": "查看", "can_show": "查看", "can_add": "新增", "can_edit": "编辑",
    "can_delete": "删除", "can_userinfo": "查看本人信息", "resetpasswords": "重置密码",
    "resetmypassword": "修改本人密码", "userinfoedit": "编辑本人信息", "can_this_form_get": "重置密码",
    "can_this_form_post": "重置密码", "can_get": "查看", "can_info": "查看", "can_post": "编辑", "can_put": "编辑",
}
# Never shown: menu entries follow the permissions; FAB's list-action endpoints, downloads and
# copy-role action serve the permissions above; API descriptions are for programs.
HIDDEN_PERMISSIONS = {"menu_access", "can_action", "can_action_post", "can_download", "copyrole", "muldelete"}
HIDDEN_RESOURCES = {"MenuApi", "OpenApi", "SwaggerView", "SecurityApi", "HomeView", "AuthDBView", "UtilView",
                    "LocaleView", "Lookup"}


def permission_groups(pvs) -> list[tuple[str, list[str]]]:
    """[(screen, [actions])] of a role's permissions, in menu order, without FAB's internals."""
    order = list(SCREEN_LABELS)
    groups: dict[str, list[str]] = {}
    for pv in pvs or []:
        perm, res = pv.permission.name, pv.view_menu.name
        if perm in HIDDEN_PERMISSIONS or res in HIDDEN_RESOURCES:
            continue
        if (perm, res) in SELF_SERVICE_GROUP:
            screen, action = SELF, SELF_SERVICE_GROUP[(perm, res)]
        else:
            screen = SCREEN_LABELS.get(res) or RESOURCE_LABELS.get(res) or res
            action = ACTION_LABELS.get(perm) or PERMISSION_LABELS.get(perm) or perm
        actions = groups.setdefault(screen, [])
        if action not in actions:
            actions.append(action)
    rank = {SCREEN_LABELS[k]: i for i, k in enumerate(order)}
    verbs = ["查看", "查看本人信息", "新增", "编辑", "编辑本人信息", "删除", "导入", "上报诉求", "分派与审核", "承办",
             "分管领导指派", "转督办", "整改反馈", "接收反馈", "审批",
             "解锁", "查看未发布结果", "重置密码", "修改密码"]
    ordered = [(screen, sorted(acts, key=lambda a: (verbs.index(a) if a in verbs else len(verbs), a)))
               for screen, acts in groups.items()]
    return sorted(ordered, key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))


def describe_permissions(pvs):
    """The role's permissions as '干部名册 · 查看、编辑' lines, one screen a line."""
    from markupsafe import Markup, escape

    lines = [f"{escape(screen)} · {escape('、'.join(actions))}" for screen, actions in permission_groups(pvs)]
    return Markup('<span class="role-perm">') + Markup('</span><br><span class="role-perm">').join(
        Markup(line) for line in lines) + Markup("</span>")
