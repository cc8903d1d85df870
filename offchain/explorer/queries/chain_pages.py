"""The chain's pages: home, blocks, a block, a transaction, an account, and search.

Each function builds one page's data from the database as plain JSON-ready dicts; the HTML
templates render exactly these dicts and `/api/...` returns them, so a page and its JSON never
disagree. Nothing here talks to the chain or IPFS.
"""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

from offchain.chain.events import Slashed, TrainerRewardClaimed, ValidatorRewardClaimed
from offchain.chain.protocol import Role
from offchain.explorer.queries.store import (
    EVENT_SELECT,
    HEX_ADDRESS,
    NotFound,
    checksum,
    claim_row,
    event_row,
    slash_row,
    token,
    typed_event,
)
from offchain.explorer.queries.task_pages import tasks

_TX_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
_CID = re.compile(r"^(Qm[1-9A-HJ-NP-Za-km-z]{44}|b[a-z2-7]{20,})$")


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
        f"""{EVENT_SELECT} JOIN event_accounts a ON a.block_number = e.block_number AND a.log_index = e.log_index
                            WHERE a.address = ? ORDER BY e.block_number, e.log_index""",
        (address,),
    ).fetchall()
    events = [event_row(r) for r in rows]
    typed = [typed_event(r) for r in rows]
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
    claims = [claim_row(e) for e in typed if isinstance(e.record, (TrainerRewardClaimed, ValidatorRewardClaimed))]
    slashes = [slash_row(e) for e in typed if isinstance(e.record, Slashed) and e.record.account == address]
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
        event_row(r) for r in conn.execute(f"{EVENT_SELECT} WHERE e.tx_hash = ? ORDER BY e.log_index", (row["hash"],))
    ]
    return {**_tx_row(row), "input": row["input"], "events": events}


# --- search ------------------------------------------------------------------------------------------


def search(conn: sqlite3.Connection, q: str) -> dict[str, Any]:
    """Every page the query can mean: address, tx hash, block number or hash, task id, CID."""
    q = q.strip()
    results: list[dict[str, str]] = []
    if HEX_ADDRESS.match(q):
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
