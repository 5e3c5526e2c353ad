"""City-scale benchmark (docs/PERFORMANCE.md): a generator of a realistic city and the
measurements taken on it. `flask --app run bench --generate` fills the configured database,
`flask --app run bench` measures it."""

from __future__ import annotations

from app.security import roles as R

BENCH_PASSWORD = "Bench@2026xy"
CITY_CODE = "XY"
COUNTY_CODE = "XY03"  # the county whose users and pages are measured
# (code, name, year); the last one stays 已锁定 and is the one the benchmark recomputes.
PERIODS = (("2023-Y", "2023年度考核", 2023), ("2024-Y", "2024年度考核", 2024), ("2025-Y", "2025年度考核", 2025))
COMPUTED_PERIOD = PERIODS[-1][0]

_ROLE_KEYS = {R.ADMIN: "admin", R.STAFF: "staff", R.SUPERVISOR: "supervisor", R.LIAISON: "liaison", R.LEADER: "leader",
              R.DISPATCHER: "dispatcher"}


def bench_accounts() -> list[tuple[str, str, str, str]]:
    """(username, role, unit code, display name): one city-level and one county-level account per role."""
    out = []
    for role, key in _ROLE_KEYS.items():
        city_unit = f"{CITY_CODE}D01" if role == R.LIAISON else CITY_CODE
        county_unit = f"{COUNTY_CODE}D01" if role == R.LIAISON else COUNTY_CODE
        out.append((f"bench_{key}_city", role, city_unit, f"压测{role}（市）"))
        out.append((f"bench_{key}_county", role, county_unit, f"压测{role}（县）"))
    return out


def account(role: str, level: str) -> str:
    """The bench username of a role at level city or county."""
    return f"bench_{_ROLE_KEYS[role]}_{level}"
