"""FAB's security screens as this product's own: every one scoped to the admin's subtree.

FAB's users, roles and reset-password screens know nothing of units (FAB-NOTES.md, "Security
views are outside every base filter"). Here a 系统管理员 bound to a county lists, edits,
deletes and resets only the users of its subtree (another county's user answers 404, like a
missing one), never sees outside users in a form's choices, and cannot give the 系统管理员
role, nor manage an account that holds it: only an admin bound to the city can. The rules are
in app/services/users.py; these screens call them.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.security.views import ResetPasswordView as FabResetPasswordView
from flask_appbuilder.security.views import RoleModelView, UserDBModelView
from flask_appbuilder.validators import PasswordComplexityValidator
from flask_appbuilder.widgets import ListWidget, ShowWidget
from sqlalchemy import func, select
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from app.core.errors import DomainError
from app.extensions import db
from app.org import users as user_rules
from app.security.roles import ADMIN, describe_permissions
from app.security.scope import UnitScopeFilter
from app.web.lookup import cadre_field, unit_field
from app.web.modelview import OptimisticEditMixin, ReadableDatesMixin, SafeActionsMixin

USER_LABELS = {
    "first_name": "姓名",
    "last_name": "名",
    "username": "用户名",
    "email": "电子邮箱",
    "active": "启用",
    "roles": "角色",
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


def _editing_pk():
    """The key of the user an edit form is saving (None on the add form)."""
    pk = (request.view_args or {}).get("pk")
    return int(pk) if pk is not None and str(pk).isdigit() else None


def _taken(column, value) -> bool:
    """Whether another user than the one being edited already has `value` in `column`."""
    from app.models import AppUser

    stmt = select(AppUser.id).where(func.lower(column(AppUser)) == value.strip().lower())
    return any(pk != _editing_pk() for pk in db.session.scalars(stmt))


def unique_username(form, field) -> None:
    if field.data and _taken(lambda m: m.username, field.data):
        raise ValidationError(f"用户名 {field.data.strip()} 已被使用，请换一个用户名")


def unique_email(form, field) -> None:
    if field.data and _taken(lambda m: m.email, field.data):
        raise ValidationError(f"电子邮箱 {field.data.strip()} 已被其他用户使用")


def _user_fields() -> dict:
    """The user form's own fields: one 姓名, an optional e-mail, a user name whose clash is
    named in Chinese (FAB said only “已经存在”)."""
    return {
        "username": StringField("用户名", description="登录用的名称，如 zhangsan；不能与已有用户重复",
                                validators=[DataRequired(message="请填写用户名"), Length(max=64), unique_username],
                                widget=BS3TextFieldWidget()),
        "first_name": StringField("姓名", validators=[DataRequired(message="请填写姓名"), Length(max=64)],
                                  widget=BS3TextFieldWidget()),
        "email": StringField("电子邮箱", description="可不填",
                             validators=[Optional(), Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="电子邮箱格式不正确"),
                                         Length(max=320), unique_email],
                             widget=BS3TextFieldWidget()),
    }


def _placeholder_email(username: str) -> str:
    """FAB's user table needs a unique e-mail: a user without one gets an address that cannot
    receive mail (the same as `users create` gives)."""
    return f"{username}@local.invalid"


def _refuse(exc: DomainError):
    """Answer a refused account operation: its Chinese message and its status (404/403)."""
    flash(exc.message, "danger")
    abort(exc.status)


class GrantableRoleFilter(BaseFilter):
    """Role choices the acting admin may give: all but 系统管理员 below the city."""

    name = "可授予的角色"

    def apply(self, query, value):
        if user_rules.may_grant_admin(g.user):
            return query
        return query.filter(self.model.name != ADMIN)


GRANTABLE_ROLES = {"roles": [["name", GrantableRoleFilter, None]]}


class AppUserView(ReadableDatesMixin, SafeActionsMixin, OptimisticEditMixin, UserDBModelView):
    """Users with their unit (scope) and linked cadre, scoped to the admin's subtree."""

    version_column = "changed_on"  # FAB's user has no version column; every save sets changed_on
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
    list_columns = ["username", "first_name", "org_unit", "roles", "active", "last_login"]
    search_columns = ["username", "first_name", "email", "active", "roles"]
    add_columns = ["username", "first_name", "email", "org_unit", "cadre", "roles", "active",
                   "password", "conf_password"]
    edit_columns = ["username", "first_name", "email", "org_unit", "cadre", "roles", "active"]
    formatters_columns = {
        "active": lambda v: "是" if v else "否",
        "roles": lambda roles: "、".join(r.name for r in roles or ()),
    }
    validators_columns = {"roles": [DataRequired(message="请至少选择一个角色")]}
    add_form_query_rel_fields = GRANTABLE_ROLES
    edit_form_query_rel_fields = GRANTABLE_ROLES
    show_fieldsets = [
        ("用户信息", {"fields": ["username", "active", "roles", "org_unit", "cadre", "login_count"]}),
        ("个人信息", {"fields": ["first_name", "email"], "expanded": True}),
        (
            "审计信息",
            {"fields": ["last_login", "fail_login_count", "created_on", "changed_on"], "expanded": False},
        ),
    ]
    user_show_fieldsets = [
        ("用户信息", {"fields": ["username", "roles", "org_unit"]}),
        ("个人信息", {"fields": ["first_name", "email"], "expanded": True}),
    ]
    user_info_title = "我的账号信息"
    base_filters = [["org_unit_id", UnitScopeFilter, lambda: None]]
    # Search-as-you-type fields within the admin's scope (a forged id outside it is refused).
    add_form_extra_fields = {
        **UserDBModelView.add_form_extra_fields,
        "password": PasswordField(
            "初始密码", widget=BS3PasswordFieldWidget(),
            description="至少 10 位，须同时包含大写字母、小写字母、数字和特殊字符；该用户首次登录时须自行修改密码",
            validators=[DataRequired(message="请填写初始密码"), PasswordComplexityValidator()]),
        **_user_fields(),
        "org_unit": unit_field("所属单位"),
        "cadre": cadre_field("对应干部", required=False),
    }
    edit_form_extra_fields = {**_user_fields(), "org_unit": unit_field("所属单位"),
                              "cadre": cadre_field("对应干部", required=False)}

    def managed_user(self, pk):
        """The user `pk` if the acting admin may change it; else 404 (outside the subtree or
        missing) or 403 (an admin account, below the city)."""
        item = self.datamodel.get(pk, self._base_filters) if str(pk).isdigit() else None
        try:
            user_rules.check_may_manage(g.user, item)
        except DomainError as exc:
            _refuse(exc)
        return item

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        self.managed_user(pk)
        return super().edit(pk)

    @expose("/delete/<pk>", methods=["GET", "POST"])
    @has_access
    def delete(self, pk):
        self.managed_user(pk)
        return super().delete(pk)

    def prefill_form(self, form, pk):
        """One 姓名: a name that was split into 姓 and 名 is shown whole."""
        super().prefill_form(form, pk)
        item = self.datamodel.get(pk, self._base_filters)
        if item is not None and item.last_name:
            form.first_name.data = f"{item.first_name or ''}{item.last_name}"

    def _name_and_email(self, item) -> None:
        item.username = (item.username or "").strip()
        item.first_name = (item.first_name or "").strip()
        item.last_name = ""
        item.email = (item.email or "").strip() or _placeholder_email(item.username)

    def pre_add(self, item):
        user_rules.check_roles_grantable(g.user, item.roles)
        self._name_and_email(item)
        super().pre_add(item)
        # The admin chose the password: its owner must choose one at the first login.
        user_rules.require_password_change(item)

    def pre_update(self, item):
        try:
            user_rules.check_roles_grantable(g.user, item.roles)
        except DomainError:
            db.session.rollback()
            raise
        self._name_and_email(item)
        super().pre_update(item)

    def pre_delete(self, item):
        if item.id == g.user.id:
            raise DomainError("不能删除当前登录的账号")


