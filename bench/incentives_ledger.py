"""The contract's reward and slash arithmetic in Python, to the wei: a chain-free mirror of
`FLTaskManager` (with `TaskStorage`, `RewardMath`, `PhaseClock`, `TaskViews` and `TaskLifecycle`) for
the incentive simulation (`bench/incentives.py`).

What moves tokens is mirrored: stakes, the weight fixed when an account joins a round, the round's
stake snapshot (its quorum denominator, issue 19), the unallocated pool and round rewards,
finalization, lazy settlement (slash or restake), penalties, claims, exits and withdrawals, and the
reclaim after the claim window. Every action checks what the
contract checks, in the contract's order, and raises `LedgerRevert` naming the contract's custom
error where the contract would revert; a refused action changes nothing (the mirror's state is
rolled back, as a reverted transaction's is), except the gas it is charged.

Time is optional. Given the time of each call (`now`, the block timestamp), the mirror also runs the
phase clock (`PhaseClock.advance`, with its early ends) and checks what depends on it: phases,
frozen validator stakes, deferred penalties, exit cooldowns and the penalty window, the claim
window. Without it (`now=None`: the simulation, which calls the actions in an order the contract
accepts), those checks are skipped and withdrawals are taken to be after the unlock time
(`bench/incentives_chain.py` plays the same calls on anvil, waiting where the chain must); whether
the round has reached its Attest phase (the stake snapshot stops moving then) is taken from the
order of the calls: once `advance("reveal")` was called or a validator attested or committed.

The contract's own functions and views, by their ABI names and arguments (without the task id), are
`MirrorLedger.transact` and `MirrorLedger.call`: the differential test of the contract suite
(tests/contracts/mirror_check.py) sends every transaction of its state machine to both and compares
every view after every step. What is not mirrored, and why, is `NOT_MIRRORED`.

`old_rules=True` gives the arithmetic before issue 12 (commit 3800722): no Attest phase, no
collateral or penalties, a validator that revealed anything but the winner of an Accepted or Rejected
round is slashed (reject votes included), the winners of a Rejected round are paid its validator pool
(today a Rejected round pays nobody, issue 19), an Accepted round owes its whole reward even when
its proposal pays no trainer, and the quorum denominator is the active validators' stake at
finalization (no snapshot). (Time is not mirrored under the old rules.)
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from functools import update_wrapper
from typing import Any, Concatenate, ParamSpec, TypeVar

from eth_utils import keccak
from hexbytes import HexBytes

from offchain.chain.protocol import (
    REJECT_PROPOSAL,
    ZERO_ROOT,
    ParticipationStatus,
    Phase,
    Role,
    backed_samples,
    proposal_hash,
    update_commitment,
    vote_commitment,
)
from offchain.fl.availability import Attestation
from offchain.fl.merkle import penalty_leaf_hash, process_proof, verify
from offchain.fl.round import Reveal
from offchain.units import BPS

UINT16_MAX = 2**16 - 1
UINT32 = 2**32
UINT96_MAX = 2**96 - 1
ZERO_ADDRESS = "0x" + "00" * 20
# Phases in which validators cannot stake, top up or request exit (FLTaskManager._validatorStakeFrozen).
FROZEN = (Phase.ATTEST, Phase.VOTE_COMMIT, Phase.VOTE_REVEAL, Phase.AWAITING_FINALIZATION)

# What of FLTaskManager the mirror does not model, and why: functions, view fields ("view.field"),
# errors and other behaviour. The differential test (tests/contracts/mirror_check.py) skips the
# functions and fields named here and nothing else.
NOT_MIRRORED: dict[str, str] = {
    "createTask": "one task per mirror, created by the constructor from valid parameters (Terms.from_params); "
    "the parameter checks (TaskParamsLib) move no token and have their own unit tests",
    "createTaskWithPermit": "permits are ERC-2612 signatures over the token: the mirror has no allowances",
    "stakeWithPermit": "as createTaskWithPermit (the stake itself is `stake`)",
    "taskParams": "the parameters as given, read from FLTaskParamsStore",
    "FLTaskManagerUnknownTask": "the mirror is one task",
    "Panic(0x11)": "uint96/uint40 overflows: amounts and times are kept far below them by the params checks",
    "events": "events are not mirrored; their amounts show in the views that are",
    "FLPrivacy": "registerKey/publishMaskSeeds are charged and checked (FLPrivacy's errors) for the simulation, "
    "without their phase or the round's minimum of contributors; FLPrivacy is not in the differential test",
}


class Status(IntEnum):  # IFLTaskManager.RoundStatus
    OPEN = 0
    ACCEPTED = 1
    REJECTED = 2
    FAILED = 3


class Due(Enum):  # TaskStorage.Due
    NOTHING = "nothing"
    SLASH = "slash"
    REWARD = "reward"


class LedgerRevert(Exception):
    """An action the contract would refuse; the message starts with the contract's error name."""


class NotMirrored(Exception):
    """A contract function the mirror does not model (see NOT_MIRRORED)."""


