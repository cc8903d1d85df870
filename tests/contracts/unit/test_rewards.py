"""claimTrainerReward / claimValidatorReward / slash / returnUnspentPool and the reward views."""

from contract_helpers import E18, ZERO, MerkleTree, Participation, Phase, Reason, Status, reverts


def _lower(a):
    return a.address.lower()


def test_claimTrainerReward(manager, token, proto, task_id, trainers):
    tree = proto.run_round(task_id)
    t = trainers[0]
    amount = tree.values[0][1]
    before = token.balanceOf(t)
    tx = manager.claimTrainerReward(task_id, 0, amount, tree.proof(t, amount), {"from": t})
    ev = tx.events["TrainerRewardClaimed"]
    assert (ev["taskId"], ev["round"], ev["trainer"], ev["amount"]) == (task_id, 0, t, amount)
    assert token.balanceOf(t) == before + amount
    assert manager.trainerRewardClaimed(task_id, 0, t) and not manager.trainerRewardClaimed(task_id, 0, trainers[1])
    assert manager.roundOutcome(task_id, 0)["trainerClaimed"] == amount


def test_claimTrainerReward_RevertWhen(manager, proto, task_id, trainers):
    t = trainers[0]
    with reverts(f"FLTaskManagerRoundNotFinalized: {task_id}, 0"):
        manager.claimTrainerReward(task_id, 0, 1, [], {"from": t})
    tree = proto.run_round(task_id)
    amount = tree.values[0][1]
    with reverts(f"FLTaskManagerInvalidProof: {task_id}, 0, {_lower(t)}, {amount + 1}"):
        manager.claimTrainerReward(task_id, 0, amount + 1, tree.proof(t, amount), {"from": t})
    with reverts("FLTaskManagerInvalidProof"):
        manager.claimTrainerReward(task_id, 0, amount, tree.proof(t, amount), {"from": trainers[1]})
    manager.claimTrainerReward(task_id, 0, amount, tree.proof(t, amount), {"from": t})
    with reverts(f"FLTaskManagerAlreadyClaimed: {task_id}, 0, {_lower(t)}"):
        manager.claimTrainerReward(task_id, 0, amount, tree.proof(t, amount), {"from": t})
    proto.run_round(task_id, reject=True)
    with reverts(f"FLTaskManagerRoundNotAccepted: {task_id}, 1, {Status.REJECTED}"):
        manager.claimTrainerReward(task_id, 1, amount, tree.proof(t, amount), {"from": t})


def test_claimTrainerReward_RevertWhen_root_overpays(manager, proto, task_id, trainers, validators):
    """A (malicious) majority's root promising more than the pool cannot drain other rounds."""
    pool = manager.roundOutcome(task_id, 0)["trainerPool"]
    greedy = MerkleTree([(str(trainers[0]), pool), (str(trainers[1]), pool)])
    proto.to_phase(task_id, Phase.COMMIT)
    for t in trainers:
        proto.commit_update(task_id, t)
    proto.to_phase(task_id, Phase.REVEAL)
    for t in trainers:
        proto.reveal_update(task_id, t)
    proto.to_phase(task_id, Phase.VOTE_COMMIT)
    for v in validators:
        proto.commit_vote(task_id, v, "QmGreedy", greedy.root)
    proto.to_phase(task_id, Phase.VOTE_REVEAL)
    for v in validators:
        proto.reveal_vote(task_id, v)
    proto.to_phase(task_id, Phase.AWAITING_FINALIZATION)
    manager.finalizeRound(task_id, {"from": trainers[0]})
    manager.claimTrainerReward(task_id, 0, pool, greedy.proof(trainers[0], pool), {"from": trainers[0]})
    with reverts(f"FLTaskManagerTrainerPoolExceeded: {task_id}, 0, {pool}, 0"):
        manager.claimTrainerReward(task_id, 0, pool, greedy.proof(trainers[1], pool), {"from": trainers[1]})


