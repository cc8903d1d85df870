"""Read-only reports of a task from its events, views and round receipts: what `dfl round show`,
`dfl task show`, `dfl rewards show` and the demo summary print. Nothing here sends a transaction;
the figures come from the read model (`offchain.readmodel`), as the explorer's do."""

from __future__ import annotations

from typing import Any

from offchain.chain.events import RoundFinalized, RoundStarted, Staked, TaskLog
from offchain.chain.manager import TaskManager
from offchain.chain.protocol import Role
from offchain.fl.receipt import RoundReceipt
from offchain.readmodel.participants import participant_totals
from offchain.readmodel.rounds import RoundView, Tally, round_view
from offchain.services.context import round_receipt
from offchain.services.privacy_report import receipt_privacy
from offchain.storage.ipfs import IpfsStore


def task_round_view(chain: TaskManager, store: IpfsStore, task_id: int, round_id: int) -> RoundView:
    """The read model's view of one round, with its winning receipt fetched from IPFS."""
    log = chain.task_log(task_id)
    receipt = round_receipt(chain, store, task_id, round_id, chain.task_params(task_id).max_update_bytes, log)
    return round_view(log, round_id, receipt)


def round_report(chain: TaskManager, store: IpfsStore, task_id: int, round_id: int) -> dict[str, Any]:
    view = task_round_view(chain, store, task_id, round_id)
    started = view.started.record if view.started else None
    updates = [
        {
            "trainer": u.trainer,
            "cid": u.cid,
            "num_samples": u.num_samples,
            "accepted": bool(u.accepted),
            "reason": u.reason,
            "detail": u.entry.detail if u.entry else "",
            "score_ppm": u.score_ppm,
            "reward_ppm": u.entry.reward_ppm if u.entry else None,
            "reward_group": u.entry.group if u.entry else None,
            "weight": u.entry.weight if u.entry else None,
            "penalized": u.penalized,
            "penalty": u.penalty.record.amount if u.penalty else 0,
            "why": u.why,
            "reward": u.reward,
            "claimed": u.claim is not None,
            "claimed_amount": u.claimed,
        }
        for u in view.updates
    ]
    return {
        "task": task_id,
        "round": round_id,
        "status": view.status.name.lower(),
        "global_model_cid": view.global_model_cid,
        "receipt_cid": view.receipt_cid,
        "model_cid": view.receipt.model if view.receipt else None,
        **_tally_fields(view.tally),
        "trainer_pool": started.trainer_pool if started else 0,
        "validator_pool": started.validator_pool if started else 0,
        "trainer_claimed": view.trainer_claimed,
        "validator_claimed": view.validator_claimed,
        "accepted": view.accepted,
        "rejected": len(updates) - view.accepted,
        "rewards_allocated": view.rewards_allocated,
        "slashed": view.slashed,
        "updates": updates,
        "votes": [
            {"validator": v.validator, "attested": v.attested, "vote": v.vote, "weight": v.weight, "metric": v.metric}
            for v in view.validators
        ],
        "slashes": [
            {"account": s.record.account, "amount": s.record.amount, "reason": s.record.reason.name.lower()}
            for s in view.slashes
        ],
        "privacy": receipt_privacy(view.receipt),
    }


def _tally_fields(tally: Tally | None) -> dict[str, Any]:
    return {
        "reward_root": "0x" + (tally.reward_root if tally else b"\0" * 32).hex(),
        "penalty_root": "0x" + (tally.penalty_root if tally else b"\0" * 32).hex(),
        "winning_stake": tally.winning_stake if tally else 0,
        "leading_stake": tally.leading_stake if tally else 0,
        "total_validator_stake": tally.total_validator_stake if tally else None,
    }


def round_outcomes(chain: TaskManager, task_id: int, rounds: int) -> list[dict[str, Any]]:
    """Rounds 0..rounds-1: status and tally from the events (as the explorer shows them), pools and
    claims from the chain's `roundOutcome` view."""
    outcomes = [chain.round_outcome(task_id, r) for r in range(rounds)]
    log = chain.task_log(task_id)  # read after the views, so it has every finalization they saw
    found = []
    for r, o in enumerate(outcomes):
        finalized = log.first(RoundFinalized, r)
        found.append(
            {
                "round": r,
                "status": o.status.name.lower(),
                **_tally_fields(Tally.of(finalized.record) if finalized else None),
                "trainer_pool": o.trainer_pool,
                "validator_pool": o.validator_pool,
                "trainer_claimed": o.trainer_claimed,
                "validator_claimed": o.validator_claimed,
            }
        )
    return found


def winning_receipts(chain: TaskManager, store: IpfsStore, task_id: int, log: TaskLog) -> dict[int, RoundReceipt]:
    max_bytes = chain.task_params(task_id).max_update_bytes
    receipts = {}
    for started in log.of(RoundStarted):
        receipt = round_receipt(chain, store, task_id, started.record.round, max_bytes, log)
        if receipt is not None:
            receipts[started.record.round] = receipt
    return receipts


def participants_report(chain: TaskManager, store: IpfsStore, task_id: int) -> list[dict[str, Any]]:
    log = chain.task_log(task_id)
    rows = []
    for p in participant_totals(log, winning_receipts(chain, store, task_id, log), _claimable(chain, task_id, log)):
        rows.append(
            {
                "address": p.account,
                "role": p.role.name.lower(),
                "stake": chain.participant(task_id, p.account).stake,
                "reward_earned": p.earned,
                "reward_claimed": p.claimed,
                "slashed": p.slashed,
                "balance": chain.balance_of(p.account),
            }
        )
    return rows


def _claimable(chain: TaskManager, task_id: int, log: TaskLog) -> dict[str, int]:
    """Each validator's rewards not yet claimed, summed over the finalized rounds (the chain's view)."""
    validators = {s.record.account for s in log.of(Staked) if s.record.role == Role.VALIDATOR}
    finalized = [f.record.round for f in log.of(RoundFinalized)]
    return {v: sum(chain.validator_reward(task_id, r, v) for r in finalized) for v in validators}
