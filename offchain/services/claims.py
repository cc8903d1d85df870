"""Claiming rewards: trainers by Merkle proof from the round receipt, validators pro rata to stake."""

from __future__ import annotations

import logging

from offchain.chain.manager import TaskManager
from offchain.chain.protocol import Role, RoundStatus
from offchain.fl.merkle import build_tree
from offchain.services.context import round_receipt
from offchain.storage.ipfs import IpfsStore
from offchain.tokens import format_tokens

log = logging.getLogger(__name__)


def claim_trainer_rewards(chain: TaskManager, store: IpfsStore, task_id: int) -> int:
    """Claim every unclaimed reward of the account in accepted rounds; the total claimed now."""
    assert chain.address is not None
    params = chain.task_params(task_id)
    task_log = chain.task_log(task_id)
    total = 0
    for round_id in range(params.num_rounds):
        outcome = chain.round_outcome(task_id, round_id)
        if outcome.status != RoundStatus.ACCEPTED or chain.trainer_reward_claimed(task_id, round_id, chain.address):
            continue
        receipt = round_receipt(chain, store, task_id, round_id, params.max_update_bytes, task_log)
        amount = receipt.reward_of(chain.address) if receipt else 0
        if receipt is None or amount == 0:
            continue
        tree = build_tree(list(receipt.rewards))
        if tree.root != outcome.reward_root:
            log.error("round %d: the receipt's reward root differs from the chain's; not claiming", round_id)
            continue
        chain.claim_trainer_reward(task_id, round_id, amount, tree.proof_for(chain.address))
        total += amount
        log.info("%s claimed %s DFL (trainer reward, round %d)", chain.address, format_tokens(amount), round_id)
    return total


def claim_validator_rewards(chain: TaskManager, task_id: int) -> int:
    assert chain.address is not None
    total = 0
    for round_id in range(chain.task_params(task_id).num_rounds):
        amount = chain.validator_reward(task_id, round_id, chain.address)
        if amount:
            chain.claim_validator_reward(task_id, round_id)
            total += amount
            log.info("%s claimed %s DFL (validator reward, round %d)", chain.address, format_tokens(amount), round_id)
    return total


# The unlock time last announced per (account, task): a worker polls every fraction of a second.
_announced_unlocks: dict[tuple[str, int], int] = {}


def withdraw_stake(chain: TaskManager, task_id: int) -> int | None:
    """Withdraw the account's whole stake once the task is completed and the stake unlocked (any due
    slash is settled first): the amount, 0 if there is none, None while the stake is still locked
    (a trainer's stake unlocks `exitCooldown` after its last round was finalized: the penalty window)."""
    assert chain.address is not None
    p = chain.participant(task_id, chain.address)
    if not p.stake:
        return 0
    unlock = unlock_time(chain, task_id, chain.address)
    now = chain.timestamp()
    if now < unlock:
        if _announced_unlocks.get((chain.address, task_id)) != unlock:  # once, not on every poll
            _announced_unlocks[(chain.address, task_id)] = unlock
            log.info(
                "%s: the stake of task %d unlocks in %d s (penalty window); waiting",
                chain.address,
                task_id,
                unlock - now,
            )
        return None
    chain.withdraw(task_id)
    log.info("%s withdrew %s DFL from task %d", chain.address, format_tokens(p.stake), task_id)
    return p.stake


def unlock_time(chain: TaskManager, task_id: int, account: str) -> int:
    """When `account`'s stake in a completed task (or after its exit) can be withdrawn."""
    p = chain.participant(task_id, account)
    unlock = p.unlock_at
    if p.role == Role.TRAINER and p.committed:
        params = chain.task_params(task_id)
        finalized = chain.round_outcome(task_id, p.last_round).finalized_at
        unlock = max(unlock, finalized + params.exit_cooldown) if finalized else unlock
    return unlock


def claim_all(chain: TaskManager, store: IpfsStore, task_id: int) -> int:
    """Claim whatever the account is owed in the task, as trainer or validator; the total claimed now."""
    assert chain.address is not None
    role = chain.participant(task_id, chain.address).role
    if role == Role.TRAINER:
        return claim_trainer_rewards(chain, store, task_id)
    if role == Role.VALIDATOR:
        return claim_validator_rewards(chain, task_id)
    return 0
