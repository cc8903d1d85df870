"""Applying the penalties of accepted rounds: anyone may, with a proof from the winning receipt."""

from __future__ import annotations

import logging

from offchain.chain.errors import TxReverted
from offchain.chain.manager import TaskManager
from offchain.chain.protocol import ZERO_ROOT, RoundStatus
from offchain.fl.merkle import build_penalty_tree
from offchain.services.context import round_receipt
from offchain.storage.ipfs import IpfsStore

log = logging.getLogger(__name__)


def apply_penalties(chain: TaskManager, store: IpfsStore, task_id: int, done_through: int, round_id: int) -> int:
    """Penalize every trainer the winning receipts of finalized rounds name, from round
    `done_through + 1` up to `round_id`; returns the last round fully handled (a penalty that must
    wait for the end of a Commit phase stops there, to be tried again)."""
    max_bytes = chain.task_params(task_id).max_update_bytes
    for r in range(done_through + 1, round_id + 1):
        outcome = chain.round_outcome(task_id, r)
        if outcome.status == RoundStatus.OPEN:
            return r - 1
        if outcome.status != RoundStatus.ACCEPTED or outcome.penalty_root == ZERO_ROOT:
            continue
        receipt = round_receipt(chain, store, task_id, r, max_bytes)
        if receipt is None or not receipt.penalties:
            continue
        tree = build_penalty_tree(list(receipt.penalties))
        if tree.root != outcome.penalty_root:
            log.error("task %d round %d: the receipt's penalty root differs from the chain's; skipping", task_id, r)
            continue
        for trainer in receipt.penalties:
            if chain.trainer_penalized(task_id, r, trainer):
                continue
            try:
                chain.penalize_trainer(task_id, r, trainer, tree.proof_for(trainer))
            except TxReverted as exc:
                if exc.error == "FLTaskManagerPenaltyDeferred":
                    return r - 1
                if exc.error not in ("FLTaskManagerAlreadyPenalized", "FLTaskManagerNotStaked"):
                    raise
                continue
            reasons = {u.trainer: u.reason for u in receipt.updates}
            log.info("penalized trainer %s for round %d (%s)", trainer, r, reasons.get(trainer))
    return round_id
