"""Robust rules resist attacks that move or exploit plain fedavg.

Seven honest trainers send `G + true + noise`; attackers send something else.
The error is the distance of the new model from `G + true`, relative to |true|.
"""

from __future__ import annotations

import numpy as np
import pytest
from fl_helpers import address, pseudo_random, reward_shares, run_round

from offchain.fl.reasons import Reason
from offchain.fl.records import Update, Verdict
from offchain.fl.round import RoundResult
from offchain.fl.rules import RuleConfig, parse_rule
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
    "consensus_fedavg": parse_rule(5, []),
}


def _honest() -> list[Update]:
    noise = [0.02 * pseudo_random(SIZE, seed=10 + i) for i in range(HONEST)]
    return [Update(address(i), 100, {"0000/w": GLOBAL["0000/w"] + TRUE + noise[i]}) for i in range(HONEST)]


def _attacker(i: int, delta: np.ndarray, *, num_samples: int = 100) -> Update:
    return Update(address(100 + i), num_samples, {"0000/w": (GLOBAL["0000/w"] + delta).astype(np.float32)})


def _error(result: RoundResult) -> float:
    diff = result.weights["0000/w"].astype(np.float64) - (GLOBAL["0000/w"] + TRUE)
    return float(np.sqrt(np.square(diff).sum())) / TRUE_NORM


def _run(attackers: list[Update], config: RuleConfig, *, bound_micro: int = 0) -> RoundResult:
    return run_round(GLOBAL, _honest() + attackers, config, bound_micro=bound_micro)


def _verdict(result: RoundResult, trainer: str) -> Verdict:
    return next(v for v in result.verdicts if v.trainer == trainer)


def test_without_attack_every_rule_recovers_the_honest_direction() -> None:
    for config in [FEDAVG, *ROBUST.values()]:
        assert _error(_run([], config)) < 0.05, config.rule


@pytest.mark.parametrize("name", sorted(ROBUST))
def test_huge_norm_update_moves_fedavg_but_not_robust_rules(name: str) -> None:
    attack = [_attacker(0, np.full(SIZE, 1e4, dtype=np.float32))]
    assert _error(_run(attack, FEDAVG)) > 100
    # Clipping leaves the attacker a pull of at most bound / n (about 0.2 |true| here); the consensus
    # rule clips it to the median change norm, and its score is about zero.
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
    attacker = _attacker(0, poisoned)
    result = _run([attacker], config)
    assert _verdict(result, attacker.trainer).reason == Reason.NON_FINITE
    assert np.isfinite(result.weights["0000/w"]).all()
    assert result.weights["0000/w"].tobytes() == _run([], config).weights["0000/w"].tobytes()


def test_noisy_free_rider_earns_nothing_under_every_rule() -> None:
    """Sends G plus a tiny perturbation (so not a copy) and claims many samples: its change does not
    point where the others' do, so its score is zero and it is paid nothing, whatever the rule; only
    plain fedavg still lets its sample count drag the model. It declares almost half the round's
    samples (650 of 1350): the consensus direction is weighted by samples, so a minority of them
    cannot set it."""
    rider = _attacker(0, 1e-6 * pseudo_random(SIZE, seed=99), num_samples=650)
    fedavg = _run([rider], FEDAVG)
    assert _error(fedavg) > 0.45
    honest = {u.trainer for u in _honest()}
    for config in [FEDAVG, *ROBUST.values()]:
        paid = set(reward_shares(_run([rider], config)))
        assert paid == honest or (config.rule == "multi_krum" and paid < honest), config.rule
    for name in ("median", "trimmed_mean", "multi_krum", "consensus_fedavg"):
        assert _error(_run([rider], ROBUST[name])) < 0.05, name


def test_sign_flipper_scores_zero_and_is_not_paid() -> None:
    flipper = _attacker(0, -TRUE)
    for config in [FEDAVG, *ROBUST.values()]:
        result = _run([flipper], config)
        entry = next(u for u in result.receipt.updates if u.trainer == flipper.trainer)
        assert entry.score_ppm == 0 and entry.reward == 0 and not entry.penalized, config.rule
        assert entry.accepted or entry.reason == "krum_excluded"


def test_exact_copy_of_the_global_model_is_rejected_and_penalized_by_every_rule() -> None:
    copy = _attacker(0, np.zeros(SIZE, dtype=np.float32), num_samples=1000)
    for config in [FEDAVG, *ROBUST.values()]:
        result = _run([copy], config)
        assert copy.trainer not in reward_shares(result)
        assert _verdict(result, copy.trainer).reason == Reason.UNCHANGED
        assert result.receipt.penalties == (copy.trainer,)


