# The two commands the README opens with: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test bench lint lock clean corpus twemoji-regex mutation messages screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Installs are pinned by requirements.lock so a fresh machine gets the versions we tested.
$(VENV)/.installed: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet -c requirements.lock -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	$(BIN)/factpost demo

# Test-only npm packages: the reference JavaScript counter (twitter-text 3.1.0) that
# tests/test_weight.py checks the weighted length against, and axe-core, which
# tests/test_accessibility.py runs in Chromium on every page; factpost never needs Node.js.
NPM := $(shell command -v npm 2>/dev/null)
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

# In TEST_WORKERS processes (pytest-xdist): most tests wait on sockets, subprocesses or a
# browser, so four workers keep two cores busy. `make test TEST_WORKERS=0` runs serially, for
# debugging (docs/TESTING.md); PYTEST_ARGS come last, so `PYTEST_ARGS=-n0` does the same.
TEST_WORKERS ?= 4
test: $(VENV)/.installed-dev $(if $(NPM),node_modules/.installed)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# Regenerate docs/screenshots/ (every main page; desktop and phone; English and Arabic) from the
# browser tests; commit the PNGs with the change that altered the pages.
screenshots: $(VENV)/.installed-dev
	$(BIN)/python scripts/screenshots.py

# Rewrite the corpus's golden files (tests/corpus/*/expected.json) from what the code does now.
# Only on purpose: review the diff (git diff tests/corpus) before committing it.
corpus: $(VENV)/.installed-dev
	$(BIN)/python tests/corpus/run.py

# Copy twemoji-parser 11.0.2's emoji regex (what twitter-text 3.1.0 counts with) into posts/data.
twemoji-regex: node_modules/.installed
	node -e "process.stdout.write(require('twemoji-parser/dist/lib/regex').default.source + '\\n')" \
		> posts/data/twemoji-parser-11.0.2-regex.txt

# Not part of `make test`: about 20 minutes on a quiet machine. Writes docs/BENCHMARKS.md.
bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

# Not part of `make test`: mutation testing of the modules that carry the promises
# ([tool.mutmut] in pyproject.toml), one mutant at a time so a shared machine stays usable;
# hours for all of them on a small machine. Narrow it with MUTANTS, globs over mutant names
# (not expanded by the shell), e.g. `make mutation MUTANTS='db.queue*'`. See docs/TESTING.md.
# On SQLite only: the PostgreSQL variants point at a port where nothing listens, so they skip
# instead of sharing a database with a test run on the same machine.
MUTANTS ?=
mutation: $(VENV)/.installed-dev
	set -f; FACTPOST_TEST_POSTGRES_URL=postgresql+psycopg://mutmut@127.0.0.1:9/none \
		$(BIN)/mutmut run --max-children $(or $(MUTATION_JOBS),1) $(MUTANTS)
	$(BIN)/mutmut results

# Re-extract the web interface's words into scheduler/web/locale/messages.pot and merge them
# into each language's messages.po: new strings arrive empty, changed ones fuzzy, and
# tests/test_web_i18n.py fails until each has its translation (README, "Languages").
# Besides the web's own words, the lines the core keeps as words (posts/words.py: `words()`
# and `counted_words()` in posts/ and scheduler/), which the web shows translated.
LOCALE := scheduler/web/locale
MESSAGE_KEYWORDS := -k N_ -k words -k counted_words:1,2
messages: $(VENV)/.installed-dev
	$(BIN)/pybabel extract -F pyproject.toml $(MESSAGE_KEYWORDS) --no-location --sort-output \
		--no-wrap --project factpost --version 0.1.0 --copyright-holder "the factpost authors" \
		-o $(LOCALE)/messages.pot scheduler/web posts scheduler
	$(BIN)/pybabel update -i $(LOCALE)/messages.pot -d $(LOCALE) --previous --ignore-obsolete \
		--no-wrap --ignore-pot-creation-date

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

# Re-resolve the pinned set after changing dependencies in pyproject.toml.
lock: | $(BIN)/python
	rm -rf .lockvenv && $(PYTHON) -m venv .lockvenv
	.lockvenv/bin/pip install --quiet '.[dev]'
	.lockvenv/bin/pip freeze --exclude factpost | grep -v '^-e' > requirements.lock
	rm -rf .lockvenv

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .hypothesis node_modules mutants
