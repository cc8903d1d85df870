"""The phase clock, commitUpdate / revealUpdate / commitVote / revealVote (attestations and finalize:
test_attest_and_finalize.py)."""

from contract_helpers import (
    E18,
    REJECT,
    ZERO,
    Participation,
    Phase,
    Role,
    proposal_hash,
    reverts,
    update_commitment,
    vote_commitment,
)

CID = "QmAggregateAggregateAggregateAggregateAggregat"


def _status(manager, task, rnd, account):
    status, record = manager.participantStatus(task, rnd, account)
    return Participation(int(status)), str(record)


def _lower(a):
    return a.address.lower()


# --- phases -------------------------------------------------------------------------------


def test_phases_follow_deadlines_when_nobody_acts(manager, proto, task_id, chain):
    tx_time = chain[-1].timestamp
    r, phase, deadline = proto.phase(task_id)
    assert (r, phase) == (0, Phase.REGISTRATION)
    chain.sleep(deadline - chain[-1].timestamp + 1)
    r, phase, commit_deadline = proto.phase(task_id)
    assert phase == Phase.COMMIT and commit_deadline == deadline + 100
    chain.sleep(commit_deadline - chain[-1].timestamp + 1)
    # nobody committed: Reveal and both vote phases are vacuous and end when they start
    r, phase, end = proto.phase(task_id)
    assert phase == Phase.AWAITING_FINALIZATION and end == commit_deadline
    assert tx_time < end


def test_phases_end_early_when_everyone_acted(manager, proto, task_id, trainers, validators, chain):
    proto.to_phase(task_id, Phase.COMMIT)
    for t in trainers[:-1]:
        proto.commit_update(task_id, t)
    assert proto.phase(task_id)[1] == Phase.COMMIT
    tx = proto.commit_update(task_id, trainers[-1])
    now = chain[tx.block_number].timestamp
    _, phase, deadline = proto.phase(task_id)
    assert phase == Phase.REVEAL and deadline == now + 100
    for t in trainers:
        tx = proto.reveal_update(task_id, t)
    now = chain[tx.block_number].timestamp
    assert proto.phase(task_id)[1:] == (Phase.ATTEST, now + 100)
    for v in validators[:-1]:
        proto.attest(task_id, v)
    assert proto.phase(task_id)[1] == Phase.ATTEST
    tx = proto.attest(task_id, validators[-1])
    now = chain[tx.block_number].timestamp
    assert proto.phase(task_id)[1:] == (Phase.VOTE_COMMIT, now + 100)
    for v in validators:
        tx = proto.commit_vote(task_id, v, "", ZERO)
    now = chain[tx.block_number].timestamp
    assert proto.phase(task_id)[1:] == (Phase.VOTE_REVEAL, now + 100)
    for v in validators:
        tx = proto.reveal_vote(task_id, v)
    now = chain[tx.block_number].timestamp
    assert proto.phase(task_id)[1:] == (Phase.AWAITING_FINALIZATION, now)


def test_commit_phase_ends_when_max_trainers_committed(manager, proto, trainers, chain):
    task = proto.create(maxTrainersPerRound=2)
    proto.stake_all(task)
    proto.to_phase(task, Phase.COMMIT)
    proto.commit_update(task, trainers[0])
    proto.commit_update(task, trainers[1])
    assert proto.phase(task)[1] == Phase.REVEAL


def test_exit_of_last_uncommitted_trainer_ends_commit_phase(manager, proto, task_id, trainers):
    proto.to_phase(task_id, Phase.COMMIT)
    for t in trainers[:-1]:
        proto.commit_update(task_id, t)
    manager.requestExit(task_id, {"from": trainers[-1]})
    assert proto.phase(task_id)[1] == Phase.REVEAL


def test_a_committed_trainer_cannot_exit_to_end_the_commit_phase_early(manager, proto, task_id, trainers):
    """Attack 3 of the soundness issue: a trainer commits, then exits, so that the commits reach the
    shrunken active count and the phase closes before an honest trainer committed. The exit now waits
    for the round to be finalized, and the honest trainer still commits."""
    proto.to_phase(task_id, Phase.COMMIT)
    for t in trainers[:-2]:
        proto.commit_update(task_id, t)
    attacker, honest = trainers[-2], trainers[-1]
    proto.commit_update(task_id, attacker)
    with reverts(f"FLTaskManagerRoundUnsettled: {task_id}, {str(attacker).lower()}, 0"):
        manager.requestExit(task_id, {"from": attacker})
    assert proto.phase(task_id)[1] == Phase.COMMIT
    proto.commit_update(task_id, honest)
    assert proto.phase(task_id)[1] == Phase.REVEAL


