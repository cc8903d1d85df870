#!/usr/bin/env bash
# The whole test suite (`make test`): the off-chain and tooling tests with plain pytest, then the
# contract suite under Brownie. Every part starts its own anvil and IPFS node on free ports. Static
# analysis is a step of its own (`make lint`; CI runs both). Exits non-zero if any part fails.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
started=$(date +%s)

echo "== off-chain, IPFS node, CLI and tooling tests (two pytest-xdist workers, a test file each at a time)"
# Most of these tests wait on 1 s blocks and phase deadlines, not on the CPU: two workers, each with
# its own anvil and IPFS node (session fixtures), finish in little more than half the time. A file
# stays on one worker (so its module fixtures are built once), the longest start first: the groups
# and their order are in tests/conftest.py. (The contract suite is not run alongside: under that
# load Brownie gave up on transactions of its own anvil, "Tx dropped without known replacement".)
python -m pytest -p no:pytest-brownie tests --ignore=tests/contracts -q -n "${DFL_TEST_WORKERS:-2}" --dist loadgroup --no-loadscope-reorder "$@" || status=1

if [ -x tools/test-contracts.sh ] && [ -d tests/contracts ]; then
  echo "== contract tests (Brownie on its own anvil)"
  tools/test-contracts.sh || status=1
fi

echo "== test suite finished in $(( $(date +%s) - started ))s: $([ $status -eq 0 ] && echo PASSED || echo FAILED)"
exit $status
