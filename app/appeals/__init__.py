"""诉求 (appeals, PLATFORM.md §1–2): grid reports and hotline/letter appeals travelling
网格 → 村（社区）→ 乡镇 → 吹哨 to departments or a 分管领导, replies, review, call-back, 重办,
merge and 转督办; the figures of a unit subtree and the evaluation indicator.

Inner plan: rules.py (pure: states, legal actions, deadlines, lights, levels, figures and the
indicator formula), models.py (the tables), setup.py (default time limits), services.py (the
use cases and queries, the interface contract in its docstring), menu.py (to-do provider;
screens are registered there).
"""