@dataclass(frozen=True)
class Terms:
    """The task parameters that move tokens (base units and basis points), and its schedule."""

    num_rounds: int
    reward_pool: int
    trainer_share_bps: int
    quorum_bps: int
    min_trainer_stake: int
    min_validator_stake: int
    stake_per_sample: int  # 0: declared samples need no collateral
    trainer_non_reveal_slash_bps: int
    trainer_penalty_bps: int
    validator_non_reveal_slash_bps: int
    validator_losing_slash_bps: int
    old_rules: bool = False
    # The schedule (seconds): read only when the mirror is given the time of each call.
    registration_duration: int = 0
    commit_duration: int = 0
    reveal_duration: int = 0
    attest_duration: int = 0
    vote_commit_duration: int = 0
    vote_reveal_duration: int = 0
    exit_cooldown: int = 0
    claim_window: int = 0
    max_trainers_per_round: int = UINT16_MAX

    @classmethod
    def from_params(cls, p: Mapping[str, Any]) -> Terms:
        """The terms of a task created with `IFLTaskManager.TaskParams` `p` (by the ABI's field names)."""
        return cls(
            num_rounds=int(p["numRounds"]),
            reward_pool=int(p["rewardPool"]),
            trainer_share_bps=int(p["trainerShareBps"]),
            quorum_bps=int(p["quorumBps"]),
            min_trainer_stake=int(p["minTrainerStake"]),
            min_validator_stake=int(p["minValidatorStake"]),
            stake_per_sample=int(p["stakePerSample"]),
            trainer_non_reveal_slash_bps=int(p["trainerNonRevealSlashBps"]),
            trainer_penalty_bps=int(p["trainerPenaltyBps"]),
            validator_non_reveal_slash_bps=int(p["validatorNonRevealSlashBps"]),
            validator_losing_slash_bps=int(p["validatorLosingSlashBps"]),
            registration_duration=int(p["registrationDuration"]),
            commit_duration=int(p["commitDuration"]),
            reveal_duration=int(p["revealDuration"]),
            attest_duration=int(p["attestDuration"]),
            vote_commit_duration=int(p["voteCommitDuration"]),
            vote_reveal_duration=int(p["voteRevealDuration"]),
            exit_cooldown=int(p["exitCooldown"]),
            claim_window=int(p["claimWindow"]),
            max_trainers_per_round=int(p["maxTrainersPerRound"]),
        )

    def duration(self, phase: Phase) -> int:
        """PhaseClock.duration."""
        return {
            Phase.COMMIT: self.commit_duration,
            Phase.REVEAL: self.reveal_duration,
            Phase.ATTEST: self.attest_duration,
            Phase.VOTE_COMMIT: self.vote_commit_duration,
        }.get(phase, self.vote_reveal_duration)


@dataclass
class Clock:
    """PhaseClock.Clock without its round (`MirrorLedger.current`)."""

    phase: Phase = Phase.REGISTRATION
    phase_end: int = 0
    commits: int = 0
    reveals: int = 0
    attests: int = 0
    vote_commits: int = 0
    vote_reveals: int = 0
    active_trainers: int = 0
    active_validators: int = 0

    def is_done(self, terms: Terms) -> bool:
        """PhaseClock.isDone: everyone who can act in the phase has acted."""
        p = self.phase
        if p == Phase.COMMIT:
            return self.commits != 0 and self.commits >= min(self.active_trainers, terms.max_trainers_per_round)
        if p == Phase.REVEAL:
            return self.reveals >= self.commits
        if p == Phase.ATTEST:
            return self.reveals == 0 or (self.attests != 0 and self.attests >= self.active_validators)
        if p == Phase.VOTE_COMMIT:
            return self.reveals == 0 or (self.vote_commits != 0 and self.vote_commits >= self.active_validators)
        if p == Phase.VOTE_REVEAL:
            return self.vote_reveals >= self.vote_commits
        return False

    def advance(self, terms: Terms, now: int) -> None:
        """PhaseClock.advance: the clock as of `now` (phases end at their deadline or when done)."""
        while Phase.REGISTRATION <= self.phase <= Phase.VOTE_REVEAL:
            if self.is_done(terms):
                end = min(now, self.phase_end)
            elif now >= self.phase_end:
                end = self.phase_end
            else:
                return
            self.phase = Phase(self.phase + 1)
            while self.phase != Phase.AWAITING_FINALIZATION and self.is_done(terms):
                self.phase = Phase(self.phase + 1)
            self.phase_end = end if self.phase == Phase.AWAITING_FINALIZATION else end + terms.duration(self.phase)


@dataclass
class Account:
    role: str  # "trainer" | "validator" | "none"
    stake: int = 0
    weight: int = 0  # stake when it joined `round`
    round: int = 0
    has_round: bool = False
    committed: bool = False
    revealed: bool = False
    unsettled: bool = False
    attested: bool = False
    active: bool = False
    exiting: bool = False
    unlock_at: int = 0
    record: bytes = b""  # the commitment, then the hash of what was revealed (a validator's proposal)


@dataclass
class Round:
    status: Status = Status.OPEN
    winning_stake: int = 0
    round_reward: int = 0
    reward_root: bytes = ZERO_ROOT
    penalty_root: bytes = ZERO_ROOT
    trainer_claimed: int = 0
    validator_claimed: int = 0
    finalized_at: int = 0
    tally: dict[bytes, int] = field(default_factory=lambda: defaultdict(int))
    reveals: list[Reveal] = field(default_factory=list)
    attestations: list[Attestation] = field(default_factory=list)


@dataclass
class Flows:
    """What an account received and lost through the task, and the gas it spent (units)."""

    rewards: int = 0
    slashes: int = 0
    gas: int = 0
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))


P = ParamSpec("P")
R = TypeVar("R")


def _transaction(method: Callable[Concatenate[MirrorLedger, P], R]) -> Callable[Concatenate[MirrorLedger, P], R]:
    """A contract call: if it reverts, everything but the gas charged is as before."""

    def run(self: MirrorLedger, /, *args: P.args, **kwargs: P.kwargs) -> R:
        saved = self._save()
        try:
            return method(self, *args, **kwargs)
        except LedgerRevert:
            self._restore(saved)
            raise

    update_wrapper(run, method)
    return run


