"""attestAvailability and finalizeRound."""

from contract_helpers import (
    E18,
    REJECT,
    ZERO,
    Participation,
    Phase,
    Role,
    Status,
    proposal_hash,
    reverts,
)
from offchain.fl.availability import Attestation, decide

CID = "QmAggregateAggregateAggregateAggregateAggregat"


def _status(manager, task, rnd, account):
    status, record = manager.participantStatus(task, rnd, account)
    return Participation(int(status)), str(record)


def _lower(a):
    return a.address.lower()


# --- attestAvailability ---------------------------------------------------------------------


def test_attestAvailability_emits_the_bitmap_with_weight_and_total(manager, proto, task_id, trainers, validators):
    proto.to_phase(task_id, Phase.COMMIT)
    for t in trainers[:3]:
        proto.commit_update(task_id, t)
    proto.to_phase(task_id, Phase.REVEAL)
    tx = proto.reveal_update(task_id, trainers[2])
    assert tx.events["UpdateRevealed"]["index"] == 0
    tx = proto.reveal_update(task_id, trainers[0])
    assert tx.events["UpdateRevealed"]["index"] == 1
    proto.to_phase(task_id, Phase.ATTEST)  # trainers[1] never revealed: the phase ran out
    tx = proto.attest(task_id, validators[0], b"\x02")
    ev = tx.events["AvailabilityAttested"]
    assert (ev["taskId"], ev["round"], ev["validator"], ev["held"]) == (task_id, 0, validators[0], "0x02")
    assert ev["weight"] == 200 * E18 and ev["totalValidatorStake"] == 800 * E18
    assert manager.taskState(task_id)["attests"] == 1
    p = manager.participant(task_id, validators[0])
    assert p["attested"] and not p["committed"] and not p["unsettled"]
    assert manager.participantStatus(task_id, 0, validators[0])[0] == Participation.NONE


def test_attestAvailability_RevertWhen(manager, proto, task_id, trainers, validators):
    proto.to_phase(task_id, Phase.COMMIT)
    proto.commit_update(task_id, trainers[0])
    with reverts(f"FLTaskManagerWrongPhase: {task_id}, {int(Phase.ATTEST)}, {int(Phase.COMMIT)}"):
        manager.attestAvailability(task_id, b"\x01", {"from": validators[0]})
    proto.to_phase(task_id, Phase.REVEAL)
    proto.reveal_update(task_id, trainers[0])
    proto.to_phase(task_id, Phase.ATTEST)
    with reverts("FLTaskManagerBadAttestation: 2, 1"):
        manager.attestAvailability(task_id, b"\x01\x00", {"from": validators[0]})
    with reverts("FLTaskManagerBadAttestation: 0, 1"):
        manager.attestAvailability(task_id, b"", {"from": validators[0]})
    with reverts("FLTaskManagerRoleMismatch"):
        manager.attestAvailability(task_id, b"\x01", {"from": trainers[1]})
    proto.attest(task_id, validators[0])
    with reverts(f"FLTaskManagerAlreadyAttested: {task_id}, 0, {str(validators[0]).lower()}"):
        proto.attest(task_id, validators[0])


def test_validators_cannot_stake_or_exit_during_attest(manager, proto, task_id, trainers, validators):
    proto.to_phase(task_id, Phase.COMMIT)
    proto.commit_update(task_id, trainers[0])
    proto.to_phase(task_id, Phase.REVEAL)
    proto.reveal_update(task_id, trainers[0])
    proto.to_phase(task_id, Phase.ATTEST)
    with reverts(f"FLTaskManagerValidatorStakeFrozen: {task_id}, {int(Phase.ATTEST)}"):
        manager.stake(task_id, 2, E18, {"from": validators[0]})
    with reverts(f"FLTaskManagerValidatorStakeFrozen: {task_id}, {int(Phase.ATTEST)}"):
        manager.requestExit(task_id, {"from": validators[0]})


def test_attest_phase_is_skipped_when_nothing_was_revealed(manager, proto, task_id, trainers):
    proto.to_phase(task_id, Phase.COMMIT)
    proto.commit_update(task_id, trainers[0])
    proto.to_phase(task_id, Phase.AWAITING_FINALIZATION)  # never revealed: no attest or vote phases


# --- finalizeRound ----------------------------------------------------------------------------


