from __future__ import annotations

import pytest
from fl_helpers import address

from offchain.fl.errors import RewardError
from offchain.fl.rewards import allocate


def test_pool_split_by_weight_rounded_down_and_sorted() -> None:
    leaves = allocate(100, {address(2): 1, address(0): 1, address(1): 1})
    assert leaves == [(address(0), 33), (address(1), 33), (address(2), 33)]


def test_float_weights_split_exactly_like_their_ratio() -> None:
    assert allocate(1000, {address(0): 0.25, address(1): 0.75}) == [(address(0), 250), (address(1), 750)]
    assert allocate(1000, {address(0): 0.1, address(1): 3}) == allocate(1000, {address(0): 0.1, address(1): 3.0})


def test_zero_amounts_are_dropped() -> None:
    assert allocate(10, {address(0): 1, address(1): 1000, address(2): 0}) == [(address(1), 9)]
    assert allocate(0, {address(0): 1}) == []
    assert allocate(10, {}) == [] and allocate(10, {address(0): 0}) == []


def test_addresses_are_lowercased_and_must_be_unique() -> None:
    mixed = "0x" + "AB" * 20
    assert allocate(7, {mixed: 1}) == [("0x" + "ab" * 20, 7)]
    with pytest.raises(RewardError, match="twice"):
        allocate(7, {mixed: 1, mixed.lower(): 1})


@pytest.mark.parametrize("weight", [-1, float("nan"), float("inf"), "3", None])
def test_invalid_weights_are_refused(weight: object) -> None:
    with pytest.raises(RewardError):
        allocate(10, {address(0): weight})  # type: ignore[dict-item]  # a wrong type on purpose


@pytest.mark.parametrize("pool", [-1, 1.5, True])
def test_invalid_pool_is_refused(pool: object) -> None:
    with pytest.raises(RewardError):
        allocate(pool, {address(0): 1})  # type: ignore[arg-type]  # a wrong type on purpose
