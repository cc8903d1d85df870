"""The protocol's events as typed records, and a task's events in chain order.

One record per event of `FLTaskManager` and `FLPrivacy` (see `contracts/interfaces/`), named
like the event, fields as the ABI names them in snake_case and in its order (checked by
`tests/offchain/chain/test_abi_records.py`). An `Event` is one log: where it is on the chain,
its ABI-named arguments and its record. Pure: no web3 here, so the explorer's index and the
read model use the same records as the chain client.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from offchain.chain.abi_records import from_abi
from offchain.chain.protocol import Role, RoundStatus, SlashReason, TaskParams

R = TypeVar("R")


@dataclass(frozen=True)
class TaskCreated:
    task_id: int
    requester: str
    params: TaskParams


@dataclass(frozen=True)
class Staked:
    task_id: int
    account: str
    role: Role
    amount: int
    stake: int


@dataclass(frozen=True)
class ExitRequested:
    task_id: int
    account: str
    unlock_at: int


@dataclass(frozen=True)
class Withdrawn:
    task_id: int
    account: str
    amount: int


@dataclass(frozen=True)
class RoundStarted:
    task_id: int
    round: int
    global_model_proposal: bytes
    round_reward: int
    trainer_pool: int
    validator_pool: int
    commit_starts_at: int
    commit_deadline: int


@dataclass(frozen=True)
class UpdateCommitted:
    task_id: int
    round: int
    trainer: str
    commitment: bytes


@dataclass(frozen=True)
class UpdateRevealed:
    task_id: int
    round: int
    trainer: str
    update_cid: str
    num_samples: int
    index: int  # its bit in availability attestations


@dataclass(frozen=True)
class AvailabilityAttested:
    task_id: int
    round: int
    validator: str
    held: bytes  # bit i of byte i // 8 (least significant first): holds the update of reveal index i
    weight: int
    total_validator_stake: int


@dataclass(frozen=True)
class VoteCommitted:
    task_id: int
    round: int
    validator: str
    commitment: bytes
    weight: int


@dataclass(frozen=True)
class VoteRevealed:
    task_id: int
    round: int
    validator: str
    proposal_hash: bytes
    aggregate_cid: str  # the round receipt's CID ("" for the reject proposal)
    reward_root: bytes
    penalty_root: bytes
    weight: int
    metric: int


@dataclass(frozen=True)
class RoundFinalized:
    task_id: int
    round: int
    status: RoundStatus
    winning_proposal: bytes  # the leading proposal when it missed quorum (then Failed)
    reward_root: bytes
    penalty_root: bytes
    winning_stake: int  # the leading proposal's stake, also when it missed quorum
    total_validator_stake: int
    returned_to_pool: int


@dataclass(frozen=True)
class TaskCompleted:
    task_id: int
    unallocated_pool: int


@dataclass(frozen=True)
class Reclaimed:
    task_id: int
    requester: str
    unallocated: int
    unclaimed: int


@dataclass(frozen=True)
class TrainerRewardClaimed:
    task_id: int
    round: int
    trainer: str
    amount: int


@dataclass(frozen=True)
class ValidatorRewardClaimed:
    task_id: int
    round: int
    validator: str
    amount: int
    restaked: bool


@dataclass(frozen=True)
class Slashed:
    task_id: int
    round: int
    account: str
    reason: SlashReason
    amount: int
    remaining_stake: int


@dataclass(frozen=True)
class EncryptionKeyRegistered:
    task_id: int
    account: str
    role: Role
    public_key: bytes


@dataclass(frozen=True)
class KeyBundlePublished:
    task_id: int
    round: int
    validator: str
    bundle_cid: str


@dataclass(frozen=True)
class MaskSeedsPublished:
    task_id: int
    round: int
    trainer: str
    seeds: bytes


# FLPrivacy's events (a contract of its own; its events also carry the task id first).
PRIVACY_EVENT_RECORDS: dict[str, type] = {
    cls.__name__: cls for cls in (EncryptionKeyRegistered, KeyBundlePublished, MaskSeedsPublished)
}

MANAGER_EVENT_RECORDS: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        TaskCreated,
        Staked,
        ExitRequested,
        Withdrawn,
        RoundStarted,
        UpdateCommitted,
        UpdateRevealed,
        AvailabilityAttested,
        VoteCommitted,
        VoteRevealed,
        RoundFinalized,
        TaskCompleted,
        Reclaimed,
        TrainerRewardClaimed,
        ValidatorRewardClaimed,
        Slashed,
    )
}

EVENT_RECORDS: dict[str, type] = MANAGER_EVENT_RECORDS | PRIVACY_EVENT_RECORDS


@dataclass(frozen=True)
class Event(Generic[R]):
    """One decoded log. `record` is the typed event (None for events without a record, such as
    the token's); `args` the same values as the ABI names them."""

    name: str
    args: dict[str, Any]
    block: int
    tx_hash: str
    log_index: int
    record: R
    timestamp: int | None = None  # of its block, where known (the explorer's index)


def decode_event(
    name: str, args: dict[str, Any], block: int, tx_hash: str, log_index: int, timestamp: int | None = None
) -> Event[Any]:
    kind = EVENT_RECORDS.get(name)
    record = from_abi(kind, args) if kind is not None else None
    return Event(name, args, block, tx_hash, log_index, record, timestamp)


@dataclass(frozen=True)
class TaskLog:
    """Every event of one task, in chain order, looked up by kind and round."""

    task_id: int
    events: tuple[Event[Any], ...]
    _index: dict[tuple[type, int | None], list[Event[Any]]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[tuple[type, int | None], list[Event[Any]]] = defaultdict(list)
        for event in self.events:
            kind = type(event.record)
            index[(kind, None)].append(event)
            round_id = getattr(event.record, "round", None)
            if round_id is not None:
                index[(kind, round_id)].append(event)
        object.__setattr__(self, "_index", dict(index))

    def of(self, kind: type[R], round_id: int | None = None) -> list[Event[R]]:
        """The events of `kind` (of round `round_id` if given), in chain order."""
        return cast(list[Event[R]], self._index.get((kind, round_id), []))

    def first(self, kind: type[R], round_id: int | None = None) -> Event[R] | None:
        found = self.of(kind, round_id)
        return found[0] if found else None
