"""Split a round's trainer pool over accepted updates by their rule weights."""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction

from offchain.fl.address import normalize_address
from offchain.fl.errors import RewardError


def allocate(trainer_pool: int, weights: Mapping[str, int | float]) -> list[tuple[str, int]]:
    """(address, amount) leaves: pool * w / sum(w), rounded down, sorted by address.

    Float weights are made integers exactly (Fraction, then the least common
    denominator), so the split is the same on every machine. The amounts sum
    to at most the pool; the remainder stays in the pool. Zero amounts are dropped.
    """
    if isinstance(trainer_pool, bool) or not isinstance(trainer_pool, int) or trainer_pool < 0:
        raise RewardError(f"trainer pool must be a non-negative integer, got {trainer_pool!r}")
    integral = _integer_weights(weights)
    total = sum(integral.values())
    if total == 0:
        return []
    leaves = [(account, trainer_pool * w // total) for account, w in sorted(integral.items())]
    return [(account, amount) for account, amount in leaves if amount > 0]


def _integer_weights(weights: Mapping[str, int | float]) -> dict[str, int]:
    exact: dict[str, Fraction] = {}
    for account, weight in weights.items():
        key = normalize_address(account)
        if key in exact:
            raise RewardError(f"address {key} appears twice in the reward weights")
        exact[key] = _fraction(key, weight)
    scale = math.lcm(*(f.denominator for f in exact.values())) if exact else 1
    return {key: int(f * scale) for key, f in exact.items()}


def _fraction(account: str, weight: int | float) -> Fraction:
    if isinstance(weight, bool) or not isinstance(weight, (int, float)):
        raise RewardError(f"weight of {account} must be a number, got {weight!r}")
    if isinstance(weight, float) and not math.isfinite(weight):
        raise RewardError(f"weight of {account} must be finite, got {weight!r}")
    if weight < 0:
        raise RewardError(f"weight of {account} must not be negative, got {weight!r}")
    return Fraction(weight)
