"""Builders shared by the offchain.fl tests (imported by name: this dir is on sys.path)."""

from __future__ import annotations

import numpy as np

from offchain.fl.records import Update
from offchain.types import NamedWeights, TensorSpec


def address(i: int) -> str:
    """A distinct, valid lowercase address for trainer number `i`."""
    return "0x" + f"{i + 1:040x}"


def upper_hex(account: str) -> str:
    """The same address with its hex digits in upper case."""
    return "0x" + account[2:].upper()


def weights(**tensors: list[float] | np.ndarray) -> NamedWeights:
    """NamedWeights from keyword tensors; `w0=...` becomes "0000/w0"."""
    return {f"{i:04d}/{k}": np.asarray(v, dtype=np.float32) for i, (k, v) in enumerate(sorted(tensors.items()))}


def specs_of(named: NamedWeights) -> list[TensorSpec]:
    return [TensorSpec(name, tuple(a.shape)) for name, a in sorted(named.items())]


def scalar_updates(values: list[float], *, samples: list[int] | None = None) -> list[Update]:
    """One-parameter updates (global is 0), trainer i holding values[i]."""
    counts = samples or [1] * len(values)
    return [Update(address(i), counts[i], weights(w=[v])) for i, v in enumerate(values)]


def pseudo_random(size: int, *, seed: int) -> np.ndarray:
    """float32 values in [-0.5, 0.5) from integer hashing: same on every numpy version."""
    i = np.arange(size, dtype=np.uint64) + np.uint64(seed * 0x9E3779B97F4A7C15 % 2**64)
    i = (i ^ (i >> np.uint64(31))) * np.uint64(0xBF58476D1CE4E5B9)
    i ^= i >> np.uint64(29)
    return ((i % np.uint64(1_000_003)).astype(np.float64) / 1_000_003 - 0.5).astype(np.float32)
