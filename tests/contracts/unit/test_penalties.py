"""penalizeTrainer, collateral-backed sample counts, and receipts that pay no trainer."""

from contract_helpers import E18, ZERO, Phase, Reason, Status, all_held, reverts
from offchain.fl.merkle import build_penalty_tree


def _lower(account) -> str:
    return str(account).lower()


def _round_with_penalties(proto, task, trainers, validators, penalized, *, finalize=True):
    """Every trainer submits; validators vote for a receipt paying the others and penalizing `penalized`."""
    honest = [t for t in trainers if t not in penalized]
    proto.to_phase(task, Phase.COMMIT)
    for t in trainers:
        proto.commit_update(task, t)
    proto.to_phase(task, Phase.REVEAL)
    for t in trainers:
        proto.reveal_update(task, t)
    rewards = proto.rewards_tree(task, honest)
    penalties = build_penalty_tree([str(t) for t in penalized])
    proto.to_phase(task, Phase.ATTEST)
    for v in validators:
        proto.attest(task, v)
    proto.to_phase(task, Phase.VOTE_COMMIT)
    rnd = proto.m.currentRound(task)[0]
    for v in validators:
        proto.commit_vote(task, v, f"QmReceipt{rnd:04d}", rewards.root, penalties.root)
    proto.to_phase(task, Phase.VOTE_REVEAL)
    for v in validators:
        proto.reveal_vote(task, v)
    if finalize:
        proto.to_phase(task, Phase.AWAITING_FINALIZATION)
        proto.m.finalizeRound(task, {"from": proto.requester})
    return rewards, penalties


def test_penalty_moves_stake_to_the_pool_once(manager, proto, task_id, trainers, validators, accounts):
    bad = trainers[3]
    _, penalties = _round_with_penalties(proto, task_id, trainers, validators, [bad])
    outcome = manager.roundOutcome(task_id, 0)
    assert outcome["status"] == Status.ACCEPTED and outcome["penaltyRoot"] == "0x" + penalties.root.hex()
    pool = manager.taskState(task_id)["unallocatedPool"]
    tx = manager.penalizeTrainer(task_id, 0, bad, penalties.proof_for(str(bad)), {"from": accounts[0]})
    ev = tx.events["Slashed"]
    assert (ev["account"], ev["round"], ev["reason"]) == (bad, 0, Reason.TRAINER_REJECTED_UPDATE)
    assert ev["amount"] == 50 * E18 and ev["remainingStake"] == 150 * E18  # 25% of 200
    assert manager.taskState(task_id)["unallocatedPool"] == pool + 50 * E18
    assert manager.trainerPenalized(task_id, 0, bad)
    with reverts(f"FLTaskManagerAlreadyPenalized: {task_id}, 0, {_lower(bad)}"):
        manager.penalizeTrainer(task_id, 0, bad, penalties.proof_for(str(bad)), {"from": accounts[0]})


def test_penalty_RevertWhen_not_proven(manager, proto, task_id, trainers, validators, accounts):
    bad = trainers[3]
    _, penalties = _round_with_penalties(proto, task_id, trainers, validators, [bad])
    honest = trainers[0]
    with reverts(f"FLTaskManagerInvalidPenaltyProof: {task_id}, 0, {_lower(honest)}"):
        manager.penalizeTrainer(task_id, 0, honest, penalties.proof_for(str(bad)), {"from": accounts[0]})
    with reverts(f"FLTaskManagerRoundNotFinalized: {task_id}, 1"):
        manager.penalizeTrainer(task_id, 1, bad, [], {"from": accounts[0]})
    assert not manager.trainerPenalized(task_id, 0, honest)


def test_penalty_RevertWhen_round_not_accepted(manager, proto, task_id, trainers, accounts):
    proto.run_round(task_id, reject=True)
    with reverts(f"FLTaskManagerRoundNotAccepted: {task_id}, 0, {int(Status.REJECTED)}"):
        manager.penalizeTrainer(task_id, 0, trainers[0], [], {"from": accounts[0]})


