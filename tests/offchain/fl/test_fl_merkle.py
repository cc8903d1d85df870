"""The Python tree must equal @openzeppelin/merkle-tree's StandardMerkleTree exactly."""

from __future__ import annotations

import pytest
from fl_helpers import address

from merkle_oracle import oz_tree
from offchain.fl.errors import MerkleError
from offchain.fl.merkle import build_penalty_tree, build_tree, leaf_hash, penalty_leaf_hash, process_proof, verify


def _leaves(n: int) -> list[tuple[str, int]]:
    # Mixed-case input addresses and amounts up to 2**255 exercise encoding.
    return [
        (_mixed_case(address(i * 7919), upper=i % 2 == 1), (i * 10**18 + 1) * (3 if i % 2 else 2**180))
        for i in range(n)
    ]


def _mixed_case(account: str, *, upper: bool) -> str:
    return "0x" + (account[2:].upper() if upper else account[2:])


@pytest.mark.parametrize("n", [1, 2, 3, 7, 1000])
def test_root_and_proofs_match_openzeppelin(n: int) -> None:
    values = _leaves(n)
    tree = build_tree(values)
    expected = oz_tree(values, tree.dump())
    assert tree.root == expected.root
    assert expected.loaded_root == expected.root  # our dump loads and validates in OZ
    assert [tree.proof(i) for i in range(n)] == expected.proofs


@pytest.mark.parametrize("n", [1, 2, 5, 300])
def test_penalty_tree_matches_openzeppelin_with_address_leaves(n: int) -> None:
    accounts = [_mixed_case(address(i * 104_729 + 3), upper=i % 3 == 0) for i in range(n)]
    tree = build_penalty_tree(accounts)
    expected = oz_tree([(a,) for a in accounts], tree.dump(), ("address",))
    assert tree.root == expected.root and expected.loaded_root == expected.root
    assert [tree.proof(i) for i in range(n)] == expected.proofs
    assert process_proof(penalty_leaf_hash(accounts[-1]), tree.proof_for(accounts[-1])) == tree.root


def test_every_proof_verifies_and_a_wrong_amount_does_not() -> None:
    values = _leaves(7)
    tree = build_tree(values)
    for i, (account, amount) in enumerate(values):
        assert verify(tree.root, account, amount, tree.proof(i))
        assert tree.proof_for(account) == tree.proof(i)
        assert not verify(tree.root, account, amount + 1, tree.proof(i))


def test_single_leaf_root_is_the_leaf_hash() -> None:
    tree = build_tree([(address(0), 5)])
    assert tree.root == leaf_hash(address(0), 5) and tree.proof(0) == []
    assert process_proof(tree.root, []) == tree.root


def test_refuses_empty_trees_bad_amounts_and_unknown_accounts() -> None:
    with pytest.raises(MerkleError, match="at least one leaf"):
        build_tree([])
    with pytest.raises(MerkleError, match="uint256"):
        leaf_hash(address(0), -1)
    with pytest.raises(MerkleError, match="no leaf"):
        build_tree([(address(0), 1)]).proof_for(address(1))