def test_claimValidatorReward(manager, token, proto, task_id, validators):
    proto.run_round(task_id)
    out = manager.roundOutcome(task_id, 0)
    share = out["validatorPool"] * 200 * E18 // out["winningStake"]
    v = validators[0]
    assert manager.validatorReward(task_id, 0, v) == share
    before = token.balanceOf(v)
    tx = manager.claimValidatorReward(task_id, 0, {"from": v})
    ev = tx.events["ValidatorRewardClaimed"]
    assert (ev["validator"], ev["amount"], ev["restaked"]) == (v, share, False)
    assert token.balanceOf(v) == before + share
    assert manager.validatorReward(task_id, 0, v) == 0
    assert manager.roundOutcome(task_id, 0)["validatorClaimed"] == share
    with reverts(f"FLTaskManagerNoValidatorReward: {task_id}, 0, {_lower(v)}"):
        manager.claimValidatorReward(task_id, 0, {"from": v})


def test_rejected_round_pays_its_reject_voters_nothing_and_returns_its_reward_to_the_pool(
    manager, token, proto, task_id, validators
):
    """A validator that always votes reject without computing anything used to be paid in full in
    every rejected round. Now a rejected round owes nothing: its whole reward goes back to the pool
    and is spread over the later rounds; the reject votes are not slashed either."""
    state = manager.taskState(task_id)
    reward, pool = state["roundReward"], state["unallocatedPool"]
    proto.run_round(task_id, reject=True, finalize=False)  # every validator votes reject
    proto.to_phase(task_id, Phase.AWAITING_FINALIZATION)
    tx = manager.finalizeRound(task_id, {"from": proto.requester})
    ev = tx.events["RoundFinalized"]
    assert ev["status"] == Status.REJECTED and ev["returnedToPool"] == reward
    assert tx.events["RoundStarted"]["roundReward"] == (pool + reward) // 2
    state = manager.taskState(task_id)
    assert state["unclaimedRewards"] == 0 and state["unallocatedPool"] == pool + reward - (pool + reward) // 2
    held = token.balanceOf(manager)
    for v in validators:
        assert manager.validatorReward(task_id, 0, v) == 0
        with reverts(f"FLTaskManagerNoValidatorReward: {task_id}, 0, {_lower(v)}"):
            manager.claimValidatorReward(task_id, 0, {"from": v})
        with reverts(f"FLTaskManagerNotSlashable: {task_id}, 0, {_lower(v)}"):
            manager.slash(task_id, 0, v, {"from": proto.requester})
    assert token.balanceOf(manager) == held
    # Settling the rejected round at the validators' next action pays and slashes nothing.
    proto.to_phase(task_id, Phase.COMMIT)
    proto.commit_update(task_id, proto.trainers[0])
    proto.to_phase(task_id, Phase.REVEAL)
    proto.reveal_update(task_id, proto.trainers[0])
    proto.to_phase(task_id, Phase.ATTEST)
    for v in validators:
        tx = proto.attest(task_id, v)
        assert "ValidatorRewardClaimed" not in tx.events and "Slashed" not in tx.events
        assert tx.events["AvailabilityAttested"]["weight"] == 200 * E18
    out = manager.roundOutcome(task_id, 0)
    assert out["status"] == Status.REJECTED and out["validatorClaimed"] == 0 and out["trainerClaimed"] == 0


def test_claimValidatorReward_RevertWhen(manager, proto, task_id, trainers, validators):
    v = validators[0]
    with reverts("FLTaskManagerNoValidatorReward"):
        manager.claimValidatorReward(task_id, 0, {"from": v})  # never voted
    proto.run_round(task_id, finalize=False)
    with reverts(f"FLTaskManagerRoundNotFinalized: {task_id}, 0"):
        manager.claimValidatorReward(task_id, 0, {"from": v})
    with reverts("FLTaskManagerNoValidatorReward"):
        manager.claimValidatorReward(task_id, 0, {"from": trainers[0]})


