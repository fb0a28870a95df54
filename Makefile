# Benelert: `make run` (demo on SQLite, nothing leaves the machine) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FLASK := $(BIN)/flask --app app

.PHONY: run topology test install catalogs lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]' 2>&1 | grep -v "is ignored: it is neither" || true
	$(BIN)/python -c "import flask, sqlalchemy, twilio, tweepy, babel, pytest"  # fail here if the install failed
	touch $(STAMP)

# The map editor's browser libraries (package.json, package-lock.json): npm ci when node_modules is missing or older
# than the lock file, then their dist files are copied to static/vendor/leaflet/ (both gitignored).
NPM_STAMP := node_modules/.package-lock.json
VENDOR := static/vendor/leaflet
VENDOR_STAMP := $(VENDOR)/.copied

$(NPM_STAMP): package-lock.json
	@command -v npm >/dev/null || { echo "make: npm (Node.js 20) is needed for the map editor's libraries" >&2; exit 1; }
	npm ci --no-audit --no-fund || { echo "make: npm ci failed: the map editor's libraries are not installed" >&2; exit 1; }
	touch $(NPM_STAMP)

$(VENDOR_STAMP): $(NPM_STAMP)
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/images
	cp node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css $(VENDOR)/
	cp node_modules/leaflet/dist/images/*.png $(VENDOR)/images/
	cp node_modules/@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.min.js \
		node_modules/@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.css $(VENDOR)/
	touch $(VENDOR_STAMP)

install: $(STAMP) $(VENDOR_STAMP)

catalogs: install
	@if ls translations/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then \
		$(BIN)/pybabel compile -d translations 2>&1 | grep -v "^compiling catalog" || true; fi

# The demo: local provider stand-ins (devtools/fakes/run.py), the worker and the web app; Ctrl-C stops all three.
DEMO_ENV := BENELERT_LOG_JSON=false BENELERT_CHANNELS_FILE=instance/demo-channels.json BENELERT_SMS_MAX_SEGMENTS=4 \
	BENELERT_SANDBOX_TARGETS='{"sms": "+32470000000", "x": "SANDBOX", "mastodon": "SANDBOX"}'

run: install catalogs
	$(FLASK) db upgrade
	rm -f instance/demo-wiring.json; \
	$(BIN)/python -m devtools.fakes.run instance & FAKES=$$!; \
	trap 'kill $$FAKES $$WORKER 2>/dev/null' EXIT INT TERM; \
	for i in $$(seq 100); do test -f instance/demo-wiring.json && break; sleep 0.1; done; \
	$(DEMO_ENV) $(FLASK) seed-demo && \
	{ $(DEMO_ENV) $(FLASK) worker & WORKER=$$!; } && \
	$(DEMO_ENV) $(FLASK) run --host 127.0.0.1 --port 5000

# The production topology on this machine (docs/DEPLOYMENT.md): PostgreSQL database benelert_topology, gunicorn
# with 2 web workers on 127.0.0.1:8000, 2 worker processes, Redis, the provider stand-ins; Ctrl-C stops all.
topology: install catalogs
	$(BIN)/python deploy/topology.py

# The browser test needs Debian's chromium (never a downloaded browser) and Playwright for Python (test extras).
test: install catalogs
	@test -x /usr/bin/chromium || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }
	$(BIN)/python -c "import playwright"  # fail here if the test extras lack Playwright
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) instance .pytest_cache node_modules static/vendor
