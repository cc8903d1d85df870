"""Validator rewards the contract restakes on its own, logged where a user reads them.

A winning validator's unclaimed reward is added to its stake when its next round is settled
(its next vote commitment, or its withdrawal): no call of its own, so nothing else logs it.
"""

from __future__ import annotations

import logging

from offchain.chain.manager import TaskManager
from offchain.tokens import format_tokens
from offchain.workers.state import WorkerState

log = logging.getLogger(__name__)


def log_restakes(chain: TaskManager, task_id: int, state: WorkerState, name: str) -> int:
    """Log each restaked reward of this account not logged before; how many were new."""
    assert chain.address is not None  # workers always sign with an account
    seen = set(state.get("restakes_logged", []))
    new = 0
    for event in chain.events("ValidatorRewardClaimed", taskId=task_id, validator=chain.address):
        key = f"{event.tx_hash}:{event.log_index}"
        if not event.args.get("restaked") or key in seen:
            continue
        stake = chain.participant(task_id, chain.address).stake
        log.info(
            "%s: reward of round %d restaked: %s DFL added to the stake (now %s DFL)",
            name,
            int(event.args["round"]),
            format_tokens(int(event.args["amount"])),
            format_tokens(stake),
        )
        seen.add(key)
        new += 1
    if new:
        state.set("restakes_logged", sorted(seen))
        state.save()
    return new