def _vote_split(proto, task_id, trainers, validators, minority_cid: str):
    """All trainers submit; three validators vote for the aggregate QmGood, the fourth for `minority_cid`
    ("" = reject). Returns the reward tree."""
    proto.to_phase(task_id, Phase.COMMIT)
    for t in trainers:
        proto.commit_update(task_id, t)
    proto.to_phase(task_id, Phase.REVEAL)
    for t in trainers:
        proto.reveal_update(task_id, t)
    tree = proto.rewards_tree(task_id)
    proto.to_phase(task_id, Phase.VOTE_COMMIT)
    for v in validators[:3]:
        proto.commit_vote(task_id, v, "QmGood", tree.root)
    proto.commit_vote(task_id, validators[3], minority_cid, tree.root if minority_cid else ZERO)
    proto.to_phase(task_id, Phase.VOTE_REVEAL)
    for v in validators:
        proto.reveal_vote(task_id, v)
    return tree


def test_validator_voting_another_aggregate_has_no_reward_and_is_slashed(
    manager, proto, task_id, trainers, validators, accounts
):
    _vote_split(proto, task_id, trainers, validators, "QmOther")
    manager.finalizeRound(task_id, {"from": accounts[0]})
    loser = validators[3]
    assert manager.validatorReward(task_id, 0, loser) == 0
    with reverts("FLTaskManagerNoValidatorReward"):
        manager.claimValidatorReward(task_id, 0, {"from": loser})
    with reverts("FLTaskManagerNotSlashable"):
        manager.slash(task_id, 0, validators[0], {"from": accounts[0]})
    pool = manager.taskState(task_id)["unallocatedPool"]
    tx = manager.slash(task_id, 0, loser, {"from": accounts[0]})
    ev = tx.events["Slashed"]
    assert (ev["taskId"], ev["round"], ev["account"], ev["reason"]) == (task_id, 0, loser, Reason.VALIDATOR_LOSING_VOTE)
    assert ev["amount"] == 60 * E18 and ev["remainingStake"] == 140 * E18
    assert manager.taskState(task_id)["unallocatedPool"] == pool + 60 * E18
    # Round 1 has not reached its Attest phase: the slash lowers its snapshot (the stakes plus the
    # three winners' owed rewards) at once.
    owed = manager.roundOutcome(task_id, 0)["validatorPool"]
    assert manager.taskState(task_id)["totalValidatorStake"] == 800 * E18 + owed - 60 * E18
    with reverts(f"FLTaskManagerNotSlashable: {task_id}, 0, {_lower(loser)}"):
        manager.slash(task_id, 0, loser, {"from": accounts[0]})


def test_reject_vote_in_an_accepted_round_is_neither_paid_nor_slashed(
    manager, proto, task_id, trainers, validators, accounts
):
    """A validator whose own data says the aggregate is worse votes reject in good faith: losing that
    judgement costs it the round's reward, not stake, and it stays active."""
    _vote_split(proto, task_id, trainers, validators, "")
    manager.finalizeRound(task_id, {"from": accounts[0]})
    dissenter = validators[3]
    assert manager.validatorReward(task_id, 0, dissenter) == 0
    with reverts(f"FLTaskManagerNotSlashable: {task_id}, 0, {_lower(dissenter)}"):
        manager.slash(task_id, 0, dissenter, {"from": accounts[0]})
    proto.to_phase(task_id, Phase.COMMIT)
    proto.commit_update(task_id, trainers[0])
    proto.to_phase(task_id, Phase.REVEAL)
    proto.reveal_update(task_id, trainers[0])
    proto.to_phase(task_id, Phase.VOTE_COMMIT)
    tx = proto.commit_vote(task_id, dissenter, "QmNext", b"\1" * 32)  # settles round 0: nothing due
    assert "Slashed" not in tx.events and "ValidatorRewardClaimed" not in tx.events
    p = manager.participant(task_id, dissenter)
    assert p["stake"] == 200 * E18 and p["active"]


