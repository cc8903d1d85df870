#!/usr/bin/env bash
# Flower baseline in its own virtualenv (bench/.venv-flower): never touches the project's .venv
# or requirements.lock. Idempotent: a second run only checks the stamp.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv-flower"
python="${PYTHON:-python3.11}"
pins=("flwr[simulation]==1.42.0" tensorflow-cpu==2.21.0 pillow==13.0.0)
stamp="$venv/.setup-stamp"
if [[ -f "$stamp" && "$(cat "$stamp")" == "${pins[*]}" ]]; then
    exit 0
fi
echo "bench: creating $venv with ${pins[*]}"
test -x "$venv/bin/python" || "$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "${pins[@]}"
"$venv/bin/pip" check
echo "${pins[*]}" > "$stamp"
"$venv/bin/python" -c 'import flwr, tensorflow; print("bench: flwr", flwr.__version__, "tensorflow", tensorflow.__version__)'
