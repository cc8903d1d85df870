#!/usr/bin/env bash
# Contract test suite: Brownie tests (unit + stateful properties) on a private anvil that Brownie
# launches on a free port and stops afterwards, then static analysis (tools/lint.sh: ruff, mypy,
# Slither). Exit code: non-zero on any failure.
#
#   tools/test-contracts.sh            unit + property tests, then tools/lint.sh (ruff, mypy, slither)
#   tools/test-contracts.sh --gas      gas report only: table + reports/gas.json (make gas)
#   tools/test-contracts.sh -- ARGS    extra arguments for `brownie test` (e.g. -k claim)
#
# Env: DFL_SM_EXAMPLES / DFL_SM_STEPS tune the state machine; DFL_CONTRACT_TEST_PORT fixes the port.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$ROOT/.venv/bin:$ROOT/node_modules/.bin:$PATH"
export SOLCX_BINARY_PATH="${SOLCX_BINARY_PATH:-$ROOT/.solcx}"

mode=test
extra=()
while (($#)); do
  case "$1" in
    --gas) mode=gas ;;
    --) shift; extra=("$@"); break ;;
    *) extra+=("$1") ;;
  esac
  shift
done

brownie compile >/dev/null

if [[ $mode == gas ]]; then
  exec brownie test tests/contracts/gas/gas_report.py -s "${extra[@]}"
fi

start=$(date +%s)
status=0
brownie test tests/contracts/unit tests/contracts/property "${extra[@]}" || status=$?
echo "contract tests: exit $status in $(( $(date +%s) - start ))s"
lint=0
tools/lint.sh || lint=$?
if ((status != 0)); then exit "$status"; fi
exit "$lint"
