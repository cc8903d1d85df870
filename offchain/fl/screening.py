"""The deterministic checks of one update, each failure a Verdict for the round receipt.

Everything here depends on one update, the global model and the task's parameters: decoding (size,
container, tensor names, dtypes, shapes; see `offchain.fl.codec`), then every value finite, then the
L2 norm of the change from the global model within the task's bound, then a change at all. The
rule's own filters (Multi-Krum's selection) live with the rule in `offchain.fl.rules`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from offchain.fl import kernels
from offchain.fl.codec import decode_weights
from offchain.fl.errors import InvalidUpdateError
from offchain.fl.reasons import Reason
from offchain.fl.records import Update, Verdict
from offchain.types import NamedWeights, TensorSpec
from offchain.units import MICRO


class TooLarge:
    """Stands for the content of an update whose file exceeds the task's size limit (the fetch
    stopped there, so there are no bytes to decode)."""

    def __repr__(self) -> str:
        return "TOO_LARGE"


TOO_LARGE = TooLarge()


@dataclass(frozen=True)
class Screened:
    """An update that passed every check, with the squared norm of its change (used again by rules
    and scores)."""

    update: Update
    sq_delta_norm: float


@dataclass(frozen=True)
class Checks:
    """What the task fixes for every update of a round."""

    specs: Sequence[TensorSpec]
    max_bytes: int
    max_delta_norm_micro: int  # 0: no bound


def screen(
    trainer: str, num_samples: int, content: bytes | TooLarge, global_weights: NamedWeights, checks: Checks
) -> Screened | Verdict:
    """Decode fetched (CID-verified) content and check it; the first failing check gives the verdict."""
    if isinstance(content, TooLarge):
        return Verdict.reject(trainer, Reason.TOO_LARGE, f"more than {checks.max_bytes} bytes")
    try:
        weights = decode_weights(content, checks.specs, max_bytes=checks.max_bytes)
    except InvalidUpdateError as exc:
        return Verdict.reject(trainer, exc.reason, exc.detail)
    return check_values(Update(trainer, num_samples, weights), global_weights, checks.max_delta_norm_micro)


def check_values(update: Update, global_weights: NamedWeights, max_delta_norm_micro: int) -> Screened | Verdict:
    """The value checks of a decoded update, in a fixed order: finite, within the bound, changed."""
    names = sorted(global_weights)
    for name in names:
        bad = int(np.count_nonzero(~np.isfinite(update.weights[name])))
        if bad:
            return Verdict.reject(update.trainer, Reason.NON_FINITE, f"{name}: {bad} NaN or infinite values")
    sq = kernels.squared_distance([update.weights[n] for n in names], [global_weights[n] for n in names])
    if max_delta_norm_micro and math.sqrt(sq) > max_delta_norm_micro / MICRO:
        norm = math.sqrt(sq)
        shown = str(math.floor(norm * MICRO)) if math.isfinite(norm) else "inf"
        return Verdict.reject(
            update.trainer,
            Reason.OUT_OF_BOUNDS,
            f"norm of the change {shown} > bound {max_delta_norm_micro} (millionths)",
        )
    # Bitwise, so -0.0 vs 0.0 counts as a change; a copy of G_r is a free ride.
    if all(update.weights[n].tobytes() == global_weights[n].astype(np.float32).tobytes() for n in names):
        return Verdict.reject(update.trainer, Reason.UNCHANGED, "bit-identical to the global model")
    return Screened(update, sq)
