"""督查督办 under the 13710 time-limit system: items and their assignments, reports, extensions,
reminders and lights; inspections, findings and their rectification; the board and to-do.

Inner plan: deadlines.py (the pure deadline rules), access.py (who may act; the command and
claim helpers come from app/core), tasks.py / findings.py / reminders.py / lights.py / todo.py /
board.py / setup.py (services), web.py + views*.py (screens), api.py, cli.py, demo.py."""