class ResetPasswordView(FabResetPasswordView):
    """FAB's admin password reset (/resetpassword/form?pk=N), for users the admin may manage
    only; the user must choose a new password at the next login. Same class name as FAB's,
    so the endpoint and the permission stay ResetPasswordView's."""

    form_title = "重置用户密码"
    message = "密码已重置，该用户下次登录时须修改密码"

    def _target(self):
        return self.appbuilder.sm.user_view.managed_user(request.args.get("pk", ""))

    @expose("/form", methods=["GET"])
    @has_access
    def this_form_get(self):
        self._target()
        return super().this_form_get()

    @expose("/form", methods=["POST"])
    @has_access
    def this_form_post(self):
        self._target()
        return super().this_form_post()

    def form_post(self, form):
        target = self._target()
        self.appbuilder.sm.reset_password(target.id, form.password.data)
        user_rules.require_password_change(db.session.merge(target))
        db.session.commit()
        flash(self.message, "info")
        return redirect(url_for(f"{type(self.appbuilder.sm.user_view).__name__}.show", pk=target.id))


class AppRoleView(SafeActionsMixin, RoleModelView):
    """Roles are data in app/security/roles.py, synced by `roles sync`: read-only here. A role's
    users (the related list) go through the users screen's scope."""

    list_title = "角色列表"
    show_title = "角色详情"
    label_columns = {"name": "角色名称", "permissions": "权限", "user": "用户"}
    search_columns = ["name"]
    base_permissions = ["can_list", "can_show"]
    exclude_route_methods = {"add", "edit", "delete", "download", "action", "action_post"}
    list_widget = ListWidget
    show_widget = ShowWidget
    formatters_columns = {"permissions": describe_permissions}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.actions = {}  # FAB's 复制角色 (copy role) list action: roles are data, not clicked together
