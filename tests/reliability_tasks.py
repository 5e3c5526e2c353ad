"""Set-up work of the reliability tests, run in ONE subprocess through the real services:
`python -m tests.reliability_tasks TASK [ARGS]` with DATABASE_URL set (see reliability_support).

Starting `flask` costs seconds per command; these tasks do what several commands would do
in one process, through the same service functions the commands call.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def template(case: str, password: str, staff: str, admin: str) -> dict:
    """`setup` + golden units, cadres, scheme; period 2021-Y opened; a staff and an admin account."""
    from flask_migrate import upgrade

    from app.evaluation.periods import create_period, import_scheme, transition
    from app.org.cadres import import_cadres
    from app.org.units import import_units
    from app.org.users import create_user
    from app.security.sync import sync_roles
    from app.supervision.setup import seed_defaults

    case_dir = Path(case)
    upgrade()
    seed_defaults()
    sync_roles()
    import_units((case_dir / "units.csv").read_bytes(), "units.csv", user=None)
    import_cadres((case_dir / "cadres.csv").read_bytes(), "cadres.csv", user=None)
    scheme, _ = import_scheme((case_dir / "scheme.json").read_bytes(), user=None)
    create_period("2021-Y", "2021年度考核", "年度", scheme.name, "2021-01-01", "2021-12-31", user=None)
    transition("2021-Y", "open", user=None)
    create_user(staff, password, "组织部考评员", "C0")
    create_user(admin, password, "系统管理员", "C0")
    return {"ok": True}


def big_period(cadres_file: str, count: int) -> dict:
    """Import `count` cadres, two score sheets each in 2021-Y, compute, then add a +1
    adjustment for every one of them (so that the next compute gives other results)."""
    from app.evaluation.compute import compute
    from app.evaluation.imports import import_adjustments, import_sheets
    from app.org.cadres import import_cadres

    path = Path(cadres_file)
    import_cadres(path.read_bytes(), path.name, user=None)
    codes = [line.split(",", 1)[0] for line in path.read_text(encoding="utf-8").splitlines()[1:]][:count]
    sheets = ["干部编号,评价组,德,能,勤,绩,廉"]
    for i, code in enumerate(codes):
        for group in ("组织评价", "领导和同事评价"):
            sheets.append(f"{code},{group},{80 + i % 20},85,90,{70 + i % 30},88")
    import_sheets("2021-Y", ("\n".join(sheets) + "\n").encode(), "sheets.csv", user=None)
    first = compute("2021-Y")
    adjustments = ["干部编号,类型,分值,事由"] + [f"{code},加分,1,表彰" for code in codes]
    import_adjustments("2021-Y", ("\n".join(adjustments) + "\n").encode(), "adj.csv", user=None)
    return {"results": first["results"]}


TASKS = {"template": template, "big_period": big_period}


def main(argv: list[str]) -> None:
    from run import app

    name, args = argv[0], argv[1:]
    task = TASKS[name]
    params = [int(a) if a.isdigit() else a for a in args]
    with app.app_context():
        out = task(*params)
        from app.extensions import db

        db.session.remove()
        if db.engine.dialect.name == "sqlite":
            with db.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.engine.dispose()
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1:])
