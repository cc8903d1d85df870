"""Robust rules resist attacks that move or exploit plain fedavg.

Seven honest trainers send `G + true + noise`; attackers send something else.
The error is the distance of the new model from `G + true`, relative to |true|.
"""

from __future__ import annotations

import numpy as np
import pytest
from fl_helpers import address, pseudo_random

from offchain.fl.aggregate import aggregate
from offchain.fl.reasons import Reason
from offchain.fl.records import AggregationResult, Update
from offchain.fl.ruleconfig import RuleConfig, parse_rule
from offchain.types import NamedWeights

SIZE, HONEST = 200, 7
GLOBAL: NamedWeights = {"0000/w": pseudo_random(SIZE, seed=1)}
TRUE = pseudo_random(SIZE, seed=2)  # the honest direction, |TRUE| about 4
TRUE_NORM = float(np.sqrt(np.square(TRUE.astype(np.float64)).sum()))

FEDAVG = parse_rule(0, [1000])
ROBUST = {
    "median": parse_rule(1, []),
    "trimmed_mean": parse_rule(2, [2500]),  # trims 2 per side of 9-10 updates
    "multi_krum": parse_rule(3, [2, 4]),
    "norm_clipped_fedavg": parse_rule(4, [int(1.5 * TRUE_NORM * 1e6), 1000]),
}


def _honest() -> list[Update]:
    noise = [0.02 * pseudo_random(SIZE, seed=10 + i) for i in range(HONEST)]
    return [Update(address(i), 100, {"0000/w": GLOBAL["0000/w"] + TRUE + noise[i]}) for i in range(HONEST)]


def _attacker(i: int, delta: np.ndarray, *, num_samples: int = 100) -> Update:
    return Update(address(100 + i), num_samples, {"0000/w": (GLOBAL["0000/w"] + delta).astype(np.float32)})


def _error(result: AggregationResult) -> float:
    diff = result.weights["0000/w"].astype(np.float64) - (GLOBAL["0000/w"] + TRUE)
    return float(np.sqrt(np.square(diff).sum())) / TRUE_NORM


def _run(attackers: list[Update], config: RuleConfig) -> AggregationResult:
    return aggregate(GLOBAL, _honest() + attackers, config)


def test_without_attack_every_rule_recovers_the_honest_direction() -> None:
    for config in [FEDAVG, *ROBUST.values()]:
        assert _error(_run([], config)) < 0.05, config.rule


@pytest.mark.parametrize("name", sorted(ROBUST))
def test_huge_norm_update_moves_fedavg_but_not_robust_rules(name: str) -> None:
    attack = [_attacker(0, np.full(SIZE, 1e4, dtype=np.float32))]
    assert _error(_run(attack, FEDAVG)) > 100
    # Clipping leaves the attacker a pull of at most bound / n (about 0.2 |true| here).
    limit = 0.25 if name == "norm_clipped_fedavg" else 0.05
    assert _error(_run(attack, ROBUST[name])) < limit


@pytest.mark.parametrize("name", sorted(ROBUST))
def test_sign_flipped_updates_reverse_fedavg_but_not_robust_rules(name: str) -> None:
    attack = [_attacker(i, -10 * TRUE) for i in range(2)]
    fedavg_error = _error(_run(attack, FEDAVG))
    assert fedavg_error > 2  # the aggregate points the wrong way
    # Clipping bounds the damage (2 of 9 updates at 1.5 |true|), it cannot remove it.
    limit = 0.75 if name == "norm_clipped_fedavg" else 0.05
    assert _error(_run(attack, ROBUST[name])) < limit


@pytest.mark.parametrize("config", [FEDAVG, *ROBUST.values()], ids=lambda c: c.rule)
def test_nan_update_is_rejected_by_every_rule(config: RuleConfig) -> None:
    poisoned = np.zeros(SIZE, dtype=np.float32)
    poisoned[17] = np.nan
    result = _run([_attacker(0, poisoned)], config)
    assert result.verdicts[-1].reason == Reason.NON_FINITE
    assert np.isfinite(result.weights["0000/w"]).all()
    assert result.weights["0000/w"].tobytes() == _run([], config).weights["0000/w"].tobytes()


def _reward_share(result: AggregationResult, trainer: str) -> float:
    return result.trainer_weights.get(trainer, 0) / sum(result.trainer_weights.values())


def test_free_rider_is_paid_by_fedavg_but_not_by_multi_krum() -> None:
    # Sends G plus a tiny perturbation and claims many samples.
    rider = _attacker(0, 1e-6 * pseudo_random(SIZE, seed=99), num_samples=1000)
    fedavg = _run([rider], FEDAVG)
    assert _reward_share(fedavg, rider.trainer) > 0.5 and _error(fedavg) > 0.5
    krum = _run([rider], ROBUST["multi_krum"])
    assert rider.trainer not in krum.trainer_weights and _error(krum) < 0.05
    for name in ("median", "trimmed_mean"):
        robust = _run([rider], ROBUST[name])
        assert _reward_share(robust, rider.trainer) <= 1 / 8 and _error(robust) < 0.05


def test_exact_copy_of_the_global_model_is_rejected_by_every_rule() -> None:
    copy = _attacker(0, np.zeros(SIZE, dtype=np.float32), num_samples=1000)
    for config in [FEDAVG, *ROBUST.values()]:
        result = _run([copy], config)
        assert copy.trainer not in result.trainer_weights and result.verdicts[-1].reason == Reason.UNCHANGED
