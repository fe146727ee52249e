# The two commands: `make run` and `make test`. Everything they need is installed from here.
# `make run` serves the demo with gunicorn, as in production (Werkzeug's development server would
# name itself and Python in every answer's Server header); IA_LOCAL_LOGIN=on also means plain-http
# cookies (IA_SECURE_COOKIES defaults to off only then).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
STAMP := $(VENV)/.installed

.PHONY: run test bootstrap system venv translations demo-db bench clean

bootstrap: system venv translations

system:
	@bash scripts/bootstrap-system.sh

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -m pip install -q -e '.[test]'
	@# the build requirements too: the install test builds the wheel offline from them
	@$(BIN)/python -m pip install -q $$($(BIN)/python -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"])')
	@touch $(STAMP)

translations: venv
	@$(BIN)/pybabel -q compile -d internal_affairs/translations

demo-db: bootstrap
	@mkdir -p instance
	$(FLASK) db upgrade
	$(FLASK) org load-ldif demo/district.ldif
	$(FLASK) matters load
	IA_LOCAL_LOGIN=on $(FLASK) demo seed
	$(FLASK) seals init-demo

# the one scheduler (outbox delivery, time limits) runs beside the web workers, which never start
# one; it is stopped (SIGTERM: it gives its lease back) when gunicorn stops
run: demo-db
	@IA_LOCAL_LOGIN=on IA_SCHEDULER=on $(FLASK) scheduler run & scheduler=$$!; \
	IA_LOCAL_LOGIN=on IA_ADMINS=$${IA_ADMINS:-shenliheng} $(BIN)/gunicorn -w 2 --threads 4 -b 127.0.0.1:5000 --access-logfile - wsgi:app & web=$$!; \
	trap 'kill -TERM $$web $$scheduler 2>/dev/null; wait $$web $$scheduler 2>/dev/null' EXIT; \
	trap 'exit 130' INT TERM; \
	wait $$web

test: bootstrap
	@bash scripts/run-tests.sh

bench: bootstrap
	$(BIN)/python bench/org_sync.py
	$(BIN)/python bench/resolve.py
	$(BIN)/python bench/cases.py
	$(BIN)/python bench/seal.py
	$(BIN)/python bench/scheduler.py
	$(BIN)/python bench/stats.py
	$(BIN)/python bench/documents.py
	$(BIN)/python bench/audit.py

clean:
	rm -rf $(VENV) instance .pytest_cache
