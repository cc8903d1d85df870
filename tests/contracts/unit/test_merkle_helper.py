"""The tests' Merkle helper builds the same root and proofs as @openzeppelin/merkle-tree."""

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from contract_helpers import MerkleTree

ROOT = Path(__file__).resolve().parents[3]
NODE = ROOT / "node_modules" / ".bin" / "node"

JS = """
const { StandardMerkleTree } = require("@openzeppelin/merkle-tree");
const values = JSON.parse(process.argv[1]);
const tree = StandardMerkleTree.of(values, ["address", "uint256"]);
const proofs = values.map((v) => tree.getProof(v));
console.log(JSON.stringify({ root: tree.root, proofs }));
"""


@pytest.mark.parametrize("n", [1, 2, 3, 7, 20])
def test_root_and_proofs_match_openzeppelin(n):
    rng = random.Random(n)
    values = [("0x" + rng.randbytes(20).hex(), rng.randrange(10**24)) for _ in range(n)]
    node = str(NODE) if NODE.exists() else shutil.which("node")
    out = subprocess.run(
        [node, "-e", JS, json.dumps([[a, str(v)] for a, v in values])],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    expected = json.loads(out.stdout)
    tree = MerkleTree(values)
    assert "0x" + tree.root.hex() == expected["root"]
    for (a, v), proof in zip(values, expected["proofs"]):
        assert ["0x" + p.hex() for p in tree.proof(a, v)] == proof
