#!/usr/bin/env bash
# Contract test suite: Brownie tests (unit + stateful properties) on a private anvil that Brownie
# launches on a free port and stops afterwards. Exit code: non-zero on any failure. (Static
# analysis, Slither included, is tools/lint.sh: `make lint`.)
#
#   tools/test-contracts.sh            unit + property tests
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
exit "$status"
