# The two commands of the README, and the pieces behind them.
#   make demo   set up everything, generate the offline demo data, backtest, compare
#   make test   set up everything, lint, build the docs (strict), run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= user_data/config.json

.PHONY: install demo test lint docs benchmark clean

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

test: lint docs
	$(BIN)/pytest

benchmark: install
	$(BIN)/freqtrade-feedback benchmark

clean:
	rm -rf $(VENV) build user_data/data user_data/backtest_results user_data/logs