def test_minimum_stake_validator_outvoted_on_quality_stays_active(manager, proto, trainers, validators, accounts):
    """Attack 4 of the soundness issue: a minimum-stake validator in the losing minority used to be slashed
    below the minimum, deactivated and locked out. A reject vote outvoted on quality no longer costs stake."""
    task = proto.create(minValidatorStake=100 * E18, validatorLosingSlashBps=500)
    for t in trainers:
        manager.stake(task, 1, 100 * E18, {"from": t})
    for v in validators:
        manager.stake(task, 2, 100 * E18, {"from": v})
    _vote_split(proto, task, trainers, validators, "")
    manager.finalizeRound(task, {"from": accounts[0]})
    proto.to_phase(task, Phase.COMMIT)
    proto.commit_update(task, trainers[0])
    proto.to_phase(task, Phase.REVEAL)
    proto.reveal_update(task, trainers[0])
    proto.to_phase(task, Phase.ATTEST)
    proto.attest(task, validators[3])
    proto.to_phase(task, Phase.VOTE_COMMIT)
    proto.commit_vote(task, validators[3], "QmNext", b"\1" * 32)
    p = manager.participant(task, validators[3])
    assert p["active"] and p["stake"] == 100 * E18 and manager.taskState(task)["activeValidators"] == 4


def test_slash_non_revealers(manager, proto, task_id, trainers, validators, accounts):
    proto.to_phase(task_id, Phase.COMMIT)
    for t in trainers:
        proto.commit_update(task_id, t)
    proto.to_phase(task_id, Phase.REVEAL)
    for t in trainers[1:]:
        proto.reveal_update(task_id, t)
    proto.to_phase(task_id, Phase.VOTE_COMMIT)
    for v in validators:
        proto.commit_vote(task_id, v, "", ZERO)
    proto.to_phase(task_id, Phase.VOTE_REVEAL)
    for v in validators[1:]:
        proto.reveal_vote(task_id, v)
    with reverts("FLTaskManagerNotSlashable"):  # round not finalized yet
        manager.slash(task_id, 0, trainers[0], {"from": accounts[0]})
    proto.to_phase(task_id, Phase.AWAITING_FINALIZATION)
    manager.finalizeRound(task_id, {"from": accounts[0]})
    tx = manager.slash(task_id, 0, trainers[0], {"from": accounts[0]})
    assert tx.events["Slashed"]["reason"] == Reason.TRAINER_NON_REVEAL and tx.events["Slashed"]["amount"] == 20 * E18
    tx = manager.slash(task_id, 0, validators[0], {"from": accounts[0]})
    assert tx.events["Slashed"]["reason"] == Reason.VALIDATOR_NON_REVEAL and tx.events["Slashed"]["amount"] == 40 * E18
    with reverts("FLTaskManagerNotSlashable"):
        manager.slash(task_id, 0, trainers[1], {"from": accounts[0]})  # revealed
    with reverts("FLTaskManagerNotSlashable"):
        manager.slash(task_id, 1, trainers[0], {"from": accounts[0]})
    with reverts("FLTaskManagerUnknownTask"):
        manager.slash(55, 0, trainers[0], {"from": accounts[0]})


def test_unclaimed_validator_reward_is_restaked_at_next_vote(manager, proto, task_id, validators):
    proto.run_round(task_id)
    v = validators[0]
    share = manager.validatorReward(task_id, 0, v)
    total = manager.taskState(task_id)["totalValidatorStake"]
    assert total == 800 * E18 + manager.roundOutcome(task_id, 0)["validatorPool"]
    proto.to_phase(task_id, Phase.COMMIT)
    for t in proto.trainers:
        proto.commit_update(task_id, t)
    proto.to_phase(task_id, Phase.REVEAL)
    for t in proto.trainers:
        proto.reveal_update(task_id, t)
    proto.to_phase(task_id, Phase.VOTE_COMMIT)
    tx = proto.commit_vote(task_id, v, "", ZERO)
    ev = tx.events["ValidatorRewardClaimed"]
    assert (ev["round"], ev["amount"], ev["restaked"]) == (0, share, True)
    assert tx.events["VoteCommitted"]["weight"] == 200 * E18 + share
    # The reward was counted in the stake snapshot from round 0's finalization: restaking it moves nothing.
    assert manager.taskState(task_id)["totalValidatorStake"] == total
    assert int(manager.participantStatus(task_id, 0, v)[0]) == Participation.UNRECORDED


