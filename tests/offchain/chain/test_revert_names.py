"""The revert names the client classifies or explains are errors the deployed contracts can raise:
a renamed or removed error would otherwise silently turn permanent reverts into retried ones, or
drop a hint."""

from __future__ import annotations

from offchain.chain.artifacts import load_abi
from offchain.chain.errors import HINTS, PERMANENT_REVERTS
from support import BUILD_DIR

DEPLOYED = ("FLTaskManager", "FLPrivacy", "RewardToken")


def _error_names() -> set[str]:
    return {item["name"] for c in DEPLOYED for item in load_abi(BUILD_DIR, c) if item.get("type") == "error"}


def test_every_permanent_revert_and_every_hint_names_an_error_in_the_deployed_abis() -> None:
    names = _error_names()
    assert len(names) > 50  # the build is there and has the contracts' errors
    assert sorted(PERMANENT_REVERTS - names) == []
    assert sorted(set(HINTS) - names) == []
