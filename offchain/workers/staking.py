"""Staking, with everything the contract would refuse checked first: a stake that cannot succeed
is a one-line error before any approval or transaction, never a revert after one."""

from __future__ import annotations

import logging

from offchain.chain.manager import TaskManager
from offchain.chain.protocol import VALIDATOR_STAKE_FROZEN, Phase, Role
from offchain.errors import DflError
from offchain.tokens import UINT96_MAX, format_tokens
from offchain.when import relative

log = logging.getLogger(__name__)


class StakeError(DflError):
    """A stake the contract would refuse (amount, balance, role, phase); nothing was sent."""


def minimum_stake(chain: TaskManager, task_id: int, role: Role) -> int:
    params = chain.task_params(task_id)
    return params.min_trainer_stake if role == Role.TRAINER else params.min_validator_stake


def check_stake(chain: TaskManager, task_id: int, role: Role, amount: int) -> None:
    """Raise StakeError unless `chain`'s account can add `amount` to its stake in `task_id` as `role` now."""
    assert chain.address is not None
    me, name = chain.address, role.name.lower()
    round_id, phase, deadline = chain.current_round(task_id)
    if phase == Phase.COMPLETED:
        raise StakeError(f"task {task_id} is completed: there is nothing left to stake in")
    if role == Role.VALIDATOR and phase in VALIDATOR_STAKE_FROZEN:
        raise StakeError(
            f"validator stakes of task {task_id} are frozen while round {round_id} votes "
            f"(phase {phase.name.lower()}, ends {relative(deadline, chain.timestamp())}): stake again after it"
        )
    p = chain.participant(task_id, me)
    if p.role not in (Role.NONE, role):
        raise StakeError(
            f"{me} is a {p.role.name.lower()} in task {task_id}: an account has one role per task; use another account"
        )
    if p.exiting:
        raise StakeError(f"{me} has left task {task_id} (exit requested): it cannot stake in it again")
    if amount <= 0 or p.stake + amount > UINT96_MAX:
        raise StakeError(f"a stake of {format_tokens(amount)} DFL is out of range (more than 0, at most 2^96-1 units)")
    minimum = minimum_stake(chain, task_id, role)
    if p.stake + amount < minimum:
        raise StakeError(
            f"a {name} stake of {format_tokens(p.stake + amount)} DFL is below task {task_id}'s minimum of "
            f"{format_tokens(minimum)} DFL: stake at least {format_tokens(minimum - p.stake)} DFL"
        )
    balance = chain.balance_of(me)
    if balance < amount:
        raise StakeError(
            f"{me} holds {format_tokens(balance)} DFL, less than the {format_tokens(amount)} DFL to stake: "
            "get tokens first or stake less"
        )


def stake(chain: TaskManager, task_id: int, role: Role, amount: int) -> int:
    """Check, then approve (if needed) and stake; the account's stake afterwards."""
    assert chain.address is not None
    check_stake(chain, task_id, role, amount)
    chain.stake(task_id, role, amount)
    total = chain.participant(task_id, chain.address).stake
    log.info(
        "%s staked %s DFL in task %d as %s (stake now %s DFL)",
        chain.address,
        format_tokens(amount),
        task_id,
        role.name.lower(),
        format_tokens(total),
    )
    return total
