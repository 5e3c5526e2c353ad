"""Online anonymous 民主测评 (PLATFORM.md §6): sessions of a period's votes group, one-time
codes, the public ballot at /vote, and tallies that become the group's vote counts.

Inner plan: rules.py (pure: codes, the 优秀 cap, checking a ballot), models.py (the tables),
sessions.py (staff commands and queries), ballot.py (the public vote), views.py /
views_ballot.py (screens), cli.py, demo.py, menu.py.
"""
