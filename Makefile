# The two commands of the README, and the pieces behind them.
#   make demo   set up everything, generate the offline demo data, backtest, compare
#   make test   set up everything, lint, build the docs (strict), run the test suite (with a
#               throwaway PostgreSQL server for the ledger's tests when one can be had)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= user_data/config.json
PG_CTL ?= /usr/lib/postgresql/*/bin/pg_ctl

.PHONY: install demo test lint docs postgres benchmark clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

demo: install
	$(BIN)/freqtrade-feedback generate-data --config $(CONFIG)
	$(BIN)/freqtrade-feedback offline backtesting --config $(CONFIG) \
		--strategy FeedbackSampleStrategy --cache none --export none
	$(BIN)/freqtrade-feedback compare --config $(CONFIG)

lint: install
	$(BIN)/ruff check freqtrade_feedback tests user_data/strategies

# Strict: a broken link, anchor or nav entry fails the build. The site goes to build/ (ignored).
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir build/site

# The ledger's PostgreSQL tests start a throwaway server from Debian's postgresql package:
# installed here when it is missing and we can (root with apt-get, as in CI); otherwise one
# line says so and those tests skip, each saying why. This target never fails the build.
postgres:
	@if command -v pg_ctl >/dev/null 2>&1 || ls $(PG_CTL) >/dev/null 2>&1; then \
		:; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "PostgreSQL not found: installing Debian's postgresql package for the ledger tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends postgresql >/dev/null) \
		|| echo "Could not install PostgreSQL: the PostgreSQL ledger tests will skip"; \
	else \
		echo "PostgreSQL not found (installing it needs root and apt-get): the PostgreSQL ledger tests will skip"; \
	fi

test: lint docs postgres
	$(BIN)/pytest

benchmark: install
	$(BIN)/freqtrade-feedback benchmark

clean:
	rm -rf $(VENV) build user_data/data user_data/backtest_results user_data/logs
