"""A round's page: its phase, G_r, every update (verdict, reward, claim), what every validator did,
the outcome and the winning receipt. Built on the read model's `RoundView`, as `dfl round show`."""

from __future__ import annotations

import sqlite3
from typing import Any

from offchain.chain.events import KeyBundlePublished, MaskSeedsPublished, TaskCreated, TaskLog
from offchain.explorer.queries.store import (
    NotFound,
    StoredReceipt,
    hex0x,
    receipts,
    slash_row,
    task_log,
    task_state,
)
from offchain.readmodel.rounds import RoundView, UpdateView, ValidatorView, round_view
from offchain.services.privacy_report import receipt_privacy


def round_page(conn: sqlite3.Connection, task_id: int, round_id: int) -> dict[str, Any]:
    log = task_log(conn, task_id)
    created = log.first(TaskCreated)
    stored = receipts(conn, task_id).get(round_id)
    view = round_view(log, round_id, stored.body if stored else None)
    if created is None or view.started is None:
        raise NotFound(f"round {round_id} of task {task_id} has not started (or task {task_id} is not indexed)")
    started = view.started
    state = task_state(conn, task_id)
    current = (
        state is not None
        and state.get("round") == round_id
        and state.get("phase") != "completed"
        and view.finalized is None
    )
    return {
        "task": task_id,
        "round": round_id,
        "num_rounds": created.record.params.num_rounds,
        "status": view.status.name.lower(),
        "phase": state["phase"] if current and state else ("finalized" if view.finalized else "open"),
        "phase_deadline": state["phase_deadline"] if current and state else None,
        "started": {
            "block": started.block,
            "tx": started.tx_hash,
            "timestamp": started.timestamp,
            "commit_starts_at": started.record.commit_starts_at,
            "commit_deadline": started.record.commit_deadline,
            "round_reward": started.record.round_reward,
            "trainer_pool": started.record.trainer_pool,
            "validator_pool": started.record.validator_pool,
            "global_model_proposal": hex0x(started.record.global_model_proposal),
        },
        "global_model_cid": view.global_model_cid,
        "finalized": _finalized(view),
        "receipt_cid": view.receipt_cid,
        "receipt": _receipt(view, stored),
        "updates": [_update(u) for u in view.updates],
        "votes": [_vote(v) for v in view.validators],
        "slashes": [slash_row(e) for e in view.slashes],
        "privacy": _privacy(log, round_id, stored),
    }


def _privacy(log: TaskLog, round_id: int, stored: StoredReceipt | None) -> dict[str, Any] | None:
    """The receipt's privacy entry and SecAgg sum, the mask seeds and key bundles of the round."""
    seeds = log.of(MaskSeedsPublished, round_id)
    bundles = log.of(KeyBundlePublished, round_id)
    entry = receipt_privacy(stored.body if stored else None)
    if entry is None and not seeds and not bundles:
        return None
    return (entry or {"mode": None, "epsilon_budget": None, "secure_sum": None}) | {
        "mask_seeds": [
            {"trainer": e.record.trainer, "seeds": len(e.record.seeds) // 32, "tx": e.tx_hash} for e in seeds
        ],
        "key_bundles": [
            {"validator": e.record.validator, "cid": e.record.bundle_cid, "tx": e.tx_hash} for e in bundles
        ],
    }


def _finalized(view: RoundView) -> dict[str, Any] | None:
    if view.finalized is None or view.tally is None:
        return None
    tally = view.tally
    return {
        "block": view.finalized.block,
        "tx": view.finalized.tx_hash,
        "timestamp": view.finalized.timestamp,
        "winning_proposal": hex0x(tally.leading_proposal) if tally.decided else None,
        "leading_proposal": hex0x(tally.leading_proposal),
        "reward_root": hex0x(tally.reward_root),
        "penalty_root": hex0x(tally.penalty_root),
        "winning_stake": tally.winning_stake,
        "leading_stake": tally.leading_stake,
        "total_validator_stake": tally.total_validator_stake,
        "returned_to_pool": tally.returned_to_pool,
    }


def _receipt(view: RoundView, stored: StoredReceipt | None) -> dict[str, Any] | None:
    if stored is None:
        return None
    body, tally = stored.body, view.tally
    return {
        "cid": stored.cid,
        "error": stored.error,
        "model": body.model if body else None,
        "parent": body.parent if body else None,
        "rule": body.rule if body else None,
        "reward_root": body.reward_root if body else None,
        "root_matches_chain": bool(body and tally and body.reward_root == hex0x(tally.reward_root)),
        "rewards": [{"account": a, "amount": v} for a, v in body.rewards] if body else [],
        "penalty_root": body.penalty_root if body else None,
        "penalty_root_matches_chain": bool(body and tally and body.penalty_root == hex0x(tally.penalty_root)),
        "penalties": list(body.penalties) if body else [],
    }


def _update(u: UpdateView) -> dict[str, Any]:
    return {
        "trainer": u.trainer,
        "commit_tx": u.commit.tx_hash,
        "reveal_tx": u.reveal.tx_hash if u.reveal else None,
        "cid": u.cid,
        "num_samples": u.num_samples,
        "accepted": u.accepted,
        "reason": u.reason,
        "detail": u.entry.detail if u.entry else "",
        "score_ppm": u.score_ppm,
        "reward_ppm": u.entry.reward_ppm if u.entry else None,
        "reward_group": u.entry.group if u.entry else None,
        "weight": u.entry.weight if u.entry else None,
        "penalized": u.penalized,
        "penalty": u.penalty.record.amount if u.penalty else 0,
        "penalty_tx": u.penalty.tx_hash if u.penalty else None,
        "why": u.why,
        "reward": u.reward,
        "claimed": u.claimed,
        "claim_tx": u.claim.tx_hash if u.claim else None,
    }


def _vote(v: ValidatorView) -> dict[str, Any]:
    return {
        "validator": v.validator,
        "attested": v.attested,
        "weight": v.weight,
        "commit_tx": v.commit.tx_hash if v.commit else None,
        "reveal_tx": v.reveal.tx_hash if v.reveal else None,
        "proposal": hex0x(v.reveal.record.proposal_hash) if v.reveal else None,
        "vote": v.vote,
        "metric": v.metric,
        "with_winner": v.with_winner,
        "reward": v.reward,
        "restaked": v.claim.record.restaked if v.claim else None,
        "claim_tx": v.claim.tx_hash if v.claim else None,
    }
