"""干部考评 (三评两比一综合): schemes, periods, score entry and imports, the set-based compute,
results and their use, the trace of a result to its inputs.

Inner plan: scoring.py (the pure rules), periods.py / entry.py / imports.py / compute.py /
results.py / trace.py (services), web.py + views*.py (screens), api.py, cli.py, demo.py."""
