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
# Two pytest sessions side by side, one per core: the VM tests one after another (as they were
# written: their timeouts assume one guest of theirs at a time), and all the others; the second
# one's output follows the first's. Both must pass.
test: services
	@mkdir -p build; status=0; \
	$(PY) -m pytest -m "not vm" -q $(PYTEST_ARGS) >build/test-without-vm.log 2>&1 & without_vm=$$!; \
	$(PY) -m pytest -m vm $(PYTEST_ARGS) || status=$$?; \
	wait $$without_vm || status=$$?; \
	echo "=== the tests without a VM (pytest -m 'not vm', run alongside; build/test-without-vm.log) ==="; \
	cat build/test-without-vm.log; \
	exit $$status

# The fast loop: the suite without the VM tests, and lint; both run, each prints its time.
check: setup
	@$(MAKE) --no-print-directory -k check-tests lint

check-tests:
	@start=$$EPOCHREALTIME; status=0; \
	$(PY) -m pytest -m "not vm" -q $(PYTEST_ARGS) || status=$$?; \
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
