"""Lazy, quiet import of Keras on TensorFlow: the one place TF gets imported."""

from __future__ import annotations

import importlib
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

# TensorFlow's C++ start-up lines, written straight to file descriptor 2 while it loads, before
# TF_CPP_MIN_LOG_LEVEL is read: absl's preamble and its INFO/WARNING lines (oneDNN, CPU features,
# CUDA probing on a CPU-only build). Errors (E...) and anything else still reach the terminal.
_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IW]\d{4} \S+ +\d+ \S+:\d+\] .*)$"
)


@contextmanager
def _quiet_start() -> Iterator[None]:
    """Hold back what is written to fd 2 meanwhile; pass on all but TensorFlow's start-up noise."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            kept = [line for line in held.read().decode(errors="replace").splitlines() if not _NOISE.match(line)]
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")
                sys.stderr.flush()


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
    if "keras" in sys.modules:
        return sys.modules["keras"]
    with _quiet_start():
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
