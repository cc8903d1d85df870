"""Local training and evaluation of a Keras model on in-memory arrays."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from offchain.ml._keras import limit_threads, load_keras, set_random_seed
from offchain.ml.datasets import adapt_inputs
from offchain.ml.errors import DatasetError, TrainingError

if TYPE_CHECKING:
    import keras

OPTIMIZERS: tuple[str, ...] = ("sgd", "adam")
__all__ = [
    "OPTIMIZERS",
    "EvalResult",
    "TrainResult",
    "check_fit",
    "evaluate",
    "limit_threads",
    "model_inputs",
    "predict",
    "train_local",
]


@dataclass(frozen=True)
class TrainResult:
    """What one local training run did: its data size, last-epoch metrics and wall time."""

    num_samples: int
    loss: float
    accuracy: float
    seconds: float


@dataclass(frozen=True)
class EvalResult:
    """Mean sparse categorical cross-entropy and accuracy over the samples."""

    loss: float
    accuracy: float
    num_samples: int


def train_local(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    optimizer: str = "sgd",
) -> TrainResult:
    """Train in place with a fresh optimizer; same seed and start weights, same result.

    Seeds the global Python, numpy and TensorFlow generators (Keras shuffles with them).

    x is reshaped to the model's input shape if the sizes agree (e.g. 28x28x1 -> 784).
    """
    if epochs < 1 or batch_size < 1 or not learning_rate > 0.0:
        raise TrainingError(
            f"epochs and batch_size must be >= 1 and learning_rate > 0, got {epochs}, {batch_size}, {learning_rate}"
        )
    x = _inputs(model, x, y)
    set_random_seed(seed)
    _compile_fresh(model, optimizer, learning_rate)
    started = time.perf_counter()
    history = model.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0)
    seconds = time.perf_counter() - started
    return TrainResult(
        num_samples=len(x),
        loss=float(history.history["loss"][-1]),
        accuracy=float(history.history["accuracy"][-1]),
        seconds=seconds,
    )


def _compile_fresh(model: keras.Model, optimizer: str, learning_rate: float) -> None:
    """Leave `model` compiled with an optimizer in its initial state. The first run compiles; later
    runs with the same optimizer zero its state instead (step count, moments), so that Keras keeps
    the train step it traced: tracing it again costs more than a small local run (~0.4 s of CPU)."""
    key = (optimizer, learning_rate)
    if getattr(model, "_dfl_compiled_for", None) == key:
        for variable in model.optimizer.variables:
            if not variable.path.endswith("learning_rate"):  # SGD's and Adam's other state starts at zero
                variable.assign(np.zeros(variable.shape, variable.dtype))
        return
    model.compile(
        optimizer=_optimizer(optimizer, learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=False,  # XLA compile time outweighs its gain for small local runs on CPU.
    )
    model._dfl_compiled_for = key


def evaluate(model: keras.Model, x: np.ndarray, y: np.ndarray, *, batch_size: int = 512) -> EvalResult:
    """Loss and accuracy of the model's predictions (the model need not be compiled)."""
    probabilities = predict(model, x, batch_size=batch_size)
    _check_labels(y, probabilities.shape[-1])
    picked = probabilities[np.arange(len(y)), y].astype(np.float64)
    # Same clipping as Keras' cross-entropy, so losses agree with model.fit's.
    loss = float(np.mean(-np.log(np.clip(picked, 1e-7, 1.0))))
    accuracy = float(np.mean(np.argmax(probabilities, axis=-1) == y))
    return EvalResult(loss=loss, accuracy=accuracy, num_samples=len(y))


def predict(model: keras.Model, x: np.ndarray, *, batch_size: int = 512) -> np.ndarray:
    """Class probabilities, shape (N, num_classes), float32."""
    x = _adapt(model, x)
    if len(x) == 0:
        raise TrainingError("no samples to predict on")
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=np.float32)


def model_inputs(model: keras.Model, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x in the model's input shape, checked against the labels (TrainingError otherwise)."""
    return _inputs(model, x, y)


def check_fit(model: keras.Model, x: np.ndarray, y: np.ndarray) -> None:
    """TrainingError unless the samples fit the model's input and the labels its outputs (nothing runs)."""
    _inputs(model, x, y)


def _inputs(model: keras.Model, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    x = _adapt(model, x)
    if len(x) == 0 or len(x) != len(y):
        raise TrainingError(f"need one label per sample and at least one sample, got {len(x)} samples, {len(y)} labels")
    _check_labels(y, int(model.output_shape[-1]))
    return x


def _adapt(model: keras.Model, x: np.ndarray) -> np.ndarray:
    try:
        return adapt_inputs(np.asarray(x, dtype=np.float32), tuple(model.input_shape[1:]))
    except DatasetError as exc:
        raise TrainingError(str(exc)) from exc


def _check_labels(y: np.ndarray, num_classes: int) -> None:
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise TrainingError(f"labels must be a 1-D integer array, got shape {y.shape} dtype {y.dtype}")
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise TrainingError(
            f"labels run {int(y.min())}..{int(y.max())} but the model has {num_classes} outputs: "
            "build the model with num_classes matching the dataset"
        )


def _optimizer(name: str, learning_rate: float) -> keras.optimizers.Optimizer:
    keras = load_keras()
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=learning_rate)
    if name == "adam":
        return keras.optimizers.Adam(learning_rate=learning_rate)
    raise TrainingError(f"unknown optimizer {name!r}: choose one of {', '.join(OPTIMIZERS)}")
