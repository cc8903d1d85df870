#!/usr/bin/env bash
# make bench-quick: Flower's own virtualenv (idempotent), then the reduced comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
bench/setup_flower.sh
exec .venv/bin/python -m bench.quick "$@"
