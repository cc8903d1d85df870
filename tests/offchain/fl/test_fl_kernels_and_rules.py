"""Each rule's arithmetic on inputs small enough to check by hand."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from fl_helpers import address, reward_shares, run_round, scalar_updates, upper_hex, weights

from offchain.fl import kernels
from offchain.fl.errors import AggregationInputError
from offchain.fl.reasons import Reason
from offchain.fl.records import Update
from offchain.fl.round import Reveal, ordered_reveals
from offchain.fl.rules import RULES, Contribution, RuleConfig, aggregate, parse_rule
from offchain.types import NamedWeights

ZERO = weights(w=[0.0])


def _contributions(updates: list[Update], glob: NamedWeights = ZERO) -> list[Contribution]:
    """Every update accepted with score 1 (ppm) and its samples: the rule's arithmetic alone."""
    names = sorted(glob)
    ordered = sorted(updates, key=lambda u: u.trainer)
    return [
        Contribution(
            u, kernels.squared_distance([u.weights[n] for n in names], [glob[n] for n in names]), 1, u.num_samples
        )
        for u in ordered
    ]


def _value(values: list[float], config: RuleConfig, **kw: list[int]) -> float:
    return float(aggregate(ZERO, _contributions(scalar_updates(values, **kw)), config).weights["0000/w"][0])


def test_fedavg_weights_by_capped_samples() -> None:
    glob = weights(w=[0.0, 0.0])
    updates = [Update(address(0), 1, weights(w=[1.0, 1.0])), Update(address(1), 3, weights(w=[5.0, 9.0]))]
    capped = parse_rule(0, [2])
    contributions = [
        Contribution(c.update, c.sq_delta_norm, 1, rules_samples(capped, c)) for c in _contributions(updates, glob)
    ]
    result = aggregate(glob, contributions, capped)
    assert result.weights["0000/w"].tolist() == [np.float32(11 / 3), np.float32(19 / 3)]
    assert [c.samples for c in contributions] == [1, 2]
    uncapped = aggregate(glob, _contributions(updates, glob), parse_rule(0, [0]))
    assert uncapped.weights["0000/w"].tolist() == [4.0, 7.0]  # (1 + 15) / 4, (1 + 27) / 4


def rules_samples(config: RuleConfig, c: Contribution) -> int:
    from offchain.fl.rules import sample_weight

    return sample_weight(config, c.update.num_samples)


def test_median_of_odd_and_even_counts() -> None:
    assert _value([1.0, 100.0, 5.0], parse_rule(1, [])) == 5.0
    assert _value([3.0, 1.0, 100.0, 2.0], parse_rule(1, [])) == 2.5


def test_median_works_on_deltas_from_the_global_model() -> None:
    glob = weights(w=[10.0])
    updates = [Update(address(i), 1, weights(w=[v])) for i, v in enumerate([11.0, 13.0, 50.0])]
    assert aggregate(glob, _contributions(updates, glob), parse_rule(1, [])).weights["0000/w"].tolist() == [13.0]


def test_trimmed_mean_drops_floor_n_beta_per_side() -> None:
    assert _value([1.0, 2.0, 3.0, 100.0], parse_rule(2, [2500])) == 2.5  # trim 1 of 4
    assert _value([1.0, 2.0, 3.0, 4.0, 100.0], parse_rule(2, [2500])) == 3.0  # trim 1 of 5
    assert _value([1.0, 2.0, 3.0], parse_rule(2, [2500])) == 2.0  # trim 0 of 3: plain mean


def test_multi_krum_selects_the_m_most_central_updates() -> None:
    # Deltas 0,1,2,3,100 with f=1: scores sum the n-f-2=2 nearest squared distances:
    # 0 -> 1+4=5, 1 -> 1+1=2, 2 -> 1+1=2, 3 -> 1+4=5, 100 -> 97^2+98^2.
    result = aggregate(ZERO, _contributions(scalar_updates([0.5, 1.0, 2.0, 3.0, 100.0])), parse_rule(3, [1, 2]))
    assert result.weights["0000/w"].tolist() == [1.5]
    assert sorted(result.excluded) == [address(0), address(3), address(4)]
    assert {v.reason for v in result.excluded.values()} == {Reason.KRUM_EXCLUDED}