class MirrorLedger:
    """One task, from creation to its reclaim."""

    def __init__(
        self,
        terms: Terms,
        gas_table: dict[str, int],
        balances: dict[str, int],
        task_id: int = 1,
        *,
        requester: str | None = None,
        now: int | None = None,
    ) -> None:
        """`balances`: token balances before the task; the requester's (if given) pays the reward pool.
        `now`: the task's creation time, if the mirror is to run the phase clock (see the module)."""
        if now is not None and terms.old_rules:
            raise ValueError("the phase clock is mirrored for today's rules only")
        self.terms = terms
        self.task_id = task_id
        self.gas_table = gas_table
        self.balances = {k.lower(): v for k, v in balances.items()}
        self.initial = dict(balances)
        self.requester = requester.lower() if requester else None
        self.now = now
        self.created_at = now or 0
        self.accounts: dict[str, Account] = {}
        self.flows: dict[str, Flows] = defaultdict(Flows)
        reward = terms.reward_pool // terms.num_rounds
        self.pool = terms.reward_pool - reward
        self.round_reward = reward
        self.unclaimed = 0
        self.claims_closed = False
        self.escrow = terms.reward_pool  # tokens the manager holds for this task
        if self.requester:
            self._pay(self.requester, -terms.reward_pool)
        self.current = 0
        self.completed = False
        self.clock = Clock(Phase.REGISTRATION, self.created_at + terms.registration_duration)
        self.total_validator_stake = 0  # the active validators' stakes (the denominator under old_rules)
        # TaskStorage.Totals: the active validators' stakes plus the validator rewards owed (and
        # rounding dust), and the current round's snapshot of it, which stops moving at Attest.
        self.validator_stake = 0
        self.round_stake = 0
        self.before_attest = True  # without time: the current round has not reached its Attest phase
        self.leading_stake = 0
        self.leader: tuple[bytes, bytes, bytes] = (b"", ZERO_ROOT, ZERO_ROOT)  # proposal, reward root, penalty root
        self.rounds: dict[int, Round] = defaultdict(Round)
        self.trainer_claims: set[tuple[str, int]] = set()
        self.penalties: set[tuple[str, int]] = set()
        self.keys: set[str] = set()  # FLPrivacy: trainers that registered an X25519 key
        self.seeds: set[tuple[str, int]] = set()  # FLPrivacy: (trainer, round) whose mask seeds are published

    # --- views ------------------------------------------------------------------------------

    def advance(self, phase: str) -> None:
        """Let the phase `phase` end (the chain waits for its deadline if someone did not act)."""
        if phase in ("reveal", "attest", "vote_commit", "vote_reveal"):
            self.before_attest = False

    def account(self, address: str) -> Account:
        return self.accounts.get(address.lower()) or Account(role="none")

    def trainer_pool(self) -> int:
        """The current round's trainer pool (`roundOutcome(...).trainerPool` of an open round)."""
        return 0 if self.completed else self._trainer_pool(self.round_reward)

    def reveals(self, round_id: int) -> list[Reveal]:
        return list(self.rounds[round_id].reveals)

    def attestations(self, round_id: int) -> list[Attestation]:
        return list(self.rounds[round_id].attestations)

    def outcome(self, round_id: int) -> Round:
        return self.rounds[round_id]

    def balance(self, address: str) -> int:
        return self.balances.get(address.lower(), 0)

    def totals(self) -> tuple[int, int]:
        """The task's unallocated pool and its unclaimed rewards."""
        return self.pool, self.unclaimed

    def wealth(self, address: str) -> int:
        """Tokens the account holds plus its stake in the task."""
        return self.balances.get(address.lower(), 0) + self.account(address).stake

    def due(self, address: str) -> Due | None:
        """What settling the account's last round would do now (None: nothing unsettled and final)."""
        a = self.account(address)
        if not a.unsettled or not self._finalized(a.round):
            return None
        return self._due(a)

    # --- the contract's views (TaskViews and FLTaskManager), by the ABI's names -----------------

    def clock_at(self, at: int | None = None) -> Clock:
        """The phase clock as of `at` (default: the last call's time), as the contract's views see it."""
        c = dataclasses.replace(self.clock)
        at = self.now if at is None else at
        if at is not None:
            c.advance(self.terms, at)
        return c

    def current_round(self, at: int | None = None) -> dict[str, Any]:
        c = self.clock_at(at)
        return {"round": self.current, "phase": int(c.phase), "deadline": c.phase_end}

    def task_state(self, at: int | None = None) -> dict[str, Any]:
        c = self.clock_at(at)
        return {
            "requester": self.requester or ZERO_ADDRESS,
            "createdAt": self.created_at,
            "round": self.current,
            "phase": int(c.phase),
            "phaseDeadline": c.phase_end,
            "commits": c.commits,
            "reveals": c.reveals,
            "attests": c.attests,
            "voteCommits": c.vote_commits,
            "voteReveals": c.vote_reveals,
            "activeTrainers": c.active_trainers,
            "activeValidators": c.active_validators,
            "totalValidatorStake": self.round_stake,
            "roundReward": self.round_reward,
            "unallocatedPool": self.pool,
            "leadingProposal": self.leader[0] if self.leading_stake else ZERO_ROOT,
            "leadingStake": self.leading_stake,
            "unclaimedRewards": self.unclaimed,
            "claimsClosed": self.claims_closed,
        }

    def participant(self, address: str) -> dict[str, Any]:
        a = self.account(address)
        return {
            "role": {"trainer": Role.TRAINER, "validator": Role.VALIDATOR}.get(a.role, Role.NONE).value,
            "stake": a.stake,
            "active": a.active,
            "exiting": a.exiting,
            "unlockAt": a.unlock_at,
            "lastRound": a.round,
            "hasRound": a.has_round,
            "unsettled": a.unsettled,
            "weight": a.weight,
            "attested": a.attested,
            "committed": a.committed,
        }

    def participant_status(self, round_id: int, address: str) -> dict[str, Any]:
        a = self.account(address)
        if not a.has_round or a.round < round_id or (a.round == round_id and not a.committed):
            return {"status": ParticipationStatus.NONE.value, "record": ZERO_ROOT}
        if a.round > round_id:
            return {"status": ParticipationStatus.UNRECORDED.value, "record": ZERO_ROOT}
        status = ParticipationStatus.REVEALED if a.revealed else ParticipationStatus.COMMITTED
        return {"status": status.value, "record": a.record}

    def round_outcome(self, round_id: int) -> dict[str, Any]:
        rd = self.rounds.get(round_id) or Round()
        reward = rd.round_reward
        if rd.status == Status.OPEN:
            reward = self.round_reward if round_id == self.current and not self.completed else 0
        trainer_pool = self._trainer_pool(reward)
        return {
            "status": rd.status.value,
            "rewardRoot": rd.reward_root,
            "penaltyRoot": rd.penalty_root,
            "winningStake": rd.winning_stake,
            "roundReward": reward,
            "trainerPool": trainer_pool,
            "validatorPool": reward - trainer_pool,
            "trainerClaimed": rd.trainer_claimed,
            "validatorClaimed": rd.validator_claimed,
            "finalizedAt": rd.finalized_at,
        }

    def proposal_stake(self, round_id: int, proposal: bytes) -> int:
        rd = self.rounds.get(round_id)
        return rd.tally.get(proposal, 0) if rd else 0

    def trainer_reward_claimed(self, round_id: int, address: str) -> bool:
        return (address.lower(), round_id) in self.trainer_claims

    def trainer_penalized(self, round_id: int, address: str) -> bool:
        return (address.lower(), round_id) in self.penalties

    def validator_reward(self, address: str, round_id: int) -> int:
        """What `claim_validator(address, round_id)` would pay now (0 if nothing), without claiming
        (TaskViews.validatorReward)."""
        a = self.account(address)
        if not (a.unsettled and a.round == round_id) or a.role != "validator" or self.claims_closed:
            return 0
        rd = self.rounds.get(round_id)
        if rd is None or rd.status == Status.OPEN or self._due(a) != Due.REWARD:
            return 0
        return self._validator_share(rd, a.weight)

    # --- actions ------------------------------------------------------------------------------

    @_transaction
    def stake(self, address: str, role: str, amount: int) -> None:
        self._charge(address, "approve")
        key = self._charge(address, "stake")
        if role not in ("trainer", "validator"):
            raise LedgerRevert(f"FLTaskManagerRoleMismatch: {key} cannot stake as {role}")
        if amount == 0:
            raise LedgerRevert("FLTaskManagerZeroAmount")
        if amount > UINT96_MAX:
            raise LedgerRevert(f"FLTaskManagerAmountTooLarge: {amount}")
        self._sync()
        if self.completed:
            raise LedgerRevert("FLTaskManagerTaskAlreadyCompleted")
        if role == "validator" and self._stake_frozen():
            raise LedgerRevert(f"FLTaskManagerValidatorStakeFrozen: {self.clock.phase.name}")
        a = self.accounts.setdefault(key, Account(role="none"))
        if a.role not in ("none", role):
            raise LedgerRevert(f"FLTaskManagerRoleMismatch: {key} is a {a.role}")
        if a.exiting:
            raise LedgerRevert(f"FLTaskManagerAlreadyExiting: {key}")
        self._settle(key, a)
        a.role = role
        a.stake += amount
        if a.stake < self._minimum(role):
            raise LedgerRevert(f"FLTaskManagerStakeBelowMinimum: {a.stake}")
        if not a.active:
            self._activate(key, a)
        elif role == "validator":
            self.total_validator_stake += amount
            self._add_validator_stake(amount)
        self._store()
        self._pay(key, -amount)
        self.escrow += amount

    @_transaction
    def request_exit(self, address: str) -> None:
        key = self._charge(address, "requestExit")
        self._sync()
        if self.completed:
            raise LedgerRevert("FLTaskManagerTaskAlreadyCompleted")
        a = self.accounts.get(key)
        if a is None:
            raise LedgerRevert(f"FLTaskManagerNotStaked: {key}")
        if a.exiting:
            raise LedgerRevert(f"FLTaskManagerAlreadyExiting: {key}")
        if a.role == "validator" and self._stake_frozen():
            raise LedgerRevert(f"FLTaskManagerValidatorStakeFrozen: {self.clock.phase.name}")
        if self._in_round(a) and a.committed:  # its commitment must stay counted until finalization
            raise LedgerRevert(f"FLTaskManagerRoundUnsettled: {key} round {self.current}")
        if a.active:
            self._deactivate(a)
        a.exiting = True
        a.unlock_at = ((self.now or 0) + self.terms.exit_cooldown) % UINT32
        self._store()

    @_transaction
    def commit_update(self, address: str, commitment: bytes) -> None:
        key = self._charge(address, "commitUpdate")
        if commitment == ZERO_ROOT:
            raise LedgerRevert("FLTaskManagerZeroCommitment")
        self._sync()
        self._require_phase(Phase.COMMIT)
        if self.clock.commits >= self.terms.max_trainers_per_round:
            raise LedgerRevert(f"FLTaskManagerRoundFull: {self.terms.max_trainers_per_round}")
        self._commit(key, "trainer", commitment)
        self.clock.commits += 1
        self._store()

    @_transaction
    def commit_vote(self, address: str, commitment: bytes) -> None:
        key = self._charge(address, "commitVote")
        if commitment == ZERO_ROOT:
            raise LedgerRevert("FLTaskManagerZeroCommitment")
        self._sync()
        self._require_phase(Phase.VOTE_COMMIT)
        self.before_attest = False
        self._commit(key, "validator", commitment)
        self.clock.vote_commits += 1
        self._store()

    @_transaction
    def reveal_update(self, address: str, cid: str, num_samples: int, salt: bytes) -> int:
        key = self._charge(address, "revealUpdate")
        self._sync()
        self._require_phase(Phase.REVEAL)
        a = self._can_reveal(key, "trainer")
        if not cid:
            raise LedgerRevert("FLTaskManagerEmptyUpdateCid")
        if num_samples == 0:
            raise LedgerRevert("FLTaskManagerZeroSamples")
        backed = backed_samples(a.weight, self.terms.stake_per_sample)
        if backed is not None and num_samples > backed:
            raise LedgerRevert(f"FLTaskManagerSamplesNotBacked: {num_samples} > {backed}")
        self._check(a, update_commitment(self.task_id, self.current, key, cid, num_samples, salt))
        a.record = keccak(cid.encode())
        a.revealed = True
        index = self.clock.reveals
        self.clock.reveals += 1
        self.rounds[self.current].reveals.append(Reveal(index, key, cid, num_samples))
        self._store()
        return index

    @_transaction
    def attest(self, address: str, held: bytes) -> None:
        if self.terms.old_rules:
            raise LedgerRevert("no Attest phase before issue 12")
        key = self._charge(address, "attestAvailability")
        self._sync()
        self._require_phase(Phase.ATTEST)
        expected = (self.clock.reveals + 7) // 8
        if len(held) != expected:
            raise LedgerRevert(f"FLTaskManagerBadAttestation: {len(held)} != {expected}")
        a = self._role(key, "validator")
        if self._in_round(a) and a.attested:
            raise LedgerRevert(f"FLTaskManagerAlreadyAttested: {key}")
        self.before_attest = False
        self._join(key, a)
        a.attested = True
        self.clock.attests += 1
        self.rounds[self.current].attestations.append(Attestation(key, held, a.weight, self.round_stake))
        self._store()

    # FLPrivacy (SecAgg tasks) moves no token: the mirror charges the gas and checks what the contract
    # checks, but neither the phase nor the round's minimum of contributors (Terms does not hold it).
    @_transaction
    def register_key(self, address: str, public_key: bytes) -> None:
        key = self._charge(address, "registerKey")
        a = self.accounts.get(key)
        if a is None or a.role != "trainer":
            raise LedgerRevert(f"FLPrivacyRoleTakesNoKey: {key}")
        if key in self.keys:
            raise LedgerRevert(f"FLPrivacyKeyAlreadyRegistered: {key}")
        if public_key == bytes(32):
            raise LedgerRevert("FLPrivacyZeroKey")
        self.keys.add(key)

    @_transaction
    def publish_seeds(self, address: str, seeds: bytes) -> None:
        key = self._charge(address, "publishMaskSeeds")
        a = self.accounts.get(key)
        if a is None or a.role != "trainer" or not (self._in_round(a) and a.revealed):
            raise LedgerRevert(f"FLPrivacyNotRevealed: {key} in round {self.current}")
        if (key, self.current) in self.seeds:
            raise LedgerRevert(f"FLPrivacySeedsAlreadyPublished: {key}")
        if len(seeds) % 32:
            raise LedgerRevert(f"FLPrivacyBadSeeds: {len(seeds)}")
        self.seeds.add((key, self.current))

    @_transaction
    def reveal_vote(self, address: str, cid: str, reward_root: bytes, penalty_root: bytes, salt: bytes) -> None:
        key = self._charge(address, "revealVote")
        self._sync()
        self._require_phase(Phase.VOTE_REVEAL)
        if not cid and (reward_root != ZERO_ROOT or penalty_root != ZERO_ROOT):
            raise LedgerRevert("FLTaskManagerMalformedProposal")
        proposal = proposal_hash(cid, reward_root, penalty_root)
        a = self._can_reveal(key, "validator")
        self._check(a, vote_commitment(self.task_id, self.current, key, proposal, salt))
        a.revealed = True
        a.record = proposal
        self.clock.vote_reveals += 1
        tally = self.rounds[self.current].tally
        tally[proposal] += a.weight
        if tally[proposal] > self.leading_stake:  # the first to reach the top stake leads (_countVote)
            self.leading_stake = tally[proposal]
            self.leader = (proposal, reward_root, penalty_root)
        self._store()

    @_transaction
    def finalize(self, address: str) -> Round:
        self._charge(address, "finalizeRound")
        self._sync()
        if self.completed:
            raise LedgerRevert("FLTaskManagerWrongPhase: completed")
        self._require_phase(Phase.AWAITING_FINALIZATION)
        proposal, reward_root, penalty_root = self.leader
        reward = self.round_reward
        trainer_pool = self._trainer_pool(reward)
        total = self.total_validator_stake if self.terms.old_rules else self.round_stake
        if not (self.leading_stake and self.leading_stake * BPS >= total * self.terms.quorum_bps):
            status = Status.FAILED
        else:
            status = Status.REJECTED if proposal == REJECT_PROPOSAL else Status.ACCEPTED
        rd = self.rounds[self.current]
        owed = 0
        if status == Status.ACCEPTED:
            owed = reward if (self.terms.old_rules or reward_root != ZERO_ROOT) else reward - trainer_pool
            rd.reward_root, rd.penalty_root = reward_root, penalty_root
        elif status == Status.REJECTED and self.terms.old_rules:
            owed = reward - trainer_pool
        rd.status = status
        rd.winning_stake = 0 if status == Status.FAILED else self.leading_stake
        rd.round_reward = reward
        rd.finalized_at = self.now or 0
        if self._pays_validators(rd):
            self.validator_stake += reward - trainer_pool  # the winners' rewards: stake from now on
        self.pool += reward - owed
        self.unclaimed += owed
        self.leading_stake = 0
        self.round_stake = self.validator_stake  # the next round's snapshot
        self.before_attest = self.current + 1 < self.terms.num_rounds
        if self.current + 1 < self.terms.num_rounds:  # _startRound (the clock is written, not advanced)
            self.current += 1
            self.round_reward = self.pool // (self.terms.num_rounds - self.current)
            self.pool -= self.round_reward
            c = self.clock
            c.phase, c.phase_end = Phase.COMMIT, (self.now or 0) + self.terms.commit_duration
            c.commits = c.reveals = c.attests = c.vote_commits = c.vote_reveals = 0
        else:
            self.completed = True
            self.round_reward = 0
            self.clock.phase, self.clock.phase_end = Phase.COMPLETED, 0
        return rd

    @_transaction
    def slash(self, sender: str, round_id: int, address: str) -> None:
        self._charge(sender, "slash")
        self._sync()
        key = address.lower()
        a = self.account(key)
        if not (a.unsettled and a.round == round_id and self._finalized(round_id) and self._due(a) == Due.SLASH):
            raise LedgerRevert(f"FLTaskManagerNotSlashable: {key} round {round_id}")
        self._settle(key, a)
        self._store()

    @_transaction
    def penalize(self, sender: str, round_id: int, trainer: str, proof: list[bytes]) -> None:
        self._charge(sender, "penalizeTrainer")
        if self.terms.old_rules:
            raise LedgerRevert("no penalties before issue 12")
        self._sync()
        key = trainer.lower()
        status = self._status(round_id)
        if status == Status.OPEN:
            raise LedgerRevert(f"FLTaskManagerRoundNotFinalized: {round_id}")
        if status != Status.ACCEPTED:
            raise LedgerRevert(f"FLTaskManagerRoundNotAccepted: {round_id}")
        if (key, round_id) in self.penalties:
            raise LedgerRevert(f"FLTaskManagerAlreadyPenalized: {key} round {round_id}")
        if process_proof(penalty_leaf_hash(key), proof) != self.rounds[round_id].penalty_root:
            raise LedgerRevert(f"FLTaskManagerInvalidPenaltyProof: {key} round {round_id}")
        a = self.account(key)
        if a.role != "trainer":
            raise LedgerRevert(f"FLTaskManagerNotStaked: {key}")
        # Deactivating a trainer that committed in the open Commit phase could end that phase early.
        if self.now is not None and self.clock.phase == Phase.COMMIT and self._in_round(a) and a.committed:
            raise LedgerRevert(f"FLTaskManagerPenaltyDeferred: {key} round {self.current}")
        self.penalties.add((key, round_id))
        self._apply_slash(key, a, self.terms.trainer_penalty_bps, on_current_stake=True)
        self._store()

    @_transaction
    def claim_trainer(self, address: str, round_id: int, amount: int, proof: list[bytes]) -> None:
        key = self._charge(address, "claimTrainerReward")
        if self.claims_closed:
            raise LedgerRevert("FLTaskManagerClaimsClosed")
        status = self._status(round_id)
        if status == Status.OPEN:
            raise LedgerRevert(f"FLTaskManagerRoundNotFinalized: {round_id}")
        if status != Status.ACCEPTED:
            raise LedgerRevert(f"FLTaskManagerRoundNotAccepted: {round_id}")
        rd = self.rounds[round_id]
        if (key, round_id) in self.trainer_claims:
            raise LedgerRevert(f"FLTaskManagerAlreadyClaimed: {key} round {round_id}")
        if not verify(rd.reward_root, key, amount, proof):
            raise LedgerRevert(f"FLTaskManagerInvalidProof: {key} round {round_id} amount {amount}")
        remaining = self._trainer_pool(rd.round_reward) - rd.trainer_claimed
        if amount > remaining:
            raise LedgerRevert(f"FLTaskManagerTrainerPoolExceeded: {amount} > {remaining}")
        self.trainer_claims.add((key, round_id))
        rd.trainer_claimed += amount
        self.unclaimed -= amount
        self._pay_out(key, amount)
        self.flows[key].rewards += amount

    @_transaction
    def claim_validator(self, address: str, round_id: int) -> int:
        key = self._charge(address, "claimValidatorReward")
        if self.claims_closed:
            raise LedgerRevert("FLTaskManagerClaimsClosed")
        a = self.account(key)
        if not (a.unsettled and a.round == round_id and a.role == "validator"):
            raise LedgerRevert(f"FLTaskManagerNoValidatorReward: {key} round {round_id}")
        if self._status(round_id) == Status.OPEN:
            raise LedgerRevert(f"FLTaskManagerRoundNotFinalized: {round_id}")
        if self._due(a) != Due.REWARD:
            raise LedgerRevert(f"FLTaskManagerNoValidatorReward: {key} round {round_id}")
        rd = self.rounds[round_id]
        reward = self._validator_share(rd, a.weight)
        a.unsettled = False
        rd.validator_claimed += reward
        self.unclaimed -= reward
        self.validator_stake -= reward  # the round's snapshot stays (the contract reads no clock here)
        self._pay_out(key, reward)
        self.flows[key].rewards += reward
        return reward

    @_transaction
    def withdraw(self, address: str) -> int:
        """Withdraw the whole stake (without a time, taken to be after the unlock time)."""
        key = self._charge(address, "withdraw")
        self._sync()
        a = self.accounts.get(key)
        if a is None:
            raise LedgerRevert(f"FLTaskManagerNotStaked: {key}")
        self._settle(key, a)
        if a.unsettled:
            raise LedgerRevert(f"FLTaskManagerRoundUnsettled: {key}")
        unlock_at = a.unlock_at  # _unlockTime: a trainer that committed waits out its round's penalty window
        if a.role == "trainer" and a.committed:
            unlock_at = max(unlock_at, self.rounds[a.round].finalized_at + self.terms.exit_cooldown)
        if not self.completed and not a.exiting:
            raise LedgerRevert(f"FLTaskManagerStakeLocked: {key} until completion")
        if self.now is not None and self.now < unlock_at:
            raise LedgerRevert(f"FLTaskManagerStakeLocked: {key} until {unlock_at}")
        if a.active:
            self._deactivate(a)
        del self.accounts[key]
        self._store()
        self._pay_out(key, a.stake)
        return a.stake

    @_transaction
    def reclaim(self, sender: str) -> int:
        """The requester's reclaim of the unallocated pool and, once the claim window is over, of
        what was never claimed (without a time, the window is taken to be still open)."""
        self._charge(sender, "reclaim")
        if not self.completed:
            raise LedgerRevert("FLTaskManagerTaskNotCompleted")
        if self.requester is None:
            raise ValueError("reclaim needs the requester (MirrorLedger(requester=...))")
        window_end = self.rounds[self.terms.num_rounds - 1].finalized_at + self.terms.claim_window
        unclaimed = 0
        if self.now is not None and self.now >= window_end and not self.claims_closed:
            unclaimed, self.unclaimed, self.claims_closed = self.unclaimed, 0, True
        if self.pool == 0 and unclaimed == 0:
            raise LedgerRevert(f"FLTaskManagerNothingToReturn: claim window ends at {window_end}")
        amount = self.pool + unclaimed
        self.pool = 0
        self._pay_out(self.requester, amount)
        return amount

    # --- the contract's functions by their ABI names ------------------------------------------

    def transact(self, function: str, sender: str, *args: Any, now: int | None = None) -> Any:
        """FLTaskManager's `function(taskId, *args)` sent by `sender` at time `now` (the block's)."""
        if function not in _TRANSACTIONS:
            raise NotMirrored(function)
        if now is not None:
            self.now = now
        return _TRANSACTIONS[function](self, str(sender), *args)

    def call(self, function: str, *args: Any, at: int | None = None) -> Any:
        """FLTaskManager's view `function(taskId, *args)` at time `at`; structs and named outputs as
        dicts by the ABI's names."""
        if function not in _VIEWS:
            raise NotMirrored(function)
        return _VIEWS[function](self, at, *args)

    # --- internals (the contract's private functions) -----------------------------------------

    def _save(self) -> dict[str, Any]:
        """Everything a reverted call must leave as it was: all but the gas charged (a reverted
        transaction costs gas too) and the constants."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("flows", "gas_table", "terms", "initial")}
        state["flow_amounts"] = {k: (f.rewards, f.slashes) for k, f in self.flows.items()}
        state["accounts"] = {k: dataclasses.replace(a) for k, a in self.accounts.items()}
        state["rounds"] = defaultdict(
            Round,
            {
                k: dataclasses.replace(
                    r, tally=defaultdict(int, r.tally), reveals=list(r.reveals), attestations=list(r.attestations)
                )
                for k, r in self.rounds.items()
            },
        )
        state["clock"] = dataclasses.replace(self.clock)
        for name in ("balances", "trainer_claims", "penalties", "keys", "seeds"):
            state[name] = self.__dict__[name].copy()
        return state

    def _restore(self, saved: dict[str, Any]) -> None:
        saved = dict(saved)
        for key, (rewards, slashes) in saved.pop("flow_amounts").items():
            self.flows[key].rewards, self.flows[key].slashes = rewards, slashes
        self.__dict__.update(saved)

    def _charge(self, address: str, call: str) -> str:
        key = address.lower()
        self.flows[key].gas += self.gas_table[call]
        self.flows[key].calls[call] += 1
        return key

    def _pay(self, key: str, amount: int) -> None:
        balance = self.balances.get(key, 0) + amount
        if balance < 0:
            raise LedgerRevert(f"ERC20InsufficientBalance: {key}")
        self.balances[key] = balance

    def _pay_out(self, key: str, amount: int) -> None:
        """The manager's transfer of `amount` to `key`."""
        self.escrow -= amount
        self._pay(key, amount)

    def _sync(self) -> None:
        """TaskStorage.sync and store: the phase clock as of this call (persisting it is harmless: a
        later sync at a later time gives the same clock)."""
        if self.now is not None:
            self.clock.advance(self.terms, self.now)

    _store = _sync

    def _require_phase(self, expected: Phase) -> None:
        if self.now is not None and self.clock.phase != expected:
            raise LedgerRevert(f"FLTaskManagerWrongPhase: expected {expected.name}, is {self.clock.phase.name}")

    def _stake_frozen(self) -> bool:
        return self.now is not None and self.clock.phase in FROZEN

    def _status(self, round_id: int) -> Status:
        rd = self.rounds.get(round_id)
        return rd.status if rd else Status.OPEN

    def _minimum(self, role: str) -> int:
        return self.terms.min_trainer_stake if role == "trainer" else self.terms.min_validator_stake

    def _trainer_pool(self, reward: int) -> int:
        return reward * self.terms.trainer_share_bps // BPS

    def _snapshot_moves(self) -> bool:
        """Whether the current round has not reached its Attest phase, so that its stake snapshot
        still moves with the validator stake (`c.phase < Attest` in TaskStorage)."""
        return self.clock.phase < Phase.ATTEST if self.now is not None else self.before_attest

    def _add_validator_stake(self, amount: int) -> None:
        """TaskStorage.addValidatorStake."""
        self.validator_stake += amount
        if self._snapshot_moves():
            self.round_stake += amount

    def _sub_validator_stake(self, amount: int) -> None:
        """TaskStorage.subValidatorStake."""
        self.validator_stake -= amount
        if self._snapshot_moves():
            self.round_stake -= amount

    def _pays_validators(self, rd: Round) -> bool:
        """Only Accepted rounds pay validators (Rejected ones too before issue 12)."""
        return rd.status == Status.ACCEPTED or (self.terms.old_rules and rd.status == Status.REJECTED)

    def _validator_share(self, rd: Round, weight: int) -> int:
        pool = rd.round_reward - self._trainer_pool(rd.round_reward)
        return pool * weight // rd.winning_stake

    def _role(self, key: str, role: str) -> Account:
        a = self.account(key)
        if a.role != role:
            raise LedgerRevert(f"FLTaskManagerRoleMismatch: {key} is not a {role}")
        return a

    def _in_round(self, a: Account) -> bool:
        return a.has_round and a.round == self.current

    def _finalized(self, round_id: int) -> bool:
        return round_id < self.current or self.completed

    def _activate(self, key: str, a: Account) -> None:
        c = self.clock
        if (c.active_trainers if a.role == "trainer" else c.active_validators) == UINT16_MAX:
            raise LedgerRevert(f"FLTaskManagerTooManyParticipants: {a.role}")
        if a.role == "trainer":
            c.active_trainers += 1
        else:
            c.active_validators += 1
            self.total_validator_stake += a.stake
            self._add_validator_stake(a.stake)
        a.active = True

    def _deactivate(self, a: Account) -> None:
        if a.role == "trainer":
            self.clock.active_trainers -= 1
        else:
            self.clock.active_validators -= 1
            self.total_validator_stake -= a.stake
            self._sub_validator_stake(a.stake)
        a.active = False

    def _join(self, key: str, a: Account) -> None:
        if self._in_round(a):
            return
        self._settle(key, a)
        if not a.active:
            raise LedgerRevert(f"FLTaskManagerNotActive: {key}")
        a.round, a.weight, a.has_round = self.current, a.stake, True
        a.committed = a.revealed = a.unsettled = a.attested = False

    def _commit(self, key: str, role: str, commitment: bytes) -> None:
        a = self._role(key, role)
        if self._in_round(a) and a.committed:
            raise LedgerRevert(f"FLTaskManagerAlreadyCommitted: {key}")
        self._join(key, a)
        a.committed = a.unsettled = True
        a.record = commitment

    @staticmethod
    def _check(a: Account, computed: bytes) -> None:
        if computed != a.record:
            raise LedgerRevert("FLTaskManagerCommitmentMismatch")

    def _can_reveal(self, key: str, role: str) -> Account:
        a = self._role(key, role)
        if not (self._in_round(a) and a.committed):
            raise LedgerRevert(f"FLTaskManagerNotCommitted: {key}")
        if a.revealed:
            raise LedgerRevert(f"FLTaskManagerAlreadyRevealed: {key}")
        return a

    def _due(self, a: Account) -> Due:
        if not a.revealed:
            return Due.SLASH
        if a.role == "trainer":
            return Due.NOTHING
        rd = self.rounds.get(a.round) or Round()
        if not self._pays_validators(rd):
            return Due.NOTHING
        if rd.tally.get(a.record, 0) == rd.winning_stake:
            return Due.REWARD
        if self.terms.old_rules or a.record != REJECT_PROPOSAL:
            return Due.SLASH
        return Due.NOTHING

    def _settle(self, key: str, a: Account) -> None:
        if not a.unsettled or not self._finalized(a.round):
            return
        due = self._due(a)
        a.unsettled = False
        if due == Due.SLASH:
            t = self.terms
            if not a.revealed:
                bps = t.trainer_non_reveal_slash_bps if a.role == "trainer" else t.validator_non_reveal_slash_bps
            else:
                bps = t.validator_losing_slash_bps
            self._apply_slash(key, a, bps, on_current_stake=False)
        elif due == Due.REWARD:  # _restake (forfeited once claims closed)
            if self.claims_closed:
                return
            rd = self.rounds[a.round]
            reward = self._validator_share(rd, a.weight)
            if reward == 0:
                return
            a.stake += reward
            rd.validator_claimed += reward
            self.unclaimed -= reward
            if a.active:
                self.total_validator_stake += reward
            else:  # counted in the validator stake since its round: it leaves with the account
                self._sub_validator_stake(reward)
            self.flows[key].rewards += reward

    def _apply_slash(self, key: str, a: Account, bps: int, *, on_current_stake: bool) -> None:
        base = a.stake if on_current_stake else a.weight
        amount = min(base * bps // BPS, a.stake)
        if amount == 0:
            return
        a.stake -= amount
        self.pool += amount
        self.flows[key].slashes += amount
        if a.active:
            if a.role == "validator":
                self.total_validator_stake -= amount
                self._sub_validator_stake(amount)
            if a.stake < self._minimum(a.role):
                self._deactivate(a)


def _b32(value: Any) -> bytes:
    """A bytes32 or bytes argument as the ABI sends it (bytes, or a 0x-prefixed hex string)."""
    return bytes(HexBytes(value))


_ROLES = {Role.NONE: "none", Role.TRAINER: "trainer", Role.VALIDATOR: "validator"}

# FLTaskManager's transactions: (mirror, sender, *ABI arguments without the task id).
_TRANSACTIONS: dict[str, Callable[..., Any]] = {
    "stake": lambda m, s, role, amount: m.stake(s, _ROLES[Role(int(role))], int(amount)),
    "requestExit": lambda m, s: m.request_exit(s),
    "withdraw": lambda m, s: m.withdraw(s),
    "commitUpdate": lambda m, s, commitment: m.commit_update(s, _b32(commitment)),
    "revealUpdate": lambda m, s, cid, samples, salt: m.reveal_update(s, str(cid), int(samples), _b32(salt)),
    "attestAvailability": lambda m, s, held: m.attest(s, _b32(held)),
    "commitVote": lambda m, s, commitment: m.commit_vote(s, _b32(commitment)),
    "revealVote": lambda m, s, cid, reward_root, penalty_root, salt, _metric: m.reveal_vote(
        s, str(cid), _b32(reward_root), _b32(penalty_root), _b32(salt)
    ),
    "finalizeRound": lambda m, s: m.finalize(s),
    "claimTrainerReward": lambda m, s, r, amount, proof: m.claim_trainer(
        s, int(r), int(amount), [_b32(p) for p in proof]
    ),
    "claimValidatorReward": lambda m, s, r: m.claim_validator(s, int(r)),
    "slash": lambda m, s, r, account: m.slash(s, int(r), str(account)),
    "penalizeTrainer": lambda m, s, r, trainer, proof: m.penalize(s, int(r), str(trainer), [_b32(p) for p in proof]),
    "reclaim": lambda m, s: m.reclaim(s),
}

# FLTaskManager's views: (mirror, time, *ABI arguments without the task id).
_VIEWS: dict[str, Callable[..., Any]] = {
    "currentRound": lambda m, at: m.current_round(at),
    "taskState": lambda m, at: m.task_state(at),
    "participant": lambda m, at, account: m.participant(str(account)),
    "participantStatus": lambda m, at, r, account: m.participant_status(int(r), str(account)),
    "roundOutcome": lambda m, at, r: m.round_outcome(int(r)),
    "proposalStake": lambda m, at, r, proposal: m.proposal_stake(int(r), _b32(proposal)),
    "trainerRewardClaimed": lambda m, at, r, account: m.trainer_reward_claimed(int(r), str(account)),
    "trainerPenalized": lambda m, at, r, account: m.trainer_penalized(int(r), str(account)),
    "validatorReward": lambda m, at, r, account: m.validator_reward(str(account), int(r)),
}
