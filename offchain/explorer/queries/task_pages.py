"""The task list and a task's page: parameters, state, rounds, participants, claims, slashes.

Rounds and participants come from the read model (`offchain.readmodel`) over the indexed events
and receipts, so they say what `dfl round show` and `dfl rewards show` say."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from typing import Any

from offchain.chain.events import (
    EncryptionKeyRegistered,
    Event,
    Reclaimed,
    RoundStarted,
    Slashed,
    TaskCompleted,
    TaskCreated,
    TaskLog,
    TrainerRewardClaimed,
    ValidatorRewardClaimed,
)
from offchain.chain.protocol import RoundStatus, TaskParams
from offchain.explorer.queries.store import (
    EVENT_SELECT,
    NotFound,
    StoredReceipt,
    claim_row,
    event_row,
    receipts,
    slash_row,
    task_log,
    task_state,
)
from offchain.fl.rules import RULES
from offchain.privacy.terms import epsilon_spent_micro
from offchain.readmodel.participants import participant_totals
from offchain.readmodel.rounds import RoundView, round_view
from offchain.services.privacy_report import WHO_READS, privacy_summary


def rule_name(rule_id: int) -> str:
    rule = RULES.get(rule_id)
    return rule.name if rule else str(rule_id)


def tasks(conn: sqlite3.Connection) -> dict[str, Any]:
    rounds_done: dict[int, list[int]] = defaultdict(list)
    for r in conn.execute("SELECT task_id, json_extract(args, '$.status') FROM events WHERE name = 'RoundFinalized'"):
        rounds_done[int(r[0])].append(int(r[1]))
    found = []
    for row in conn.execute(f"{EVENT_SELECT} WHERE e.name = 'TaskCreated' ORDER BY e.task_id"):
        e = event_row(row)
        params, state = e["args"]["params"], task_state(conn, e["task"]) or {}
        done = rounds_done[e["task"]]
        found.append(
            {
                "task": e["task"],
                "requester": e["args"]["requester"],
                "rule": rule_name(params["ruleId"]),
                "num_rounds": params["numRounds"],
                "reward_pool": params["rewardPool"],
                "created_block": e["block"],
                "created_tx": e["tx"],
                "created_at": e["timestamp"],
                "phase": state.get("phase"),
                "round": state.get("round"),
                "finalized_rounds": len(done),
                "accepted_rounds": sum(1 for s in done if s == RoundStatus.ACCEPTED),
            }
        )
    return {"tasks": found}


def task(conn: sqlite3.Connection, task_id: int) -> dict[str, Any]:
    log = task_log(conn, task_id)
    created = log.first(TaskCreated)
    if created is None:
        raise NotFound(f"no task {task_id} in the index")
    stored = receipts(conn, task_id)
    views = [round_view(log, s.record.round, _body(stored.get(s.record.round))) for s in log.of(RoundStarted)]
    rounds = [_round_summary(v) for v in views]
    completed, returned = log.first(TaskCompleted), log.first(Reclaimed)
    claims: list[Event[Any]] = [*log.of(TrainerRewardClaimed), *log.of(ValidatorRewardClaimed)]
    return {
        "task": task_id,
        "requester": created.record.requester,
        "created": {"block": created.block, "tx": created.tx_hash, "timestamp": created.timestamp},
        "rule": rule_name(created.record.params.rule_id),
        "params": created.args["params"],
        "state": task_state(conn, task_id),
        "participants": _participants(conn, log, stored),
        "rounds": rounds,
        "metrics": [
            {"round": r["round"], "mean": r["metric_mean"], "min": r["metric_min"], "max": r["metric_max"]}
            for r in rounds
            if r["metric_mean"] is not None
        ],
        "privacy": _privacy(log, created.record.params),
        "claims": [claim_row(e) for e in claims],
        "slashes": [slash_row(e) for e in log.of(Slashed)],
        "completed": None
        if completed is None
        else {"block": completed.block, "tx": completed.tx_hash, "unallocated_pool": completed.record.unallocated_pool},
        "unspent_returned": None
        if returned is None
        else {
            "amount": returned.record.unallocated + returned.record.unclaimed,
            "unallocated": returned.record.unallocated,
            "unclaimed": returned.record.unclaimed,
            "tx": returned.tx_hash,
        },
    }


def _privacy(log: TaskLog, params: TaskParams) -> dict[str, Any]:
    """Who reads the task's updates, the ε its started rounds spent (the contract's bound) and the
    X25519 keys registered for it."""
    summary = privacy_summary(params, epsilon_spent_micro(params, len(log.of(RoundStarted))))
    keys = [{"account": e.record.account, "role": e.record.role.name.lower()} for e in log.of(EncryptionKeyRegistered)]
    return summary | {"who_reads": WHO_READS[summary["mode"]], "registered_keys": keys}


def _body(stored: StoredReceipt | None) -> Any:
    return stored.body if stored else None


def _round_summary(view: RoundView) -> dict[str, Any]:
    metrics = [v.metric for v in view.validators if v.metric is not None and v.vote != "reject"]
    started, finalized, tally = view.started, view.finalized, view.tally
    assert started is not None  # only started rounds are summarized
    return {
        "round": view.round,
        "status": view.status.name.lower(),
        "commits": len(view.updates),
        "reveals": sum(1 for u in view.updates if u.reveal),
        "accepted_updates": view.accepted if view.receipt else None,
        "vote_commits": sum(1 for v in view.validators if v.commit),
        "vote_reveals": sum(1 for v in view.validators if v.reveal),
        "metric_mean": sum(metrics) / len(metrics) if metrics else None,
        "metric_min": min(metrics) if metrics else None,
        "metric_max": max(metrics) if metrics else None,
        "round_reward": started.record.round_reward,
        "trainer_pool": started.record.trainer_pool,
        "validator_pool": started.record.validator_pool,
        "rewards_allocated": sum(a for _, a in view.receipt.rewards) if view.receipt else 0,
        "winning_stake": tally.winning_stake if tally else None,
        "leading_stake": tally.leading_stake if tally else None,
        "receipt_cid": view.receipt_cid,
        "model_cid": view.receipt.model if view.receipt else None,
        "started_block": started.block,
        "finalized_block": finalized.block if finalized else None,
        "finalized_tx": finalized.tx_hash if finalized else None,
    }


def _participants(conn: sqlite3.Connection, log: TaskLog, stored: dict[int, StoredReceipt]) -> list[dict[str, Any]]:
    snapshots = {
        r["address"]: json.loads(r["state"])
        for r in conn.execute("SELECT * FROM participants WHERE task_id = ?", (log.task_id,))
    }
    bodies = {r: s.body for r, s in stored.items() if s.body is not None}
    rows = []
    for p in participant_totals(log, bodies):
        snap = snapshots.get(p.account, {})
        rows.append(
            {
                "address": p.account,
                "role": p.role.name.lower(),
                "staked_total": p.staked,
                "stake": snap.get("stake"),
                "active": snap.get("active"),
                "exiting": snap.get("exiting"),
                "reward_earned": p.earned,
                "reward_claimed": p.claimed,
                "slashed": p.slashed,
                "updates": p.updates_revealed,
                "votes": p.votes_revealed,
            }
        )
    return sorted(rows, key=lambda r: (r["role"], r["address"].lower()))
