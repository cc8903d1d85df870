#!/usr/bin/env bash
# Static analysis: ruff (format and lint) and mypy on the Python, then Slither on the contracts. Fails
# on any ruff finding or mypy error, and on any high or medium Slither finding that is not waived
# below with its reason (low/informational findings are printed, not fatal).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$ROOT/.venv/bin:$ROOT/node_modules/.bin:$PATH"
SOLC="${SOLCX_BINARY_PATH:-$ROOT/.solcx}/solc-v0.8.37"

ruff format --check --quiet . || { echo "lint: run \`.venv/bin/ruff format .\` to format the Python" >&2; exit 1; }
ruff check --quiet . || { echo "lint: ruff found problems (\`.venv/bin/ruff check --fix .\` fixes some)" >&2; exit 1; }
echo "ruff: formatted, no findings"

# mypy: offchain/, bench/, scripts/ and tests/ as [tool.mypy] in pyproject.toml says; then the two
# conftest.py it excludes, each in a run of its own (pytest imports every one of them as `conftest`).
for target in "" tests/contracts/conftest.py tests/ipfs_node/conftest.py; do
  mypy --no-error-summary ${target:+"$target"} ||
    { echo "lint: mypy found type errors (\`.venv/bin/mypy${target:+ $target}\`; config: [tool.mypy] in pyproject.toml)" >&2; exit 1; }
done
echo "mypy: no errors"

# Waived detectors, each with its reason (slither --exclude takes detector names):
#   (none)
WAIVED=""

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A solc standard-JSON input with every project contract: the offline solc front only speaks
# --standard-json, and Slither reads the AST from it (crytic-compile platform "solc-json").
python3 - "$work/input.json" <<'PY'
import json, pathlib, sys
sources = {str(p): {"urls": [str(p)]} for p in sorted(pathlib.Path("contracts").rglob("*.sol"))}
settings = {"remappings": ["@openzeppelin=node_modules/@openzeppelin"], "evmVersion": "prague",
            "optimizer": {"enabled": True, "runs": 200}, "viaIR": True}
json.dump({"language": "Solidity", "sources": sources, "settings": settings}, open(sys.argv[1], "w"))
PY

args=(--compile-force-framework solc-json --solc "$SOLC" --filter-paths node_modules
      --json "$work/slither.json")
[[ -n $WAIVED ]] && args+=(--exclude "$WAIVED")
slither "$work/input.json" "${args[@]}" >"$work/slither.log" 2>&1 || true
if [[ ! -s $work/slither.json ]]; then
  cat "$work/slither.log"
  echo "lint: slither did not run" >&2
  exit 2
fi
python3 - "$work/slither.json" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
if not data.get("success", False):
    print("lint: slither failed:", data.get("error"))
    sys.exit(2)
found = data.get("results", {}).get("detectors", [])
counts = {}
for d in found:
    counts[d["impact"]] = counts.get(d["impact"], 0) + 1
    if d["impact"] in ("High", "Medium"):
        print(f"[{d['impact']}] {d['check']}: {d['description'].strip()}\n")
for d in found:
    if d["impact"] not in ("High", "Medium"):
        print(f"  ({d['impact']}) {d['check']}: {d['description'].strip().splitlines()[0]}")
print("slither:", ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "no findings")
bad = counts.get("High", 0) + counts.get("Medium", 0)
sys.exit(1 if bad else 0)
PY
