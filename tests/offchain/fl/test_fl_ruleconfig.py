from __future__ import annotations

import pytest

from offchain.fl.errors import RuleConfigError
from offchain.fl.rules import RuleConfig, parse_rule


@pytest.mark.parametrize(
    ("rule_id", "params", "expected"),
    [
        (0, [100], RuleConfig("fedavg", {"cap": 100})),
        (0, [0], RuleConfig("fedavg", {"cap": 0})),
        (1, [], RuleConfig("median", {})),
        (2, [2500], RuleConfig("trimmed_mean", {"beta_bps": 2500})),
        (3, [1, 3], RuleConfig("multi_krum", {"f": 1, "m": 3})),
        (4, [1_500_000], RuleConfig("norm_clipped_fedavg", {"bound": 1.5, "cap": 0})),
        (4, [250_000, 64], RuleConfig("norm_clipped_fedavg", {"bound": 0.25, "cap": 64})),
        (5, [], RuleConfig("consensus_fedavg", {"cap": 0})),
        (5, [500], RuleConfig("consensus_fedavg", {"cap": 500})),
    ],
)
def test_on_chain_params_decode(rule_id: int, params: list[int], expected: RuleConfig) -> None:
    config = parse_rule(rule_id, params)
    assert (config.rule, config.params) == (expected.rule, expected.params)
    assert (config.rule_id, config.raw) == (rule_id, tuple(params))


@pytest.mark.parametrize(
    ("rule_id", "params", "needle"),
    [
        (6, [], "unknown aggregation rule id"),
        (5, [1, 2], "[] or [cap]"),
        (-1, [], "unknown aggregation rule id"),
        (0, [], "expected params [cap]"),
        (0, [1, 2], "expected params [cap]"),
        (1, [3], "expected params []"),
        (2, [5000], "below 5000"),
        (3, [1, 0], "at least 1"),
        (3, [1], "[f, m]"),
        (4, [0], "bound_micro must be at least 1"),
        (4, [1, 2, 3], "[bound_micro]"),
        (0, [2**256], "uint256"),
        (0, [-1], "uint256"),
        (0, [1.5], "uint256"),
    ],
)
def test_invalid_params_are_refused_with_a_clear_message(rule_id: int, params: list, needle: str) -> None:
    with pytest.raises(RuleConfigError, match=None) as info:
        parse_rule(rule_id, params)
    assert needle in str(info.value)
