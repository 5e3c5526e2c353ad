"""干部特写: each cadre's close-up profile (assemble.py), its narrative and Word file (word.py),
the written conclusion (conclusions.py), the leaders' dashboard (dashboard.py) and the screens
(views.py)."""
