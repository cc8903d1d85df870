"""The round receipt: the object validators agree on, byte for byte.

A validator's proposal is `keccak256(abi.encode(receiptCid, rewardRoot, penaltyRoot))`. The receipt
names the new model's CID and its parent, every update of the round (in trainer address order) with
its availability, verdict, score, weight and reward, the reward leaves and the penalized trainers
whose Merkle roots are on-chain; so one CID on-chain gives the model, its lineage and the proof
material for every claim and penalty. Serialization is canonical (sorted keys, no spaces, big integers
as decimal strings, no floats): honest validators that computed the same result pin the same bytes
and get the same CID. Everything in it is a pure function of on-chain data and content-addressed
bytes (never a library's message, a timing, or one validator's metric), and its size is bounded by
the task's parameters: at most maxTrainersPerRound entries of bounded size (a revealed CID that is
not a valid CID of at most MAX_CID_CHARS characters is recorded as null).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from offchain.fl.errors import FlError

KIND = "dfl-round-receipt"
# Version 4 (issue 19): each update carries its reward score and reward group, and pay follows the
# reward weights under every rule (versions 2 and 3 paid by the aggregation score).
VERSION = 4  # plaintext tasks without differential privacy
PRIVATE_VERSION = 5  # tasks with a privacy mode or a DP budget: version 4 plus `privacy` (and `secure_sum`)
MAX_CID_CHARS = 128


class ReceiptError(FlError):
    """Bytes that are not a round receipt of this version."""


@dataclass(frozen=True)
class UpdateEntry:
    index: int  # reveal index (its bit in availability attestations)
    trainer: str
    cid: str | None  # None: the revealed string is not a CID of at most MAX_CID_CHARS characters
    num_samples: int  # as revealed
    attested_bps: int  # validator stake holding it, in bps of the round's total
    accepted: bool
    reason: str | None  # why it was left out (offchain.fl.reasons.Reason)
    penalized: bool  # in the penalty tree
    detail: str
    score_ppm: int  # agreement with the consensus direction, parts per million (aggregation)
    reward_ppm: int  # agreement beyond the public prediction, parts per million (offchain.fl.contribution)
    group: int  # reveal index of the first update of its reward group (its own index when alone)
    weight: int  # reward weight: best reward_ppm of its group x counted samples, shared in the group
    reward: int


@dataclass(frozen=True)
class PrivacyEntry:
    """The task's privacy terms and the ε its rounds have spent up to and including this one
    (`offchain.privacy.budget`: the integer RDP bound the contract enforces)."""

    mode: str  # plaintext | sealed | secagg
    dp: str  # none | local (each update noised) | distributed (the secure sum carries the noise)
    unit: str  # what ε protects: trainer (its whole data) | sample (each example: DP-FedSGD)
    epsilon_spent_micro: int  # ε x 1e6 after rounds 0..round
    epsilon_budget_micro: int
    delta_atto: int
    noise_multiplier_micro: int


@dataclass(frozen=True)
class SecureSumEntry:
    """A SecAgg round's sum: whose masked updates it adds, whose masks the survivors' seeds removed."""

    status: str  # offchain.fl.secure_round.SumStatus
    detail: str
    contributors: tuple[str, ...]  # trainers of the key set whose masked updates are in the sum
    dropouts: tuple[str, ...]  # trainers of the key set that did not reveal
    scale_bits: int


_PRIVATE_INTS = ("epsilon_spent_micro", "epsilon_budget_micro", "delta_atto", "noise_multiplier_micro")


@dataclass(frozen=True)
class RoundReceipt:
    task: int
    round: int
    parent: str  # CID of G_r (initial weights, or the previous round's receipt)
    model: str  # CID of the aggregated weights (safetensors)
    rule: str
    rule_id: int
    rule_params: tuple[int, ...]  # as on-chain
    trainer_pool: int
    void: bool  # no attestation quorum: nothing could be decided (validators vote reject)
    updates: tuple[UpdateEntry, ...]
    rewards: tuple[tuple[str, int], ...]
    reward_root: str  # 0x-prefixed hex, zero if no reward
    penalties: tuple[str, ...]
    penalty_root: str  # 0x-prefixed hex, zero if no penalty
    privacy: PrivacyEntry | None = None  # None: a plaintext task without differential privacy (version 4)
    secure_sum: SecureSumEntry | None = None  # SecAgg tasks only

    @property
    def version(self) -> int:
        return VERSION if self.privacy is None else PRIVATE_VERSION

    def to_bytes(self) -> bytes:
        body = asdict(self)
        for optional in ("privacy", "secure_sum"):
            if body[optional] is None:
                del body[optional]
        if self.privacy is not None:
            body["privacy"] = {k: str(v) if k in _PRIVATE_INTS else v for k, v in body["privacy"].items()}
        body["trainer_pool"] = str(self.trainer_pool)
        body["rule_params"] = [str(v) for v in self.rule_params]
        body["rewards"] = [[account, str(amount)] for account, amount in self.rewards]
        body["penalties"] = list(self.penalties)
        body["updates"] = [
            {**u, "num_samples": str(u["num_samples"]), "weight": str(u["weight"]), "reward": str(u["reward"])}
            for u in body["updates"]
        ]
        return json.dumps(
            {"kind": KIND, "version": self.version, **body}, sort_keys=True, separators=(",", ":")
        ).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> RoundReceipt:
        try:
            body: dict[str, Any] = json.loads(data)
            version = body.pop("version")
            if body.pop("kind") != KIND or version not in (VERSION, PRIVATE_VERSION):
                raise ValueError(f"not a {KIND} of version {VERSION} or {PRIVATE_VERSION}")
            if (version == PRIVATE_VERSION) != ("privacy" in body) or ("secure_sum" in body and "privacy" not in body):
                raise ValueError(f"version {version} with{'out' if 'privacy' not in body else ''} a privacy entry")
            if "privacy" in body:
                entry = body["privacy"]
                body["privacy"] = PrivacyEntry(
                    mode=str(entry["mode"]),
                    dp=str(entry["dp"]),
                    unit=str(entry["unit"]),
                    **{k: int(entry[k]) for k in _PRIVATE_INTS},
                )
            if "secure_sum" in body:
                entry = body["secure_sum"]
                body["secure_sum"] = SecureSumEntry(
                    **{**entry, "contributors": tuple(entry["contributors"]), "dropouts": tuple(entry["dropouts"])}
                )
            body["trainer_pool"] = int(body["trainer_pool"])
            body["rule_params"] = tuple(int(v) for v in body["rule_params"])
            body["rewards"] = tuple((a, int(v)) for a, v in body["rewards"])
            body["penalties"] = tuple(body["penalties"])
            body["updates"] = tuple(
                UpdateEntry(
                    **{
                        **u,
                        "num_samples": int(u["num_samples"]),
                        "weight": int(u["weight"]),
                        "reward": int(u["reward"]),
                    }
                )
                for u in body["updates"]
            )
            return cls(**body)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ReceiptError(f"malformed round receipt: {exc}") from None

    def reward_of(self, account: str) -> int:
        return dict(self.rewards).get(account.lower(), 0)


def is_receipt(data: bytes) -> bool:
    """Receipts start with their kind (the first key in sorted order); weights files are
    safetensors, which start with an 8-byte header length."""
    return data.startswith(b'{"kind":"' + KIND.encode() + b'"')
