"""The task's aggregation rule, parsed from its on-chain (ruleId, uint256[] params).

Rule ids and params (all uint256, fixed point where noted):
  0 fedavg               [cap]                 weight min(numSamples, cap); cap 0 = no cap
  1 median               []                    coordinate-wise median of deltas
  2 trimmed_mean         [beta_bps]            drop floor(n*beta_bps/10000) per side; 0 <= beta_bps < 5000
  3 multi_krum           [f, m]                f >= 0 assumed Byzantine, m >= 1 selected, uniform mean
  4 norm_clipped_fedavg  [bound_micro(, cap)]  clip ||delta|| to bound_micro/1e6 > 0, then fedavg(cap)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from offchain.fl.errors import RuleConfigError

RULE_IDS: dict[int, str] = {
    0: "fedavg",
    1: "median",
    2: "trimmed_mean",
    3: "multi_krum",
    4: "norm_clipped_fedavg",
}
BPS = 10_000
MICRO = 1_000_000
_UINT256_MAX = 2**256 - 1


@dataclass(frozen=True)
class RuleConfig:
    """A rule name and its decoded parameters (ints, except `bound`: a float)."""

    rule: str
    params: dict[str, int | float] = field(default_factory=dict)


def parse_rule(rule_id: int, params: Sequence[int]) -> RuleConfig:
    """Decode the on-chain rule id and params; raises RuleConfigError if invalid."""
    name = RULE_IDS.get(rule_id) if isinstance(rule_id, int) else None
    if name is None:
        raise RuleConfigError(f"unknown aggregation rule id {rule_id!r}; known: {sorted(RULE_IDS)}")
    values = [_uint256(name, i, v) for i, v in enumerate(params)]
    return RuleConfig(rule=name, params=_PARSERS[name](values))


def _uint256(rule: str, index: int, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _UINT256_MAX:
        raise RuleConfigError(f"{rule}: param {index} must be a uint256, got {value!r}")
    return value


def _arity(rule: str, values: list[int], *, allowed: tuple[int, ...], layout: str) -> None:
    if len(values) not in allowed:
        raise RuleConfigError(f"{rule}: expected params {layout}, got {len(values)} values {values}")


def _fedavg(values: list[int]) -> dict[str, int | float]:
    _arity("fedavg", values, allowed=(1,), layout="[cap]")
    return {"cap": values[0]}


def _median(values: list[int]) -> dict[str, int | float]:
    _arity("median", values, allowed=(0,), layout="[]")
    return {}


def _trimmed_mean(values: list[int]) -> dict[str, int | float]:
    _arity("trimmed_mean", values, allowed=(1,), layout="[beta_bps]")
    if values[0] >= BPS // 2:
        raise RuleConfigError(f"trimmed_mean: beta_bps must be below {BPS // 2}, got {values[0]}")
    return {"beta_bps": values[0]}


def _multi_krum(values: list[int]) -> dict[str, int | float]:
    _arity("multi_krum", values, allowed=(2,), layout="[f, m]")
    if values[1] < 1:
        raise RuleConfigError("multi_krum: m (updates to select) must be at least 1")
    return {"f": values[0], "m": values[1]}


def _norm_clipped_fedavg(values: list[int]) -> dict[str, int | float]:
    _arity("norm_clipped_fedavg", values, allowed=(1, 2), layout="[bound_micro] or [bound_micro, cap]")
    if values[0] < 1:
        raise RuleConfigError("norm_clipped_fedavg: bound_micro must be at least 1")
    cap = values[1] if len(values) == 2 else 0
    return {"bound": values[0] / MICRO, "cap": cap}  # int/int division is correctly rounded


_PARSERS = {
    "fedavg": _fedavg,
    "median": _median,
    "trimmed_mean": _trimmed_mean,
    "multi_krum": _multi_krum,
    "norm_clipped_fedavg": _norm_clipped_fedavg,
}
