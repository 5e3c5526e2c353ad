"""User accounts bound to a unit (their scope) and optionally to the cadre they are."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from app.core import clock
from app.core.commands import command
from app.core.errors import DomainError, Forbidden, NotFound
from app.extensions import db
from app.models import AppUser, Cadre, OrgUnit
from app.security.passwords import password_complexity
from app.security.roles import ADMIN, ALL_ROLES
from app.security.scope import is_city_level, prefix_of


def create_user(username, password, role_name, unit_code, cadre_code=None, display_name=None,
                must_change_password: bool = False) -> AppUser:
    """Create, or update in place, a user with one role, bound to a unit (the CLI's `users
    create`, the demo, the benchmark: the system acts)."""
    sm = current_app.appbuilder.sm
    if role_name not in ALL_ROLES:
        raise DomainError(f"角色“{role_name}”不存在，应为：{'、'.join(ALL_ROLES)}")
    role = sm.find_role(role_name)
    if role is None:
        raise DomainError("角色尚未同步，请先运行 flask --app run setup")
    unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == unit_code))
    if unit is None:
        raise DomainError(f"单位编码“{unit_code}”不存在")
    cadre = None
    if cadre_code:
        cadre = db.session.scalar(select(Cadre).where(Cadre.code == cadre_code))
        if cadre is None:
            raise DomainError(f"干部编号“{cadre_code}”不存在")
    try:
        password_complexity(password)
    except Exception as exc:
        raise DomainError(str(exc))
    from werkzeug.security import generate_password_hash

    with command(None, duplicate=f"用户名“{username}”已被他人同时创建，请刷新后重试"):
        user = sm.find_user(username=username)
        if user is None:
            user = AppUser(username=username, email=f"{username}@local.invalid", active=True)
            db.session.add(user)
        user.first_name = display_name or username
        user.last_name = ""
        user.password = generate_password_hash(password, method=current_app.config["FAB_PASSWORD_HASH_METHOD"])
        user.roles = [role]
        user.org_unit_id = unit.id
        user.cadre_id = cadre.id if cadre else None
        user.active = True
        user.locked_until = None
        user.fail_login_count = 0
        user.must_change_password = must_change_password
        user.password_changed_at = clock.instant()
    return user


# ---------------------------------------------------------------- who may manage whom

ADMIN_ONLY_BY_CITY = "只有市级系统管理员可以授予或管理“系统管理员”角色"
NOT_FOUND = "用户不存在或不在您的管辖范围内"


def may_grant_admin(actor) -> bool:
    """Only an admin bound to the city (or the CLI) makes or manages 系统管理员 accounts."""
    return is_city_level(actor)


def check_roles_grantable(actor, roles) -> None:
    """Refuse giving the admin role by anyone but a city-level admin."""
    if any(getattr(r, "name", r) == ADMIN for r in roles or ()) and not may_grant_admin(actor):
        raise Forbidden(ADMIN_ONLY_BY_CITY)


def check_may_manage(actor, target) -> None:
    """An account the actor may change, reset or delete: a user of the actor's subtree, and
    an admin account only for a city-level admin. Outside the subtree: NotFound (404)."""
    prefix = prefix_of(actor)
    unit = getattr(target, "org_unit", None)
    if target is None or (prefix is not None and (unit is None or not unit.path.startswith(prefix))):
        raise NotFound(NOT_FOUND)
    check_roles_grantable(actor, getattr(target, "roles", ()))


def require_password_change(user) -> None:
    """A password set by someone else must be changed by its owner at the next login."""
    user.must_change_password = True


# ---------------------------------------------------------------- people as users see them

UNKNOWN_PERSON = "已删除的用户"


def person_label(user) -> str:
    """A user as people know them: the name and the unit, never the login name alone
    (「张三（罗山县委组织部）」); the login name only when no name was given."""
    name = f"{user.first_name or ''}{user.last_name or ''}".strip() or user.username
    unit = user.org_unit.name if user.org_unit is not None else ""
    if not unit or unit in name:
        return name
    return f"{name}（{unit}）" if "（" not in name else f"{name} · {unit}"


def people_by_id(ids) -> dict[int, str]:
    """{user id: person_label} of the given ids (unknown ids: UNKNOWN_PERSON)."""
    wanted = {int(i) for i in ids if i is not None}
    found = {u.id: person_label(u) for u in db.session.scalars(select(AppUser).where(AppUser.id.in_(wanted)))} \
        if wanted else {}
    return {i: found.get(i, UNKNOWN_PERSON) for i in wanted}


def people_by_username(usernames) -> dict[str, str]:
    """{login name: person_label}; a name that is no user's (命令行, 系统, a deleted user) as is."""
    wanted = {u for u in usernames if u}
    found = {u.username: person_label(u)
             for u in db.session.scalars(select(AppUser).where(AppUser.username.in_(wanted)))} if wanted else {}
    return {u: found.get(u, u) for u in wanted}
