"""Builders shared by the offchain.fl tests (imported by name: this dir is on sys.path)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from offchain.fl.records import Update
from offchain.types import NamedWeights, TensorSpec

if TYPE_CHECKING:
    from offchain.fl.round import RoundResult
    from offchain.fl.rules import RuleConfig


def address(i: int) -> str:
    """A distinct, valid lowercase address for trainer number `i`."""
    return "0x" + f"{i + 1:040x}"


def upper_hex(account: str) -> str:
    """The same address with its hex digits in upper case."""
    return "0x" + account[2:].upper()


def weights(**tensors: npt.ArrayLike) -> NamedWeights:
    """NamedWeights from keyword tensors; `w0=...` becomes "0000/w0"."""
    return {f"{i:04d}/{k}": np.asarray(v, dtype=np.float32) for i, (k, v) in enumerate(sorted(tensors.items()))}


def specs_of(named: NamedWeights) -> list[TensorSpec]:
    return [TensorSpec(name, tuple(a.shape)) for name, a in sorted(named.items())]


def scalar_updates(values: list[float], *, samples: list[int] | None = None) -> list[Update]:
    """One-parameter updates (global is 0), trainer i holding values[i]."""
    counts = samples or [1] * len(values)
    return [Update(address(i), counts[i], weights(w=[v])) for i, v in enumerate(values)]


def pseudo_random(size: int, *, seed: int) -> np.ndarray:
    """float32 values in [-0.5, 0.5) from integer hashing: same on every numpy version."""
    i = np.arange(size, dtype=np.uint64) + np.uint64(seed * 0x9E3779B97F4A7C15 % 2**64)
    i = (i ^ (i >> np.uint64(31))) * np.uint64(0xBF58476D1CE4E5B9)
    i ^= i >> np.uint64(29)
    return ((i % np.uint64(1_000_003)).astype(np.float64) / 1_000_003 - 0.5).astype(np.float32)


def is_cid(text: str) -> bool:
    from offchain.storage.cid import parse_cid

    try:
        parse_cid(text)
    except ValueError:
        return False
    return True


ADDRESSING = None  # built on first use (imports storage.cid)


def run_round(
    global_weights: NamedWeights,
    updates: list[Update],
    config: RuleConfig,
    *,
    bound_micro: int = 0,
    pool: int = 10**21,
    raw: dict[int, bytes] | None = None,
    previous: NamedWeights | None = None,
) -> RoundResult:
    """A full round (offchain.fl.round) in which every validator holds every update: the updates'
    canonical bytes (or `raw[i]` for update i) are screened, scored, aggregated and paid."""
    from offchain.fl.availability import Attestation, bitmap
    from offchain.fl.codec import encode_weights
    from offchain.fl.round import Addressing, Reveal, RoundTerms, compute_round
    from offchain.fl.screening import Checks
    from offchain.storage.cid import compute_cid

    contents = {i: (raw or {}).get(i) or encode_weights(u.weights) for i, u in enumerate(updates)}
    reveals = [Reveal(i, u.trainer, compute_cid(contents[i]), u.num_samples) for i, u in enumerate(updates)]
    held = bitmap(range(len(updates)), len(updates))
    attestations = [Attestation(address(9000 + v), held, 1, 3) for v in range(3)]
    checks = Checks(specs_of(global_weights), 64 << 20, bound_micro)
    terms = RoundTerms(1, 0, config, checks, 6000, pool)
    return compute_round(
        terms, "QmParent", global_weights, reveals, attestations, contents, Addressing(compute_cid, is_cid), previous
    )


def reward_shares(result: RoundResult) -> dict[str, float]:
    """Each trainer's share of what the round pays."""
    total = sum(amount for _, amount in result.receipt.rewards)
    return {account: amount / total for account, amount in result.receipt.rewards} if total else {}