def test_a_committed_trainer_may_exit_once_its_round_is_finalized(manager, proto, task_id, trainers):
    proto.run_round(task_id)
    tx = manager.requestExit(task_id, {"from": trainers[0]})
    assert "ExitRequested" in tx.events


# --- commitUpdate ---------------------------------------------------------------------------


def test_commitUpdate(manager, proto, task_id, trainers):
    proto.to_phase(task_id, Phase.COMMIT)
    t = trainers[0]
    c = update_commitment(task_id, 0, t, "QmU", 10, b"\1" * 32)
    tx = manager.commitUpdate(task_id, c, {"from": t})
    ev = tx.events["UpdateCommitted"]
    assert (ev["taskId"], ev["round"], ev["trainer"], ev["commitment"]) == (task_id, 0, t, "0x" + c.hex())
    assert _status(manager, task_id, 0, t) == (Participation.COMMITTED, "0x" + c.hex())
    p = manager.participant(task_id, t)
    assert p["hasRound"] and p["unsettled"] and p["lastRound"] == 0 and p["weight"] == 200 * E18
    assert manager.taskState(task_id)["commits"] == 1


def test_commitUpdate_RevertWhen(manager, proto, task_id, trainers, validators, accounts):
    c = b"\x07" * 32
    with reverts("FLTaskManagerZeroCommitment"):
        manager.commitUpdate(task_id, ZERO, {"from": trainers[0]})
    with reverts("FLTaskManagerUnknownTask: 99"):
        manager.commitUpdate(99, c, {"from": trainers[0]})
    with reverts(f"FLTaskManagerWrongPhase: {task_id}, {Phase.COMMIT}, {Phase.REGISTRATION}"):
        manager.commitUpdate(task_id, c, {"from": trainers[0]})
    proto.to_phase(task_id, Phase.COMMIT)
    with reverts(f"FLTaskManagerRoleMismatch: {task_id}, {_lower(validators[0])}, {Role.TRAINER}, {Role.VALIDATOR}"):
        manager.commitUpdate(task_id, c, {"from": validators[0]})
    with reverts("FLTaskManagerRoleMismatch"):
        manager.commitUpdate(task_id, c, {"from": accounts[9]})
    manager.requestExit(task_id, {"from": trainers[3]})
    with reverts(f"FLTaskManagerNotActive: {task_id}, {_lower(trainers[3])}"):
        manager.commitUpdate(task_id, c, {"from": trainers[3]})
    manager.commitUpdate(task_id, c, {"from": trainers[0]})
    with reverts(f"FLTaskManagerAlreadyCommitted: {task_id}, 0, {_lower(trainers[0])}"):
        manager.commitUpdate(task_id, c, {"from": trainers[0]})


def test_commitUpdate_RevertWhen_round_full(manager, proto, trainers):
    task = proto.create(maxTrainersPerRound=2)
    proto.stake_all(task)
    manager.requestExit(task, {"from": trainers[3]})
    proto.to_phase(task, Phase.COMMIT)
    proto.commit_update(task, trainers[0])
    # with 3 active trainers and max 2, the second commitment ends the phase; a full round is
    # only reachable while the phase lasts, so raise the active count above max first
    manager.commitUpdate(task, b"\1" * 32, {"from": trainers[1]})
    assert proto.phase(task)[1] == Phase.REVEAL
    # RoundFull itself: max reached while the phase is still open cannot happen through
    # early end, so check the error through a task whose max is below the committers
    task2 = proto.create(maxTrainersPerRound=1)
    proto.stake_all(task2)
    proto.to_phase(task2, Phase.COMMIT)
    proto.commit_update(task2, trainers[0])
    with reverts(f"FLTaskManagerWrongPhase: {task2}, {Phase.COMMIT}, {Phase.REVEAL}"):
        manager.commitUpdate(task2, b"\1" * 32, {"from": trainers[1]})


