"""Background jobs: imports, computes and big exports run by `flask jobs worker`, kept in the
database (models.py), claimed and fenced (services.py), run (worker.py, kinds.py) and shown
with a progress bar (views.py)."""
