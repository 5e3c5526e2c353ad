# Two commands: `make run` (set up and serve on http://127.0.0.1:8080) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app run
export APP_CONFIG ?= config.ProductionConfig
BIND   ?= 127.0.0.1:8080

.PHONY: run setup test lint bench clean

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip > $(VENV)/pip.log 2>&1 || (cat $(VENV)/pip.log; exit 1)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt > $(VENV)/pip.log 2>&1 || (cat $(VENV)/pip.log; exit 1)
	touch $@

instance/secret_key:
	mkdir -p instance
	$(PYTHON) -c "import secrets; print(secrets.token_urlsafe(48))" > $@
	chmod 600 $@

app/translations/zh/LC_MESSAGES/messages.mo: app/translations/zh/LC_MESSAGES/messages.po $(BIN)/.installed
	$(BIN)/pybabel compile -d app/translations -l zh

setup: $(BIN)/.installed instance/secret_key app/translations/zh/LC_MESSAGES/messages.mo
	$(FLASK) setup

# The job worker (uploads, computes and big exports run there: docs/DEPLOY.md) runs in the
# background next to gunicorn and is stopped with it (Ctrl-C, or SIGTERM to make): a job it
# was running goes back to the queue and resumes at the next start.
run: setup
	$(FLASK) seed-demo
	@echo "服务地址：http://$(BIND)"
	@$(FLASK) jobs worker & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker; trap - EXIT; exit 0' EXIT INT TERM; \
	$(BIN)/gunicorn --workers 2 --bind $(BIND) --access-logfile - run:app

# The whole suite on SQLite, and again on PostgreSQL when TEST_DATABASE_URL is set. One pytest
# worker a core (pytest-xdist), each test file on one worker with its own database; the ten
# slowest tests are listed after each run. PYTEST_ARGS="-n 0" runs in one process. pytest keeps
# the assertion-rewritten plugins and test files it compiles (PYTHONDONTWRITEBYTECODE, if the
# shell sets it, made every process rewrite ~270 modules again: 7.6 s a collection against 3 s).
PYTEST_ARGS ?= -n auto --maxprocesses 4 --dist loadfile
PYTEST := env -u PYTHONDONTWRITEBYTECODE APP_CONFIG=config.TestConfig $(BIN)/python -m pytest -q -p no:cacheprovider --durations=10 $(PYTEST_ARGS)
test: $(BIN)/.installed app/translations/zh/LC_MESSAGES/messages.mo
	env -u TEST_DATABASE_URL $(PYTEST)
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  echo "== PostgreSQL: $$TEST_DATABASE_URL"; \
	  $(PYTEST); \
	fi

lint: $(BIN)/.installed
	$(BIN)/ruff check app tests

# City-scale benchmark (docs/PERFORMANCE.md) on a database of its own, never instance/app.db:
# make bench [BENCH_CADRES=50000] [BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench]
bench: setup
	export DATABASE_URL=$${BENCH_DATABASE_URL:-sqlite:////tmp/bench.db}; \
	$(FLASK) bench --generate --cadres $${BENCH_CADRES:-50000} --force && $(FLASK) bench --output docs/bench-latest.json

clean:
	rm -rf $(VENV) instance
