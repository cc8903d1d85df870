"""Deterministic per-update checks, each turned into a Verdict for the round receipt.

The rule's own filters (Multi-Krum's selection) live with the rule in
`offchain.fl.aggregate`; everything here depends on one update alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from offchain.fl.codec import decode_weights
from offchain.fl.errors import InvalidUpdateError
from offchain.fl.reasons import Reason
from offchain.fl.records import Update, Verdict
from offchain.types import NamedWeights, TensorSpec


def screen_bytes(
    trainer: str, num_samples: int, data: bytes, *, specs: Sequence[TensorSpec], max_bytes: int
) -> Update | Verdict:
    """Decode fetched (CID-verified) bytes into an Update, or a rejecting Verdict."""
    try:
        weights = decode_weights(data, specs, max_bytes=max_bytes)
    except InvalidUpdateError as exc:
        return Verdict.reject(trainer, exc.reason, exc.detail)
    return Update(trainer=trainer, num_samples=num_samples, weights=weights)


def check_update(update: Update, global_weights: NamedWeights) -> Verdict:
    """Accept `update` unless a check fails; checks run in a fixed order."""
    for check in (_check_samples, _check_tensors, _check_finite, _check_changed):
        reason_message = check(update, global_weights)
        if reason_message is not None:
            return Verdict.reject(update.trainer, *reason_message)
    return Verdict.accept(update.trainer)


def _check_samples(update: Update, _: NamedWeights) -> tuple[Reason, str] | None:
    if isinstance(update.num_samples, bool) or not isinstance(update.num_samples, int) or update.num_samples <= 0:
        return Reason.NO_SAMPLES, f"numSamples must be a positive integer, got {update.num_samples!r}"
    return None


def _check_tensors(update: Update, global_weights: NamedWeights) -> tuple[Reason, str] | None:
    # Normally guaranteed by the codec; repeated so hand-built Updates are safe too.
    names, expected = set(update.weights), set(global_weights)
    if expected - names:
        return Reason.MISSING_TENSOR, f"missing tensors: {', '.join(sorted(expected - names))}"
    if names - expected:
        return Reason.EXTRA_TENSOR, f"unexpected tensors: {', '.join(sorted(names - expected))}"
    for name in sorted(expected):
        got, want = update.weights[name], global_weights[name]
        if not isinstance(got, np.ndarray) or got.dtype != np.float32:
            return Reason.WRONG_DTYPE, f"{name}: expected a float32 array"
        if got.shape != want.shape:
            return Reason.WRONG_SHAPE, f"{name}: shape {list(got.shape)}, expected {list(want.shape)}"
    return None


def _check_finite(update: Update, _: NamedWeights) -> tuple[Reason, str] | None:
    for name in sorted(update.weights):
        bad = int(np.count_nonzero(~np.isfinite(update.weights[name])))
        if bad:
            return Reason.NON_FINITE, f"{name}: {bad} NaN or infinite values"
    return None


def _check_changed(update: Update, global_weights: NamedWeights) -> tuple[Reason, str] | None:
    # Bitwise, so -0.0 vs 0.0 counts as a change; a copy of G_r is a free ride.
    for name in sorted(global_weights):
        if update.weights[name].tobytes() != global_weights[name].astype(np.float32).tobytes():
            return None
    return Reason.UNCHANGED, "update is bit-identical to the global model"
