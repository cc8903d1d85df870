"""What the workers and services need about a task: its parameters, its model, G_r and the
winning receipts from IPFS."""

from __future__ import annotations

import hashlib
import io
import logging
import zipfile
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from offchain.chain.events import RoundFinalized, TaskLog
from offchain.chain.manager import TaskManager
from offchain.chain.protocol import TaskParams
from offchain.errors import DflError
from offchain.fl.receipt import ReceiptError, RoundReceipt, is_receipt
from offchain.fl.rules import RuleConfig, parse_rule
from offchain.readmodel.models import global_model_cid, winning_receipt_cid
from offchain.services.local_model import LocalModel
from offchain.storage.ipfs import IpfsStore

log = logging.getLogger(__name__)

SPEC_MAX_BYTES = 1 << 20
EVAL_SET_MAX_BYTES = 256 << 20


class WorkerError(DflError):
    """A worker cannot go on with this task (bad task data, wrong role, ...)."""


@dataclass(frozen=True)
class GlobalModel:
    cid: str  # what the chain names: initial weights, or a round receipt
    weights_cid: str
    weights: bytes
    receipt: RoundReceipt | None


class TaskContext:
    def __init__(self, chain: TaskManager, store: IpfsStore, task_id: int) -> None:
        self.chain = chain
        self.store = store
        self.task_id = task_id
        self.params: TaskParams = chain.task_params(task_id)
        self.rule: RuleConfig = parse_rule(self.params.rule_id, list(self.params.rule_params))
        self._global_cids: dict[int, str] = {}
        self._previous: dict[str, bytes] = {}  # the last G_{r-1} loaded, by CID

    @cached_property
    def model(self) -> LocalModel:
        """Built on first use: it imports TensorFlow, which takes seconds."""
        spec = self.store.get(self.params.model_spec_cid, max_bytes=SPEC_MAX_BYTES).decode()
        return LocalModel(spec, max_update_bytes=self.params.max_update_bytes)

    def global_model(self, round_id: int) -> GlobalModel:
        """G_r from IPFS. Its CID comes from the task's log, which the chain client follows
        incrementally; once the previous round is final it cannot change, so it is kept."""
        cid = self._global_cids.get(round_id)
        if cid is None:
            log = self.chain.task_log(self.task_id)
            cid = global_model_cid(log, round_id)
            if round_id == 0 or log.first(RoundFinalized, round_id - 1):
                self._global_cids[round_id] = cid
        return load_global_model(self.store, cid, self.params.max_update_bytes)

    def previous_weights(self, model: GlobalModel) -> bytes | None:
        """G_{r-1}'s weights: the model the receipt that made `model` started from (None when `model`
        is the task's initial model). Its change to `model` is the public prediction that rewards do
        not pay for (offchain.fl.contribution)."""
        if model.receipt is None:
            return None
        parent = model.receipt.parent
        if parent not in self._previous:
            self._previous = {parent: load_global_model(self.store, parent, self.params.max_update_bytes).weights}
        return self._previous[parent]

    def eval_set(self) -> tuple[np.ndarray, np.ndarray]:
        """The task's public evaluation set, checked against its on-chain content hash."""
        data = self.store.get(self.params.eval_dataset_cid, max_bytes=EVAL_SET_MAX_BYTES)
        if hashlib.sha256(data).digest() != self.params.eval_dataset_hash:
            raise WorkerError(
                f"task {self.task_id}: evaluation set {self.params.eval_dataset_cid} does not match its on-chain sha256"
            )
        return load_npz_xy(data)


def load_global_model(store: IpfsStore, cid: str, max_bytes: int) -> GlobalModel:
    data = store.get(cid, max_bytes=max(max_bytes, SPEC_MAX_BYTES))
    if not is_receipt(data):
        return GlobalModel(cid, cid, data, None)
    try:
        receipt = RoundReceipt.from_bytes(data)
    except ReceiptError as exc:  # fl.receipt says what is malformed; here is where it enters
        raise WorkerError(
            f"the round receipt {cid} the chain names is unusable ({exc}): this task cannot go on from it; "
            "report it to the task's requester"
        ) from None
    return GlobalModel(cid, receipt.model, store.get(receipt.model, max_bytes=max_bytes), receipt)


def round_receipt(
    chain: TaskManager, store: IpfsStore, task_id: int, round_id: int, max_bytes: int, log: TaskLog | None = None
) -> RoundReceipt | None:
    """The receipt that won `round_id` (None unless the round was accepted)."""
    cid = winning_receipt_cid(log or chain.task_log(task_id), round_id)
    if cid is None:
        return None
    model = load_global_model(store, cid, max_bytes)
    if model.receipt is None:
        raise WorkerError(f"task {task_id} round {round_id}: the winning CID {cid} is not a round receipt")
    return model.receipt


def load_npz_xy(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return np.asarray(npz["x"], dtype=np.float32), np.asarray(npz["y"], dtype=np.int64)
    except (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise WorkerError(f"evaluation set is not an .npz with arrays x and y: {exc}") from exc


def dump_npz_xy(x: np.ndarray, y: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, x=np.asarray(x, dtype=np.float32), y=np.asarray(y, dtype=np.int64))
    return buffer.getvalue()
