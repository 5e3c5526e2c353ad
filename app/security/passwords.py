"""The password rule every account follows."""

from __future__ import annotations

import re

from flask_appbuilder.exceptions import PasswordComplexityValidationError

# Passwords printed in the README and by `seed-demo`: never accepted as a chosen password.
DEMO_PASSWORD = "Demo@2026xy"
PUBLISHED_PASSWORDS = frozenset({DEMO_PASSWORD})


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