def test_huge_update_is_out_of_bounds_and_penalized_and_the_round_goes_on() -> None:
    """Soundness attack 2: finite values of 1e38 used to pass every check and sink the round. With
    the task's norm bound the update is rejected and penalized, and the honest ones are paid."""
    huge = _attacker(0, np.full(SIZE, 1e38, dtype=np.float32))
    bound = int(3 * TRUE_NORM * 1e6)
    for config in [FEDAVG, *ROBUST.values()]:
        result = _run([huge], config, bound_micro=bound)
        assert _verdict(result, huge.trainer).reason == Reason.OUT_OF_BOUNDS
        assert result.receipt.penalties == (huge.trainer,)
        assert set(reward_shares(result)) <= {u.trainer for u in _honest()} and _error(result) < 0.05, config.rule


def test_one_update_revealed_by_three_accounts_is_paid_once() -> None:
    """One trainer with 300 samples and a direction of its own, or the same update sent by three
    accounts declaring 100 samples each, or by three accounts declaring 300 each (backed): the three
    copies agree with each other far beyond what the consensus explains, so they are one reward
    group, paid as one update, and together earn at most what the one account earns."""
    own = (TRUE + 0.5 * pseudo_random(SIZE, seed=77)).astype(np.float32)
    one = _run([_attacker(0, own, num_samples=300)], ROBUST["consensus_fedavg"])
    paid_one = dict(one.receipt.rewards)[address(100)]
    assert paid_one > 0
    sybils = [address(100 + i) for i in range(3)]
    for declared in (100, 300):
        three = _run([_attacker(i, own, num_samples=declared) for i in range(3)], ROBUST["consensus_fedavg"])
        entries = {e.trainer: e for e in three.receipt.updates}
        assert len({entries[s].group for s in sybils}) == 1 and entries[sybils[0]].group == entries[sybils[0]].index
        paid_three = dict(three.receipt.rewards)
        assert sum(paid_three.get(s, 0) for s in sybils) <= paid_one + 3, declared
        honest = [u.trainer for u in _honest()]
        assert all(entries[t].group == entries[t].index for t in honest)  # honest updates stay alone


def test_declaring_more_samples_than_the_others_typically_hold_earns_nothing_more() -> None:
    """Capital-backed inflation: declared counts are unverifiable, so an update counts for at most
    the sample-weighted median of the others' counts (100 here). Declaring 1,000 samples instead of
    100 (with the collateral to back them) changes no score, no reward weight and no payment (the
    model still weighs the declared count, as FedAvg does, within the rule's cap)."""
    own = (TRUE + 0.5 * pseudo_random(SIZE, seed=78)).astype(np.float32)
    truthful = _run([_attacker(0, own, num_samples=100)], ROBUST["consensus_fedavg"])
    inflated = _run([_attacker(0, own, num_samples=1000)], ROBUST["consensus_fedavg"])
    assert truthful.receipt.rewards == inflated.receipt.rewards
    entries = [
        {e.trainer: (e.score_ppm, e.reward_ppm, e.weight) for e in r.receipt.updates} for r in (truthful, inflated)
    ]
    assert entries[0] == entries[1]
    assert dict(truthful.receipt.rewards)[address(100)] > 0


def test_a_majority_of_counted_samples_sets_the_consensus_direction() -> None:
    """The trust assumption of the score, shown: the median is robust to a minority of the counted
    samples, not to a majority. An account counts for at most the others' median count, so one
    account declaring more samples than the seven honest trainers together (800 against 700) counts
    for 100 and earns nothing, and so do two accounts of 400, and eight accounts sending one update (a
    reward group counts as one account); eight accounts of 100 with updates of their own (each backed
    by collateral on-chain: stakePerSample per sample) are a majority, become the direction, and the
    honest updates score zero. docs/protocol.md states it next to the validators' quorum."""
    noise = 1e-6 * pseudo_random(SIZE, seed=99)
    for attackers in ([_attacker(0, noise, num_samples=800)], [_attacker(i, noise, num_samples=400) for i in range(2)]):
        paid = reward_shares(_run(attackers, ROBUST["consensus_fedavg"]))
        assert set(paid) == {u.trainer for u in _honest()}
    copies = [_attacker(i, noise, num_samples=100) for i in range(8)]  # one update eight times: one group
    assert set(reward_shares(_run(copies, ROBUST["consensus_fedavg"]))) == {u.trainer for u in _honest()}
    eight = [_attacker(i, 1e-6 * pseudo_random(SIZE, seed=99 + i), num_samples=100) for i in range(8)]
    paid = reward_shares(_run(eight, ROBUST["consensus_fedavg"]))
    assert set(paid) <= {a.trainer for a in eight} and paid


