"""The protocol's on-chain vocabulary in Python: enums, records, and the commitments' hashes.

Mirrors `contracts/interfaces/IFLTaskManager.sol`. The records of its structs have the ABI's
field names in snake_case, in the ABI's order, and are read and written by name
(`offchain.chain.abi_records`; `tests/offchain/chain/test_abi_records.py` checks them against the
build artifacts): a new struct field is one new line here. Commitments are computed locally
(same `abi.encode` as the contract) so a salt never leaves the process before its reveal.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import IntEnum

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from offchain.units import ZERO_ROOT


class Phase(IntEnum):
    NONE = 0
    REGISTRATION = 1
    COMMIT = 2
    REVEAL = 3
    ATTEST = 4
    VOTE_COMMIT = 5
    VOTE_REVEAL = 6
    AWAITING_FINALIZATION = 7
    COMPLETED = 8


# Phases in which validators cannot stake, top up or request exit (the quorum denominator holds still).
VALIDATOR_STAKE_FROZEN = (Phase.ATTEST, Phase.VOTE_COMMIT, Phase.VOTE_REVEAL, Phase.AWAITING_FINALIZATION)


class PrivacyMode(IntEnum):
    """Who can read a task's updates: everyone, the validators, or nobody (only their sum)."""

    PLAINTEXT = 0
    SEALED = 1
    SECAGG = 2


class PrivacyUnit(IntEnum):
    """What differential privacy protects: a trainer's whole data, or each of its samples."""

    TRAINER = 0
    SAMPLE = 1


class Role(IntEnum):
    NONE = 0
    TRAINER = 1
    VALIDATOR = 2


class RoundStatus(IntEnum):
    OPEN = 0
    ACCEPTED = 1
    REJECTED = 2
    FAILED = 3


class SlashReason(IntEnum):
    TRAINER_NON_REVEAL = 0
    VALIDATOR_NON_REVEAL = 1
    VALIDATOR_LOSING_VOTE = 2
    TRAINER_REJECTED_UPDATE = 3


class ParticipationStatus(IntEnum):
    NONE = 0
    COMMITTED = 1
    REVEALED = 2
    UNRECORDED = 3


@dataclass(frozen=True)
class PrivacyParams:
    """How a task protects its trainers' updates (IFLTaskManager.PrivacyParams; docs/privacy.md)."""

    mode: PrivacyMode = PrivacyMode.PLAINTEXT
    epsilon_budget_micro: int = 0  # ε x 1e6 for the whole task; 0: no differential privacy
    delta_atto: int = 0  # δ x 1e18
    noise_multiplier_micro: int = 0  # noise std over the clip, x 1e6
    min_contributors: int = 0  # secagg: fewest reveals whose sum may be unmasked (each adds 1/this of the noise)
    scale_bits: int = 0  # secagg: updates quantized to multiples of 2^-scale_bits
    unit: PrivacyUnit = PrivacyUnit.TRAINER  # SAMPLE: per-example clipping, one gradient step a round (DP-FedSGD)

    @property
    def dp(self) -> bool:
        return self.epsilon_budget_micro > 0

    @property
    def noise_multiplier(self) -> float:
        return self.noise_multiplier_micro / 1e6


PLAINTEXT = PrivacyParams()


@dataclass(frozen=True)
class TaskParams:
    """Arguments of createTask, and what the `taskParams` view returns."""

    model_spec_cid: str
    initial_model_cid: str
    eval_dataset_cid: str
    eval_dataset_hash: bytes
    rule_id: int
    rule_params: tuple[int, ...]
    num_rounds: int
    registration_duration: int
    commit_duration: int
    reveal_duration: int
    attest_duration: int
    vote_commit_duration: int
    vote_reveal_duration: int
    exit_cooldown: int
    claim_window: int
    min_trainer_stake: int
    min_validator_stake: int
    stake_per_sample: int
    max_trainers_per_round: int
    max_update_bytes: int
    max_delta_norm_micro: int
    quorum_bps: int
    trainer_non_reveal_slash_bps: int
    trainer_penalty_bps: int
    validator_non_reveal_slash_bps: int
    validator_losing_slash_bps: int
    trainer_share_bps: int
    reward_pool: int
    privacy: PrivacyParams = PLAINTEXT


@dataclass(frozen=True)
class TaskState:
    requester: str
    created_at: int
    round: int
    phase: Phase
    phase_deadline: int
    commits: int
    reveals: int
    attests: int
    vote_commits: int
    vote_reveals: int
    active_trainers: int
    active_validators: int
    total_validator_stake: int
    round_reward: int
    unallocated_pool: int
    leading_proposal: bytes
    leading_stake: int
    unclaimed_rewards: int
    claims_closed: bool


@dataclass(frozen=True)
class Participant:
    role: Role
    stake: int
    active: bool
    exiting: bool
    unlock_at: int
    last_round: int
    has_round: bool
    unsettled: bool
    weight: int
    attested: bool
    committed: bool


@dataclass(frozen=True)
class RoundOutcome:
    status: RoundStatus
    reward_root: bytes
    penalty_root: bytes
    winning_stake: int
    round_reward: int
    trainer_pool: int
    validator_pool: int
    trainer_claimed: int
    validator_claimed: int
    finalized_at: int


# The view functions that return these records.
VIEW_RECORDS: dict[str, type] = {
    "taskParams": TaskParams,
    "taskState": TaskState,
    "participant": Participant,
    "roundOutcome": RoundOutcome,
}


def new_salt() -> bytes:
    return os.urandom(32)


def backed_samples(stake: int, stake_per_sample: int) -> int | None:
    """The most samples a trainer with this stake (its weight in the round) may declare: the contract
    refuses a reveal of more (FLTaskManagerSamplesNotBacked). None when the task sets no price."""
    return stake // stake_per_sample if stake_per_sample else None


def stake_backing(samples: int, stake_per_sample: int) -> int:
    """The stake that backs `samples` declared samples."""
    return samples * stake_per_sample


def update_commitment(
    task_id: int, round_id: int, trainer: str, update_cid: str, num_samples: int, salt: bytes
) -> bytes:
    return keccak(
        encode(
            ["uint256", "uint256", "address", "string", "uint256", "bytes32"],
            [task_id, round_id, to_checksum_address(str(trainer)), update_cid, num_samples, salt],
        )
    )


def proposal_hash(aggregate_cid: str, reward_root: bytes, penalty_root: bytes) -> bytes:
    return keccak(encode(["string", "bytes32", "bytes32"], [aggregate_cid, reward_root, penalty_root]))


REJECT_PROPOSAL = proposal_hash("", ZERO_ROOT, ZERO_ROOT)


def vote_commitment(task_id: int, round_id: int, validator: str, proposal: bytes, salt: bytes) -> bytes:
    return keccak(
        encode(
            ["uint256", "uint256", "address", "bytes32", "bytes32"],
            [task_id, round_id, to_checksum_address(str(validator)), proposal, salt],
        )
    )