def test_norm_clipped_fedavg_clips_long_deltas_to_the_bound() -> None:
    glob = weights(w=[0.0, 0.0])
    updates = [Update(address(0), 1, weights(w=[3.0, 4.0])), Update(address(1), 1, weights(w=[0.3, 0.4]))]
    result = aggregate(glob, _contributions(updates, glob), parse_rule(4, [1_000_000]))
    # [3, 4] has norm 5 -> [0.6, 0.8]; mean with [0.3, 0.4] -> [0.45, 0.6].
    np.testing.assert_allclose(result.weights["0000/w"], [0.45, 0.6], rtol=1e-6)
    assert result.excluded == {} and result.notes == {address(0): "change clipped to the bound"}


def test_split_accounts_and_near_zero_updates_cannot_move_the_consensus_clip() -> None:
    """Audit finding: the clip was the plain median of every screened update's norm, so one noise
    update lowered it and clipped one more honest update, and cheap accounts could shrink every
    round's step. Each update now weighs in it what it weighs in the mean (score x counted samples):
    one account of 300 samples, the same change from three accounts of 100, or the one account plus
    ten near-zero updates (score 0) all give the same clip and the same model."""
    glob = weights(w=[0.0, 0.0])

    def contribution(i: int, change: float, samples: int, score: int) -> Contribution:
        update = Update(address(i), samples, weights(w=[change, 0.0]))
        return Contribution(update, change * change, score, samples)

    honest = [contribution(i, c, 100, 900_000) for i, c in enumerate([1.0, 1.5, 2.5, 3.0])]
    one = aggregate(glob, [*honest, contribution(10, 0.5, 300, 900_000)], parse_rule(5, []))
    three = aggregate(glob, [*honest, *(contribution(10 + k, 0.5, 100, 900_000) for k in range(3))], parse_rule(5, []))
    dust = [contribution(20 + k, 1e-6, 1_000, 0) for k in range(10)]
    with_dust = aggregate(glob, [*honest, contribution(10, 0.5, 300, 900_000), *dust], parse_rule(5, []))
    assert one.weights["0000/w"].tobytes() == three.weights["0000/w"].tobytes() == with_dust.weights["0000/w"].tobytes()
    assert sorted(one.notes) == sorted(with_dust.notes)  # the same updates clipped
    # the plain median of the norms (the old clip) was 1.5, 1.0 and 1e-6 in these three rounds
    assert one.notes  # the longest honest changes are clipped


def test_consensus_fedavg_weighs_by_score_and_samples_and_clips_to_the_weighted_median_norm() -> None:
    glob = weights(w=[0.0, 0.0])
    updates = [
        Update(address(0), 1, weights(w=[1.0, 0.0])),
        Update(address(1), 3, weights(w=[4.0, 0.0])),  # longest: clipped to the weighted median norm 2
        Update(address(2), 2, weights(w=[2.0, 0.0])),
    ]
    scored = [
        Contribution(c.update, c.sq_delta_norm, s, c.update.num_samples)
        for c, s in zip(_contributions(updates, glob), [1_000_000, 500_000, 1_000_000], strict=True)
    ]
    result = aggregate(glob, scored, parse_rule(5, []))
    # weights 1*1, 0.5*3 and 1*2; norms 1, 4, 2: the weighted median norm is 2, so 4 is clipped to 2:
    # (1 * 1 + 1.5 * 2 + 2 * 2) / 4.5
    np.testing.assert_allclose(result.weights["0000/w"], [8.0 / 4.5, 0.0], rtol=1e-6)
    nobody = [Contribution(c.update, c.sq_delta_norm, 0, 1) for c in _contributions(updates, glob)]
    assert aggregate(glob, nobody, parse_rule(5, [])).weights["0000/w"].tolist() == [0.0, 0.0]


def test_verdicts_cover_every_trainer_sorted_by_address() -> None:
    updates = scalar_updates([1.0, float("nan"), 3.0])
    result = run_round(ZERO, list(reversed(updates)), parse_rule(0, [0]))
    assert [v.trainer for v in result.verdicts] == [address(i) for i in (0, 1, 2)]
    assert [v.reason for v in result.verdicts] == [None, Reason.NON_FINITE, None]
    assert result.accepted == (address(0), address(2))
    assert result.weights["0000/w"].tolist() == [2.0]


