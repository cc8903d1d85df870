"""The contract's reward and slash arithmetic in Python, to the wei: a chain-free mirror of
`FLTaskManager` (with `TaskStorage.due`, `RewardMath` and `TaskLifecycle.penalizeTrainer`) for the
incentive simulation (`bench/incentives.py`).

Only what moves tokens is mirrored: stakes, the weight fixed when an account joins a round, the
unallocated pool and round rewards, finalization, lazy settlement (slash or restake), penalties and
claims. Phases and deadlines are not: the simulation calls the actions in a fixed order that the
contract accepts (`bench/incentives_chain.py` plays the same calls on anvil and compares every
balance and stake). `old_rules=True` gives the arithmetic before issue 12 (commit 3800722): no
Attest phase, no collateral or penalties, a validator that revealed anything but the winner of an
Accepted or Rejected round is slashed (reject votes included), and an Accepted round owes its whole
reward even when its proposal pays no trainer.

Every method raises `LedgerRevert` where the contract would revert, naming the contract's error.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from enum import Enum, IntEnum

from offchain.chain.protocol import REJECT_PROPOSAL, ZERO_ROOT, proposal_hash, update_commitment, vote_commitment
from offchain.fl.availability import Attestation
from offchain.fl.merkle import penalty_leaf_hash, process_proof, verify
from offchain.fl.round import Reveal

BPS = 10_000


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


@dataclass(frozen=True)
class Terms:
    """The task parameters that move tokens (base units and basis points)."""

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


@dataclass
class Account:
    role: str  # "trainer" | "validator"
    stake: int = 0
    weight: int = 0  # stake when it joined `round`
    round: int = 0
    has_round: bool = False
    committed: bool = False
    revealed: bool = False
    unsettled: bool = False
    attested: bool = False
    active: bool = False
    record: bytes = b""  # the commitment, then what was revealed (a validator's proposal)


@dataclass
class Round:
    status: Status = Status.OPEN
    winning_stake: int = 0
    round_reward: int = 0
    reward_root: bytes = ZERO_ROOT
    penalty_root: bytes = ZERO_ROOT
    trainer_claimed: int = 0
    validator_claimed: int = 0
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


class MirrorLedger:
    """One task, from creation to the end of its last round."""

    def __init__(self, terms: Terms, gas_table: dict[str, int], balances: dict[str, int], task_id: int = 1) -> None:
        self.terms = terms
        self.task_id = task_id
        self.gas_table = gas_table
        self.balances = dict(balances)
        self.initial = dict(balances)
        self.accounts: dict[str, Account] = {}
        self.flows: dict[str, Flows] = defaultdict(Flows)
        reward = terms.reward_pool // terms.num_rounds
        self.pool = terms.reward_pool - reward
        self.round_reward = reward
        self.unclaimed = 0
        self.current = 0
        self.completed = False
        self.total_validator_stake = 0
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

    # --- actions ------------------------------------------------------------------------------

    def stake(self, address: str, role: str, amount: int) -> None:
        self._charge(address, "approve")
        key = self._charge(address, "stake")
        a = self.accounts.setdefault(key, Account(role=role))
        if a.role != role:
            raise LedgerRevert(f"FLTaskManagerRoleMismatch: {key} is a {a.role}")
        self._settle(key, a)
        a.stake += amount
        if a.stake < self._minimum(role):
            raise LedgerRevert(f"FLTaskManagerStakeBelowMinimum: {a.stake}")
        if not a.active:
            a.active = True
            if role == "validator":
                self.total_validator_stake += a.stake
        elif role == "validator":
            self.total_validator_stake += amount
        self._pay(key, -amount)

    def commit_update(self, address: str, commitment: bytes) -> None:
        self._commit(self._charge(address, "commitUpdate"), "trainer", commitment)

    def commit_vote(self, address: str, commitment: bytes) -> None:
        self._commit(self._charge(address, "commitVote"), "validator", commitment)

    def reveal_update(self, address: str, cid: str, num_samples: int, salt: bytes) -> int:
        key = self._charge(address, "revealUpdate")
        a = self._can_reveal(key, "trainer")
        per_sample = self.terms.stake_per_sample
        if per_sample and num_samples > a.weight // per_sample:
            raise LedgerRevert(f"FLTaskManagerSamplesNotBacked: {num_samples} > {a.weight // per_sample}")
        self._check(a, update_commitment(self.task_id, self.current, key, cid, num_samples, salt))
        a.revealed = True
        rd = self.rounds[self.current]
        index = len(rd.reveals)
        rd.reveals.append(Reveal(index, key, cid, num_samples))
        return index

    def attest(self, address: str, held: bytes) -> None:
        if self.terms.old_rules:
            raise LedgerRevert("no Attest phase before issue 12")
        key = self._charge(address, "attestAvailability")
        a = self._role(key, "validator")
        if self._in_round(a) and a.attested:
            raise LedgerRevert(f"FLTaskManagerAlreadyAttested: {key}")
        self._join(key, a)
        a.attested = True
        self.rounds[self.current].attestations.append(Attestation(key, held, a.weight, self.total_validator_stake))

    # FLPrivacy (SecAgg tasks) moves no token: the mirror charges the gas and checks what the contract
    # checks, but neither the phase nor the round's minimum of contributors (Terms does not hold it).
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

    def reveal_vote(self, address: str, cid: str, reward_root: bytes, penalty_root: bytes, salt: bytes) -> None:
        key = self._charge(address, "revealVote")
        if not cid and (reward_root != ZERO_ROOT or penalty_root != ZERO_ROOT):
            raise LedgerRevert("FLTaskManagerMalformedProposal")
        proposal = proposal_hash(cid, reward_root, penalty_root)
        a = self._can_reveal(key, "validator")
        self._check(a, vote_commitment(self.task_id, self.current, key, proposal, salt))
        a.revealed = True
        a.record = proposal
        tally = self.rounds[self.current].tally
        tally[proposal] += a.weight
        if tally[proposal] > self.leading_stake:  # the first to reach the top stake leads (_countVote)
            self.leading_stake = tally[proposal]
            self.leader = (proposal, reward_root, penalty_root)

    def finalize(self, address: str) -> Round:
        self._charge(address, "finalizeRound")
        if self.completed:
            raise LedgerRevert("FLTaskManagerWrongPhase: completed")
        proposal, reward_root, penalty_root = self.leader
        reward = self.round_reward
        trainer_pool = self._trainer_pool(reward)
        if not (self.leading_stake and self.leading_stake * BPS >= self.total_validator_stake * self.terms.quorum_bps):
            status = Status.FAILED
        else:
            status = Status.REJECTED if proposal == REJECT_PROPOSAL else Status.ACCEPTED
        rd = self.rounds[self.current]
        owed = 0
        if status == Status.ACCEPTED:
            owed = reward if (self.terms.old_rules or reward_root != ZERO_ROOT) else reward - trainer_pool
            rd.reward_root, rd.penalty_root = reward_root, penalty_root
        elif status == Status.REJECTED:
            owed = reward - trainer_pool
        rd.status = status
        rd.winning_stake = 0 if status == Status.FAILED else self.leading_stake
        rd.round_reward = reward
        self.pool += reward - owed
        self.unclaimed += owed
        self.leading_stake = 0
        if self.current + 1 < self.terms.num_rounds:
            self.current += 1
            self.round_reward = self.pool // (self.terms.num_rounds - self.current)
            self.pool -= self.round_reward
        else:
            self.completed = True
            self.round_reward = 0
        return rd

    def slash(self, sender: str, round_id: int, address: str) -> None:
        self._charge(sender, "slash")
        key = address.lower()
        a = self.account(key)
        if not (a.unsettled and a.round == round_id and self._finalized(round_id) and self._due(a) == Due.SLASH):
            raise LedgerRevert(f"FLTaskManagerNotSlashable: {key} round {round_id}")
        self._settle(key, a)

    def penalize(self, sender: str, round_id: int, trainer: str, proof: list[bytes]) -> None:
        self._charge(sender, "penalizeTrainer")
        if self.terms.old_rules:
            raise LedgerRevert("no penalties before issue 12")
        key = trainer.lower()
        if self.rounds[round_id].status != Status.ACCEPTED:
            raise LedgerRevert(f"FLTaskManagerRoundNotAccepted: {round_id}")
        if (key, round_id) in self.penalties:
            raise LedgerRevert(f"FLTaskManagerAlreadyPenalized: {key} round {round_id}")
        if process_proof(penalty_leaf_hash(key), proof) != self.rounds[round_id].penalty_root:
            raise LedgerRevert(f"FLTaskManagerInvalidPenaltyProof: {key} round {round_id}")
        a = self.account(key)
        if a.role != "trainer":
            raise LedgerRevert(f"FLTaskManagerNotStaked: {key}")
        # The simulation applies penalties before the next round's commits, so never PenaltyDeferred.
        self.penalties.add((key, round_id))
        self._apply_slash(key, a, self.terms.trainer_penalty_bps, on_current_stake=True)

    def claim_trainer(self, address: str, round_id: int, amount: int, proof: list[bytes]) -> None:
        key = self._charge(address, "claimTrainerReward")
        rd = self.rounds[round_id]
        if rd.status != Status.ACCEPTED:
            raise LedgerRevert(f"FLTaskManagerRoundNotAccepted: {round_id}")
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
        self._pay(key, amount)
        self.flows[key].rewards += amount

    def claim_validator(self, address: str, round_id: int) -> int:
        key = self._charge(address, "claimValidatorReward")
        a = self.account(key)
        if not (a.unsettled and a.round == round_id and a.role == "validator"):
            raise LedgerRevert(f"FLTaskManagerNoValidatorReward: {key} round {round_id}")
        rd = self.rounds[round_id]
        if rd.status == Status.OPEN:
            raise LedgerRevert(f"FLTaskManagerRoundNotFinalized: {round_id}")
        if self._due(a) != Due.REWARD:
            raise LedgerRevert(f"FLTaskManagerNoValidatorReward: {key} round {round_id}")
        reward = self._validator_share(rd, a.weight)
        a.unsettled = False
        rd.validator_claimed += reward
        self.unclaimed -= reward
        self._pay(key, reward)
        self.flows[key].rewards += reward
        return reward

    def validator_reward(self, address: str, round_id: int) -> int:
        """What `claim_validator(address, round_id)` would pay now (0 if nothing), without claiming."""
        a = self.account(address)
        rd = self.rounds.get(round_id)
        if (
            rd is None
            or rd.status == Status.OPEN
            or not (a.unsettled and a.round == round_id and a.role == "validator")
        ):
            return 0
        return self._validator_share(rd, a.weight) if self._due(a) == Due.REWARD else 0

    def withdraw(self, address: str) -> int:
        """withdraw after the task completed (the chain side waits for the unlock time first)."""
        key = self._charge(address, "withdraw")
        a = self.accounts.get(key)
        if a is None:
            raise LedgerRevert(f"FLTaskManagerNotStaked: {key}")
        self._settle(key, a)
        if a.unsettled:
            raise LedgerRevert(f"FLTaskManagerRoundUnsettled: {key}")
        if not self.completed:
            raise LedgerRevert(f"FLTaskManagerStakeLocked: {key}")
        if a.active and a.role == "validator":
            self.total_validator_stake -= a.stake
        del self.accounts[key]
        self._pay(key, a.stake)
        return a.stake

    # --- internals (the contract's private functions) -----------------------------------------

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

    def _minimum(self, role: str) -> int:
        return self.terms.min_trainer_stake if role == "trainer" else self.terms.min_validator_stake

    def _trainer_pool(self, reward: int) -> int:
        return reward * self.terms.trainer_share_bps // BPS

    def _validator_share(self, rd: Round, weight: int) -> int:
        pool = rd.round_reward - self._trainer_pool(rd.round_reward)
        return pool * weight // rd.winning_stake

    def _role(self, key: str, role: str) -> Account:
        a = self.accounts.get(key)
        if a is None or a.role != role:
            raise LedgerRevert(f"FLTaskManagerRoleMismatch: {key} is not a {role}")
        return a

    def _in_round(self, a: Account) -> bool:
        return a.has_round and a.round == self.current

    def _finalized(self, round_id: int) -> bool:
        return round_id < self.current or self.completed

    def _join(self, key: str, a: Account) -> None:
        if self._in_round(a):
            return
        self._settle(key, a)
        if not a.active:
            raise LedgerRevert(f"FLTaskManagerNotActive: {key}")
        a.round, a.weight, a.has_round = self.current, a.stake, True
        a.committed = a.revealed = a.unsettled = a.attested = False

    def _commit(self, key: str, role: str, commitment: bytes) -> None:
        if commitment == ZERO_ROOT:
            raise LedgerRevert("FLTaskManagerZeroCommitment")
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
        rd = self.rounds[a.round]
        if rd.status not in (Status.ACCEPTED, Status.REJECTED):
            return Due.NOTHING
        if rd.tally[a.record] == rd.winning_stake:
            return Due.REWARD
        if self.terms.old_rules or (rd.status == Status.ACCEPTED and a.record != REJECT_PROPOSAL):
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
        elif due == Due.REWARD:
            rd = self.rounds[a.round]
            reward = self._validator_share(rd, a.weight)
            if reward == 0:
                return
            a.stake += reward
            rd.validator_claimed += reward
            self.unclaimed -= reward
            if a.active:
                self.total_validator_stake += reward
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
            if a.stake < self._minimum(a.role):
                a.active = False
                if a.role == "validator":
                    self.total_validator_stake -= a.stake