def test_finalizeRound_accepted_moves_to_next_round(manager, proto, task_id, chain, accounts):
    tree = proto.run_round(task_id, finalize=False)
    proto.to_phase(task_id, Phase.AWAITING_FINALIZATION)
    stranger = accounts[0]
    pool_before = manager.taskState(task_id)["unallocatedPool"]
    tx = manager.finalizeRound(task_id, {"from": stranger})
    ev = tx.events["RoundFinalized"]
    proposal = proposal_hash("QmAggregate0000", tree.root, ZERO)
    assert ev["status"] == Status.ACCEPTED and ev["winningProposal"] == "0x" + proposal.hex()
    assert ev["rewardRoot"] == "0x" + tree.root.hex() and ev["winningStake"] == 800 * E18
    assert ev["totalValidatorStake"] == 800 * E18 and ev["returnedToPool"] == 0
    started = tx.events["RoundStarted"]
    now = chain[tx.block_number].timestamp
    assert started["round"] == 1 and started["globalModelProposal"] == "0x" + proposal.hex()
    assert started["roundReward"] == pool_before // 2
    assert (started["commitStartsAt"], started["commitDeadline"]) == (now, now + 100)
    out = manager.roundOutcome(task_id, 0)
    assert out["status"] == Status.ACCEPTED and out["winningStake"] == 800 * E18 and out["finalizedAt"] == now
    assert proto.phase(task_id)[:2] == (1, Phase.COMMIT)
    state = manager.taskState(task_id)
    assert state["commits"] == 0 and state["leadingStake"] == 0 and state["activeTrainers"] == 4


def test_finalizeRound_rejected_returns_the_whole_reward(manager, proto, task_id):
    reward = manager.taskState(task_id)["roundReward"]
    proto.run_round(task_id, reject=True, finalize=False)
    proto.to_phase(task_id, Phase.AWAITING_FINALIZATION)
    tx = manager.finalizeRound(task_id, {"from": proto.requester})
    ev = tx.events["RoundFinalized"]
    assert ev["status"] == Status.REJECTED and ev["winningProposal"] == "0x" + REJECT.hex()
    assert ev["returnedToPool"] == reward
    assert ev["rewardRoot"] == "0x" + "00" * 32
    assert tx.events["RoundStarted"]["globalModelProposal"] == "0x" + "00" * 32


def test_finalizeRound_failed_without_quorum(manager, proto, task_id, validators):
    reward = manager.taskState(task_id)["roundReward"]
    pool = manager.taskState(task_id)["unallocatedPool"]
    # 2 of 4 equal validators = 50% < 60% quorum
    proto.run_round(task_id, validators=validators[:2], finalize=False)
    proto.to_phase(task_id, Phase.AWAITING_FINALIZATION)
    tx = manager.finalizeRound(task_id, {"from": proto.requester})
    ev = tx.events["RoundFinalized"]
    assert ev["status"] == Status.FAILED and ev["returnedToPool"] == reward and ev["winningStake"] == 400 * E18
    assert manager.roundOutcome(task_id, 0)["winningStake"] == 0
    assert tx.events["RoundStarted"]["roundReward"] == (pool + reward) // 2


def test_finalizeRound_last_round_completes_task(manager, proto, trainers):
    task = proto.create(numRounds=1)
    proto.stake_all(task)
    proto.run_round(task, finalize=False)
    proto.to_phase(task, Phase.AWAITING_FINALIZATION)
    tx = manager.finalizeRound(task, {"from": trainers[0]})
    assert tx.events["TaskCompleted"]["unallocatedPool"] == 0
    assert "RoundStarted" not in tx.events
    assert tuple(int(x) for x in manager.currentRound(task)) == (0, Phase.COMPLETED, 0)
    with reverts(f"FLTaskManagerWrongPhase: {task}, {Phase.AWAITING_FINALIZATION}, {Phase.COMPLETED}"):
        manager.finalizeRound(task, {"from": trainers[0]})


def test_finalizeRound_RevertWhen_votes_open(manager, proto, task_id):
    with reverts(f"FLTaskManagerWrongPhase: {task_id}, {Phase.AWAITING_FINALIZATION}, {Phase.REGISTRATION}"):
        manager.finalizeRound(task_id, {"from": proto.requester})
    with reverts("FLTaskManagerUnknownTask: 77"):
        manager.finalizeRound(77, {"from": proto.requester})


# --- one stake snapshot per round (issue 19) ----------------------------------------------------


def _winners_owed_50_each(manager, proto, trainers, validators):
    """Validators A and B (100 tokens each) win round 0 together: each is owed 50, restaked lazily at
    its first action of round 1. Round 1 then has one revealed update and waits in its Attest phase.
    The stake of round 1 is 300: A and B hold 150 each, 50 % each, short of the 60 % quorum alone."""
    task = proto.create(numRounds=2, rewardPool=200 * E18, trainerShareBps=0, quorumBps=6000)
    manager.stake(task, Role.TRAINER, 100 * E18, {"from": trainers[0]})
    a, b = validators[:2]
    for v in (a, b):
        manager.stake(task, Role.VALIDATOR, 100 * E18, {"from": v})
    proto.run_round(task, trainers=trainers[:1], validators=[a, b])
    assert manager.roundOutcome(task, 0)["status"] == Status.ACCEPTED
    assert manager.validatorReward(task, 0, a) == manager.validatorReward(task, 0, b) == 50 * E18
    proto.to_phase(task, Phase.COMMIT)
    proto.commit_update(task, trainers[0])
    proto.to_phase(task, Phase.REVEAL)
    proto.reveal_update(task, trainers[0])
    proto.to_phase(task, Phase.ATTEST)
    return task, a, b


