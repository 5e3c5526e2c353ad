"""The demo city, once: each domain's demo data in dependency order (org, then evaluation and
supervision on its cadres)."""

from __future__ import annotations

import click

from app.appeals.demo import ACCOUNTS as APPEAL_ACCOUNTS
from app.org.demo import ACCOUNTS as ORG_ACCOUNTS
from app.org.demo import seed_demo_org
from app.security.passwords import DEMO_PASSWORD

ACCOUNTS = [*ORG_ACCOUNTS, *APPEAL_ACCOUNTS]  # the CLI and the tests name them here


def print_accounts() -> None:
    click.echo(f"演示账号（初始密码均为 {DEMO_PASSWORD}，首次登录须修改密码）：")
    for username, role, _unit_code, display in ACCOUNTS:
        click.echo(f"  {username:<18} {role:<8} {display}")


def seed_demo(first_login_change: bool = True) -> bool:
    """Create the demo city unless it is there already; returns whether it created it.

    The demo accounts share a published password, so each must choose its own at its first
    login (`first_login_change`); only the test suite turns that off.
    """
    from app.appeals.demo import seed_demo_appeals
    from app.evaluation.demo import seed_demo_evaluation
    from app.party.demo import seed_demo_party
    from app.party.demo_instructions import seed_demo_instructions
    from app.supervision.demo import seed_demo_supervision
    from app.voting.demo import seed_demo_voting

    if not seed_demo_org(first_login_change):
        return False
    seed_demo_evaluation()
    seed_demo_supervision()
    seed_demo_appeals(first_login_change)
    seed_demo_voting()
    seed_demo_party()
    seed_demo_instructions()
    return True
