"""Follows a chain and writes the project's blocks, transactions and events into the database.

- Catches up in ranges (`batch_blocks` per range: batched block fetches, one `eth_getLogs`), each
  range written in one transaction with the checkpoint, so a restart resumes where it stopped.
- Indexes only blocks `confirmations` deep; before each pass it checks that the checkpoint block
  is still on the chain and, after a reorg, rolls back to the last common block and reindexes.
- At the tip it snapshots what only views know (task phase, stakes, token balances) at the
  indexed block, and fetches each accepted round's receipt from IPFS once.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from offchain.chain.artifacts import Deployment, load_deployment
from offchain.chain.blocks import ChainReader, LogRecord, RangeChanged, RangeData
from offchain.chain.events import TaskLog
from offchain.errors import DflError, IpfsError
from offchain.explorer.db import Database, dumps
from offchain.explorer.queries.store import task_log
from offchain.fl.receipt import ReceiptError, RoundReceipt, is_receipt
from offchain.readmodel.models import winning_receipt_cid
from offchain.storage.ipfs import IpfsStore

log = logging.getLogger(__name__)

RECEIPT_MAX_BYTES = 8 << 20
RECEIPT_RETRY_SECONDS = 10.0
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_ZERO = "0x" + "0" * 40
_ACCOUNT_ARGS = ("account", "trainer", "validator", "requester")
_CID_ARGS = {
    ("UpdateRevealed", "updateCid"): ("update", "trainer"),
    ("VoteRevealed", "aggregateCid"): ("aggregate", "validator"),
}
_TASK_CIDS = {"modelSpecCid": "model_spec", "initialModelCid": "initial_model", "evalDatasetCid": "eval_dataset"}


def jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.name.lower()
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def _small_int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and 0 <= value < 2**63 else None


@dataclass
class Dirty:
    """What changed since the last snapshot of views."""

    tasks: set[int] = field(default_factory=set)
    participants: set[tuple[int, str]] = field(default_factory=set)
    balances: set[str] = field(default_factory=set)


@dataclass
class IndexerStatus:
    """Shared with the web app: where the indexer is."""

    head: int | None = None
    checkpoint: int | None = None
    last_error: str | None = None
    updated: float = 0.0
    reorgs: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "head": self.head,
            "checkpoint": self.checkpoint,
            "last_error": self.last_error,
            "lag": None if self.head is None or self.checkpoint is None else self.head - self.checkpoint,
            "updated": self.updated,
            "reorgs": self.reorgs,
        }


class Indexer:
    def __init__(
        self,
        db: Database,
        reader: ChainReader,
        *,
        confirmations: int = 0,
        batch_blocks: int = 2_000,
        start_block: int | None = None,
        store: IpfsStore | None = None,
        max_reorg_depth: int = 1_024,
        status: IndexerStatus | None = None,
    ) -> None:
        self.db = db
        self.reader = reader
        self.confirmations = confirmations
        self.batch_blocks = batch_blocks
        self.start_block = reader.deployment.block if start_block is None else start_block
        self.store = store
        self.max_reorg_depth = max_reorg_depth
        self.status = status or IndexerStatus()
        self.dirty = Dirty()
        self._receipt_retry: dict[tuple[int, int], float] = {}
        self._adopt()

    # --- identity: a database belongs to one deployment on one chain -------------------

    def _adopt(self) -> None:
        identity = {
            "chain_id": self.reader.chain_id(),
            "addresses": dumps(sorted(self.reader.addresses)),
            "start_block": self.start_block,
        }
        if any(self.db.meta(k) != str(v) for k, v in identity.items()):
            if self.db.meta("chain_id") is not None:
                log.info(
                    "explorer: new deployment or chain (%s); reindexing from block %d",
                    identity["addresses"],
                    self.start_block,
                )
            self.db.reset()
            with self.db.conn:
                self.db.set_meta(**identity, **{f"token_{k}": v for k, v in self.reader.token_info().items()})
        self._mark_all_dirty()

    def _mark_all_dirty(self) -> None:
        self.dirty.tasks |= set(self.db.open_tasks())
        self.dirty.participants |= set(self.db.all_participants())
        self.dirty.balances |= set(self.db.all_accounts())

    # --- one pass --------------------------------------------------------------------------

    def sync_once(self, stop: threading.Event | None = None) -> int:
        """Index up to the confirmed head; return how many blocks were indexed."""
        self._check_reorg()
        head = self.reader.head()
        safe = head - self.confirmations
        self.status.head = head
        checkpoint = self.db.checkpoint()
        nxt = self.start_block if checkpoint is None else checkpoint + 1
        done = 0
        while nxt <= safe:
            if stop is not None and stop.is_set():
                return done
            hi = min(safe, nxt + self.batch_blocks - 1)
            try:
                data = self.reader.fetch_range(nxt, hi)
            except RangeChanged as exc:
                log.info("explorer: %s; retrying", exc)
                return done
            parent = self.db.block_hash(nxt - 1)
            if parent is not None and data.blocks[0].parent_hash != parent:
                log.info("explorer: block %d does not extend the indexed chain: reorg", nxt)
                return done  # the next pass rolls back
            self._store(data)
            done += hi - nxt + 1
            nxt = hi + 1
            self.status.checkpoint = hi
        self.status.checkpoint = self.db.checkpoint()
        if nxt > safe >= self.start_block:
            self._refresh(safe)
        self.status.updated = time.time()
        return done

    def _check_reorg(self) -> None:
        checkpoint = self.db.checkpoint()
        if checkpoint is None or checkpoint < self.start_block:
            return
        if self.reader.block_hashes([checkpoint])[checkpoint] == self.db.block_hash(checkpoint):
            return
        ancestor = self._common_ancestor(checkpoint)
        self.status.reorgs += 1
        if ancestor is None:
            log.warning(
                "explorer: no common block within %d blocks of %d (chain reset?); reindexing from scratch",
                self.max_reorg_depth,
                checkpoint,
            )
            self.db.reset()
            self._adopt()
            return
        log.warning(
            "explorer: reorg: blocks %d..%d were replaced; rolling back to %d", ancestor + 1, checkpoint, ancestor
        )
        self.db.rollback_to(ancestor)
        self._receipt_retry.clear()
        self._mark_all_dirty()

    def _common_ancestor(self, checkpoint: int) -> int | None:
        window = 64
        lowest = max(self.start_block, checkpoint - self.max_reorg_depth)
        hi = checkpoint
        while hi >= lowest:
            lo = max(lowest, hi - window + 1)
            ours = self.db.block_hashes(lo, hi)
            theirs = self.reader.block_hashes(list(range(lo, hi + 1)))
            for n in range(hi, lo - 1, -1):
                if ours.get(n) is not None and ours.get(n) == theirs.get(n):
                    return n
            hi = lo - 1
        # every indexed block was replaced, but all of them were checked: reindex from the start
        return self.start_block - 1 if lowest == self.start_block else None

    # --- storing a range ---------------------------------------------------------------------

    def _store(self, data: RangeData) -> None:
        blocks = [(b.number, b.hash, b.parent_hash, b.timestamp, b.tx_count, b.gas_used, b.miner) for b in data.blocks]
        txs = [
            (
                t.hash,
                t.block_number,
                t.index,
                t.sender,
                t.to,
                str(t.value),
                t.status,
                t.gas_used,
                t.contract,
                t.function,
                dumps(t.args),
                t.input,
                t.created,
            )
            for t in data.txs
        ]
        events, accounts, cids = [], [], []
        for e in data.logs:
            task_id, round_id = _small_int(e.args.get("taskId")), _small_int(e.args.get("round"))
            events.append(
                (
                    e.block_number,
                    e.log_index,
                    e.tx_hash,
                    e.address,
                    e.contract,
                    e.name,
                    task_id,
                    round_id,
                    dumps(e.args),
                    dumps(list(e.topics)),
                    e.data,
                )
            )
            for value in {v for v in e.args.values() if isinstance(v, str) and _ADDRESS.match(v) and v != _ZERO}:
                accounts.append((value, e.block_number, e.log_index))
            cids += self._cids(e, task_id, round_id)
            self._note_dirty(e, task_id)
        self.db.insert_range(data.hi, blocks, txs, events, accounts, cids)

    @staticmethod
    def _cids(e: LogRecord, task_id: int | None, round_id: int | None) -> list[tuple[Any, ...]]:
        found = []
        for (event, arg), (kind, who) in _CID_ARGS.items():
            if e.name == event and e.args.get(arg):
                found.append((e.args[arg], kind, task_id, round_id, e.args.get(who), e.block_number))
        if e.name == "TaskCreated" and isinstance(e.args.get("params"), dict):
            for arg, kind in _TASK_CIDS.items():
                if e.args["params"].get(arg):
                    found.append((e.args["params"][arg], kind, task_id, None, None, e.block_number))
        return found

    def _note_dirty(self, e: LogRecord, task_id: int | None) -> None:
        if task_id is not None and e.contract != "RewardToken":
            self.dirty.tasks.add(task_id)
            for arg in _ACCOUNT_ARGS[:3]:
                if isinstance(e.args.get(arg), str):
                    self.dirty.participants.add((task_id, e.args[arg]))
        for arg in ("from", "to", "owner", "spender"):
            value = e.args.get(arg)
            if e.name == "Transfer" and isinstance(value, str) and value != _ZERO:
                self.dirty.balances.add(value)

    # --- snapshots of views, and receipts -------------------------------------------------------

    def _refresh(self, block: int) -> None:
        """Views at `block`: open tasks' phase (time moves it on), then whatever events touched."""
        tasks = self.dirty.tasks | set(self.db.open_tasks())
        for task_id in sorted(tasks):
            state = self.reader.task_state(task_id, block)
            self.db.put_task_state(task_id, block, jsonable(asdict(state)))
            self.dirty.tasks.discard(task_id)
        for task_id, account in sorted(self.dirty.participants):
            self.db.put_participant(
                task_id, account, block, jsonable(asdict(self.reader.participant(task_id, account, block)))
            )
            self.dirty.participants.discard((task_id, account))
        for account in sorted(self.dirty.balances):
            self.db.put_balance(account, block, self.reader.balance(account, block))
            self.dirty.balances.discard(account)
        self._fetch_receipts()

    def _fetch_receipts(self) -> None:
        if self.store is None:
            return
        now = time.monotonic()
        logs: dict[int, TaskLog] = {}
        for task_id, round_id, block in self.db.rounds_missing_receipts():
            if self._receipt_retry.get((task_id, round_id), 0.0) > now:
                continue
            if task_id not in logs:
                logs[task_id] = task_log(self.db.conn, task_id)
            cid = winning_receipt_cid(logs[task_id], round_id)
            if cid is None:
                continue
            try:
                data = self.store.get(cid, max_bytes=RECEIPT_MAX_BYTES)
            except IpfsError as exc:
                log.warning("explorer: receipt %s of task %d round %d not fetched yet: %s", cid, task_id, round_id, exc)
                self._receipt_retry[(task_id, round_id)] = now + RECEIPT_RETRY_SECONDS
                continue
            body, error = receipt_body(data)
            if error is not None:
                self._receipt_retry[(task_id, round_id)] = float("inf")  # bad content does not get better
            self.db.put_receipt(task_id, round_id, block, cid, body, error)


