"""Read side: each function builds one page's data from the database, as plain JSON-ready dicts.

The HTML templates render exactly these dicts, and `/api/...` returns them, so a page and
its JSON never disagree. Nothing here talks to the chain or IPFS.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import defaultdict
from typing import Any

from eth_utils import to_checksum_address

from offchain.chain.protocol import REJECT_PROPOSAL, Role, RoundStatus, SlashReason

RULES = {0: "fedavg", 1: "median", 2: "trimmed_mean", 3: "multi_krum", 4: "norm_clipped_fedavg"}
REJECT = "0x" + REJECT_PROPOSAL.hex()
_HEX_ADDRESS = re.compile(r"^(0x)?[0-9a-fA-F]{40}$")
_TX_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
_CID = re.compile(r"^(Qm[1-9A-HJ-NP-Za-km-z]{44}|b[a-z2-7]{20,})$")


class NotFound(LookupError):
    """No such task, round, block, transaction or account in the index."""


def checksum(address: str) -> str:
    if not _HEX_ADDRESS.match(address):
        raise NotFound(f"{address!r} is not an address")
    return to_checksum_address(address if address.startswith("0x") else "0x" + address)


def _event(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "block": row["block_number"],
        "log_index": row["log_index"],
        "tx": row["tx_hash"],
        "name": row["name"],
        "contract": row["contract"],
        "address": row["address"],
        "task": row["task_id"],
        "round": row["round"],
        "args": json.loads(row["args"]),
        "timestamp": row["timestamp"],
    }


_EVENT_SELECT = "SELECT e.*, b.timestamp FROM events e LEFT JOIN blocks b ON b.number = e.block_number"


def _events(
    conn: sqlite3.Connection, task_id: int, name: str | None = None, round_id: int | None = None
) -> list[dict[str, Any]]:
    sql, params = f"{_EVENT_SELECT} WHERE e.task_id = ?", [task_id]
    if name is not None:
        sql, params = sql + " AND e.name = ?", params + [name]
    if round_id is not None:
        sql, params = sql + " AND e.round = ?", params + [round_id]
    return [_event(r) for r in conn.execute(sql + " ORDER BY e.block_number, e.log_index", params)]


def meta(conn: sqlite3.Connection) -> dict[str, str]:
    return {str(r[0]): str(r[1]) for r in conn.execute("SELECT key, value FROM meta")}


def token(conn: sqlite3.Connection) -> dict[str, Any]:
    m = meta(conn)
    return {
        "symbol": m.get("token_symbol", "DFL"),
        "decimals": int(m.get("token_decimals", "18")),
        "address": m.get("token_address"),
        "manager": m.get("token_manager"),
    }


def _state(conn: sqlite3.Connection, task_id: int) -> dict[str, Any] | None:
    row = conn.execute("SELECT block_number, state FROM task_states WHERE task_id = ?", (task_id,)).fetchone()
    return None if row is None else {**json.loads(row["state"]), "as_of_block": row["block_number"]}


# --- home and lists -------------------------------------------------------------------------


def home(conn: sqlite3.Connection, status: dict[str, Any]) -> dict[str, Any]:
    count = lambda sql: int(conn.execute(sql).fetchone()[0])  # noqa: E731
    totals = {
        "blocks": count("SELECT COUNT(*) FROM blocks"),
        "transactions": count("SELECT COUNT(*) FROM txs"),
        "events": count("SELECT COUNT(*) FROM events"),
        "tasks": count("SELECT COUNT(*) FROM events WHERE name = 'TaskCreated'"),
        "accounts": count("SELECT COUNT(DISTINCT address) FROM event_accounts"),
    }
    return {
        "indexer": status,
        "token": token(conn),
        "totals": totals,
        "latest_blocks": blocks(conn, limit=10)["blocks"],
        "latest_transactions": _txs(conn, "1 = 1", (), 10),
        "tasks": tasks(conn)["tasks"],
    }


def blocks(conn: sqlite3.Connection, before: int | None = None, limit: int = 50) -> dict[str, Any]:
    sql = "SELECT * FROM blocks" + (" WHERE number < ?" if before is not None else "") + " ORDER BY number DESC LIMIT ?"
    rows = conn.execute(sql, ((before, limit) if before is not None else (limit,))).fetchall()
    found = [_block_row(r) for r in rows]
    indexed = (
        {
            int(r[0]): int(r[1])
            for r in conn.execute(
                f"SELECT block_number, COUNT(*) FROM txs WHERE block_number IN ({','.join('?' * len(found))}) GROUP BY block_number",
                [b["number"] for b in found],
            )
        }
        if found
        else {}
    )
    for b in found:
        b["indexed_transactions"] = indexed.get(b["number"], 0)
    return {"blocks": found, "next_before": found[-1]["number"] if len(found) == limit else None}


def _block_row(r: sqlite3.Row) -> dict[str, Any]:
    return {
        "number": r["number"],
        "hash": r["hash"],
        "parent_hash": r["parent_hash"],
        "timestamp": r["timestamp"],
        "tx_count": r["tx_count"],
        "gas_used": r["gas_used"],
        "miner": r["miner"],
    }


def tasks(conn: sqlite3.Connection) -> dict[str, Any]:
    rounds_done: dict[int, list[int]] = defaultdict(list)
    for r in conn.execute("SELECT task_id, json_extract(args, '$.status') FROM events WHERE name = 'RoundFinalized'"):
        rounds_done[int(r[0])].append(int(r[1]))
    found = []
    for row in conn.execute(f"{_EVENT_SELECT} WHERE e.name = 'TaskCreated' ORDER BY e.task_id"):
        e = _event(row)
        params, state = e["args"]["params"], _state(conn, e["task"]) or {}
        done = rounds_done[e["task"]]
        found.append(
            {
                "task": e["task"],
                "requester": e["args"]["requester"],
                "rule": RULES.get(params["ruleId"], str(params["ruleId"])),
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


# --- task -------------------------------------------------------------------------------------


def _receipts(conn: sqlite3.Connection, task_id: int) -> dict[int, dict[str, Any]]:
    found = {}
    for r in conn.execute("SELECT * FROM receipts WHERE task_id = ?", (task_id,)):
        found[int(r["round"])] = {
            "cid": r["cid"],
            "body": json.loads(r["body"]) if r["body"] else None,
            "error": r["error"],
        }
    return found


def task(conn: sqlite3.Connection, task_id: int) -> dict[str, Any]:
    events = _events(conn, task_id)
    created = next((e for e in events if e["name"] == "TaskCreated"), None)
    if created is None:
        raise NotFound(f"no task {task_id} in the index")
    params = created["args"]["params"]
    by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        by_name[e["name"]].append(e)
    receipts = _receipts(conn, task_id)
    rounds = [
        _round_summary(r, by_name, receipts.get(r))
        for r in range(params["numRounds"])
        if any(e["round"] == r for e in by_name["RoundStarted"])
    ]
    return {
        "task": task_id,
        "requester": created["args"]["requester"],
        "created": {"block": created["block"], "tx": created["tx"], "timestamp": created["timestamp"]},
        "rule": RULES.get(params["ruleId"], str(params["ruleId"])),
        "params": params,
        "state": _state(conn, task_id),
        "participants": _participants(conn, task_id, by_name, receipts),
        "rounds": rounds,
        "metrics": [
            {"round": r["round"], "mean": r["metric_mean"], "min": r["metric_min"], "max": r["metric_max"]}
            for r in rounds
            if r["metric_mean"] is not None
        ],
        "claims": [_claim(e) for e in by_name["TrainerRewardClaimed"] + by_name["ValidatorRewardClaimed"]],
        "slashes": [_slash(e) for e in by_name["Slashed"]],
        "completed": next(
            (
                {"block": e["block"], "tx": e["tx"], "unallocated_pool": e["args"]["unallocatedPool"]}
                for e in by_name["TaskCompleted"]
            ),
            None,
        ),
        "unspent_returned": next(
            ({"amount": e["args"]["amount"], "tx": e["tx"]} for e in by_name["UnspentPoolReturned"]), None
        ),
    }


def _claim(e: dict[str, Any]) -> dict[str, Any]:
    trainer = e["name"] == "TrainerRewardClaimed"
    return {
        "task": e["task"],
        "round": e["round"],
        "account": e["args"]["trainer" if trainer else "validator"],
        "role": "trainer" if trainer else "validator",
        "amount": e["args"]["amount"],
        "restaked": bool(e["args"].get("restaked", False)),
        "tx": e["tx"],
        "block": e["block"],
    }


def _slash(e: dict[str, Any]) -> dict[str, Any]:
    reason = e["args"]["reason"]
    return {
        "task": e["task"],
        "round": e["round"],
        "account": e["args"]["account"],
        "amount": e["args"]["amount"],
        "reason": SlashReason(reason).name.lower() if reason in SlashReason._value2member_map_ else str(reason),
        "remaining_stake": e["args"].get("remainingStake"),
        "tx": e["tx"],
        "block": e["block"],
    }


def _status_name(value: int) -> str:
    return RoundStatus(value).name.lower() if value in RoundStatus._value2member_map_ else str(value)


def _round_summary(r: int, by_name: dict[str, list[dict[str, Any]]], receipt: dict[str, Any] | None) -> dict[str, Any]:
    of = lambda name: [e for e in by_name[name] if e["round"] == r]  # noqa: E731
    started = of("RoundStarted")[0]
    finalized = next(iter(of("RoundFinalized")), None)
    metrics = [int(e["args"]["metric"]) for e in of("VoteRevealed") if e["args"]["proposalHash"] != REJECT]
    winning = _winning_cid(of("VoteRevealed"), finalized)
    body = receipt["body"] if receipt else None
    return {
        "round": r,
        "status": _status_name(finalized["args"]["status"]) if finalized else "open",
        "commits": len(of("UpdateCommitted")),
        "reveals": len(of("UpdateRevealed")),
        "accepted_updates": sum(1 for u in body["updates"] if u["accepted"]) if body else None,
        "vote_commits": len(of("VoteCommitted")),
        "vote_reveals": len(of("VoteRevealed")),
        "metric_mean": sum(metrics) / len(metrics) if metrics else None,
        "metric_min": min(metrics) if metrics else None,
        "metric_max": max(metrics) if metrics else None,
        "round_reward": started["args"]["roundReward"],
        "trainer_pool": started["args"]["trainerPool"],
        "validator_pool": started["args"]["validatorPool"],
        "rewards_allocated": sum(int(a) for _, a in body["rewards"]) if body else 0,
        "aggregate_cid": winning,
        "model_cid": body["model"] if body else None,
        "started_block": started["block"],
        "finalized_block": finalized["block"] if finalized else None,
        "finalized_tx": finalized["tx"] if finalized else None,
    }


def _winning_cid(votes: list[dict[str, Any]], finalized: dict[str, Any] | None) -> str | None:
    if finalized is None or finalized["args"]["status"] != RoundStatus.ACCEPTED:
        return None
    return next(
        (v["args"]["aggregateCid"] for v in votes if v["args"]["proposalHash"] == finalized["args"]["winningProposal"]),
        None,
    )


def _participants(
    conn: sqlite3.Connection,
    task_id: int,
    by_name: dict[str, list[dict[str, Any]]],
    receipts: dict[int, dict[str, Any]],
) -> list[dict[str, Any]]:
    snapshots = {
        r["address"]: json.loads(r["state"])
        for r in conn.execute("SELECT * FROM participants WHERE task_id = ?", (task_id,))
    }
    earned: dict[str, int] = defaultdict(int)
    for receipt in receipts.values():
        for account, amount in (receipt["body"] or {}).get("rewards", []):
            earned[account.lower()] += int(amount)
    claimed: dict[str, int] = defaultdict(int)
    for c in map(_claim, by_name["TrainerRewardClaimed"] + by_name["ValidatorRewardClaimed"]):
        claimed[c["account"]] += int(c["amount"])
    slashed: dict[str, int] = defaultdict(int)
    for s in map(_slash, by_name["Slashed"]):
        slashed[s["account"]] += int(s["amount"])
    rows: dict[str, dict[str, Any]] = {}
    for e in by_name["Staked"]:
        account = e["args"]["account"]
        row = rows.setdefault(
            account, {"address": account, "role": Role(e["args"]["role"]).name.lower(), "staked_total": 0}
        )
        row["staked_total"] += int(e["args"]["amount"])
    for account, row in rows.items():
        snap = snapshots.get(account, {})
        row.update(
            {
                "stake": snap.get("stake"),
                "active": snap.get("active"),
                "exiting": snap.get("exiting"),
                "reward_earned": earned[account.lower()] if row["role"] == "trainer" else claimed[account],
                "reward_claimed": claimed[account],
                "slashed": slashed[account],
                "updates": sum(1 for u in by_name["UpdateRevealed"] if u["args"]["trainer"] == account),
                "votes": sum(1 for v in by_name["VoteRevealed"] if v["args"]["validator"] == account),
            }
        )
    return sorted(rows.values(), key=lambda r: (r["role"], r["address"].lower()))


# --- round -------------------------------------------------------------------------------------


def round_page(conn: sqlite3.Connection, task_id: int, round_id: int) -> dict[str, Any]:
    events = _events(conn, task_id, round_id=round_id)
    by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        by_name[e["name"]].append(e)
    if not by_name["RoundStarted"]:
        raise NotFound(f"round {round_id} of task {task_id} has not started (or task {task_id} is not indexed)")
    created = _events(conn, task_id, "TaskCreated")[0]
    started, finalized = by_name["RoundStarted"][0], next(iter(by_name["RoundFinalized"]), None)
    receipt = _receipts(conn, task_id).get(round_id)
    body = receipt["body"] if receipt else None
    entries = {u["trainer"].lower(): u for u in body["updates"]} if body else {}
    reveals = {e["args"]["trainer"]: e for e in by_name["UpdateRevealed"]}
    claims = {e["args"]["trainer"]: e for e in by_name["TrainerRewardClaimed"]}
    updates = []
    for c in by_name["UpdateCommitted"]:
        trainer = c["args"]["trainer"]
        reveal, entry, claim = reveals.get(trainer), entries.get(trainer.lower()), claims.get(trainer)
        updates.append(
            {
                "trainer": trainer,
                "commit_tx": c["tx"],
                "reveal_tx": reveal["tx"] if reveal else None,
                "cid": reveal["args"]["updateCid"] if reveal else None,
                "num_samples": reveal["args"]["numSamples"] if reveal else None,
                "accepted": entry["accepted"] if entry else None,
                "reason": entry["reason"] if entry else ("not revealed" if reveal is None else None),
                "message": entry["message"] if entry else "",
                "weight": int(entry["weight"]) if entry else None,
                "reward": int(entry["reward"]) if entry else 0,
                "claimed": int(claim["args"]["amount"]) if claim else 0,
                "claim_tx": claim["tx"] if claim else None,
            }
        )
    vote_reveals = {e["args"]["validator"]: e for e in by_name["VoteRevealed"]}
    vclaims = {e["args"]["validator"]: e for e in by_name["ValidatorRewardClaimed"]}
    winner = finalized["args"]["winningProposal"] if finalized else None
    votes = []
    for c in by_name["VoteCommitted"]:
        validator = c["args"]["validator"]
        v, claim = vote_reveals.get(validator), vclaims.get(validator)
        proposal = v["args"]["proposalHash"] if v else None
        votes.append(
            {
                "validator": validator,
                "weight": c["args"]["weight"],
                "commit_tx": c["tx"],
                "reveal_tx": v["tx"] if v else None,
                "proposal": proposal,
                "vote": "not revealed" if v is None else "reject" if proposal == REJECT else v["args"]["aggregateCid"],
                "metric": v["args"]["metric"] if v else None,
                "with_winner": None if finalized is None or v is None else proposal == winner,
                "reward": int(claim["args"]["amount"]) if claim else 0,
                "restaked": bool(claim["args"]["restaked"]) if claim else None,
                "claim_tx": claim["tx"] if claim else None,
            }
        )
    state = _state(conn, task_id)
    current = (
        state is not None and state.get("round") == round_id and state.get("phase") != "completed" and finalized is None
    )
    return {
        "task": task_id,
        "round": round_id,
        "num_rounds": created["args"]["params"]["numRounds"],
        "status": _status_name(finalized["args"]["status"]) if finalized else "open",
        "phase": state["phase"] if current and state else ("finalized" if finalized else "open"),
        "phase_deadline": state["phase_deadline"] if current and state else None,
        "started": {
            "block": started["block"],
            "tx": started["tx"],
            "timestamp": started["timestamp"],
            "commit_starts_at": started["args"]["commitStartsAt"],
            "commit_deadline": started["args"]["commitDeadline"],
            "round_reward": started["args"]["roundReward"],
            "trainer_pool": started["args"]["trainerPool"],
            "validator_pool": started["args"]["validatorPool"],
            "global_model_proposal": started["args"]["globalModelProposal"],
        },
        "global_model_cid": _global_model_cid(conn, task_id, round_id, created),
        "finalized": None
        if finalized is None
        else {
            "block": finalized["block"],
            "tx": finalized["tx"],
            "timestamp": finalized["timestamp"],
            "winning_proposal": winner,
            "reward_root": finalized["args"]["rewardRoot"],
            "winning_stake": finalized["args"]["winningStake"],
            "total_validator_stake": finalized["args"]["totalValidatorStake"],
            "returned_to_pool": finalized["args"]["returnedToPool"],
        },
        "aggregate_cid": _winning_cid(by_name["VoteRevealed"], finalized),
        "receipt": None
        if receipt is None
        else {
            "cid": receipt["cid"],
            "error": receipt["error"],
            "model": body["model"] if body else None,
            "parent": body["parent"] if body else None,
            "rule": body["rule"] if body else None,
            "reward_root": body["reward_root"] if body else None,
            "root_matches_chain": bool(body and finalized and body["reward_root"] == finalized["args"]["rewardRoot"]),
            "rewards": [{"account": a, "amount": int(v)} for a, v in body["rewards"]] if body else [],
        },
        "updates": updates,
        "votes": votes,
        "slashes": [_slash(e) for e in by_name["Slashed"]],
    }


def _global_model_cid(conn: sqlite3.Connection, task_id: int, round_id: int, created: dict[str, Any]) -> str:
    """G_r: the winning CID of the last accepted round before r, else the initial model."""
    for r in range(round_id - 1, -1, -1):
        finalized = _events(conn, task_id, "RoundFinalized", r)
        if finalized and finalized[0]["args"]["status"] == RoundStatus.ACCEPTED:
            cid = _winning_cid(_events(conn, task_id, "VoteRevealed", r), finalized[0])
            if cid:
                return cid
    return str(created["args"]["params"]["initialModelCid"])


# --- account, block, transaction -----------------------------------------------------------------


def _tx_row(r: sqlite3.Row) -> dict[str, Any]:
    return {
        "hash": r["hash"],
        "block": r["block_number"],
        "index": r["idx"],
        "from": r["sender"],
        "to": r["recipient"],
        "value": int(r["value"]),
        "status": "success" if r["status"] == 1 else "reverted",
        "gas_used": r["gas_used"],
        "contract": r["contract"],
        "function": r["function"],
        "args": json.loads(r["args"]),
        "created": r["created"],
        "timestamp": r["timestamp"] if "timestamp" in r.keys() else None,  # noqa: SIM118 (a sqlite3.Row tests values with `in`)
    }


def _txs(conn: sqlite3.Connection, where: str, params: tuple[Any, ...], limit: int) -> list[dict[str, Any]]:
    sql = (
        f"SELECT t.*, b.timestamp FROM txs t LEFT JOIN blocks b ON b.number = t.block_number WHERE {where} "
        "ORDER BY t.block_number DESC, t.idx DESC LIMIT ?"
    )
    return [_tx_row(r) for r in conn.execute(sql, (*params, limit))]


def account(conn: sqlite3.Connection, address: str) -> dict[str, Any]:
    address = checksum(address)
    balance = conn.execute("SELECT * FROM balances WHERE address = ?", (address,)).fetchone()
    rows = conn.execute(
        f"""{_EVENT_SELECT} JOIN event_accounts a ON a.block_number = e.block_number AND a.log_index = e.log_index
                            WHERE a.address = ? ORDER BY e.block_number, e.log_index""",
        (address,),
    ).fetchall()
    events = [_event(r) for r in rows]
    txs = _txs(
        conn,
        """t.sender = ? OR t.recipient = ? OR t.hash IN (SELECT e.tx_hash FROM events e JOIN event_accounts a
                 ON a.block_number = e.block_number AND a.log_index = e.log_index WHERE a.address = ?)""",
        (address, address, address),
        200,
    )
    if balance is None and not events and not txs:
        raise NotFound(f"account {address} does not appear in the index")
    roles = {
        e["task"]: Role(e["args"]["role"]).name.lower()
        for e in events
        if e["name"] == "Staked" and e["args"]["account"] == address
    }
    stakes = [
        {"task": r["task_id"], **json.loads(r["state"])}
        for r in conn.execute("SELECT * FROM participants WHERE address = ? ORDER BY task_id", (address,))
    ]
    for s in stakes:  # a withdrawn account's role is None on chain; the events still know it
        s["role"] = roles.get(s["task"], s["role"]) if s["role"] == "none" else s["role"]
    earned = 0
    for r in conn.execute("SELECT body FROM receipts WHERE body IS NOT NULL"):
        earned += sum(int(a) for acc, a in json.loads(r[0])["rewards"] if acc.lower() == address.lower())
    claims = [_claim(e) for e in events if e["name"] in ("TrainerRewardClaimed", "ValidatorRewardClaimed")]
    slashes = [_slash(e) for e in events if e["name"] == "Slashed" and e["args"]["account"] == address]
    transfers = [
        {
            "block": e["block"],
            "tx": e["tx"],
            "from": e["args"]["from"],
            "to": e["args"]["to"],
            "value": e["args"]["value"],
            "direction": "in" if e["args"]["to"] == address else "out",
        }
        for e in events
        if e["name"] == "Transfer"
    ]
    return {
        "address": address,
        "token": token(conn),
        "balance": int(balance["balance"]) if balance else None,
        "balance_block": balance["block_number"] if balance else None,
        "stakes": stakes,
        "rewards": {
            "trainer_earned": earned,
            "claimed": sum(int(c["amount"]) for c in claims),
            "validator_claimed": sum(int(c["amount"]) for c in claims if c["role"] == "validator"),
        },
        "claims": claims,
        "slashes": slashes,
        "transfers": transfers[-200:],
        "transactions": txs,
    }


def block(conn: sqlite3.Connection, number: int) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM blocks WHERE number = ?", (number,)).fetchone()
    if row is None:
        raise NotFound(f"block {number} is not indexed")
    latest = conn.execute("SELECT MAX(number) FROM blocks").fetchone()[0]
    events = int(conn.execute("SELECT COUNT(*) FROM events WHERE block_number = ?", (number,)).fetchone()[0])
    return {
        **_block_row(row),
        "transactions": _txs(conn, "t.block_number = ?", (number,), 10_000),
        "events": events,
        "previous": number - 1
        if conn.execute("SELECT 1 FROM blocks WHERE number = ?", (number - 1,)).fetchone()
        else None,
        "next": number + 1 if latest is not None and number < latest else None,
    }


def transaction(conn: sqlite3.Connection, tx_hash: str) -> dict[str, Any]:
    row = conn.execute(
        "SELECT t.*, b.timestamp FROM txs t LEFT JOIN blocks b ON b.number = t.block_number WHERE t.hash = ?",
        (tx_hash.lower(),),
    ).fetchone()
    if row is None:
        raise NotFound(
            f"transaction {tx_hash} is not indexed (only transactions that touch the project's contracts are)"
        )
    events = [
        _event(r) for r in conn.execute(f"{_EVENT_SELECT} WHERE e.tx_hash = ? ORDER BY e.log_index", (row["hash"],))
    ]
    return {**_tx_row(row), "input": row["input"], "events": events}


# --- search ------------------------------------------------------------------------------------------


def search(conn: sqlite3.Connection, q: str) -> dict[str, Any]:
    """Every page the query can mean: address, tx hash, block number or hash, task id, CID."""
    q = q.strip()
    results: list[dict[str, str]] = []
    if _HEX_ADDRESS.match(q):
        address = checksum(q)
        results.append({"kind": "account", "label": address, "url": f"/accounts/{address}"})
    elif _TX_HASH.match(q):
        if conn.execute("SELECT 1 FROM txs WHERE hash = ?", (q.lower(),)).fetchone():
            results.append({"kind": "transaction", "label": q.lower(), "url": f"/tx/{q.lower()}"})
        for r in conn.execute("SELECT number FROM blocks WHERE hash = ?", (q.lower(),)):
            results.append({"kind": "block", "label": f"block {r[0]}", "url": f"/blocks/{r[0]}"})
    elif q.lstrip("#").isdigit():
        n = int(q.lstrip("#"))
        if conn.execute("SELECT 1 FROM events WHERE name = 'TaskCreated' AND task_id = ?", (n,)).fetchone():
            results.append({"kind": "task", "label": f"task {n}", "url": f"/tasks/{n}"})
        if not q.startswith("#") and conn.execute("SELECT 1 FROM blocks WHERE number = ?", (n,)).fetchone():
            results.append({"kind": "block", "label": f"block {n}", "url": f"/blocks/{n}"})
    elif _CID.match(q):
        for r in conn.execute("SELECT DISTINCT kind, task_id, round, account FROM cids WHERE cid = ?", (q,)):
            where = f"task {r['task_id']}" + (f" round {r['round']}" if r["round"] is not None else "")
            url = f"/tasks/{r['task_id']}" + (f"/rounds/{r['round']}" if r["round"] is not None else "")
            who = f" by {r['account']}" if r["account"] else ""
            results.append({"kind": f"cid ({r['kind'].replace('_', ' ')})", "label": f"{where}{who}", "url": url})
        for r in conn.execute("SELECT task_id, round FROM receipts WHERE cid = ?", (q,)):
            results.append(
                {
                    "kind": "cid (round receipt)",
                    "label": f"task {r[0]} round {r[1]}",
                    "url": f"/tasks/{r[0]}/rounds/{r[1]}",
                }
            )
    return {"query": q, "results": results}
