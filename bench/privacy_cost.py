"""What a finished task cost, per round, from the chain and IPFS alone: gas of every transaction that
emitted one of the task's events (stakes, keys, commits, reveals, attestations, bundles, seeds,
votes, finalizations, claims, slashes), and the bytes its trainers and validators pinned for it
(updates, key bundles) or put on-chain (mask seeds)."""

from __future__ import annotations

from typing import Any

from eth_typing import HexStr

from offchain.chain.events import KeyBundlePublished, MaskSeedsPublished, UpdateRevealed
from offchain.chain.manager import TaskManager
from offchain.storage.ipfs import IpfsStore

MAX_BYTES = 1 << 30
CLAIMS = ("TrainerRewardClaimed", "ValidatorRewardClaimed")


def task_cost(chain: TaskManager, store: IpfsStore, task_id: int, rounds: int) -> dict[str, Any]:
    log = chain.task_log(task_id)
    txs = sorted({e.tx_hash for e in log.events})
    gas_of = {tx: int(chain.w3.eth.get_transaction_receipt(HexStr(tx))["gasUsed"]) for tx in txs}
    gas = sum(gas_of.values())
    # A round's own transactions: those whose events name a round (commits to finalize, bundles,
    # seeds, slashes and penalties of that round); the rest set up or settle the task.
    in_rounds = {e.tx_hash for e in log.events if getattr(e.record, "round", None) is not None}
    claims = {e.tx_hash for e in log.events if type(e.record).__name__ in CLAIMS}
    round_gas = sum(g for tx, g in gas_of.items() if tx in in_rounds and tx not in claims)
    updates = [len(store.get(e.record.update_cid, max_bytes=MAX_BYTES)) for e in log.of(UpdateRevealed)]
    bundles = [len(store.get(e.record.bundle_cid, max_bytes=MAX_BYTES)) for e in log.of(KeyBundlePublished)]
    seeds = [len(e.record.seeds) for e in log.of(MaskSeedsPublished)]
    per_round = max(1, rounds)
    return {
        "transactions": len(txs),
        "gas": gas,
        "gas_per_round": gas / per_round,
        "round_gas_per_round": round_gas / per_round,  # the rounds' own transactions, without set-up and claims
        "round_transactions_per_round": len(in_rounds - claims) / per_round,
        "update_bytes": sum(updates),
        "update_bytes_per_round": sum(updates) / per_round,
        "mean_update_bytes": sum(updates) / len(updates) if updates else 0,
        "key_bundle_bytes_per_round": sum(bundles) / per_round,
        "mask_seed_bytes_per_round": sum(seeds) / per_round,
    }