def test_with_two_trainers_the_larger_one_is_not_the_direction_by_itself() -> None:
    """Two honest trainers, 900 and 100 samples, pointing partly different ways: the direction is
    their mean (each weighs at most what the other does), so both score and both are paid; weighted
    by raw samples the larger one's change would be the direction and the smaller one could score 0."""
    big = Update(address(1), 900, {"0000/w": (GLOBAL["0000/w"] + TRUE).astype(np.float32)})
    side = (TRUE + 1.5 * pseudo_random(SIZE, seed=5)).astype(np.float32)
    small = Update(address(2), 100, {"0000/w": (GLOBAL["0000/w"] + side).astype(np.float32)})
    result = run_round(GLOBAL, [big, small], ROBUST["consensus_fedavg"])
    scores = {e.trainer: e.score_ppm for e in result.receipt.updates}
    assert scores[big.trainer] < 1_000_000 and scores[small.trainer] > 0
    assert set(reward_shares(result)) == {big.trainer, small.trainer}


def test_replaying_last_rounds_global_change_is_not_paid_and_honest_work_is() -> None:
    """Extrapolating the public trajectory: this round's honest changes point largely where last
    round's global change did (here 0.8 of TRUE lies along it, as on the benchmark), so the replay
    agrees with the consensus direction (it scores and weighs in the model) but brings nothing beyond
    the public prediction: reward score 0, paid nothing, with or without a little noise. Honest
    updates carry the rest of TRUE and are paid. Without G_{r-1} (round 0) the same replay is paid."""
    public = (0.8 * TRUE + 0.2 * pseudo_random(SIZE, seed=31)).astype(np.float32)
    previous = {"0000/w": (GLOBAL["0000/w"] - public).astype(np.float32)}
    replay = _attacker(0, public)
    noisy = _attacker(1, (public + 1e-3 * pseudo_random(SIZE, seed=32)).astype(np.float32))
    config = ROBUST["consensus_fedavg"]
    result = run_round(GLOBAL, [*_honest(), replay, noisy], config, previous=previous)
    entries = {e.trainer: e for e in result.receipt.updates}
    for cheat in (replay, noisy):
        assert entries[cheat.trainer].score_ppm > 0 and entries[cheat.trainer].reward_ppm == 0
        assert entries[cheat.trainer].reward == 0
    assert all(entries[u.trainer].reward_ppm > 0 and entries[u.trainer].reward > 0 for u in _honest())
    without_public = run_round(GLOBAL, [*_honest(), replay], config)
    assert dict(without_public.receipt.rewards).get(replay.trainer, 0) > 0


def test_working_against_the_public_trajectory_is_not_forgiven_by_the_reward_score() -> None:
    """The reward score removes the public change G_r - G_{r-1} from both sides; an update that
    pushes the model back along it (as a label flip's change does) must not have that part forgiven.
    The saboteur's change is what the honest changes carry beyond the public prediction plus a small
    step backwards along the public change: beyond the public part it agrees perfectly, overall little
    (score about 0.16; 10,000 parameters, so the floor is 0.05). Its reward score is capped at its
    score, so it is paid less than any honest trainer with the same samples (without the cap: reward
    score 1.0, the best of the round)."""
    size = 10_000
    glob = {"0000/w": pseudo_random(size, seed=1)}
    true = pseudo_random(size, seed=2).astype(np.float64)
    public = 0.8 * true + 0.2 * pseudo_random(size, seed=31)
    unit = public / np.linalg.norm(public)
    beyond = true - (true @ unit) * unit  # what the honest changes carry beyond the public prediction

    def update(i: int, delta: np.ndarray) -> Update:
        return Update(address(i), 100, {"0000/w": (glob["0000/w"] + delta).astype(np.float32)})

    honest = [update(i, true + 0.02 * pseudo_random(size, seed=10 + i)) for i in range(HONEST)]
    saboteur = update(100, beyond - 0.1 * np.linalg.norm(beyond) * unit)
    previous = {"0000/w": (glob["0000/w"] - public).astype(np.float32)}
    result = run_round(glob, [*honest, saboteur], ROBUST["consensus_fedavg"], previous=previous)
    entries = {e.trainer: e for e in result.receipt.updates}
    mine = entries[saboteur.trainer]
    assert 0 < mine.score_ppm < 300_000 and mine.reward_ppm == mine.score_ppm
    assert all(mine.reward < entries[u.trainer].reward for u in honest)


def test_krum_pays_what_it_leaves_out_by_its_reward_score() -> None:
    """Reward and exclusion tell one story under every rule: Multi-Krum keeps the m updates with the
    lowest Krum scores for the model, a robustness choice; an honest update it leaves out is not
    penalized and is paid by its reward score like the others (before, it was paid nothing even when
    its score was the best)."""
    result = run_round(GLOBAL, _honest(), parse_rule(3, [2, 4]))
    left_out = [e for e in result.receipt.updates if e.reason == Reason.KRUM_EXCLUDED]
    assert left_out and all(not e.penalized for e in left_out)
    assert all(e.reward > 0 and e.weight > 0 for e in left_out if e.reward_ppm > 0)
    assert any(e.reward > 0 for e in left_out)
