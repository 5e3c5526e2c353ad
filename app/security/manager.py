"""The security manager: FAB's user extended with its unit and cadre."""

from __future__ import annotations

from flask import flash, g, has_request_context
from flask_appbuilder.security.sqla.manager import SecurityManager as FabSecurityManager
from flask_appbuilder.security.sqla.models import assoc_permissionview_role

from app.models import AppUser
from app.security.admin_screens import AppRoleView, AppUserView, ResetPasswordView
from app.security.api import SecurityApi
from app.security.password_views import ResetMyPasswordView
from app.security.passwords import password_complexity  # noqa: F401  (config names it here)
from app.web.modelview import EagerSQLAInterface


class SecurityManager(FabSecurityManager):
    """FAB's manager with the app's user model and views, and permission checks answered
    from one query per request instead of one per menu item and button."""

    user_model = AppUser
    userdbmodelview = AppUserView
    rolemodelview = AppRoleView
    security_api = SecurityApi  # a login without `provider` is a 400, not FAB's KeyError
    resetmypasswordview = ResetMyPasswordView  # asks for the current password
    userstatschartview = None  # FAB's chart loads Google's code from the internet: not on an intranet

    resetpasswordview = ResetPasswordView

    def __init__(self, appbuilder):
        super().__init__(appbuilder)
        # Roles per user would otherwise be one query per listed user.
        self.userdbmodelview.datamodel = EagerSQLAInterface(AppUser, ("roles",))

    def register_views(self):
        """The security screens this product uses: login, one's own account and password,
        users (scoped) and roles (read-only), the admin's password reset (scoped), the JWT
        login API. FAB's groups, permissions, view-menus and permission-view screens are not
        registered: roles are data (app/security/roles.py), and a group could hand any role to
        any user outside the admin's subtree."""
        from flask_babel import lazy_gettext as _

        appbuilder = self.appbuilder
        appbuilder.add_api(self.security_api)
        appbuilder.add_view_no_menu(self.userinfoeditview())
        appbuilder.add_view_no_menu(self.resetpasswordview())
        appbuilder.add_view_no_menu(self.resetmypasswordview())
        self.auth_view = self.authdbview()
        appbuilder.add_view_no_menu(self.auth_view)
        if self.is_auth_limited:
            self.limiter.limit(self.auth_rate_limit, methods=["POST"])(self.auth_view.blueprint)
        self.user_view = appbuilder.add_view(
            self.userdbmodelview, "List Users", icon="fa-user", label=_("List Users"),
            category="Security", category_icon="fa-cogs", category_label=_("Security"),
        )
        role_view = appbuilder.add_view(
            self.rolemodelview, "List Roles", icon="fa-user-gear", label=_("List Roles"),
            category="Security", category_icon="fa-cogs",
        )
        role_view.related_views = [self.user_view.__class__]

    def get_user_roles(self, user):
        """A user's own roles only: groups are not part of this product (see register_views)."""
        if not user.is_authenticated:
            return [self.get_public_role()]
        return list(user.roles)

    def get_user_by_id(self, pk):
        """The user with its roles in one query (Flask-Login asks on every request;
        FAB's session.get left two more queries to the first permission check)."""
        from sqlalchemy import select
        from sqlalchemy.orm import joinedload

        stmt = (
            select(self.user_model)
            .where(self.user_model.id == pk)
            .options(joinedload(self.user_model.roles))
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
