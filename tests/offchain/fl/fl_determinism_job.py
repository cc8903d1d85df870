"""Aggregate ~1M-parameter updates under every rule; print sha256 of each result as JSON.

Run as a subprocess by test_fl_determinism.py with different thread and SIMD
settings; the printed hashes must not depend on them.
"""

from __future__ import annotations

import hashlib
import json
import sys

import numpy as np
from fl_helpers import address, pseudo_random
from numpy._core._multiarray_umath import __cpu_features__

from offchain.fl import rules
from offchain.fl.aggregate import aggregate
from offchain.fl.codec import encode_weights
from offchain.fl.merkle import build_tree
from offchain.fl.records import Update
from offchain.fl.rewards import allocate
from offchain.fl.ruleconfig import parse_rule
from offchain.types import NamedWeights

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
}


def _model(seed: int, *, scale: float = 1.0) -> NamedWeights:
    return {
        n: (scale * pseudo_random(int(np.prod(s)), seed=seed + i)).reshape(s) for i, (n, s) in enumerate(SHAPES.items())
    }


def _updates(glob: NamedWeights) -> list[Update]:
    updates = []
    for k in range(6):
        delta = _model(1000 * (k + 1), scale=0.01)
        updates.append(Update(address(k * 977), 10 + 7 * k, {n: glob[n] + delta[n] for n in glob}))
    huge = {n: glob[n] + np.float32(1e3) for n in glob}
    poisoned = {n: glob[n].copy() for n in glob}
    poisoned["0001/dense/bias"][5] = np.nan
    return updates + [Update(address(99_999), 40, huge), Update(address(12_345), 40, poisoned)]


def main() -> None:
    if "--small-chunks" in sys.argv:  # ~800 coordinate chunks per big tensor instead of one
        rules.CHUNK_VALUES = 4096
    glob = _model(1)
    updates = _updates(glob)
    hashes: dict[str, object] = {"x86_v3_dispatch": bool(__cpu_features__.get("X86_V3", False))}
    for name, (rule_id, params) in RULES.items():
        result = aggregate(glob, updates, parse_rule(rule_id, params))
        root = build_tree(allocate(10**21, result.trainer_weights)).root.hex()
        hashes[name] = hashlib.sha256(encode_weights(result.weights)).hexdigest() + ":" + root
    print(json.dumps(hashes))


if __name__ == "__main__":
    main()