def test_penalty_that_would_deactivate_a_committed_trainer_waits_for_the_commit_phase_to_end(
    manager, proto, trainers, validators, accounts
):
    """Deactivating a trainer that already committed in the open Commit phase would let commits reach the
    shrunken active count and close the phase on an honest trainer, as an exit used to."""
    task = proto.create(trainerPenaltyBps=10_000)
    proto.stake_all(task)
    bad = trainers[3]
    _, penalties = _round_with_penalties(proto, task, trainers, validators, [bad])
    proto.to_phase(task, Phase.COMMIT)
    proto.commit_update(task, bad)
    with reverts(f"FLTaskManagerPenaltyDeferred: {task}, {_lower(bad)}, 1"):
        manager.penalizeTrainer(task, 0, bad, penalties.proof_for(str(bad)), {"from": accounts[0]})
    for t in trainers[:2]:
        proto.commit_update(task, t)
    assert proto.phase(task)[1] == Phase.COMMIT  # trainers[2] has not committed yet
    proto.commit_update(task, trainers[2])
    assert proto.phase(task)[1] == Phase.REVEAL
    tx = manager.penalizeTrainer(task, 0, bad, penalties.proof_for(str(bad)), {"from": accounts[0]})
    assert tx.events["Slashed"]["remainingStake"] == 0
    assert not manager.participant(task, bad)["active"]


def test_a_penalized_trainer_cannot_withdraw_before_the_penalty_window_closes(
    manager, proto, trainers, validators, accounts, chain
):
    task = proto.create(numRounds=1, exitCooldown=300)
    proto.stake_all(task)
    bad = trainers[3]
    _, penalties = _round_with_penalties(proto, task, trainers, validators, [bad])
    finalized = manager.roundOutcome(task, 0)["finalizedAt"]
    with reverts(f"FLTaskManagerStakeLocked: {task}, {_lower(bad)}, {finalized + 300}"):
        manager.withdraw(task, {"from": bad})
    manager.penalizeTrainer(task, 0, bad, penalties.proof_for(str(bad)), {"from": accounts[0]})
    chain.sleep(301)
    assert manager.withdraw(task, {"from": bad}).events["Withdrawn"]["amount"] == 150 * E18


def test_an_accepted_receipt_that_pays_no_trainer_returns_the_trainer_pool(
    manager, proto, task_id, trainers, validators
):
    """Every update was bad: the receipt keeps G_r, pays nobody and penalizes everyone; the round is still
    Accepted (so the penalties apply) and its trainer pool goes back to the pool."""
    reward = manager.taskState(task_id)["roundReward"]
    proto.to_phase(task_id, Phase.COMMIT)
    proto.commit_update(task_id, trainers[0])
    proto.to_phase(task_id, Phase.REVEAL)
    proto.reveal_update(task_id, trainers[0])
    penalties = build_penalty_tree([str(trainers[0])])
    proto.to_phase(task_id, Phase.VOTE_COMMIT)
    for v in validators:
        proto.commit_vote(task_id, v, "QmKeepsTheModel", ZERO, penalties.root)
    proto.to_phase(task_id, Phase.VOTE_REVEAL)
    for v in validators:
        proto.reveal_vote(task_id, v)
    tx = manager.finalizeRound(task_id, {"from": proto.requester})
    ev = tx.events["RoundFinalized"]
    trainer_pool = reward * 7000 // 10000
    assert ev["status"] == Status.ACCEPTED and ev["returnedToPool"] == trainer_pool
    assert ev["rewardRoot"] == "0x" + ZERO.hex() and ev["penaltyRoot"] == "0x" + penalties.root.hex()
    assert manager.taskState(task_id)["unclaimedRewards"] == reward - trainer_pool  # only the validators


def test_declared_samples_must_be_backed_by_the_committed_stake(manager, proto, trainers):
    """Attack of the incentives issue: a trainer declaring 2**256 - 1 samples took the whole pool. With
    `stakePerSample`, a stake of 200 tokens at 0.1 token per sample backs at most 2,000 samples."""
    task = proto.create(stakePerSample=E18 // 10)
    proto.stake_all(task)
    proto.to_phase(task, Phase.COMMIT)
    inflated, honest = trainers[0], trainers[1]
    proto.commit_update(task, inflated, samples=2**256 - 1)
    proto.commit_update(task, honest, samples=2000)
    proto.to_phase(task, Phase.REVEAL)
    with reverts(f"FLTaskManagerSamplesNotBacked: {task}, {2**256 - 1}, 2000"):
        proto.reveal_update(task, inflated)
    tx = proto.reveal_update(task, honest)
    assert tx.events["UpdateRevealed"]["numSamples"] == 2000


def test_attest_bitmap_covers_exactly_the_reveals(manager, proto, task_id, trainers, validators):
    proto.to_phase(task_id, Phase.COMMIT)
    for t in trainers:
        proto.commit_update(task_id, t)
    proto.to_phase(task_id, Phase.REVEAL)
    for t in trainers:
        proto.reveal_update(task_id, t)
    assert all_held(4) == b"\x0f"
    tx = proto.attest(task_id, validators[0])
    assert tx.events["AvailabilityAttested"]["held"] == "0x0f"
