"""The security manager: FAB's user extended with its unit and cadre."""

from __future__ import annotations

import re

from flask import flash, g, has_request_context
from flask_appbuilder.exceptions import PasswordComplexityValidationError
from flask_appbuilder.security.sqla.manager import SecurityManager as FabSecurityManager
from flask_appbuilder.security.sqla.models import assoc_permissionview_role
from flask_appbuilder.security.views import (
    PermissionModelView,
    PermissionViewModelView,
    RoleModelView,
    UserDBModelView,
    UserGroupModelView,
    ViewMenuModelView,
)
from flask_appbuilder.widgets import ListWidget, ShowWidget
from wtforms.validators import DataRequired

from app.models import AppUser
from app.security.api import SecurityApi
from app.security.password_views import ResetMyPasswordView
from app.security.roles import describe_permissions, permission_label, resource_label
from app.security.scope import UnitScopeFilter
from app.viewlib import SafeActionsMixin


def password_complexity(password: str) -> None:
    """At least 10 characters with upper case, lower case, a digit and a symbol."""
    checks = [
        len(password or "") >= 10,
        re.search(r"[A-Z]", password or ""),
        re.search(r"[a-z]", password or ""),
        re.search(r"\d", password or ""),
        re.search(r"[^A-Za-z0-9]", password or ""),
    ]
    if not all(checks):
        raise PasswordComplexityValidationError(
            "密码至少 10 位，且须同时包含大写字母、小写字母、数字和特殊字符"
        )


USER_LABELS = {
    "first_name": "姓",
    "last_name": "名",
    "username": "用户名",
    "email": "电子邮箱",
    "active": "启用",
    "roles": "角色",
    "groups": "用户组",
    "org_unit": "所属单位",
    "cadre": "对应干部",
    "last_login": "最近登录",
    "login_count": "登录次数",
    "fail_login_count": "登录失败次数",
    "created_on": "创建时间",
    "created_by": "创建人",
    "changed_on": "修改时间",
    "changed_by": "修改人",
    "password": "密码",
    "conf_password": "确认密码",
}


class AppUserView(SafeActionsMixin, UserDBModelView):
    """Users with their unit (scope) and linked cadre."""

    list_title = "用户列表"
    show_title = "用户详情"
    add_title = "新增用户"
    edit_title = "编辑用户"
    label_columns = USER_LABELS
    description_columns = {
        "org_unit": "用户可见范围：本单位及其全部下级单位",
        "cadre": "用户本人对应的干部（本人不能为自己评分）",
        "roles": "用户的角色，决定可用的菜单和操作",
        "active": "停用后该用户不能登录",
    }
    list_columns = ["username", "first_name", "last_name", "org_unit", "roles", "active"]
    search_columns = ["username", "first_name", "last_name", "email", "active", "roles"]
    add_columns = ["username", "first_name", "last_name", "email", "org_unit", "cadre", "roles", "active",
                   "password", "conf_password"]
    edit_columns = ["username", "first_name", "last_name", "email", "org_unit", "cadre", "roles", "active"]
    validators_columns = {"roles": [DataRequired(message="请至少选择一个角色")]}
    show_fieldsets = [
        ("用户信息", {"fields": ["username", "active", "roles", "org_unit", "cadre", "login_count"]}),
        ("个人信息", {"fields": ["first_name", "last_name", "email"], "expanded": True}),
        (
            "审计信息",
            {"fields": ["last_login", "fail_login_count", "created_on", "changed_on"], "expanded": False},
        ),
    ]
    user_show_fieldsets = [
        ("用户信息", {"fields": ["username", "roles", "org_unit"]}),
        ("个人信息", {"fields": ["first_name", "last_name", "email"], "expanded": True}),
    ]
    user_info_title = "我的账号信息"
    base_filters = [["org_unit_id", UnitScopeFilter, lambda: None]]


class AppRoleView(SafeActionsMixin, RoleModelView):
    """Roles are data in app/security/roles.py, synced by `roles sync`: read-only here."""

    list_title = "角色列表"
    show_title = "角色详情"
    label_columns = {"name": "角色名称", "permissions": "权限", "user": "用户", "groups": "用户组"}
    search_columns = ["name"]
    base_permissions = ["can_list", "can_show"]
    list_widget = ListWidget
    show_widget = ShowWidget
    formatters_columns = {"permissions": describe_permissions}


class AppGroupView(SafeActionsMixin, UserGroupModelView):
    label_columns = {"name": "组名", "label": "显示名", "description": "说明", "users": "用户", "roles": "角色"}
    search_columns = ["name", "label"]


class AppPermissionViewView(SafeActionsMixin, PermissionViewModelView):
    list_title = "权限分配"
    label_columns = {"permission": "权限", "view_menu": "视图/菜单", "role": "角色"}
    search_columns = ["permission", "view_menu"]
    formatters_columns = {"permission": lambda p: permission_label(p.name), "view_menu": lambda v: resource_label(v.name)}


