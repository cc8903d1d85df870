"""The explorer's SQLite database: what the indexer writes and the web app reads.

One writer (the indexer thread) and many readers (request threads), each with its own
connection; WAL mode lets them run at the same time. Every range of blocks is written in one
transaction together with the checkpoint, so a crash never leaves half a range behind.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from offchain.errors import ConfigError

SCHEMA_VERSION = "1"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (
    number INTEGER PRIMARY KEY, hash TEXT NOT NULL, parent_hash TEXT NOT NULL, timestamp INTEGER NOT NULL,
    tx_count INTEGER NOT NULL, gas_used INTEGER NOT NULL, miner TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS blocks_hash ON blocks(hash);
CREATE TABLE IF NOT EXISTS txs (
    hash TEXT PRIMARY KEY, block_number INTEGER NOT NULL, idx INTEGER NOT NULL, sender TEXT NOT NULL, recipient TEXT,
    value TEXT NOT NULL, status INTEGER NOT NULL, gas_used INTEGER NOT NULL, contract TEXT, function TEXT,
    args TEXT NOT NULL, input TEXT NOT NULL, created TEXT);
CREATE INDEX IF NOT EXISTS txs_block ON txs(block_number, idx);
CREATE INDEX IF NOT EXISTS txs_sender ON txs(sender, block_number);
CREATE INDEX IF NOT EXISTS txs_recipient ON txs(recipient, block_number);
CREATE TABLE IF NOT EXISTS events (
    block_number INTEGER NOT NULL, log_index INTEGER NOT NULL, tx_hash TEXT NOT NULL, address TEXT NOT NULL,
    contract TEXT, name TEXT, task_id INTEGER, round INTEGER, args TEXT NOT NULL, topics TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (block_number, log_index));
CREATE INDEX IF NOT EXISTS events_task ON events(task_id, name, round);
CREATE INDEX IF NOT EXISTS events_tx ON events(tx_hash);
CREATE INDEX IF NOT EXISTS events_name ON events(name);
CREATE TABLE IF NOT EXISTS event_accounts (
    address TEXT NOT NULL, block_number INTEGER NOT NULL, log_index INTEGER NOT NULL,
    PRIMARY KEY (address, block_number, log_index));
CREATE TABLE IF NOT EXISTS cids (
    cid TEXT NOT NULL, kind TEXT NOT NULL, task_id INTEGER, round INTEGER, account TEXT, block_number INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS cids_cid ON cids(cid);
CREATE TABLE IF NOT EXISTS task_states (task_id INTEGER PRIMARY KEY, block_number INTEGER NOT NULL, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS participants (
    task_id INTEGER NOT NULL, address TEXT NOT NULL, block_number INTEGER NOT NULL, state TEXT NOT NULL,
    PRIMARY KEY (task_id, address));
CREATE TABLE IF NOT EXISTS balances (address TEXT PRIMARY KEY, block_number INTEGER NOT NULL, balance TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS receipts (
    task_id INTEGER NOT NULL, round INTEGER NOT NULL, block_number INTEGER NOT NULL, cid TEXT NOT NULL,
    body TEXT, error TEXT, PRIMARY KEY (task_id, round));
"""

# Tables whose rows belong to a block: what a reorg rolls back.
_BY_BLOCK = (
    "blocks:number",
    "txs:block_number",
    "events:block_number",
    "event_accounts:block_number",
    "cids:block_number",
    "task_states:block_number",
    "participants:block_number",
    "balances:block_number",
    "receipts:block_number",
)


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False, timeout=10)
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, check_same_thread=False, timeout=10)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    conn.row_factory = sqlite3.Row
    return conn


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


