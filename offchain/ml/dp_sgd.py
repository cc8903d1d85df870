"""One DP-SGD step's gradient: the sum over examples of each example's scaled gradient, clipped.

With per-sample differential privacy (a task's privacy unit `sample`), a trainer's contribution to a
round is −Σ_i clip(lr·∇ℓ_i, C): removing one example changes it by at most C in L2 norm, whatever the
other examples are, so the noise added to the sum of all trainers' contributions (N(0, (z·C)²) per
coordinate) protects each example (DP-FedSGD, Abadi et al. 2016 with the sum shared by secure
aggregation). Clipping is over the example's whole gradient (all trainable tensors together).
Per-example gradients come from `tf.vectorized_map` over chunks of examples, so memory stays at one
chunk times the model size.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from offchain.ml._keras import load_keras, set_random_seed
from offchain.ml.errors import TrainingError
from offchain.ml.train import model_inputs
from offchain.ml.weights import weight_names

if TYPE_CHECKING:
    import keras


@dataclass(frozen=True)
class ClippedSum:
    """−Σ clip(lr·∇ℓ_i, C) per weight tensor (float64; zero for non-trainable tensors)."""

    step: dict[str, np.ndarray]
    num_samples: int
    clipped_fraction: float  # share of examples whose scaled gradient was longer than C
    seconds: float


def clipped_gradient_sum(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    learning_rate: float,
    clip: float,
    max_samples: int | None = None,
    seed: int = 0,
    chunk: int = 128,
) -> ClippedSum:
    """The descent step −Σ_i clip(lr·∇ℓ_i, clip) over the examples (a random `max_samples` of them
    if there are more), as named float64 arrays."""
    if not learning_rate > 0 or not clip > 0:
        raise TrainingError(f"learning rate and clip must be positive, got {learning_rate} and {clip}")
    import tensorflow as tf

    keras_ = load_keras()
    set_random_seed(seed)
    x = model_inputs(model, x, y)
    if max_samples is not None and len(x) > max_samples:
        pick = np.random.default_rng(seed).choice(len(x), size=max_samples, replace=False)
        x, y = x[pick], y[pick]
    loss = keras_.losses.SparseCategoricalCrossentropy(reduction="none")
    variables = list(model.trainable_variables)

    def one(example: tuple[tf.Tensor, tf.Tensor]) -> list[tf.Tensor]:
        xi, yi = example
        with tf.GradientTape() as tape:
            value = loss(yi[None], model(xi[None], training=False))
        grads: list[tf.Tensor] = tape.gradient(value, variables)
        return grads

    started = time.perf_counter()
    totals = [np.zeros(v.shape, dtype=np.float64) for v in variables]
    clipped = 0
    for lo in range(0, len(x), chunk):
        grads = tf.vectorized_map(one, (tf.constant(x[lo : lo + chunk]), tf.constant(y[lo : lo + chunk])))
        arrays = [g.numpy().astype(np.float64) * learning_rate for g in grads]
        norms = np.sqrt(sum(np.sum(a.reshape(a.shape[0], -1) ** 2, axis=1) for a in arrays))
        factors = np.minimum(1.0, clip / np.maximum(norms, 1e-300))
        clipped += int(np.count_nonzero(norms > clip))
        for total, a in zip(totals, arrays, strict=True):
            total -= np.tensordot(factors, a, axes=1)
    by_variable = {id(v): t for v, t in zip(variables, totals, strict=True)}
    step = {
        name: by_variable.get(id(v), np.zeros(v.shape, dtype=np.float64))
        for name, v in zip(weight_names(model), model.weights, strict=True)
    }
    return ClippedSum(step, len(x), clipped / max(1, len(x)), time.perf_counter() - started)