def receipt_body(data: bytes) -> tuple[str | None, str | None]:
    """The text of a winning receipt to store, or why it is not one: a malformed receipt is recorded
    as bad, never raised, so one bad round cannot stop every later indexer pass."""
    if not is_receipt(data):
        return None, "the winning CID is not a round receipt"
    try:
        RoundReceipt.from_bytes(data)
        return data.decode(), None
    except (ReceiptError, UnicodeDecodeError) as exc:
        return None, str(exc)


# --- the loop the server runs ---------------------------------------------------------------


@dataclass
class FollowConfig:
    rpc_url: str
    chain_id: int
    deployments_dir: Path
    build_dir: Path
    ipfs_api: str | None
    ipfs_timeout: float = 10.0
    confirmations: int = 0
    poll_seconds: float = 1.0
    batch_blocks: int = 2_000


def follow(
    db_path: Path,
    config: FollowConfig,
    stop: threading.Event,
    status: IndexerStatus,
    on_pass: Callable[[int], None] | None = None,
) -> None:
    """Index until `stop` is set. Re-reads the deployment record, so a redeploy (as `dfl demo`
    does) switches the explorer to the new contracts; errors are logged and retried."""
    db = Database(db_path)
    store = IpfsStore(config.ipfs_api, timeout=config.ipfs_timeout) if config.ipfs_api else None
    indexer: Indexer | None = None
    deployment: Deployment | None = None
    try:
        while not stop.is_set():
            indexed = 0
            try:
                current = load_deployment(config.deployments_dir, config.chain_id, config.build_dir)
                if (
                    indexer is None
                    or deployment is None
                    or (current.addresses, current.block) != (deployment.addresses, deployment.block)
                ):
                    deployment = current
                    indexer = Indexer(
                        db,
                        ChainReader(config.rpc_url, current),
                        confirmations=config.confirmations,
                        batch_blocks=config.batch_blocks,
                        store=store,
                        status=status,
                    )
                indexed = indexer.sync_once(stop)
                status.last_error = None
            except DflError as exc:
                if status.last_error != str(exc):
                    log.warning("explorer indexer: %s", exc)
                status.last_error = str(exc)
            if on_pass is not None:
                on_pass(indexed)
            if indexed == 0:
                stop.wait(config.poll_seconds)
    finally:
        if store is not None:
            store.close()
        db.close()
