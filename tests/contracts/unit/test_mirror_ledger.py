"""The contract mirror of the incentive benchmark (bench/incentives_ledger.py's MirrorLedger) against
FLTaskManager on one fixed script (tests/contracts/mirror_check.py): every transaction goes to both,
both succeed or both revert with the same custom error, and after every transaction every balance,
stake, reward, pool and view agrees to the wei. Fast and deterministic, so the check runs whatever
the state machine's settings (tests/contracts/property/test_protocol_state_machine.py does the same
over random sequences).

The script, with odd wei amounts so that every share and slash rounds: an Accepted round with a
penalty, a trainer's non-reveal slash and a losing vote's slash, trainer and validator claims; a
Rejected round (validators restake their round-0 reward on joining it; a trainer exits and withdraws
before the task ends); a Failed round with a validator's non-reveal slash; then the withdrawals after
the penalty window and the requester's reclaims before and after the claim window. Rejected calls
along the way (wrong phase, double claims and penalties, bad proofs, locked stakes, frozen
validator stakes, closed claims...) must be rejected by both with the same error.
"""

from __future__ import annotations

from contract_helpers import (
    E18,
    ZERO,
    MerkleTree,
    Phase,
    Role,
    all_held,
    default_params,
    proposal_hash,
    update_commitment,
    vote_commitment,
)
from mirror_check import MirroredTask
from offchain.fl.merkle import build_penalty_tree

SALT = b"\x05" * 32
PARAMS = default_params(
    numRounds=3,
    registrationDuration=20,
    commitDuration=60,
    revealDuration=60,
    attestDuration=60,
    voteCommitDuration=60,
    voteRevealDuration=60,
    exitCooldown=40,
    claimWindow=300,
    rewardPool=1000 * E18 + 1,
    minTrainerStake=50 * E18,
    minValidatorStake=50 * E18,
    stakePerSample=E18 // 10,
    quorumBps=6000,
    trainerShareBps=7000,
    trainerNonRevealSlashBps=2500,
    trainerPenaltyBps=3000,
    validatorNonRevealSlashBps=5000,
    validatorLosingSlashBps=4000,
)


class Script:
    """The scripted calls: each goes to the contract and the mirror, then every view is compared."""

    def __init__(self, manager, token, requester, deployer, holders, accounts, chain) -> None:
        self.m, self.deployer, self.chain = manager, deployer, chain
        self.mt = MirroredTask(manager, token, requester, PARAMS, holders, accounts)
        self.task = self.mt.task
        self.mt.check()

    def __call__(self, function: str, *args, sender, expect: str | None = None):
        """`function(task, *args)` from `sender`; `expect`: the error both must revert with."""
        tx = self.mt.send(getattr(self.m, function), self.task, *args, {"from": sender})
        if expect is None:
            assert tx is not None, f"{function} reverted on both with {self.mt.last_error}"
        else:
            assert self.mt.last_error == expect, f"{function}: expected {expect}, both gave {self.mt.last_error}"
        self.mt.check()
        return tx

    def phase(self) -> tuple[int, Phase]:
        self.chain.mine()
        r, ph, _ = self.m.currentRound(self.task)
        return int(r), Phase(int(ph))

    def wait(self, seconds: int) -> None:
        self.chain.sleep(seconds)
        self.chain.mine()
        self.mt.check()

    def to_phase(self, target: Phase) -> None:
        """Let deadlines pass until the round is in `target` (nobody acts meanwhile)."""
        for _ in range(8):
            if self.phase()[1] == target:
                return
            _, _, deadline = self.m.currentRound(self.task)
            self.wait(max(0, int(deadline) - self.chain.time()) + 1)
        raise AssertionError(f"never reached {target.name}")

    def expect(self, round_id: int, phase: Phase) -> None:
        assert self.phase() == (round_id, phase), f"at {self.phase()}, expected round {round_id} {phase.name}"

    # round actions -----------------------------------------------------------------------
    def commit_update(self, trainer, samples: int, **kw) -> None:
        r, _ = self.phase()
        commitment = update_commitment(self.task, r, trainer, f"QmUpdate{trainer}{r}", samples, SALT)
        self("commitUpdate", commitment, sender=trainer, **kw)

    def reveal_update(self, trainer, samples: int, salt: bytes = SALT, **kw) -> None:
        r, _ = self.phase()
        self("revealUpdate", f"QmUpdate{trainer}{r}", samples, salt, sender=trainer, **kw)

    def commit_vote(self, validator, cid: str, root: bytes, penalty_root: bytes) -> None:
        r, _ = self.phase()
        proposal = proposal_hash(cid, root, penalty_root)
        self("commitVote", vote_commitment(self.task, r, validator, proposal, SALT), sender=validator)

    def reveal_vote(self, validator, cid: str, root: bytes, penalty_root: bytes, **kw) -> None:
        self("revealVote", cid, root, penalty_root, SALT, 7000, sender=validator, **kw)


