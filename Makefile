# kickgen: the two commands a user needs are `make demo` and `make test`.
# While working on kickgen: `make check` (everything but the VM tests, then lint; a few minutes).
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
SHELL := bash

.PHONY: setup test check check-tests lint wheel-test demo standin clean services

setup:
	bash scripts/setup.sh

services: setup
	bash scripts/start-libvirtd.sh

# The whole suite, VM tests included (CI: .ci/run).
# Two workers: the VM modules run on one, one at a time; everything else shares both (tests/conftest.py).
PYTEST_PARALLEL ?= -n 2 --dist loadgroup

test: services
	$(PY) -m pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS)

# The fast loop: the suite without the VM tests, and lint; both run, each prints its time.
check: setup
	@$(MAKE) --no-print-directory -k check-tests lint

check-tests:
	@start=$$EPOCHREALTIME; status=0; \
	$(PY) -m pytest -m "not vm" -q $(PYTEST_PARALLEL) $(PYTEST_ARGS) || status=$$?; \
	awk -v a=$$start -v b=$$EPOCHREALTIME 'BEGIN { printf "check: pytest -m \"not vm\" took %.0f s\n", b - a }'; \
	exit $$status

lint: setup
	@start=$$EPOCHREALTIME; status=0; \
	bash scripts/lint.sh || status=$$?; \
	awk -v a=$$start -v b=$$EPOCHREALTIME 'BEGIN { printf "check: lint took %.0f s\n", b - a }'; \
	exit $$status

# The wheel built, installed into a fresh venv outside the checkout, its commands run from there.
wheel-test: setup
	$(PY) -m pytest tests/test_wheel.py -m "not vm" $(PYTEST_ARGS)

demo: services
	bash scripts/demo.sh $(if $(ISO),--iso "$(ISO)")

standin: setup
	$(VENV)/bin/kickgen standin --variant dvd -o kickgen-artifacts/standin/CentOS-6.5-standin-dvd.iso
	$(VENV)/bin/kickgen standin --variant minimal -o kickgen-artifacts/standin/CentOS-6.5-standin-minimal.iso

clean:
	rm -rf build kickgen-artifacts .pytest_cache
