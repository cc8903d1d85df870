"""Plain records shared across layers (no I/O, no heavy imports)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# A model's weights by canonical name, in the model's canonical order. Names are
# "<4-digit index>/<variable path>" (e.g. "0000/dense/kernel"), so sorting by
# name gives the model's order too; values are float32 arrays.
NamedWeights = dict[str, np.ndarray]


@dataclass(frozen=True)
class TensorSpec:
    """Name, shape and dtype that every update's tensor must match."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"
