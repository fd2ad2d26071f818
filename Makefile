# kickgen: the two commands a user needs are `make demo` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup test demo standin clean services

setup:
	bash scripts/setup.sh

services: setup
	bash scripts/start-libvirtd.sh

test: services
	$(PY) -m pytest $(PYTEST_ARGS)

demo: services
	bash scripts/demo.sh $(if $(ISO),--iso "$(ISO)")

standin: setup
	$(VENV)/bin/kickgen standin --variant dvd -o build/standin/CentOS-6.5-standin-dvd.iso
	$(VENV)/bin/kickgen standin --variant minimal -o build/standin/CentOS-6.5-standin-minimal.iso

clean:
	rm -rf build .pytest_cache
