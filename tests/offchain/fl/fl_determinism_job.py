"""Compute a round of ~1M-parameter updates under every rule; print sha256 digests as JSON.

Run as a subprocess by test_fl_determinism.py with different thread and SIMD settings; the printed
digests must not depend on them. For each rule it prints
- "aggregate": the new model's bytes with the same accepted updates as before this project had
  scores, bounds and receipts v2 (no norm bound): the arithmetic of the rules must not have moved;
- "round": the receipt bytes, model bytes and both Merkle roots of the full round (norm bound on).
"""

from __future__ import annotations

import hashlib
import json
import sys

import numpy as np
from fl_helpers import address, pseudo_random
from numpy._core._multiarray_umath import __cpu_features__

from offchain.fl import kernels
from offchain.fl.availability import Attestation, bitmap
from offchain.fl.codec import encode_weights
from offchain.fl.round import Addressing, Reveal, RoundResult, RoundTerms, compute_round
from offchain.fl.rules import parse_rule
from offchain.fl.screening import Checks
from offchain.storage.cid import compute_cid, parse_cid
from offchain.types import NamedWeights, TensorSpec

SHAPES = {
    "0000/dense/kernel": (784, 1024),
    "0001/dense/bias": (1024,),
    "0002/out/kernel": (1024, 190),
    "0003/out/bias": (190,),
}
RULES = {
    "fedavg": (0, [50]),
    "median": (1, []),
    "trimmed_mean": (2, [2000]),
    "multi_krum": (3, [1, 3]),
    "norm_clipped_fedavg": (4, [3_000_000, 50]),
    "consensus_fedavg": (5, []),
}
BOUND_MICRO = 50_000_000  # the honest changes are ~3.6 long; the +1e3 one is ~3e4


def _model(seed: int, *, scale: float = 1.0) -> NamedWeights:
    return {
        n: (scale * pseudo_random(int(np.prod(s)), seed=seed + i)).reshape(s) for i, (n, s) in enumerate(SHAPES.items())
    }


def _contents(glob: NamedWeights) -> list[tuple[str, int, bytes]]:
    out = []
    for k in range(6):
        delta = _model(1000 * (k + 1), scale=0.01)
        out.append((address(k * 977), 10 + 7 * k, encode_weights({n: glob[n] + delta[n] for n in glob})))
    huge = {n: glob[n] + np.float32(1e3) for n in glob}
    poisoned = {n: glob[n].copy() for n in glob}
    poisoned["0001/dense/bias"][5] = np.nan
    out.append((address(99_999), 40, encode_weights(huge)))
    out.append((address(12_345), 40, encode_weights(poisoned)))
    return out


def _is_cid(text: str) -> bool:
    try:
        parse_cid(text)
    except ValueError:
        return False
    return True


def _round(
    glob: NamedWeights,
    contents: list[tuple[str, int, bytes]],
    rule: tuple[int, list[int]],
    bound: int,
    previous: NamedWeights | None = None,
) -> RoundResult:
    specs = [TensorSpec(n, s) for n, s in SHAPES.items()]
    reveals = [Reveal(i, trainer, compute_cid(data), samples) for i, (trainer, samples, data) in enumerate(contents)]
    held = bitmap(range(len(reveals)), len(reveals))
    attestations = [Attestation(address(500 + v), held, 100, 300) for v in range(3)]
    terms = RoundTerms(7, 3, parse_rule(*rule), Checks(specs, 16 << 20, bound), 6000, 10**21)
    by_index = {i: data for i, (_, _, data) in enumerate(contents)}
    addressing = Addressing(compute_cid, _is_cid)
    return compute_round(terms, "QmParent", glob, reveals, attestations, by_index, addressing, previous)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main() -> None:
    if "--small-chunks" in sys.argv:  # ~800 coordinate chunks per big tensor instead of one
        kernels.CHUNK_VALUES = 4096
    glob = _model(1)
    contents = _contents(glob)
    # G_{r-1}: the public change G_r - G_{r-1} that reward scores project out (offchain.fl.contribution)
    step = _model(4242, scale=0.01)
    previous = {n: (glob[n] - step[n]).astype(np.float32) for n in glob}
    out: dict[str, object] = {"x86_v3_dispatch": bool(__cpu_features__.get("X86_V3", False))}
    for name, rule in RULES.items():
        legacy = _round(glob, contents, rule, 0)
        full = _round(glob, contents, rule, BOUND_MICRO, previous)
        out[name] = {
            "aggregate": _sha(legacy.model_bytes),
            "round": ":".join(
                [_sha(full.receipt_bytes), _sha(full.model_bytes), full.reward_root.hex(), full.penalty_root.hex()]
            ),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
