"""attestAvailability and finalizeRound."""

from contract_helpers import (
    E18,
    REJECT,
    ZERO,
    Participation,
    Phase,
    Status,
    proposal_hash,
    reverts,
)

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
