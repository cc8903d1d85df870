"""Each rule's arithmetic on inputs small enough to check by hand."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from fl_helpers import address, scalar_updates, upper_hex, weights

from offchain.fl import rules
from offchain.fl.aggregate import aggregate
from offchain.fl.errors import AggregationInputError
from offchain.fl.reasons import Reason
from offchain.fl.records import Update, Verdict
from offchain.fl.ruleconfig import RuleConfig, parse_rule

ZERO = weights(w=[0.0])


def _value(values: list[float], config: RuleConfig, **kw: list[int]) -> float:
    return float(aggregate(ZERO, scalar_updates(values, **kw), config).weights["0000/w"][0])


def test_fedavg_weights_by_capped_samples() -> None:
    glob = weights(w=[0.0, 0.0])
    updates = [Update(address(0), 1, weights(w=[1.0, 1.0])), Update(address(1), 3, weights(w=[5.0, 9.0]))]
    result = aggregate(glob, updates, parse_rule(0, [2]))
    assert result.weights["0000/w"].tolist() == [np.float32(11 / 3), np.float32(19 / 3)]
    assert result.trainer_weights == {address(0): 1, address(1): 2}
    uncapped = aggregate(glob, updates, parse_rule(0, [0]))
    assert uncapped.weights["0000/w"].tolist() == [4.0, 7.0]  # (1 + 15) / 4, (1 + 27) / 4


def test_median_of_odd_and_even_counts() -> None:
    assert _value([1.0, 100.0, 5.0], parse_rule(1, [])) == 5.0
    assert _value([3.0, 1.0, 100.0, 2.0], parse_rule(1, [])) == 2.5


def test_median_works_on_deltas_from_the_global_model() -> None:
    glob = weights(w=[10.0])
    updates = [Update(address(i), 1, weights(w=[v])) for i, v in enumerate([11.0, 13.0, 50.0])]
    assert aggregate(glob, updates, parse_rule(1, [])).weights["0000/w"].tolist() == [13.0]


def test_trimmed_mean_drops_floor_n_beta_per_side() -> None:
    assert _value([1.0, 2.0, 3.0, 100.0], parse_rule(2, [2500])) == 2.5  # trim 1 of 4
    assert _value([1.0, 2.0, 3.0, 4.0, 100.0], parse_rule(2, [2500])) == 3.0  # trim 1 of 5
    assert _value([1.0, 2.0, 3.0], parse_rule(2, [2500])) == 2.0  # trim 0 of 3: plain mean


def test_multi_krum_selects_the_m_most_central_updates() -> None:
    # Deltas 0,1,2,3,100 with f=1: scores sum the n-f-2=2 nearest squared distances:
    # 0 -> 1+4=5, 1 -> 1+1=2, 2 -> 1+1=2, 3 -> 1+4=5, 100 -> 97^2+98^2.
    result = aggregate(ZERO, scalar_updates([0.5, 1.0, 2.0, 3.0, 100.0]), parse_rule(3, [1, 2]))
    assert result.weights["0000/w"].tolist() == [1.5]
    assert result.trainer_weights == {address(1): 1, address(2): 1}
    excluded = [v.trainer for v in result.verdicts if v.reason == Reason.KRUM_EXCLUDED]
    assert excluded == [address(0), address(3), address(4)]


def test_norm_clipped_fedavg_clips_long_deltas_to_the_bound() -> None:
    glob = weights(w=[0.0, 0.0])
    updates = [Update(address(0), 1, weights(w=[3.0, 4.0])), Update(address(1), 1, weights(w=[0.3, 0.4]))]
    result = aggregate(glob, updates, parse_rule(4, [1_000_000]))
    # [3, 4] has norm 5 -> [0.6, 0.8]; mean with [0.3, 0.4] -> [0.45, 0.6].
    np.testing.assert_allclose(result.weights["0000/w"], [0.45, 0.6], rtol=1e-6)
    assert all(v.accepted for v in result.verdicts)
    assert "clipped" in result.verdicts[0].message and result.verdicts[1].message == ""


def test_verdicts_cover_every_trainer_sorted_by_address() -> None:
    updates = scalar_updates([1.0, float("nan"), 3.0])
    early = Verdict.reject(upper_hex(address(0xABCDEF)), Reason.CID_MISMATCH, "bytes do not hash to the CID")
    result = aggregate(ZERO, list(reversed(updates)), parse_rule(0, [0]), rejected=[early])
    assert [v.trainer for v in result.verdicts] == [address(i) for i in (0, 1, 2, 0xABCDEF)]
    assert [v.reason for v in result.verdicts] == [None, Reason.NON_FINITE, None, Reason.CID_MISMATCH]
    assert result.accepted == (address(0), address(2))
    assert result.weights["0000/w"].tolist() == [2.0]


def test_no_accepted_update_keeps_the_global_model() -> None:
    result = aggregate(ZERO, scalar_updates([float("inf")]), parse_rule(1, []))
    assert result.weights["0000/w"].tolist() == [0.0] and result.weights["0000/w"] is not ZERO["0000/w"]
    assert result.trainer_weights == {} and result.accepted == ()


@pytest.mark.parametrize(
    "trainers", [[address(0xBEEF), address(0xBEEF)], [address(0xBEEF), upper_hex(address(0xBEEF))]]
)
def test_duplicate_trainer_is_an_input_error(trainers: list[str]) -> None:
    updates = [Update(t, 1, weights(w=[1.0])) for t in trainers]
    with pytest.raises(AggregationInputError, match="more than once"):
        aggregate(ZERO, updates, parse_rule(1, []))


def test_bad_address_is_an_input_error() -> None:
    with pytest.raises(AggregationInputError, match="address"):
        aggregate(ZERO, [Update("0x1234", 1, weights(w=[1.0]))], parse_rule(1, []))


def test_sequential_sum_is_a_left_to_right_fold() -> None:
    rng = random.Random(7)
    values = [rng.uniform(-1, 1) * 10 ** rng.randint(-8, 8) for _ in range(1000)]
    fold = 0.0
    for v in values:
        fold += v
    assert rules.sequential_sum(np.array(values)) == fold != math.fsum(values)
    # Each +1 is lost against 1e16 when added in order; np.sum's 8 partial sums keep them.
    spiky = np.array([1e16] + [1.0] * 15 + [-1e16])
    assert rules.sequential_sum(spiky) == 0.0
    assert rules.sequential_sum(np.zeros(0)) == 0.0


def test_krum_scores_clamp_neighbours_for_small_rounds() -> None:
    assert rules.krum_scores([[0.0, 4.0], [4.0, 0.0]], f=3) == [4.0, 4.0]
    assert rules.krum_select([4.0, 4.0], m=1) == [0]  # tie goes to the lower address
