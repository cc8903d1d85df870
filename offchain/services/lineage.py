"""A task's chain of global models, each verified against the chain: what `dfl model pull` fetches."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from offchain.chain.manager import TaskManager
from offchain.readmodel.models import winning_receipt_cid
from offchain.services.context import TaskContext, WorkerError, load_global_model
from offchain.storage.ipfs import IpfsStore


@dataclass(frozen=True)
class Version:
    round: int | None  # None: the initial model
    cid: str  # what the chain names (round receipt, or the initial weights)
    weights_cid: str
    parent: str | None
    status: str


def lineage(chain: TaskManager, store: IpfsStore, task_id: int) -> list[Version]:
    """Initial model, then every accepted round's model; each receipt's CID is the winning
    proposal's on-chain, and each receipt names the previous version as its parent."""
    params = chain.task_params(task_id)
    log = chain.task_log(task_id)
    versions = [Version(None, params.initial_model_cid, params.initial_model_cid, None, "initial")]
    for r in range(params.num_rounds):
        cid = winning_receipt_cid(log, r)
        if cid is None:  # not accepted: the round kept the model it started from
            continue
        model = load_global_model(store, cid, params.max_update_bytes)
        if model.receipt is None or model.receipt.parent != versions[-1].cid or model.receipt.round != r:
            raise WorkerError(
                f"task {task_id} round {r}: the winning CID {cid} is not a receipt continuing {versions[-1].cid}"
            )
        versions.append(Version(r, cid, model.weights_cid, model.receipt.parent, "accepted"))
    return versions


def pull(
    chain: TaskManager, store: IpfsStore, task_id: int, round_id: int | None, out: Path
) -> tuple[Version, list[Version], Path]:
    """Save the model after `round_id` (default: the latest) as a Keras file; return it and its lineage."""
    versions = lineage(chain, store, task_id)
    if round_id is None:
        chosen = versions[-1]
    else:
        if not 0 <= round_id < chain.task_params(task_id).num_rounds:
            raise WorkerError(
                f"task {task_id} has rounds 0..{chain.task_params(task_id).num_rounds - 1}, not {round_id}"
            )
        earlier = [v for v in versions if v.round is None or v.round <= round_id]
        chosen = earlier[-1]  # a round that was not accepted kept the previous model
    ctx = TaskContext(chain, store, task_id)
    weights = ctx.model.decode(load_global_model(store, chosen.cid, ctx.params.max_update_bytes).weights)
    path = ctx.model.save(weights, out)
    return chosen, versions[: versions.index(chosen) + 1], path
