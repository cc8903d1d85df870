#!/usr/bin/env bash
# Install the solc front as `solc-v<version>` in a project-local SOLCX_BINARY_PATH,
# where py-solc-x and Brownie look for compilers. Idempotent.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dest="${1:-$root/.solcx}"
node="$root/node_modules/.bin/node"
version="$("$node" -e 'process.stdout.write(require(process.argv[1]).version().split("+")[0])' "$root/node_modules/solc")"
target="$dest/solc-v$version"
mkdir -p "$dest"
script="#!/bin/sh
exec \"$node\" \"$root/tools/solc/solc-front.js\" \"\$@\"
"
if [ -f "$target" ] && [ "$(cat "$target")" = "${script%$'\n'}" ]; then
  echo "solc front: $target already installed"
  exit 0
fi
printf '%s' "$script" > "$target"
chmod +x "$target"
echo "solc front: installed $target ($("$target" --version | tail -n 1))"
