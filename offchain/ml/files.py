"""Keras model files: what `dfl model pull` writes and `dfl predict` reads (safe mode only)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from offchain.ml._keras import load_keras
from offchain.ml.errors import ModelSpecError

if TYPE_CHECKING:
    import keras


def save_model_file(model: keras.Model, path: Path) -> Path:
    """Save architecture and weights as a `.keras` file (no optimizer state)."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ModelSpecError(f"{path}: Keras model files end in .keras")
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path, include_optimizer=False)
    return path


def load_model_file(path: Path) -> keras.Model:
    """Load a `.keras` file in safe mode: a file that would run code (Lambda layers) is refused."""
    path = Path(path)
    if not path.is_file():
        raise ModelSpecError(f"no model file at {path}: fetch one with `dfl model pull TASK --out {path}`")
    try:
        return load_keras().saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for damaged or unsafe files.
        raise ModelSpecError(f"cannot load {path} as a Keras model (safe mode): {exc}") from exc
