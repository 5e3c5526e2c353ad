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
API_METHODS = {
    "get": "read",
    "get_list": "read",
    "info": "read",
    "post": "write",
    "put": "write",
    "delete": "write",
}

ROLE_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    ADMIN: {
        "OrgUnit": ("read", "write", "import"),
        "Cadre": ("read", "write", "import"),
        "AuditLog": ("read",),
    },
    STAFF: {
        "OrgUnit": ("read",),
        "Cadre": ("read", "write", "import"),
    },
    SUPERVISOR: {
        "OrgUnit": ("read",),
        "Cadre": ("read",),
    },
    LIAISON: {},
    LEADER: {
        "OrgUnit": ("read",),
        "Cadre": ("read",),
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
)
