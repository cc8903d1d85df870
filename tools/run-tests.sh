#!/usr/bin/env bash
# The whole test suite (`make test`): off-chain and tooling tests with plain pytest,
# then the contract suite under Brownie. Every part starts its own anvil and IPFS
# node on free ports. Exits non-zero if any part fails.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
started=$(date +%s)

echo "== off-chain, IPFS node, CLI and tooling tests"
python -m pytest -p no:pytest-brownie tests --ignore=tests/contracts -q "$@" || status=1

if [ -x tools/test-contracts.sh ] && [ -d tests/contracts ]; then
  echo "== contract tests (Brownie on its own anvil) and static analysis"
  tools/test-contracts.sh || status=1
fi

echo "== test suite finished in $(( $(date +%s) - started ))s: $([ $status -eq 0 ] && echo PASSED || echo FAILED)"
exit $status
