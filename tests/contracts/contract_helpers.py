"""Helpers for driving FLTaskManager in tests: parameters, commitments, Merkle trees, phases."""

from __future__ import annotations

import os
from dataclasses import dataclass

from eth_utils import keccak, to_checksum_address

from merkle_oracle import oz_tree
from offchain.chain.protocol import (
    REJECT_PROPOSAL,
    ZERO_ROOT,
    ParticipationStatus,
    Phase,
    Role,
    RoundStatus,
    SlashReason,
    proposal_hash,
    update_commitment,
    vote_commitment,
)
from offchain.units import TOKEN

# The protocol's enums and commitments, from the off-chain package (checked against the contract's
# own pure functions in tests/offchain/chain/test_task_manager.py); short names for the tests.
Status = RoundStatus
Reason = SlashReason
Participation = ParticipationStatus


E18 = TOKEN  # short name for the tests' amounts
ZERO = ZERO_ROOT
REJECT = REJECT_PROPOSAL

PARAM_FIELDS = [
    "modelSpecCid",
    "initialModelCid",
    "evalDatasetCid",
    "evalDatasetHash",
    "ruleId",
    "ruleParams",
    "numRounds",
    "registrationDuration",
    "commitDuration",
    "revealDuration",
    "attestDuration",
    "voteCommitDuration",
    "voteRevealDuration",
    "exitCooldown",
    "claimWindow",
    "minTrainerStake",
    "minValidatorStake",
    "stakePerSample",
    "maxTrainersPerRound",
    "maxUpdateBytes",
    "maxDeltaNormMicro",
    "quorumBps",
    "trainerNonRevealSlashBps",
    "trainerPenaltyBps",
    "validatorNonRevealSlashBps",
    "validatorLosingSlashBps",
    "trainerShareBps",
    "rewardPool",
    "privacy",
]

# PrivacyParams (mode, epsilonBudgetMicro, deltaAtto, noiseMultiplierMicro, minContributors, scaleBits, unit).
PLAINTEXT = (0, 0, 0, 0, 0, 0, 0)


def default_params(**overrides) -> dict:
    p = {
        "modelSpecCid": "QmSpecSpecSpecSpecSpecSpecSpecSpecSpecSpecSpec",
        "initialModelCid": "QmInitInitInitInitInitInitInitInitInitInitInit",
        "evalDatasetCid": "QmEvalEvalEvalEvalEvalEvalEvalEvalEvalEvalEval",
        "evalDatasetHash": keccak(b"eval"),
        "ruleId": 0,
        "ruleParams": [1000],
        "numRounds": 3,
        "registrationDuration": 50,
        "commitDuration": 100,
        "revealDuration": 100,
        "attestDuration": 100,
        "voteCommitDuration": 100,
        "voteRevealDuration": 100,
        "exitCooldown": 30,
        "claimWindow": 1000,
        "minTrainerStake": 100 * E18,
        "minValidatorStake": 100 * E18,
        "stakePerSample": 0,
        "maxTrainersPerRound": 10,
        "maxUpdateBytes": 50_000_000,
        "maxDeltaNormMicro": 0,
        "quorumBps": 6000,
        "trainerNonRevealSlashBps": 1000,
        "trainerPenaltyBps": 2500,
        "validatorNonRevealSlashBps": 2000,
        "validatorLosingSlashBps": 3000,
        "trainerShareBps": 7000,
        "rewardPool": 3000 * E18,
        "privacy": PLAINTEXT,
    }
    p.update(overrides)
    return p


def as_tuple(p: dict) -> tuple:
    return tuple(p[name] for name in PARAM_FIELDS)


def salt() -> bytes:
    return os.urandom(32)


# --- reward trees: @openzeppelin/merkle-tree itself (tests/merkle_oracle.py) ----------------


class MerkleTree:
    """StandardMerkleTree.of(values, ["address", "uint256"]): its root and each (account, amount)'s proof."""

    def __init__(self, values: list[tuple[str, int]]) -> None:
        self.values = [(to_checksum_address(str(a)), int(v)) for a, v in values]
        tree = oz_tree(self.values)
        self.root: bytes = tree.root
        self._proofs = dict(zip(self.values, tree.proofs))

    def proof(self, account, amount: int) -> list[bytes]:
        return self._proofs[(to_checksum_address(str(account)), int(amount))]


# --- driving rounds -----------------------------------------------------------------------


@dataclass
class Vote:
    cid: str
    root: bytes
    salt: bytes
    penalty_root: bytes = ZERO

    @property
    def proposal(self) -> bytes:
        return proposal_hash(self.cid, self.root, self.penalty_root)