def test_no_accepted_update_keeps_the_global_model() -> None:
    result = run_round(ZERO, scalar_updates([float("inf")]), parse_rule(1, []))
    assert result.weights["0000/w"].tolist() == [0.0] and result.weights["0000/w"] is not ZERO["0000/w"]
    assert reward_shares(result) == {} and result.accepted == ()
    assert result.receipt.penalties == (address(0),)


@pytest.mark.parametrize(
    "trainers", [[address(0xBEEF), address(0xBEEF)], [address(0xBEEF), upper_hex(address(0xBEEF))]]
)
def test_duplicate_trainer_is_an_input_error(trainers: list[str]) -> None:
    with pytest.raises(AggregationInputError, match="more than once"):
        ordered_reveals([Reveal(i, t, "Qm", 1) for i, t in enumerate(trainers)])


def test_rule_registry_names_every_rule_the_contract_accepts() -> None:
    """The registry and TaskParamsLib.RULE_COUNT must agree: a task the contract accepts has a rule."""
    import re
    from pathlib import Path

    source = (Path(__file__).resolve().parents[3] / "contracts/libraries/TaskParamsLib.sol").read_text()
    found = re.search(r"RULE_COUNT = (\d+);", source)
    assert found, "TaskParamsLib.sol declares no RULE_COUNT"
    count = int(found.group(1))
    assert sorted(RULES) == list(range(count))
    assert len({r.name for r in RULES.values()}) == count


def test_sequential_sum_is_a_left_to_right_fold() -> None:
    rng = random.Random(7)
    values = [rng.uniform(-1, 1) * 10 ** rng.randint(-8, 8) for _ in range(1000)]
    fold = 0.0
    for v in values:
        fold += v
    assert kernels.sequential_sum(np.array(values)) == fold != math.fsum(values)
    # Each +1 is lost against 1e16 when added in order; np.sum's 8 partial sums keep them.
    spiky = np.array([1e16] + [1.0] * 15 + [-1e16])
    assert kernels.sequential_sum(spiky) == 0.0
    assert kernels.sequential_sum(np.zeros(0)) == 0.0


def test_krum_scores_clamp_neighbours_for_small_rounds() -> None:
    assert kernels.krum_scores([[0.0, 4.0], [4.0, 0.0]], f=3) == [4.0, 4.0]
    assert kernels.krum_select([4.0, 4.0], m=1) == [0]  # tie goes to the lower address


def test_weighted_median_is_the_median_of_the_samples_each_update_stands_for() -> None:
    """Integer weights behave as that many copies of each update (so equal weights give the plain
    coordinate median, bit for bit), whatever the order of the updates and of -0.0 / +0.0 ties."""
    rng = np.random.default_rng(7)
    for n in range(1, 8):
        arrays = [rng.standard_normal(300) for _ in range(n)]
        arrays[0][:10] = -0.0
        if n > 1:
            arrays[1][:10] = 0.0
            arrays[1][10:20] = arrays[0][10:20]  # exact ties between updates
        weights = [int(w) for w in rng.integers(1, 6, n)]
        copies = [a for a, w in zip(arrays, weights, strict=True) for _ in range(w)]
        expected = kernels.coordinate_median(copies)
        assert kernels.weighted_median(arrays, weights).tobytes() == expected.tobytes()
        backwards = kernels.weighted_median(arrays[::-1], weights[::-1])
        assert backwards.tobytes() == expected.tobytes()
        assert kernels.weighted_median(arrays, [4] * n).tobytes() == kernels.coordinate_median(arrays).tobytes()


def test_weighted_median_refuses_weights_that_are_not_positive_integers() -> None:
    a = [np.zeros(3), np.ones(3)]
    for bad in ([1], [0, 1], [1, -2], [1.5, 1], [True, 1]):
        with pytest.raises(ValueError, match="weights"):
            kernels.weighted_median(a, bad)  # type: ignore[arg-type]