class Database:
    """The writer's side: schema, checkpoint, inserts, rollback."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.conn = connect(self.path)
        self.conn.executescript(SCHEMA)
        if self.meta("schema") not in (None, SCHEMA_VERSION):
            raise ConfigError(
                f"{self.path} has explorer schema {self.meta('schema')}, this dfl writes {SCHEMA_VERSION}: "
                "delete the file (or pass another --db) and the explorer indexes the chain again"
            )
        self.set_meta(schema=SCHEMA_VERSION)
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()

    # --- meta and checkpoint -----------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, **values: object) -> None:
        self.conn.executemany(
            "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [(k, str(v)) for k, v in values.items()],
        )

    def checkpoint(self) -> int | None:
        """The last block indexed (None before the first range)."""
        value = self.meta("checkpoint")
        return None if value is None else int(value)

    def block_hash(self, number: int) -> str | None:
        row = self.conn.execute("SELECT hash FROM blocks WHERE number = ?", (number,)).fetchone()
        return None if row is None else str(row[0])

    def block_hashes(self, lo: int, hi: int) -> dict[int, str]:
        rows = self.conn.execute("SELECT number, hash FROM blocks WHERE number BETWEEN ? AND ?", (lo, hi))
        return {int(r[0]): str(r[1]) for r in rows}

    # --- writes --------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything indexed (another deployment or another chain)."""
        with self.conn:
            for entry in _BY_BLOCK:
                self.conn.execute(f"DELETE FROM {entry.split(':')[0]}")
            self.conn.execute("DELETE FROM meta WHERE key != 'schema'")

    def rollback_to(self, block: int) -> None:
        """Drop everything above `block` (a reorg replaced those blocks)."""
        with self.conn:
            for entry in _BY_BLOCK:
                table, column = entry.split(":")
                self.conn.execute(f"DELETE FROM {table} WHERE {column} > ?", (block,))
            self.set_meta(checkpoint=block)

    def insert_range(
        self,
        hi: int,
        blocks: Iterable[tuple[Any, ...]],
        txs: Iterable[tuple[Any, ...]],
        events: Iterable[tuple[Any, ...]],
        accounts: Iterable[tuple[Any, ...]],
        cids: Iterable[tuple[Any, ...]],
    ) -> None:
        with self.conn:
            c = self.conn
            c.executemany("INSERT OR REPLACE INTO blocks VALUES (?, ?, ?, ?, ?, ?, ?)", blocks)
            c.executemany("INSERT OR REPLACE INTO txs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", txs)
            c.executemany("INSERT OR REPLACE INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", events)
            c.executemany("INSERT OR IGNORE INTO event_accounts VALUES (?, ?, ?)", accounts)
            c.executemany("INSERT INTO cids VALUES (?, ?, ?, ?, ?, ?)", cids)
            self.set_meta(checkpoint=hi)

    def put_task_state(self, task_id: int, block: int, state: dict[str, Any]) -> None:
        with self.conn:
            self.conn.execute("INSERT OR REPLACE INTO task_states VALUES (?, ?, ?)", (task_id, block, dumps(state)))

    def put_participant(self, task_id: int, address: str, block: int, state: dict[str, Any]) -> None:
        with self.conn:
            self.conn.execute(
                "INSERT OR REPLACE INTO participants VALUES (?, ?, ?, ?)", (task_id, address, block, dumps(state))
            )

    def put_balance(self, address: str, block: int, balance: int) -> None:
        with self.conn:
            self.conn.execute("INSERT OR REPLACE INTO balances VALUES (?, ?, ?)", (address, block, str(balance)))

    def put_receipt(
        self, task_id: int, round_id: int, block: int, cid: str, body: str | None, error: str | None
    ) -> None:
        with self.conn:
            self.conn.execute(
                "INSERT OR REPLACE INTO receipts VALUES (?, ?, ?, ?, ?, ?)",
                (task_id, round_id, block, cid, body, error),
            )
            if body is not None:
                model = json.loads(body).get("model")
                if model:
                    self.conn.execute(
                        "INSERT INTO cids VALUES (?, 'model', ?, ?, NULL, ?)", (model, task_id, round_id, block)
                    )

    # --- reads the indexer needs ---------------------------------------------------------

    def open_tasks(self) -> list[int]:
        created = [int(r[0]) for r in self.conn.execute("SELECT task_id FROM events WHERE name = 'TaskCreated'")]
        done = {
            int(r[0])
            for r in self.conn.execute(
                "SELECT task_id FROM task_states WHERE json_extract(state, '$.phase') = 'completed'"
            )
        }
        return [t for t in created if t not in done]

    def rounds_missing_receipts(self) -> list[tuple[int, int, int]]:
        """(task, round, block of its finalization) of accepted rounds whose receipt is not stored."""
        rows = self.conn.execute("""
            SELECT f.task_id, f.round, f.block_number FROM events f
            LEFT JOIN receipts r ON r.task_id = f.task_id AND r.round = f.round
            WHERE f.name = 'RoundFinalized' AND json_extract(f.args, '$.status') = 1 AND r.body IS NULL
            ORDER BY f.block_number, f.log_index""")
        return [(int(r[0]), int(r[1]), int(r[2])) for r in rows]

    def all_participants(self) -> list[tuple[int, str]]:
        rows = self.conn.execute(
            "SELECT DISTINCT task_id, json_extract(args, '$.account') FROM events WHERE name = 'Staked'"
        )
        return [(int(r[0]), str(r[1])) for r in rows]

    def all_accounts(self) -> list[str]:
        return [str(r[0]) for r in self.conn.execute("SELECT DISTINCT address FROM event_accounts")]