class AppPermissionView(SafeActionsMixin, PermissionModelView):
    list_title = "基础权限"
    label_columns = {"name": "名称"}
    formatters_columns = {"name": permission_label}


class AppViewMenuView(SafeActionsMixin, ViewMenuModelView):
    list_title = "视图菜单"
    label_columns = {"name": "名称"}
    formatters_columns = {"name": resource_label}


def _lookup_fields() -> dict:
    from app.views import _cadre_field, _unit_field

    return {"org_unit": _unit_field("所属单位"), "cadre": _cadre_field("对应干部", required=False)}


class SecurityManager(FabSecurityManager):
    """FAB's manager with the app's user model and views, and permission checks answered
    from one query per request instead of one per menu item and button."""

    user_model = AppUser
    userdbmodelview = AppUserView
    rolemodelview = AppRoleView
    groupmodelview = AppGroupView
    permissionviewmodelview = AppPermissionViewView
    permissionmodelview = AppPermissionView
    viewmenumodelview = AppViewMenuView
    security_api = SecurityApi  # a login without `provider` is a 400, not FAB's KeyError
    resetmypasswordview = ResetMyPasswordView  # asks for the current password
    userstatschartview = None  # FAB's chart loads Google's code from the internet: not on an intranet

    def __init__(self, appbuilder):
        super().__init__(appbuilder)
        from app.viewlib import EagerSQLAInterface

        # Roles per user would otherwise be one query per listed user.
        self.userdbmodelview.datamodel = EagerSQLAInterface(AppUser, ("roles", "groups"))

        fields = _lookup_fields()
        self.userdbmodelview.add_form_extra_fields = {**AppUserView.add_form_extra_fields, **fields}
        self.userdbmodelview.edit_form_extra_fields = dict(fields)

    def get_user_by_id(self, pk):
        """The user with roles and groups in one query (Flask-Login asks on every request;
        FAB's session.get left two more queries to the first permission check)."""
        from sqlalchemy import select
        from sqlalchemy.orm import joinedload

        stmt = (
            select(self.user_model)
            .where(self.user_model.id == pk)
            .options(joinedload(self.user_model.roles), joinedload(self.user_model.groups))
        )
        return self.session.scalars(stmt).unique().first()

    def exist_permission_on_roles(self, view_name, permission_name, role_ids) -> bool:
        if not has_request_context():
            return super().exist_permission_on_roles(view_name, permission_name, role_ids)
        key = tuple(sorted(role_ids))
        cache = g.setdefault("_permissions_by_roles", {})
        if key not in cache:
            pv, pvr = self.permissionview_model, assoc_permissionview_role
            rows = (
                self.session.query(self.viewmenu_model.name, self.permission_model.name)
                .select_from(pv)
                .join(pvr, pv.id == pvr.c.permission_view_id)
                .join(self.permission_model, pv.permission_id == self.permission_model.id)
                .join(self.viewmenu_model, pv.view_menu_id == self.viewmenu_model.id)
                .filter(pvr.c.role_id.in_(key))
                .all()
            )
            cache[key] = set(rows)
        return (view_name, permission_name) in cache[key]

    # --- account safety (app/security/accounts.py) ---------------------------------------

    def auth_user_db(self, username, password):
        from app.security import accounts, revocation

        user = self.find_user(username=username) if username else None
        if accounts.is_locked(user):
            flash(f"登录失败次数过多，账号已锁定 {accounts.LOCK_MINUTES} 分钟，请稍后再试或联系管理员", "danger")
            accounts.login_failed(user)
            return None
        if user is not None:
            # Read with the password hash that is checked next: the session or token of this
            # login carries this epoch.
            revocation.note_login(user.id, user.auth_epoch)
        authenticated = super().auth_user_db(username, password)  # counts via update_user_auth_stat
        if authenticated is None and user is None and username:
            accounts.unknown_user(username)
        elif user is not None and not user.is_active:
            accounts.inactive_attempt(user)
        return authenticated

    def update_user_auth_stat(self, user, success=True):
        """FAB read the counters and wrote them back: parallel wrong guesses were lost."""
        from app.security import accounts

        if success:
            accounts.login_succeeded(user)
        else:
            accounts.login_failed(user)

    def reset_password(self, userid, password):
        from app.security import accounts, revocation

        # FAB's ResetPasswordView passes the query string's text: PostgreSQL refuses text = integer.
        userid = int(userid)
        super().reset_password(userid, password)  # the new hash raises the epoch (revocation.py)
        user = self.get_user_by_id(userid)
        accounts.password_changed(user)
        self.session.commit()
        if g.get("user") is not None and g.user.id == user.id:
            revocation.keep_this_session(user)  # this session stays; all others end

    def on_user_logout(self, user) -> None:
        from app.security import revocation

        revocation.revoke(self.session, user.id)  # a saved copy of the cookie is refused too
        self.session.commit()