def test_the_mirror_agrees_with_the_contract_over_accepted_rejected_and_failed_rounds(
    manager, token, trainers, validators, requester, deployer, chain
):
    t0, t1, t2, t3 = trainers
    v0, v1, v2 = validators[:3]
    holders = [deployer, requester, *trainers, *validators]
    s = Script(manager, token, requester, deployer, holders, [*trainers, v0, v1, v2], chain)

    # --- registration ------------------------------------------------------------------------
    for trainer, amount in ((t0, 100 * E18 + 1), (t1, 80 * E18 + 3), (t2, 60 * E18 + 5)):
        s("stake", Role.TRAINER, amount, sender=trainer)
    for validator, amount in ((v0, 100 * E18 + 7), (v1, 90 * E18 + 11), (v2, 70 * E18 + 13)):
        s("stake", Role.VALIDATOR, amount, sender=validator)
    s("stake", Role.TRAINER, 40 * E18, sender=t3, expect="FLTaskManagerStakeBelowMinimum")
    s("stake", Role.NONE, E18, sender=t3, expect="FLTaskManagerRoleMismatch")
    s("stake", Role.VALIDATOR, E18, sender=t0, expect="FLTaskManagerRoleMismatch")
    s("stake", Role.TRAINER, 0, sender=t0, expect="FLTaskManagerZeroAmount")
    s.commit_update(t0, 100, expect="FLTaskManagerWrongPhase")  # still Registration
    s.to_phase(Phase.COMMIT)

    # --- round 0: Accepted; a penalty, a non-reveal and a losing vote ---------------------------
    s.commit_update(t0, 100)
    s.commit_update(t1, 800)
    s.commit_update(t2, 50)
    s.expect(0, Phase.REVEAL)  # every active trainer committed: the Commit phase ended early
    s.reveal_update(t0, 100)
    s.reveal_update(t1, 800, salt=b"\x06" * 32, expect="FLTaskManagerCommitmentMismatch")
    s.reveal_update(t1, 800)  # backed: 80 DFL at 0.1 DFL a sample
    s("attestAvailability", all_held(2), sender=v0, expect="FLTaskManagerWrongPhase")  # t2 holds Reveal open
    s.to_phase(Phase.ATTEST)
    s("attestAvailability", b"", sender=v0, expect="FLTaskManagerBadAttestation")
    for v in (v0, v1, v2):
        s("attestAvailability", all_held(2), sender=v)
    pool0 = int(manager.roundOutcome(s.task, 0)["trainerPool"])
    rewards = MerkleTree([(str(t0), pool0 * 3 // 5), (str(t1), pool0 - pool0 * 3 // 5 - 1)])  # 1 wei left over
    penalties = build_penalty_tree([str(t1)])
    greedy = MerkleTree([(str(t0), pool0)])
    for v, root in ((v0, rewards.root), (v1, rewards.root), (v2, greedy.root)):
        s.commit_vote(v, "QmAggregate0", root, penalties.root)
    s.reveal_vote(v0, "", rewards.root, ZERO, expect="FLTaskManagerMalformedProposal")
    for v, root in ((v0, rewards.root), (v1, rewards.root), (v2, greedy.root)):
        s.reveal_vote(v, "QmAggregate0", root, penalties.root)
    s(
        "claimTrainerReward",
        0,
        pool0 * 3 // 5,
        rewards.proof(t0, pool0 * 3 // 5),
        sender=t0,
        expect="FLTaskManagerRoundNotFinalized",
    )
    s("finalizeRound", sender=deployer)  # 190 of 260 DFL: Accepted
    s.expect(1, Phase.COMMIT)
    s(
        "penalizeTrainer",
        0,
        t0,
        penalties.proof_for(str(t1)),
        sender=deployer,
        expect="FLTaskManagerInvalidPenaltyProof",
    )
    s("slash", 0, t2, sender=deployer)  # did not reveal: 25 % of its weight, below the minimum: inactive
    s("slash", 0, v2, sender=deployer)  # lost the vote: 40 % of its weight, inactive
    s("slash", 0, v0, sender=deployer, expect="FLTaskManagerNotSlashable")  # a winner
    a0 = pool0 * 3 // 5
    s("claimTrainerReward", 0, a0, rewards.proof(t0, a0), sender=t0)
    s("claimTrainerReward", 0, a0, rewards.proof(t0, a0), sender=t0, expect="FLTaskManagerAlreadyClaimed")
    s("claimTrainerReward", 0, a0, rewards.proof(t0, a0), sender=t1, expect="FLTaskManagerInvalidProof")
    s("claimValidatorReward", 0, sender=v0)  # v1 leaves its reward to be restaked
    s("claimValidatorReward", 0, sender=v0, expect="FLTaskManagerNoValidatorReward")

    # --- round 1: Rejected; v1 restakes round 0's reward; t2 exits and withdraws -----------------
    s.commit_update(t2, 50, expect="FLTaskManagerNotActive")
    s("requestExit", sender=t2)
    s("withdraw", sender=t2, expect="FLTaskManagerStakeLocked")  # the exit cooldown runs
    s.commit_update(t1, 600)
    # t1's penalty waits: deactivating a trainer that committed could end the Commit phase early.
    s("penalizeTrainer", 0, t1, penalties.proof_for(str(t1)), sender=deployer, expect="FLTaskManagerPenaltyDeferred")
    s("stake", Role.TRAINER, 10 * E18 + 1, sender=t1)  # a top-up: the next round's weight
    s.commit_update(t0, 100)
    s.expect(1, Phase.REVEAL)
    s("penalizeTrainer", 0, t1, penalties.proof_for(str(t1)), sender=deployer)  # 30 % of its stake now
    s("penalizeTrainer", 0, t1, penalties.proof_for(str(t1)), sender=deployer, expect="FLTaskManagerAlreadyPenalized")
    s.reveal_update(t0, 100)
    s.reveal_update(t1, 600)
    s.expect(1, Phase.ATTEST)
    s("attestAvailability", all_held(2), sender=v2, expect="FLTaskManagerNotActive")
    s("requestExit", sender=v2, expect="FLTaskManagerValidatorStakeFrozen")
    s("stake", Role.VALIDATOR, 50 * E18, sender=v2, expect="FLTaskManagerValidatorStakeFrozen")
    s("attestAvailability", all_held(2), sender=v0)
    s("attestAvailability", all_held(2), sender=v1)  # settles round 0: the reward is restaked
    for v in (v0, v1):
        s.commit_vote(v, "", ZERO, ZERO)
    for v in (v0, v1):
        s.reveal_vote(v, "", ZERO, ZERO)
    s.wait(41)
    s("withdraw", sender=t2)  # after the cooldown and round 0's penalty window, before the task ends
    s("finalizeRound", sender=deployer)  # Rejected: nobody is paid, the whole reward returns to the pool
    s("claimTrainerReward", 1, 1, [], sender=t0, expect="FLTaskManagerRoundNotAccepted")
    s("penalizeTrainer", 1, t0, [], sender=deployer, expect="FLTaskManagerRoundNotAccepted")

    # --- round 2: Failed; v1 does not reveal ---------------------------------------------------
    s.commit_update(t0, 100)
    s.commit_update(t1, 600)
    s("penalizeTrainer", 0, t1, penalties.proof_for(str(t1)), sender=deployer, expect="FLTaskManagerAlreadyPenalized")
    s.reveal_update(t0, 100)
    s.reveal_update(t1, 600)
    s("attestAvailability", all_held(2), sender=v0)  # settles round 1: a rejected round owes nothing
    s("attestAvailability", all_held(2), sender=v1)
    s.commit_vote(v0, "QmAggregate2", ZERO, ZERO)
    s.commit_vote(v1, "QmOther2", ZERO, ZERO)
    s.reveal_vote(v0, "QmAggregate2", ZERO, ZERO)
    s("finalizeRound", sender=deployer, expect="FLTaskManagerWrongPhase")  # v1's reveal is awaited
    s.to_phase(Phase.AWAITING_FINALIZATION)
    s("finalizeRound", sender=deployer)  # v0 alone is below the quorum: Failed, and the task completes
    s.expect(2, Phase.COMPLETED)
    s("finalizeRound", sender=deployer, expect="FLTaskManagerWrongPhase")
    s("slash", 2, v1, sender=deployer)  # did not reveal: 50 % of its weight
    s("claimValidatorReward", 2, sender=v0, expect="FLTaskManagerNoValidatorReward")  # a Failed round pays nobody

    # --- after the last round: withdrawals, late claims, reclaims --------------------------------
    s("stake", Role.TRAINER, 60 * E18, sender=t3, expect="FLTaskManagerTaskAlreadyCompleted")
    s("requestExit", sender=t0, expect="FLTaskManagerTaskAlreadyCompleted")
    s("withdraw", sender=t0, expect="FLTaskManagerStakeLocked")  # round 2's penalty window
    s("reclaim", sender=deployer)  # the unallocated pool; the claim window is still open
    s("reclaim", sender=deployer, expect="FLTaskManagerNothingToReturn")
    s.wait(41)
    for account in (t0, t1, v0, v2):
        s("withdraw", sender=account)
    s("withdraw", sender=t3, expect="FLTaskManagerNotStaked")
    b1 = pool0 - a0 - 1
    s("claimTrainerReward", 0, b1, rewards.proof(t1, b1), sender=t1)  # late, but inside the claim window
    s.wait(300)
    s("reclaim", sender=deployer)  # the window is over: what was never claimed goes back too
    s("claimValidatorReward", 2, sender=v1, expect="FLTaskManagerClaimsClosed")
    s("withdraw", sender=v1)
    assert s.mt.ledger.claims_closed and s.mt.ledger.escrow == 0  # the manager holds nothing for the task
    # Every kind of round and settlement above really happened, on both.
    outcomes = [int(manager.roundOutcome(s.task, r)["status"]) for r in range(3)]
    assert outcomes == [1, 2, 3], outcomes  # Accepted, Rejected, Failed
    assert s.mt.reverts >= 30, s.mt.reverts
