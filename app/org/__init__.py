"""The org domain: the "王"-shaped unit tree (units.py), the cadre register (cadres.py), user
accounts bound to units (users.py); their screens (views.py), REST API (api.py), commands
(cli.py) and demo city (demo.py)."""
