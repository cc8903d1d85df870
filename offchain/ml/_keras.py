"""Lazy, quiet import of Keras on TensorFlow: the one place TF gets imported."""

from __future__ import annotations

import importlib
import logging
import os
from types import ModuleType


def load_keras() -> ModuleType:
    """Return the `keras` module, importing TensorFlow on first use only.

    Importing TF costs about 2 s, so modules call this inside functions rather
    than at import time; the environment is set first so TF's C++ logging stays
    quiet and Keras uses the TensorFlow backend.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    # TF's Python warnings (e.g. tf.function retracing after each recompile) are noise here.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    return importlib.import_module("keras")


def set_random_seed(seed: int) -> None:
    """Seed Python, numpy and TensorFlow so shuffling and dropout repeat."""
    load_keras().utils.set_random_seed(seed)


def limit_threads(threads: int) -> int:
    """Run TensorFlow ops on at most `threads` threads in this process (0 keeps TF's default).

    Several workers on one machine otherwise each start a pool per core and oversubscribe it.
    Must come before TensorFlow runs its first op; later, TF refuses and this says so.
    Returns the intra-op thread count TensorFlow now reports.
    """
    if threads < 0:
        raise ValueError(f"TensorFlow threads must be >= 0, got {threads}")
    if threads == 0:
        return 0
    load_keras()
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError as exc:  # TF's runtime is already initialized
        raise RuntimeError(f"cannot limit TensorFlow to {threads} threads after it has started: {exc}") from exc
    return int(tf.config.threading.get_intra_op_parallelism_threads())