def test_commitUpdate_RevertWhen_slashed_below_minimum(manager, proto, trainers):
    task = proto.create(trainerNonRevealSlashBps=10000)
    proto.stake_all(task, amount=100 * E18)
    t = trainers[0]
    proto.to_phase(task, Phase.COMMIT)
    proto.commit_update(task, t)
    proto.to_phase(task, Phase.AWAITING_FINALIZATION)
    manager.finalizeRound(task, {"from": t})
    with reverts(f"FLTaskManagerNotActive: {task}, {_lower(t)}"):
        manager.commitUpdate(task, b"\1" * 32, {"from": t})


# --- revealUpdate ---------------------------------------------------------------------------


def test_revealUpdate(manager, proto, task_id, trainers):
    t = trainers[0]
    proto.to_phase(task_id, Phase.COMMIT)
    proto.commit_update(task_id, t, cid="QmUpdateX", samples=321)
    proto.to_phase(task_id, Phase.REVEAL)
    tx = proto.reveal_update(task_id, t)
    ev = tx.events["UpdateRevealed"]
    assert (ev["taskId"], ev["round"], ev["trainer"], ev["updateCid"], ev["numSamples"]) == (
        task_id,
        0,
        t,
        "QmUpdateX",
        321,
    )
    from eth_utils import keccak

    assert _status(manager, task_id, 0, t) == (Participation.REVEALED, "0x" + keccak(b"QmUpdateX").hex())
    assert manager.taskState(task_id)["reveals"] == 1


def test_revealUpdate_RevertWhen(manager, proto, task_id, trainers, validators):
    t, other = trainers[0], trainers[1]
    proto.to_phase(task_id, Phase.COMMIT)
    proto.commit_update(task_id, t, cid="QmA", samples=5)
    proto.commit_update(task_id, trainers[2])  # keeps the reveal phase open after t reveals
    with reverts(f"FLTaskManagerWrongPhase: {task_id}, {Phase.REVEAL}, {Phase.COMMIT}"):
        manager.revealUpdate(task_id, "QmA", 5, b"\0" * 32, {"from": t})
    proto.to_phase(task_id, Phase.REVEAL)
    cid, samples, s = proto.salts[(task_id, 0, str(t))]
    with reverts("FLTaskManagerRoleMismatch"):
        manager.revealUpdate(task_id, cid, samples, s, {"from": validators[0]})
    with reverts(f"FLTaskManagerNotCommitted: {task_id}, 0, {_lower(other)}"):
        manager.revealUpdate(task_id, cid, samples, s, {"from": other})
    with reverts("FLTaskManagerEmptyUpdateCid"):
        manager.revealUpdate(task_id, "", samples, s, {"from": t})
    with reverts("FLTaskManagerZeroSamples"):
        manager.revealUpdate(task_id, cid, 0, s, {"from": t})
    wrong = update_commitment(task_id, 0, t, cid, samples + 1, s)
    committed = update_commitment(task_id, 0, t, cid, samples, s)
    assert wrong != committed
    with reverts(f"FLTaskManagerCommitmentMismatch: {task_id}, 0, "):
        manager.revealUpdate(task_id, cid, samples + 1, s, {"from": t})
    # a copied commitment does not reveal for another sender
    manager.revealUpdate(task_id, cid, samples, s, {"from": t})
    with reverts(f"FLTaskManagerAlreadyRevealed: {task_id}, 0, {_lower(t)}"):
        manager.revealUpdate(task_id, cid, samples, s, {"from": t})


# --- votes ------------------------------------------------------------------------------


def _to_votes(proto, task_id, trainers):
    proto.to_phase(task_id, Phase.COMMIT)
    for t in trainers:
        proto.commit_update(task_id, t)
    proto.to_phase(task_id, Phase.REVEAL)
    for t in trainers:
        proto.reveal_update(task_id, t)
    proto.to_phase(task_id, Phase.VOTE_COMMIT)


