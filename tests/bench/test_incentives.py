"""The incentive simulation (bench/incentives.py) at toy size: the contract mirror against a round
worked out by hand, the report's schema, and the mirror against the real contracts on anvil."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # `bench` lives at the project root, next to `offchain`

from bench.common import Setup  # noqa: E402
from bench.incentives_agents import signer  # noqa: E402
from bench.incentives_ledger import Due, LedgerRevert, MirrorLedger, Status, Terms  # noqa: E402
from offchain.chain.protocol import ZERO_ROOT, update_commitment, vote_commitment  # noqa: E402
from offchain.chain.protocol import proposal_hash as proposal  # noqa: E402
from offchain.fl.merkle import build_penalty_tree, build_tree  # noqa: E402

TERMS = Terms(
    num_rounds=2,
    reward_pool=1000,
    trainer_share_bps=7000,
    quorum_bps=6000,
    min_trainer_stake=10,
    min_validator_stake=100,
    stake_per_sample=1,
    trainer_non_reveal_slash_bps=1000,
    trainer_penalty_bps=2000,
    validator_non_reveal_slash_bps=1000,
    validator_losing_slash_bps=500,
)
A, B, C, V1, V2, V3 = (signer(n).address.lower() for n in ("a", "b", "c", "v1", "v2", "v3"))
_CALLS = (
    "approve",
    "stake",
    "commitUpdate",
    "revealUpdate",
    "attestAvailability",
    "commitVote",
    "revealVote",
    "finalizeRound",
    "slash",
    "penalizeTrainer",
    "claimTrainerReward",
    "claimValidatorReward",
    "withdraw",
)
SALT = b"\7" * 32
CID = "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"


def _update(ledger: MirrorLedger, trainer: str, samples: int, *, reveal: bool = True) -> None:
    ledger.commit_update(trainer, update_commitment(1, ledger.current, trainer, CID, samples, SALT))
    if reveal:
        ledger.reveal_update(trainer, CID, samples, SALT)


def _vote(ledger: MirrorLedger, validator: str, cid: str, reward_root: bytes, penalty_root: bytes) -> None:
    ledger.commit_vote(
        validator, vote_commitment(1, ledger.current, validator, proposal(cid, reward_root, penalty_root), SALT)
    )


def test_mirror_ledger_settles_two_rounds_as_worked_out_by_hand() -> None:
    ledger = MirrorLedger(TERMS, dict.fromkeys(_CALLS, 1), dict.fromkeys((A, B, C, V1, V2, V3), 1000))
    for trainer, stake in ((A, 40), (B, 50), (C, 30)):
        ledger.stake(trainer, "trainer", stake)
    for validator in (V1, V2, V3):
        ledger.stake(validator, "validator", 100)
    # Round 0: reward 1000 // 2 = 500 (pool 500 left), trainer pool 350. C commits and never reveals.
    assert (ledger.round_reward, ledger.pool, ledger.trainer_pool()) == (500, 500, 350)
    _update(ledger, A, 40)
    _update(ledger, B, 50)
    _update(ledger, C, 30, reveal=False)
    for validator in (V1, V2, V3):
        ledger.attest(validator, b"\x03")
    rewards, penalties = build_tree([(A, 150), (B, 200)]), build_penalty_tree([B])
    other = build_tree([(C, 350)])
    for validator, root in ((V1, rewards.root), (V2, rewards.root), (V3, other.root)):
        _vote(ledger, validator, CID, root, penalties.root)
    for validator, root in ((V1, rewards.root), (V2, rewards.root), (V3, other.root)):
        ledger.reveal_vote(validator, CID, root, penalties.root, SALT)
    # 200 of 300 validator stake >= 60 %: accepted, the whole reward is owed; round 1 gets 500 // 1 of the 500 left.
    # Round 1's stake snapshot: the 300 staked plus the 150 owed to V1 and V2 (restaked when they next act).
    outcome = ledger.finalize(V1)
    assert (outcome.status, outcome.winning_stake, ledger.unclaimed, ledger.round_reward, ledger.pool) == (
        Status.ACCEPTED, 200, 500, 500, 0,
    )  # fmt: skip
    assert ledger.round_stake == ledger.validator_stake == 450
    assert ledger.due(C) == Due.SLASH and ledger.due(V3) == Due.SLASH and ledger.due(V1) == Due.REWARD
    ledger.slash(V1, 0, C)  # non-reveal: 10 % of 30 = 3
    ledger.slash(V1, 0, V3)  # losing aggregate: 5 % of 100 = 5, so 95 < 100: deactivated
    ledger.penalize(V1, 0, B, penalties.proof_for(B))  # 20 % of 50 = 10
    assert (ledger.account(C).stake, ledger.account(V3).stake, ledger.account(B).stake) == (27, 95, 40)
    assert not ledger.account(V3).active and ledger.total_validator_stake == 200 and ledger.pool == 18
    # Before round 1's Attest phase the snapshot follows: V3's slash and deactivation take its 100 out.
    assert ledger.round_stake == ledger.validator_stake == 350
    # Round 1: B's stake now backs 40 samples, not 50.
    _update(ledger, A, 40)
    ledger.commit_update(B, update_commitment(1, 1, B, CID, 50, SALT))
    with pytest.raises(LedgerRevert, match="FLTaskManagerSamplesNotBacked"):
        ledger.reveal_update(B, CID, 50, SALT)
    for validator in (V1, V2):  # joining settles round 0: 150 * 100 // 200 = 75 restaked each
        ledger.attest(validator, b"\x01")
    # One snapshot for the round (it already counted both rewards): not 275 for V1 then 350 for V2.
    assert [(a.weight, a.total_stake) for a in ledger.attestations(1)] == [(175, 350), (175, 350)]
    for validator in (V1, V2):
        _vote(ledger, validator, "", ZERO_ROOT, ZERO_ROOT)
    for validator in (V1, V2):
        ledger.reveal_vote(validator, "", ZERO_ROOT, ZERO_ROOT, SALT)
    # Rejected: nobody is paid, the whole reward (500) goes back to the pool; round 0's trainer pool is still owed.
    outcome = ledger.finalize(V2)
    assert (outcome.status, ledger.pool, ledger.unclaimed, ledger.completed) == (Status.REJECTED, 518, 350, True)
    assert ledger.due(B) == Due.SLASH  # committed, could not reveal
    assert ledger.due(V1) == ledger.due(V2) == Due.NOTHING  # reject voters: neither paid nor slashed
    with pytest.raises(LedgerRevert, match="FLTaskManagerNoValidatorReward"):
        ledger.claim_validator(V1, 1)
    ledger.claim_trainer(A, 0, 150, rewards.proof_for(A))
    ledger.claim_trainer(B, 0, 200, rewards.proof_for(B))
    with pytest.raises(LedgerRevert, match="FLTaskManagerAlreadyClaimed"):
        ledger.claim_trainer(A, 0, 150, rewards.proof_for(A))
    assert ledger.unclaimed == 0
    assert [ledger.withdraw(x) for x in (A, B, C, V1, V2, V3)] == [
        40,
        36,
        27,
        175,
        175,
        95,
    ]  # B: 10 % of 40 at settlement
    net = {x: ledger.balance(x) - 1000 for x in (A, B, C, V1, V2, V3)}
    assert net == {A: 150, B: 200 - 14, C: -3, V1: 75, V2: 75, V3: -5}
    # Slashes (3 + 5 + 10 + 4) went to the pool, rewards (500) came out of it: nothing created or lost.
    assert ledger.pool == 522 and sum(net.values()) + ledger.pool == 1000


def test_mirror_ledger_before_issue_12_slashes_reject_votes_and_takes_no_collateral() -> None:
    old = Terms(**{**TERMS.__dict__, "stake_per_sample": 0, "trainer_penalty_bps": 0, "old_rules": True})
    ledger = MirrorLedger(old, dict.fromkeys(_CALLS, 1), dict.fromkeys((A, V1, V2, V3), 1000))
    ledger.stake(A, "trainer", 10)
    for validator in (V1, V2, V3):
        ledger.stake(validator, "validator", 100)
    _update(ledger, A, 10**9)  # any sample count: nothing backs it
    rewards = build_tree([(A, 350)])
    for validator, cid, root in ((V1, CID, rewards.root), (V2, CID, rewards.root), (V3, "", ZERO_ROOT)):
        _vote(ledger, validator, cid, root, ZERO_ROOT)
        ledger.reveal_vote(validator, cid, root, ZERO_ROOT, SALT)
    assert ledger.finalize(V1).status == Status.ACCEPTED
    assert ledger.due(V3) == Due.SLASH  # a reject vote in an accepted round lost, then


def test_incentives_at_toy_size_writes_every_strategy_for_both_schemes(tmp_path: Path) -> None:
    from bench.incentives import incentives
    from bench.incentives_agents import LAZY_VARIANTS, PROBE_STRATEGIES, TRAINER_STRATEGIES
    from bench.incentives_report import markdown

    setup = Setup(dataset="digits", model="mlp", trainers=4, rounds=2)
    report = incentives(setup, validators=3, anvil_rounds=0, out="toy.json", plot_path="toy.png", reports=tmp_path)
    saved = json.loads((tmp_path / "toy.json").read_text())
    assert (tmp_path / "toy.png").stat().st_size > 0
    for tables in (saved, saved["baseline"]):
        assert isinstance(tables["scheme"], str) and tables["scheme"]
        assert list(tables["trainer"]) == [*TRAINER_STRATEGIES, *PROBE_STRATEGIES]
        assert list(tables["validator"]) == ["honest", "lazy", "colluding_minority"]
        assert set(tables["validator"]["lazy"]["variants"]) == set(LAZY_VARIANTS)
        for role in ("trainer", "validator"):
            for entry in tables[role].values():
                # net = rewards - slashes - gas, per round, and the difference to the same agents' honest play
                assert entry["net_payoff_per_round"] == pytest.approx(
                    entry["rewards_per_round"] - entry["slashes_per_round"] - entry["gas_per_round"]
                )
                assert entry["vs_honest"] == pytest.approx(
                    entry["net_payoff_per_round"] - entry["honest_net_payoff_per_round"]
                )
        assert tables["trainer"]["honest"]["vs_honest"] == 0.0 and tables["validator"]["honest"]["vs_honest"] == 0.0
    # Mechanics that hold at any size: a free rider is penalized today and never paid; an inflater with
    # the honest stake cannot reveal, so it is slashed for not revealing; before issue 12 it took more.
    today, before = saved["trainer"], saved["baseline"]["trainer"]
    assert today["free_rider"]["rewards_per_round"] == 0 and today["free_rider"]["slashes_per_round"] > 0
    assert today["inflate_x10"]["rewards_per_round"] == 0 and today["inflate_x10"]["slashes_per_round"] > 0
    assert before["free_rider"]["slashes_per_round"] == 0
    assert saved["gas"]["tokens_per_million_gas"] == pytest.approx(1.0)
    assert "| trainer | sybil_split_3 |" in markdown(report)


def test_anvil_check_at_toy_size_pays_and_slashes_the_same_wei_as_the_mirror() -> None:
    from bench.incentives import Experiment, anvil_check
    from bench.incentives_schemes import task_settings

    setup = Setup(dataset="mnist-5k", model="mlp", trainers=10, rounds=2)
    exp = Experiment.build(setup, 5, None, task_settings(2).max_delta_norm_micro)
    check = anvil_check(exp, 2)
    assert check["wei_equal_for_every_account"], json.dumps(check["before_withdraw"], indent=1)
    assert check["same_round_log"]
    log = check["round_log_chain"]
    assert [r["status"] for r in log].count("accepted") >= 1, log
    assert log[0]["penalized"]  # the free rider and the noise sender were penalized on chain too
    slashed = {a["account"] for a in check["before_withdraw"]["accounts"] if a["stake_chain"] == str(95 * 10**18)}
    assert slashed  # the colluding validator lost 5 % of its 100 DFL
    assert {"attestAvailability", "penalizeTrainer", "slash", "claimTrainerReward", "withdraw"} <= set(
        check["gas_measured"]
    )
