"""The tests' one Merkle oracle: @openzeppelin/merkle-tree itself (what claimers and the contract's
`MerkleProof` agree with), in one Node process per test session answering one tree per line
(`tests/oz_merkle.js`). The off-chain tree (`offchain.fl.merkle`) is checked against it, and the
contract tests build their reward trees with it."""

from __future__ import annotations

import atexit
import json
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NODE = ROOT / "node_modules" / ".bin" / "node"
SCRIPT = Path(__file__).with_name("oz_merkle.js")


@dataclass(frozen=True)
class OzTree:
    root: bytes
    proofs: list[list[bytes]]  # of each value, in the order given
    loaded_root: bytes | None  # root of the dump passed along, as OpenZeppelin loads and validates it


class _Oracle:
    def __init__(self) -> None:
        self._node = subprocess.Popen(
            [str(NODE), str(SCRIPT)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._lock = threading.Lock()
        atexit.register(self.close)

    def ask(self, request: dict[str, object]) -> dict[str, Any]:
        assert self._node.stdin is not None and self._node.stdout is not None
        with self._lock:
            self._node.stdin.write(json.dumps(request) + "\n")
            self._node.stdin.flush()
            line = self._node.stdout.readline()
        if not line:
            raise RuntimeError(f"the Merkle oracle ({SCRIPT.name}) exited with code {self._node.poll()}")
        answer = json.loads(line)
        if "error" in answer:
            raise ValueError(f"@openzeppelin/merkle-tree refused the tree: {answer['error']}")
        return answer

    def close(self) -> None:
        if self._node.poll() is None:
            assert self._node.stdin is not None
            self._node.stdin.close()
            self._node.wait(10)


@cache
def _oracle() -> _Oracle:
    return _Oracle()


def oz_tree(
    values: Sequence[tuple[str | int, ...]],
    dump: dict[str, object] | None = None,
    encoding: Sequence[str] = ("address", "uint256"),
) -> OzTree:
    """StandardMerkleTree.of(values, encoding): its root and every value's proof."""
    request: dict[str, object] = {
        "values": [[str(x) for x in v] for v in values],
        "dump": dump,
        "encoding": list(encoding),
    }
    answer = _oracle().ask(request)
    loaded = answer["loadedRoot"]
    return OzTree(
        bytes.fromhex(str(answer["root"])[2:]),
        [[bytes.fromhex(p[2:]) for p in proof] for proof in answer["proofs"]],
        bytes.fromhex(str(loaded)[2:]) if loaded else None,
    )
