"""Each participant's totals in a task: staked, earned, claimed, slashed, updates and votes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from offchain.chain.events import (
    Slashed,
    Staked,
    TaskLog,
    TrainerRewardClaimed,
    UpdateRevealed,
    ValidatorRewardClaimed,
    VoteRevealed,
)
from offchain.chain.protocol import Role
from offchain.fl.receipt import RoundReceipt


@dataclass(frozen=True)
class ParticipantTotals:
    account: str  # checksummed, as the events give it
    role: Role
    staked: int  # every amount it staked (not its stake now: slashes and withdrawals change that)
    earned: int  # trainers: rewards in the winning receipts; validators: claimed plus still claimable
    claimed: int  # paid out or restaked
    slashed: int
    updates_revealed: int
    votes_revealed: int


def participant_totals(
    log: TaskLog,
    receipts: Mapping[int, RoundReceipt],
    claimable_validator_rewards: Mapping[str, int] | None = None,
) -> list[ParticipantTotals]:
    """One row per account that staked, in order of first stake. `receipts` are the winning
    receipts by round (a trainer's reward is in them); a validator's unclaimed reward is known only
    to the chain's `validatorReward` view, so whoever can ask it passes the sums (by lower-case
    address) in `claimable_validator_rewards`."""
    earned: dict[str, int] = defaultdict(int)
    for receipt in receipts.values():
        for account, amount in receipt.rewards:
            earned[account.lower()] += amount
    claimed: dict[str, int] = defaultdict(int)
    for trainer_claim in log.of(TrainerRewardClaimed):
        claimed[trainer_claim.record.trainer.lower()] += trainer_claim.record.amount
    for validator_claim in log.of(ValidatorRewardClaimed):
        claimed[validator_claim.record.validator.lower()] += validator_claim.record.amount
    slashed = _sum_by_account((e.record.account, e.record.amount) for e in log.of(Slashed))
    staked = _sum_by_account((e.record.account, e.record.amount) for e in log.of(Staked))
    updates = _sum_by_account((e.record.trainer, 1) for e in log.of(UpdateRevealed))
    votes = _sum_by_account((e.record.validator, 1) for e in log.of(VoteRevealed))
    claimable = {k.lower(): v for k, v in (claimable_validator_rewards or {}).items()}
    roles: dict[str, Role] = {}
    for stake in log.of(Staked):
        roles.setdefault(stake.record.account, stake.record.role)
    rows = []
    for account, role in roles.items():
        key = account.lower()
        rows.append(
            ParticipantTotals(
                account=account,
                role=role,
                staked=staked[key],
                earned=earned[key] if role == Role.TRAINER else claimed[key] + claimable.get(key, 0),
                claimed=claimed[key],
                slashed=slashed[key],
                updates_revealed=updates[key],
                votes_revealed=votes[key],
            )
        )
    return rows


def _sum_by_account(pairs: Iterable[tuple[str, int]]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for account, amount in pairs:
        totals[account.lower()] += amount
    return totals
