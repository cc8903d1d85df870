#!/usr/bin/env bash
# The whole test suite (`make test`): the off-chain and tooling tests with plain pytest and, alongside
# them, the contract suite under Brownie. Every part starts its own anvil and IPFS node on free ports.
# Static analysis is a step of its own (`make lint`; CI runs both). Exits non-zero if any part fails.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
started=$(date +%s)

# The contract suite (CPU-bound, one process) runs while the off-chain tests wait on blocks and
# phase deadlines; its output is printed when it is done, so the two never interleave.
contracts=0
if [ -x tools/test-contracts.sh ] && [ -d tests/contracts ]; then
  contracts_log=$(mktemp)
  trap 'rm -f "$contracts_log"' EXIT
  tools/test-contracts.sh >"$contracts_log" 2>&1 &
  contracts=$!
  echo "== contract tests (Brownie on its own anvil): started alongside, output below when done"
fi

echo "== off-chain, IPFS node, CLI and tooling tests (two pytest-xdist workers, a test file each at a time)"
# Most of these tests wait on 1 s blocks and phase deadlines, not on the CPU: two workers, each with
# its own anvil and IPFS node (session fixtures), finish in little more than half the time. A file
# stays on one worker (so its module fixtures are built once), the longest start first: the groups
# and their order are in tests/conftest.py.
python -m pytest -p no:pytest-brownie tests --ignore=tests/contracts -q -n "${DFL_TEST_WORKERS:-2}" --dist loadgroup --no-loadscope-reorder "$@" || status=1
echo "== off-chain tests finished after $(( $(date +%s) - started ))s"

if ((contracts)); then
  wait "$contracts" || status=1
  echo "== contract tests (Brownie on its own anvil)"
  cat "$contracts_log"
fi

echo "== test suite finished in $(( $(date +%s) - started ))s: $([ $status -eq 0 ] && echo PASSED || echo FAILED)"
exit $status
