"""Which model each round starts from (G_r) and which receipt won it, from the task's events."""

from __future__ import annotations

from offchain.chain.events import RoundFinalized, TaskCreated, TaskLog, VoteRevealed
from offchain.chain.protocol import RoundStatus
from offchain.errors import DflError


class HistoryError(DflError):
    """A task's events contradict the protocol (or the log is missing part of the task)."""


def initial_model_cid(log: TaskLog) -> str:
    created = log.first(TaskCreated)
    if created is None:
        raise HistoryError("the task's events do not include its TaskCreated event")
    return created.record.params.initial_model_cid


def winning_receipt_cid(log: TaskLog, round_id: int) -> str | None:
    """The round receipt that won `round_id` (it becomes G_{r+1}); None unless the round was accepted.
    The CID comes from a revealed vote whose proposal is the one finalized on-chain."""
    finalized = log.first(RoundFinalized, round_id)
    if finalized is None or finalized.record.status != RoundStatus.ACCEPTED:
        return None
    for vote in log.of(VoteRevealed, round_id):
        if vote.record.proposal_hash == finalized.record.winning_proposal:
            return vote.record.aggregate_cid
    raise HistoryError(f"no revealed vote carries the winning proposal of round {round_id}")


def global_model_cid(log: TaskLog, round_id: int) -> str:
    """G_r, the model round `round_id` starts from: the receipt that won the last accepted round
    before it, else the task's initial weights. `round_id = r + 1` gives the model after round r."""
    for finalized in reversed(log.of(RoundFinalized)):
        if finalized.record.round < round_id and finalized.record.status == RoundStatus.ACCEPTED:
            cid = winning_receipt_cid(log, finalized.record.round)
            assert cid is not None  # accepted rounds always have one
            return cid
    return initial_model_cid(log)
