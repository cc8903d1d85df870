"""The validators a round counted on, replayed from the task's staking events.

The contract keeps a validator active while its stake is at least the task's minimum and it has
not asked to leave (`IFLTaskManager.TaskState.activeValidators`). Replaying Staked, Slashed,
ExitRequested and Withdrawn up to the round's finalization gives the validators still active
then; with everyone who committed a vote in the round, that is every validator the round could
have heard from, including those that never voted.
"""

from __future__ import annotations

from typing import Any

from offchain.chain.events import (
    Event,
    ExitRequested,
    RoundFinalized,
    Slashed,
    Staked,
    TaskCreated,
    TaskLog,
    VoteCommitted,
    Withdrawn,
)
from offchain.chain.protocol import Role


def round_validators(log: TaskLog, round_id: int) -> list[str]:
    """Every validator that committed a vote in the round (in commit order), then every other
    validator active when the round was finalized (or now, if it is open), in staking order."""
    committed = [c.record.validator for c in log.of(VoteCommitted, round_id)]
    end = log.first(RoundFinalized, round_id)
    idle = [a for a in _active_validators(log, end) if a not in committed]
    return committed + idle


def _active_validators(log: TaskLog, until: Event[Any] | None) -> list[str]:
    created = log.first(TaskCreated)
    minimum = created.record.params.min_validator_stake if created else 0
    limit = (until.block, until.log_index) if until else None
    active: dict[str, bool] = {}
    for event in log.events:
        if limit is not None and (event.block, event.log_index) > limit:
            break
        record = event.record
        if isinstance(record, Staked) and record.role == Role.VALIDATOR:
            active[record.account] = True  # staking requires the minimum and no pending exit
        elif isinstance(record, (Slashed, ExitRequested, Withdrawn)) and record.account in active:
            leaves = not isinstance(record, Slashed) or record.remaining_stake < minimum
            active[record.account] = active[record.account] and not leaves
    return [account for account, is_active in active.items() if is_active]