def test_reclaim_returns_the_unallocated_pool_at_completion(manager, token, proto, requester, trainers):
    task = proto.create(numRounds=2)
    proto.stake_all(task)
    with reverts(f"FLTaskManagerTaskNotCompleted: {task}"):
        manager.reclaim(task, {"from": trainers[0]})
    proto.to_phase(task, Phase.AWAITING_FINALIZATION)  # nobody acts: round 0 fails
    manager.finalizeRound(task, {"from": trainers[0]})
    proto.to_phase(task, Phase.AWAITING_FINALIZATION)
    last = manager.finalizeRound(task, {"from": trainers[0]})
    before = token.balanceOf(requester)
    tx = manager.reclaim(task, {"from": trainers[0]})
    ev = tx.events["Reclaimed"]
    assert (ev["taskId"], ev["requester"], ev["unallocated"], ev["unclaimed"]) == (task, requester, 3000 * E18, 0)
    assert token.balanceOf(requester) == before + 3000 * E18
    window_end = last.timestamp + 1000
    with reverts(f"FLTaskManagerNothingToReturn: {task}, {window_end}"):
        manager.reclaim(task, {"from": trainers[0]})
    with reverts("FLTaskManagerUnknownTask: 404"):
        manager.reclaim(404, {"from": trainers[0]})


def test_reclaim_after_the_claim_window_returns_unclaimed_rewards_and_dust_and_closes_claims(
    manager, token, proto, requester, trainers, validators, chain
):
    """Attack 6 of the soundness issue: unclaimed rewards and rounding dust used to stay in the manager for
    ever. After the claim window they go back to the requester, and the manager keeps exactly the stakes."""
    held_before = token.balanceOf(manager)  # other tasks' tokens
    task = proto.create(numRounds=1, claimWindow=500)
    proto.stake_all(task)
    tree = proto.run_round(task)  # Accepted; nobody claims
    state = manager.taskState(task)
    reward = 3000 * E18
    assert state["unclaimedRewards"] == reward and state["unallocatedPool"] == 0
    trainer = trainers[0]
    amount = tree.values[0][1]
    manager.claimTrainerReward(task, 0, amount, tree.proof(trainer, amount), {"from": trainer})
    assert manager.taskState(task)["unclaimedRewards"] == reward - amount
    with reverts(f"FLTaskManagerNothingToReturn: {task}"):
        manager.reclaim(task, {"from": trainers[1]})  # the window is open
    chain.sleep(501)
    chain.mine()
    before = token.balanceOf(requester)
    tx = manager.reclaim(task, {"from": trainers[1]})
    assert tx.events["Reclaimed"]["unclaimed"] == reward - amount
    assert token.balanceOf(requester) == before + reward - amount
    state = manager.taskState(task)
    assert state["unclaimedRewards"] == 0 and state["claimsClosed"]
    with reverts(f"FLTaskManagerClaimsClosed: {task}"):
        manager.claimTrainerReward(task, 0, amount, tree.proof(trainers[1], amount), {"from": trainers[1]})
    with reverts(f"FLTaskManagerClaimsClosed: {task}"):
        manager.claimValidatorReward(task, 0, {"from": validators[0]})
    assert manager.validatorReward(task, 0, validators[0]) == 0
    stakes = sum(manager.participant(task, a)["stake"] for a in [*trainers, *validators])
    assert token.balanceOf(manager) == held_before + stakes  # only the stakes are left, to the wei
    for a in [*trainers, *validators]:  # settlement after closing restakes nothing
        manager.withdraw(task, {"from": a})
    assert token.balanceOf(manager) == held_before


def test_roundOutcome_of_current_and_future_rounds(manager, task_id):
    cur = manager.roundOutcome(task_id, 0)
    assert cur["status"] == Status.OPEN and cur["roundReward"] == 1000 * E18
    assert cur["trainerPool"] == 700 * E18 and cur["validatorPool"] == 300 * E18
    assert manager.roundOutcome(task_id, 2)["roundReward"] == 0
