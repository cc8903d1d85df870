"""The round receipt: the object validators agree on, byte for byte.

A validator's proposal is `keccak256(abi.encode(receiptCid, rewardRoot))`. The
receipt names the new model's CID and its parent, every update of the round
with its verdict, aggregation weight and reward, and the reward leaves whose
Merkle root is on-chain; so one CID on-chain gives the model, its lineage and
the proof material for every trainer's claim. Serialization is canonical
(sorted keys, no spaces, big integers as decimal strings): honest validators
that computed the same result pin the same bytes and get the same CID.
Nothing here depends on one validator's view (its metrics stay out).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

KIND = "dfl-round-receipt"
VERSION = 1


@dataclass(frozen=True)
class UpdateEntry:
    trainer: str
    cid: str
    num_samples: int
    accepted: bool
    reason: str | None
    message: str
    weight: int
    reward: int


@dataclass(frozen=True)
class RoundReceipt:
    task: int
    round: int
    parent: str  # CID of G_r (initial weights, or the previous round's receipt)
    model: str  # CID of the aggregated weights (safetensors)
    rule: str
    rule_params: dict[str, int | float]
    trainer_pool: int
    updates: tuple[UpdateEntry, ...]
    rewards: tuple[tuple[str, int], ...]
    reward_root: str  # 0x-prefixed hex

    def to_bytes(self) -> bytes:
        body = asdict(self)
        body["trainer_pool"] = str(self.trainer_pool)
        body["rewards"] = [[account, str(amount)] for account, amount in self.rewards]
        body["updates"] = [{**u, "reward": str(u["reward"])} for u in body["updates"]]
        return json.dumps({"kind": KIND, "version": VERSION, **body}, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> RoundReceipt:
        try:
            body: dict[str, Any] = json.loads(data)
            if body.pop("kind") != KIND or body.pop("version") != VERSION:
                raise ValueError("not a dfl round receipt of version 1")
            body["trainer_pool"] = int(body["trainer_pool"])
            body["rewards"] = tuple((a, int(v)) for a, v in body["rewards"])
            body["updates"] = tuple(UpdateEntry(**{**u, "reward": int(u["reward"])}) for u in body["updates"])
            return cls(**body)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"malformed round receipt: {exc}") from exc

    def reward_of(self, account: str) -> int:
        return dict(self.rewards).get(account.lower(), 0)


def is_receipt(data: bytes) -> bool:
    """Receipts start with their kind (the first key in sorted order); weights files are
    safetensors, which start with an 8-byte header length."""
    return data.startswith(b'{"kind":"' + KIND.encode() + b'"')
