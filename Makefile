# Two entry points for a fresh machine (Python 3.11, JDK 17, Maven): `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
JARS := .stack/jars
BIN := $(VENV)/bin

.PHONY: setup demo test test-resilience lint stack-down clean

$(BIN)/.installed: pyproject.toml deploy/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c deploy/constraints.txt -e '.[dev]'
	touch $@

$(JARS)/.fetched: deploy/jvm/pom.xml deploy/jvm/*/pom.xml $(shell find deploy/jvm -name "*.java")
	mvn --batch-mode --quiet -s deploy/jvm/settings.xml -f deploy/jvm/pom.xml package -Djars.dir=$(CURDIR)/$(JARS)
	touch $@

# The drift report's test renders the page in headless Chromium (Debian's package).
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium

setup: $(BIN)/.installed $(JARS)/.fetched $(CHROMIUM)

demo: setup
	$(BIN)/streamscore demo --pipeline examples/payments/pipeline.yaml

lint: setup
	$(BIN)/ruff check .

test: setup lint
	$(BIN)/pytest

test-resilience: setup
	$(BIN)/pytest -s tests/resilience --override-ini addopts="--import-mode=importlib -ra"

stack-down:
	$(BIN)/streamscore stack down

clean: stack-down
	rm -rf .stack $(VENV)
