"""Bringing an update's change from the global model within the task's norm bound, the way the
validators measure it, so that an honest trainer never submits an update they reject."""

from __future__ import annotations

import math

import numpy as np

from offchain.fl import kernels
from offchain.types import NamedWeights
from offchain.units import MICRO


def change_norm(weights: NamedWeights, global_weights: NamedWeights) -> float:
    """The L2 norm of `weights - global_weights`, exactly as `offchain.fl.screening` computes it."""
    names = sorted(global_weights)
    return math.sqrt(kernels.squared_distance([weights[n] for n in names], [global_weights[n] for n in names]))


def clip_to_bound(weights: NamedWeights, global_weights: NamedWeights, bound_micro: int) -> NamedWeights:
    """`weights` with its change scaled down to at most the bound (unchanged if within it or if there
    is no bound). The float32 result is measured again: it aims a little inside the bound, closer
    each try, until the validators' measure agrees."""
    if not bound_micro:
        return weights
    bound = bound_micro / MICRO
    target = bound
    out = weights
    for _ in range(8):
        norm = change_norm(out, global_weights)
        if norm <= bound:
            return out
        target *= 1 - 1e-6
        scale = target / change_norm(weights, global_weights)
        out = {
            n: (
                global_weights[n].astype(np.float64) + (weights[n].astype(np.float64) - global_weights[n]) * scale
            ).astype(np.float32)
            for n in sorted(weights)
        }
    return out