def test_a_restaked_reward_cannot_pass_the_availability_quorum_with_less_than_quorum_of_the_snapshot(
    manager, proto, trainers, validators
):
    """The audit's case: A's reward of round 0 is restaked at its first action of round 1, so A
    attests with 150. The denominator used to be the total when A attested (250, B's reward not yet
    restaked): 150 x 10^4 >= 6,000 x 250 let A alone make the update available, and the two
    attestations summed to 12,000 bps. Every attestation of the round now carries the round's one
    snapshot, 300, with both owed rewards in it."""
    task, a, b = _winners_owed_50_each(manager, proto, trainers, validators)
    first = proto.attest(task, a, b"\x01").events["AvailabilityAttested"]
    second = proto.attest(task, b, b"\x00").events["AvailabilityAttested"]
    atts = [
        Attestation(str(e["validator"]), bytes(e["held"]), e["weight"], e["totalValidatorStake"])
        for e in (first, second)
    ]
    verdict = decide(1, atts, 6000)  # what every validator computes off-chain from the events
    assert verdict.status(0) == "under_attested" and verdict.attested_bps[0] == 5000
    assert sum(x.weight for x in atts) * 10_000 // atts[0].total_stake <= 10_000
    assert first["weight"] == second["weight"] == 150 * E18
    assert first["totalValidatorStake"] == second["totalValidatorStake"] == 300 * E18
    assert manager.taskState(task)["totalValidatorStake"] == 300 * E18


def test_a_restaked_reward_cannot_pass_the_vote_quorum_with_less_than_quorum_of_the_snapshot(
    manager, proto, trainers, validators
):
    """The same for the vote: B, owed 50, does not act in round 1, so its reward is never restaked.
    A's 150 used to reach 60 % of the total at finalization (250); it is 50 % of the round's 300."""
    task, a, b = _winners_owed_50_each(manager, proto, trainers, validators)
    proto.attest(task, a)
    assert manager.participant(task, b)["stake"] == 100 * E18  # B's reward stays owed, not restaked
    proto.to_phase(task, Phase.VOTE_COMMIT)
    assert proto.commit_vote(task, a, "QmAlone", ZERO).events["VoteCommitted"]["weight"] == 150 * E18
    proto.to_phase(task, Phase.VOTE_REVEAL)
    proto.reveal_vote(task, a)
    proto.to_phase(task, Phase.AWAITING_FINALIZATION)
    assert manager.taskState(task)["leadingStake"] == 150 * E18
    ev = manager.finalizeRound(task, {"from": proto.requester}).events["RoundFinalized"]
    assert ev["status"] == Status.FAILED and ev["winningStake"] == 150 * E18
    assert ev["totalValidatorStake"] == 300 * E18 and ev["returnedToPool"] == 100 * E18


def test_the_snapshot_moves_with_stakes_and_exits_before_attest_and_never_after(
    manager, proto, task_id, trainers, validators, accounts, token
):
    """Validators stake, top up and exit only before the Attest phase, and the round's snapshot
    follows them there; from the Attest phase on, restakes, slashes and claims leave it alone."""
    assert manager.taskState(task_id)["totalValidatorStake"] == 800 * E18  # Registration: the stakes
    proto.run_round(task_id, validators=validators[:3])  # validators[3] never takes part
    owed = manager.roundOutcome(task_id, 0)["validatorPool"]
    assert manager.taskState(task_id)["totalValidatorStake"] == 800 * E18 + owed
    newcomer = accounts[0]
    token.approve(manager, 2**256 - 1, {"from": newcomer})
    manager.stake(task_id, Role.VALIDATOR, 100 * E18, {"from": newcomer})  # Commit phase of round 1
    manager.stake(task_id, Role.VALIDATOR, 50 * E18, {"from": validators[1]})  # a top-up
    manager.requestExit(task_id, {"from": validators[3]})
    snapshot = 800 * E18 + owed + 150 * E18 - 200 * E18
    assert manager.taskState(task_id)["totalValidatorStake"] == snapshot
    proto.commit_update(task_id, trainers[0])
    proto.to_phase(task_id, Phase.REVEAL)
    proto.reveal_update(task_id, trainers[0])
    proto.to_phase(task_id, Phase.ATTEST)
    manager.claimValidatorReward(task_id, 0, {"from": validators[0]})  # leaves the stake: the snapshot stays
    weights = {}
    for v in (newcomer, *validators[:3]):
        ev = proto.attest(task_id, v).events["AvailabilityAttested"]
        assert ev["totalValidatorStake"] == snapshot
        weights[v] = ev["weight"]
    assert weights[newcomer] == 100 * E18 and weights[validators[1]] == 250 * E18 + owed // 3
    assert sum(weights.values()) <= snapshot
    assert manager.taskState(task_id)["totalValidatorStake"] == snapshot