def test_commitVote_and_revealVote(manager, proto, task_id, trainers, validators):
    _to_votes(proto, task_id, trainers)
    v = validators[0]
    root = b"\x42" * 32
    tx = proto.commit_vote(task_id, v, CID, root)
    ev = tx.events["VoteCommitted"]
    vote = proto.salts[(task_id, 0, str(v))]
    c = vote_commitment(task_id, 0, v, vote.proposal, vote.salt)
    assert (ev["round"], ev["validator"], ev["commitment"], ev["weight"]) == (0, v, "0x" + c.hex(), 200 * E18)
    for other in validators[1:]:
        proto.commit_vote(task_id, other, "", ZERO)
    proto.to_phase(task_id, Phase.VOTE_REVEAL)
    tx = proto.reveal_vote(task_id, v, metric=8765)
    ev = tx.events["VoteRevealed"]
    proposal = proposal_hash(CID, root, ZERO)
    assert ev["proposalHash"] == "0x" + proposal.hex()
    assert (ev["aggregateCid"], ev["rewardRoot"], ev["penaltyRoot"], ev["weight"], ev["metric"]) == (
        CID,
        "0x" + root.hex(),
        "0x" + ZERO.hex(),
        200 * E18,
        8765,
    )
    assert _status(manager, task_id, 0, v) == (Participation.REVEALED, "0x" + proposal.hex())
    assert manager.proposalStake(task_id, 0, proposal) == 200 * E18
    state = manager.taskState(task_id)
    assert state["leadingProposal"] == "0x" + proposal.hex() and state["leadingStake"] == 200 * E18
    proto.reveal_vote(task_id, validators[1])
    proto.reveal_vote(task_id, validators[2])
    state = manager.taskState(task_id)
    assert state["leadingProposal"] == "0x" + REJECT.hex() and state["leadingStake"] == 400 * E18


def test_commitVote_RevertWhen(manager, proto, task_id, trainers, validators):
    c = b"\x09" * 32
    with reverts("FLTaskManagerZeroCommitment"):
        manager.commitVote(task_id, ZERO, {"from": validators[0]})
    with reverts(f"FLTaskManagerWrongPhase: {task_id}, {Phase.VOTE_COMMIT}, {Phase.REGISTRATION}"):
        manager.commitVote(task_id, c, {"from": validators[0]})
    _to_votes(proto, task_id, trainers[:1])
    with reverts("FLTaskManagerRoleMismatch"):
        manager.commitVote(task_id, c, {"from": trainers[0]})
    manager.commitVote(task_id, c, {"from": validators[0]})
    with reverts(f"FLTaskManagerAlreadyCommitted: {task_id}, 0, {_lower(validators[0])}"):
        manager.commitVote(task_id, c, {"from": validators[0]})


def test_commitVote_RevertWhen_exiting(manager, proto, task_id, trainers, validators):
    manager.requestExit(task_id, {"from": validators[3]})
    _to_votes(proto, task_id, trainers[:1])
    with reverts("FLTaskManagerNotActive"):
        manager.commitVote(task_id, b"\x09" * 32, {"from": validators[3]})


def test_revealVote_RevertWhen(manager, proto, task_id, trainers, validators):
    _to_votes(proto, task_id, trainers[:1])
    v = validators[0]
    proto.commit_vote(task_id, v, CID, b"\1" * 32)
    proto.commit_vote(task_id, validators[2], "", ZERO)  # keeps the reveal phase open
    vote = proto.salts[(task_id, 0, str(v))]

    def reveal(sender, cid=vote.cid, root=vote.root, penalty=ZERO):
        return manager.revealVote(task_id, cid, root, penalty, vote.salt, 1, {"from": sender})

    with reverts(f"FLTaskManagerWrongPhase: {task_id}, {Phase.VOTE_REVEAL}, {Phase.VOTE_COMMIT}"):
        reveal(v)
    proto.to_phase(task_id, Phase.VOTE_REVEAL)
    with reverts("FLTaskManagerRoleMismatch"):
        reveal(trainers[0])
    with reverts(f"FLTaskManagerNotCommitted: {task_id}, 0, {_lower(validators[1])}"):
        reveal(validators[1])
    with reverts("FLTaskManagerMalformedProposal: 0, "):
        reveal(v, cid="", root=b"\1" * 32)
    with reverts("FLTaskManagerMalformedProposal: 0, "):
        reveal(v, cid="", root=ZERO, penalty=b"\1" * 32)
    with reverts("FLTaskManagerCommitmentMismatch"):
        reveal(v, cid=CID, root=ZERO)  # a receipt that pays no trainer is well-formed, but not this vote
    with reverts("FLTaskManagerCommitmentMismatch"):
        reveal(v, cid=CID + "x")
    with reverts("FLTaskManagerCommitmentMismatch"):
        reveal(v, penalty=b"\2" * 32)
    reveal(v)
    with reverts(f"FLTaskManagerAlreadyRevealed: {task_id}, 0, {_lower(v)}"):
        reveal(v)
