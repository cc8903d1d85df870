"""Where the project's executables are: node_modules/.bin of the checkout, else PATH."""

from __future__ import annotations

import shutil
from pathlib import Path

from offchain.config import PROJECT_ROOT
from offchain.errors import ServiceError

NODE_BIN = PROJECT_ROOT / "node_modules" / ".bin"
IPFS_NODE_SCRIPT = PROJECT_ROOT / "ipfs-node" / "server.mjs"


def find_tool(name: str) -> Path:
    local = NODE_BIN / name
    if local.exists():
        return local
    found = shutil.which(name)
    if found:
        return Path(found)
    raise ServiceError(f"{name} not found in {NODE_BIN} or on PATH: run `make setup` in {PROJECT_ROOT}")


def node22() -> Path:
    """Node 22 from the npm package `node` (Helia's packages need it; the system node is 20)."""
    local = NODE_BIN / "node"
    if local.exists():
        return local
    raise ServiceError(f"Node 22 not found at {local}: run `make setup` in {PROJECT_ROOT}")
