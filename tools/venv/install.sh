#!/usr/bin/env bash
# Install the venv start-up hook (tools/venv/dfl_venv.py, see its docstring) into the venv's
# site-packages, with the .pth file that imports it at every start of the venv's Python. Idempotent.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="${1:-$root/.venv}"
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
install -m 0644 "$root/tools/venv/dfl_venv.py" "$site/dfl_venv.py"
printf 'import dfl_venv\n' > "$site/dfl_venv.pth"
echo "venv hook: $site/dfl_venv.pth (SOLCX_BINARY_PATH, node_modules/.bin on PATH, brownie run from any directory)"