def all_held(reveals: int) -> bytes:
    """An availability bitmap with every one of `reveals` updates held."""
    bits = bytearray((reveals + 7) // 8)
    for i in range(reveals):
        bits[i // 8] |= 1 << (i % 8)
    return bytes(bits)


class RoundDriver:
    """Drives FLTaskManager through rounds under Brownie: create tasks, stake, run the phases of a
    round, move time."""

    def __init__(self, manager, token, requester, trainers, validators, chain) -> None:
        self.m = manager
        self.token = token
        self.requester = requester
        self.trainers = trainers
        self.validators = validators
        self.chain = chain
        self.salts: dict = {}

    # time
    def phase(self, task_id) -> tuple[int, Phase, int]:
        self.chain.mine()
        r, ph, deadline = self.m.currentRound(task_id)
        return int(r), Phase(int(ph)), int(deadline)

    def sleep_past_deadline(self, task_id) -> None:
        _, _, deadline = self.phase(task_id)
        now = self.chain[-1].timestamp
        self.chain.sleep(max(0, deadline - now) + 1)
        self.chain.mine()

    def to_phase(self, task_id, target: Phase) -> None:
        for _ in range(12):
            _, ph, _ = self.phase(task_id)
            if ph == target:
                return
            if ph in (Phase.AWAITING_FINALIZATION, Phase.COMPLETED):
                raise AssertionError(f"cannot reach {target.name} from {ph.name}")
            self.sleep_past_deadline(task_id)
        raise AssertionError(f"did not reach {target.name}")

    # setup
    def create(self, **overrides) -> int:
        tx = self.m.createTask(as_tuple(default_params(**overrides)), {"from": self.requester})
        return tx.return_value

    def stake_all(self, task_id, amount=200 * E18) -> None:
        for t in self.trainers:
            self.m.stake(task_id, Role.TRAINER, amount, {"from": t})
        for v in self.validators:
            self.m.stake(task_id, Role.VALIDATOR, amount, {"from": v})

    # round actions
    def commit_update(self, task_id, trainer, cid=None, samples=100):
        rnd = self.m.currentRound(task_id)[0]
        cid = cid or f"QmUpdate{str(trainer)[2:40]}{rnd:04d}"
        s = salt()
        self.salts[(task_id, rnd, str(trainer))] = (cid, samples, s)
        return self.m.commitUpdate(
            task_id, update_commitment(task_id, rnd, trainer, cid, samples, s), {"from": trainer}
        )

    def reveal_update(self, task_id, trainer):
        rnd = self.m.currentRound(task_id)[0]
        cid, samples, s = self.salts[(task_id, rnd, str(trainer))]
        return self.m.revealUpdate(task_id, cid, samples, s, {"from": trainer})

    def attest(self, task_id, validator, held: bytes | None = None):
        reveals = self.m.taskState(task_id)["reveals"]
        return self.m.attestAvailability(task_id, all_held(reveals) if held is None else held, {"from": validator})

    def commit_vote(self, task_id, validator, cid: str, root: bytes, penalty_root: bytes = ZERO):
        rnd = self.m.currentRound(task_id)[0]
        vote = Vote(cid, root, salt(), penalty_root)
        self.salts[(task_id, rnd, str(validator))] = vote
        return self.m.commitVote(
            task_id, vote_commitment(task_id, rnd, validator, vote.proposal, vote.salt), {"from": validator}
        )

    def reveal_vote(self, task_id, validator, metric=9000):
        rnd = self.m.currentRound(task_id)[0]
        vote = self.salts[(task_id, rnd, str(validator))]
        return self.m.revealVote(
            task_id, vote.cid, vote.root, vote.penalty_root, vote.salt, metric, {"from": validator}
        )

    def rewards_tree(self, task_id, trainers=None) -> MerkleTree:
        """Split the current round's trainer pool evenly over `trainers` (integer division)."""
        trainers = list(trainers if trainers is not None else self.trainers)
        rnd = self.m.currentRound(task_id)[0]
        pool = self.m.roundOutcome(task_id, rnd)["trainerPool"]
        share = pool // len(trainers)
        return MerkleTree([(str(t), share) for t in trainers])

    def run_round(
        self, task_id, *, trainers=None, validators=None, cid=None, reject=False, finalize=True
    ) -> MerkleTree | None:
        """All `trainers` commit and reveal, all `validators` vote for one proposal; finalize."""
        trainers = list(self.trainers if trainers is None else trainers)
        validators = list(self.validators if validators is None else validators)
        self.to_phase(task_id, Phase.COMMIT)
        for t in trainers:
            self.commit_update(task_id, t)
        self.to_phase(task_id, Phase.REVEAL)
        for t in trainers:
            self.reveal_update(task_id, t)
        tree = self.rewards_tree(task_id, trainers) if trainers else None
        rnd = self.m.currentRound(task_id)[0]
        vote_cid, root = ("", ZERO) if reject or tree is None else (cid or f"QmAggregate{rnd:04d}", tree.root)
        if trainers:
            self.to_phase(task_id, Phase.ATTEST)
            for v in validators:
                self.attest(task_id, v)
            self.to_phase(task_id, Phase.VOTE_COMMIT)
            for v in validators:
                self.commit_vote(task_id, v, vote_cid, root)
            self.to_phase(task_id, Phase.VOTE_REVEAL)
            for v in validators:
                self.reveal_vote(task_id, v)
        if finalize:
            self.to_phase(task_id, Phase.AWAITING_FINALIZATION)
            self.m.finalizeRound(task_id, {"from": self.requester})
        return tree


def reverts(error: str):
    """brownie.reverts for a custom error of the contracts, shown by Brownie as "Name: args"."""
    import brownie

    if ":" in error:  # name and (a prefix of) its arguments
        return brownie.reverts(revert_pattern=rf"(?s){error}.*")  # type: ignore[attr-defined]  # Brownie's plugin sets it
    return brownie.reverts(revert_pattern=rf"(?s){error}(: .*)?")  # type: ignore[attr-defined]  # Brownie's plugin sets it


def hexed(value):
    """Expected values in Brownie's terms: bytes as 0x-hex strings, tuples/lists recursively."""
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [hexed(v) for v in value]
    return value


def plain(value):
    """Brownie return values as plain Python lists/str/int for comparisons."""
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, str):
        return value
    return value
