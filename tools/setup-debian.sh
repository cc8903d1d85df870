#!/usr/bin/env bash
# Debian packages the project uses (named in README.md): installed only when missing.
#   ipfs-cid               offline oracle for kubo's CIDs (tests)
#   dataset-fashion-mnist  the full Fashion-MNIST data set (IDX files in /usr/share/datasets)
#   chromium               headless browser for the explorer's browser test (driven by PyPI playwright)
set -euo pipefail
packages=(ipfs-cid dataset-fashion-mnist chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "debian: ${packages[*]} already installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "debian: missing ${missing[*]}; run as root: apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "debian: installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
