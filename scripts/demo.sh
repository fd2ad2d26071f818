#!/usr/bin/env bash
# make demo: render and validate the default profile (later: the whole pipeline).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build/demo
.venv/bin/kickgen render profiles/centos65-docker.yaml -o build/demo/ks.cfg
echo "demo: kickstart written to build/demo/ks.cfg"
