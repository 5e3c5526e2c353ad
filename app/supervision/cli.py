"""Flask commands of 督查: default rules and calendar, due reminders (cron)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

supervision_cli = AppGroup("supervision", help="督查督办")


@supervision_cli.command("remind")
def remind():
    """Create the reminders of yellow and red milestones; safe to run again."""
    from app.supervision.reminders import create_due_reminders

    click.echo(f"已生成催办 {create_due_reminders()} 条")


@supervision_cli.command("seed")
def seed():
    """Add the default 13710 rules and the national work calendar where missing."""
    from app.supervision.setup import seed_defaults

    counts = seed_defaults()
    click.echo(f"时限规则新增 {counts['rules']} 条；工作日历新增 {counts['calendar_days']} 天")
