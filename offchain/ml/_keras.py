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
