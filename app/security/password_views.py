"""The user's own password change (FAB's ResetMyPasswordView, also the forced first-login
change): it asks for the current password and refuses a new one equal to it or to the
published demo password."""

from __future__ import annotations

from flask import g
from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget
from flask_appbuilder.forms import DynamicForm
from flask_appbuilder.security.views import ResetMyPasswordView as FabResetMyPasswordView
from flask_appbuilder.validators import PasswordComplexityValidator
from werkzeug.security import check_password_hash
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, ValidationError

from app.security.passwords import PUBLISHED_PASSWORDS


class OwnPasswordForm(DynamicForm):
    current_password = PasswordField(
        "当前密码", validators=[DataRequired(message="请输入当前密码")], widget=BS3PasswordFieldWidget(),
    )
    password = PasswordField(
        "新密码",
        description="至少 10 位，且须同时包含大写字母、小写字母、数字和特殊字符；不能与当前密码相同",
        validators=[DataRequired(message="请输入新密码"), PasswordComplexityValidator()],
        widget=BS3PasswordFieldWidget(),
    )
    conf_password = PasswordField(
        "确认新密码", validators=[EqualTo("password", message="两次输入的新密码不一致")],
        widget=BS3PasswordFieldWidget(),
    )

    def validate_current_password(self, field) -> None:
        """A wrong current password counts as a failed login: whoever holds a session cannot
        guess the password here faster than at the login page."""
        from app.security import accounts

        if not check_password_hash(g.user.password, field.data or ""):
            accounts.login_failed(g.user)
            raise ValidationError("当前密码不正确，密码未修改")

    def validate_password(self, field) -> None:

        if field.data in PUBLISHED_PASSWORDS:
            raise ValidationError("不能使用公开的演示密码，请另设一个新密码")
        if check_password_hash(g.user.password, field.data or ""):
            raise ValidationError("新密码不能与当前密码相同")


class ResetMyPasswordView(FabResetMyPasswordView):
    """Same class name as FAB's: the endpoints stay `ResetMyPasswordView.this_form_get/post`
    (roles.py SELF_SERVICE and the permission matrix name them)."""

    form = OwnPasswordForm
    form_title = "修改密码"
    message = "密码已修改，本账号的其他登录会话和接口令牌均已失效"
