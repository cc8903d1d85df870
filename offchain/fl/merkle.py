"""OpenZeppelin StandardMerkleTree: ("address", "uint256") reward leaves and ("address",) penalty leaves.

Matches `@openzeppelin/merkle-tree` 1.x `StandardMerkleTree.of(values,
encoding)`: leaf = keccak256(keccak256(abi.encode(...values))); leaves sorted by
hash; a complete binary tree in array form (root at 0, children of i at 2i+1 and
2i+2, leaf k at len-1-k); a node is the keccak256 of its two children in
ascending byte order. Proofs verify on-chain with OpenZeppelin
`MerkleProof.verify(proof, root, leaf)`. A round's reward tree pays trainers
(`claimTrainerReward`); its penalty tree names penalized trainers (`penalizeTrainer`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_abi import encode
from eth_utils import keccak

from offchain.fl.address import normalize_address
from offchain.fl.errors import MerkleError

LEAF_ENCODING: tuple[str, ...] = ("address", "uint256")
PENALTY_ENCODING: tuple[str, ...] = ("address",)
_UINT256_MAX = 2**256 - 1


def leaf_hash(account: str, amount: int) -> bytes:
    """keccak256(keccak256(abi.encode(account, amount))): the on-chain reward leaf."""
    return _leaf((account, amount), LEAF_ENCODING)


def penalty_leaf_hash(account: str) -> bytes:
    """keccak256(keccak256(abi.encode(account))): the on-chain penalty leaf."""
    return _leaf((account,), PENALTY_ENCODING)


def _leaf(value: tuple[str | int, ...], encoding: tuple[str, ...]) -> bytes:
    if len(value) != len(encoding):
        raise MerkleError(f"a leaf of {encoding} needs {len(encoding)} values, got {value!r}")
    for item, kind in zip(value, encoding, strict=True):
        if kind == "uint256" and (isinstance(item, bool) or not isinstance(item, int) or not 0 <= item <= _UINT256_MAX):
            raise MerkleError(f"amount must be a uint256, got {item!r}")
    return keccak(keccak(encode(list(encoding), list(value))))


def hash_pair(a: bytes, b: bytes) -> bytes:
    """Commutative node hash: keccak256 of the two children, smaller first."""
    return keccak(a + b if a <= b else b + a)


def process_proof(leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """Root implied by `leaf` and `proof` (OpenZeppelin MerkleProof.processProof)."""
    node = leaf
    for sibling in proof:
        node = hash_pair(node, sibling)
    return node


def verify(root: bytes, account: str, amount: int, proof: Sequence[bytes]) -> bool:
    """True if (account, amount) is a leaf of the tree with `root`."""
    return process_proof(leaf_hash(account, amount), proof) == root


@dataclass(frozen=True)
class MerkleTree:
    """A built tree: nodes in array form, values in input order, and where each sits."""

    tree: tuple[bytes, ...]
    values: tuple[tuple[str | int, ...], ...]
    tree_indices: tuple[int, ...]  # tree_indices[i] is the node of values[i]
    encoding: tuple[str, ...] = LEAF_ENCODING

    @property
    def root(self) -> bytes:
        return self.tree[0]

    def proof(self, index: int) -> list[bytes]:
        """Sibling hashes from the leaf of values[index] up to the root."""
        node, proof = self.tree_indices[index], []
        while node > 0:
            proof.append(self.tree[node + 1 if node % 2 else node - 1])
            node = (node - 1) // 2
        return proof

    def proof_for(self, account: str) -> list[bytes]:
        """Proof of the (first) leaf whose account is `account`."""
        key = normalize_address(account)
        for index, value in enumerate(self.values):
            if value[0] == key:
                return self.proof(index)
        raise MerkleError(f"{key} has no leaf in this tree")

    def dump(self) -> dict[str, object]:
        """The tree in OpenZeppelin's `standard-v1` JSON form (`StandardMerkleTree.load`)."""
        return {
            "format": "standard-v1",
            "leafEncoding": list(self.encoding),
            "tree": ["0x" + node.hex() for node in self.tree],
            "values": [
                {"value": [str(item) for item in value], "treeIndex": index}
                for value, index in zip(self.values, self.tree_indices, strict=True)
            ],
        }


def build_tree(values: Sequence[tuple[str, int]]) -> MerkleTree:
    """StandardMerkleTree.of(values, ["address", "uint256"]): a round's rewards; needs at least one leaf."""
    return _build([(normalize_address(a), amount) for a, amount in values], LEAF_ENCODING)


def build_penalty_tree(accounts: Sequence[str]) -> MerkleTree:
    """StandardMerkleTree.of([[a] for a in accounts], ["address"]): a round's penalized trainers."""
    return _build([(normalize_address(a),) for a in accounts], PENALTY_ENCODING)


def _build(values: list[tuple[str | int, ...]], encoding: tuple[str, ...]) -> MerkleTree:
    if not values:
        raise MerkleError("a Merkle tree needs at least one leaf")
    normalized = tuple(values)
    hashes = [_leaf(value, encoding) for value in normalized]
    order = sorted(range(len(hashes)), key=lambda i: hashes[i])  # stable, like JS sort
    size = 2 * len(hashes) - 1
    tree: list[bytes] = [b""] * size
    for position, value_index in enumerate(order):
        tree[size - 1 - position] = hashes[value_index]
    for node in range(size - 1 - len(hashes), -1, -1):
        tree[node] = hash_pair(tree[2 * node + 1], tree[2 * node + 2])
    indices = [0] * len(hashes)
    for position, value_index in enumerate(order):
        indices[value_index] = size - 1 - position
    return MerkleTree(tree=tuple(tree), values=normalized, tree_indices=tuple(indices), encoding=encoding)
