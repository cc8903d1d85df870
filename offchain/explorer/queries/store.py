"""Reading the index: rows as JSON-ready dicts, a task's events as the read model's `TaskLog`,
the stored round receipts, and the JSON shapes of events that several pages show."""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address

from offchain.chain.events import EVENT_RECORDS, Event, Slashed, TaskLog, TrainerRewardClaimed, decode_event
from offchain.chain.manager import MANAGER_CONTRACT, PRIVACY_CONTRACT
from offchain.fl.receipt import RoundReceipt

HEX_ADDRESS = re.compile(r"^(0x)?[0-9a-fA-F]{40}$")
EVENT_SELECT = "SELECT e.*, b.timestamp FROM events e LEFT JOIN blocks b ON b.number = e.block_number"


class NotFound(LookupError):
    """No such task, round, block, transaction or account in the index."""


def checksum(address: str) -> str:
    if not HEX_ADDRESS.match(address):
        raise NotFound(f"{address!r} is not an address")
    return to_checksum_address(address if address.startswith("0x") else "0x" + address)


def event_row(row: sqlite3.Row) -> dict[str, Any]:
    """An indexed log as the pages show it (its args as the ABI names them)."""
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


def typed_event(row: sqlite3.Row) -> Event[Any]:
    return decode_event(
        row["name"], json.loads(row["args"]), row["block_number"], row["tx_hash"], row["log_index"], row["timestamp"]
    )


def task_log(conn: sqlite3.Connection, task_id: int) -> TaskLog:
    """The task's events in chain order, typed as the chain client types them."""
    names = ",".join("?" * len(EVENT_RECORDS))
    rows = conn.execute(
        f"{EVENT_SELECT} WHERE e.task_id = ? AND e.contract IN (?, ?) AND e.name IN ({names})"
        " ORDER BY e.block_number, e.log_index",
        (task_id, MANAGER_CONTRACT, PRIVACY_CONTRACT, *EVENT_RECORDS),
    )
    return TaskLog(task_id, tuple(typed_event(r) for r in rows))


@dataclass(frozen=True)
class StoredReceipt:
    cid: str
    body: RoundReceipt | None
    error: str | None  # why the body is missing: not a receipt, malformed


def receipts(conn: sqlite3.Connection, task_id: int) -> dict[int, StoredReceipt]:
    """The winning receipts the indexer fetched, by round."""
    found = {}
    for r in conn.execute("SELECT * FROM receipts WHERE task_id = ?", (task_id,)):
        body = RoundReceipt.from_bytes(r["body"].encode()) if r["body"] else None
        found[int(r["round"])] = StoredReceipt(r["cid"], body, r["error"])
    return found


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


def task_state(conn: sqlite3.Connection, task_id: int) -> dict[str, Any] | None:
    """The task's view snapshot (phase, counts) at the block the indexer last refreshed it."""
    row = conn.execute("SELECT block_number, state FROM task_states WHERE task_id = ?", (task_id,)).fetchone()
    return None if row is None else {**json.loads(row["state"]), "as_of_block": row["block_number"]}


def hex0x(value: bytes) -> str:
    return "0x" + value.hex()


def claim_row(e: Event[Any]) -> dict[str, Any]:
    """A TrainerRewardClaimed or ValidatorRewardClaimed event."""
    trainer = isinstance(e.record, TrainerRewardClaimed)
    return {
        "task": e.record.task_id,
        "round": e.record.round,
        "account": e.record.trainer if trainer else e.record.validator,
        "role": "trainer" if trainer else "validator",
        "amount": e.record.amount,
        "restaked": False if trainer else e.record.restaked,
        "tx": e.tx_hash,
        "block": e.block,
    }


def slash_row(e: Event[Slashed]) -> dict[str, Any]:
    return {
        "task": e.record.task_id,
        "round": e.record.round,
        "account": e.record.account,
        "amount": e.record.amount,
        "reason": e.record.reason.name.lower(),
        "remaining_stake": e.record.remaining_stake,
        "tx": e.tx_hash,
        "block": e.block,
    }
