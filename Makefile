# Benelert: `make run` (demo on SQLite, nothing leaves the machine) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FLASK := $(BIN)/flask --app app

.PHONY: run test install catalogs lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]' 2>&1 | grep -v "is ignored: it is neither" || true
	$(BIN)/python -c "import flask, sqlalchemy, twilio, tweepy, babel, pytest"  # fail here if the install failed
	touch $(STAMP)

install: $(STAMP)

catalogs: install
	@if ls translations/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then \
		$(BIN)/pybabel compile --quiet -d translations; fi

run: install catalogs
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	BENELERT_LOG_JSON=false $(FLASK) run --host 127.0.0.1 --port 5000

test: install catalogs
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) instance .pytest_cache
