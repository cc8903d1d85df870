"""The ML side of one round for a worker: build the task's model, load weights, train, evaluate.

Bridges `ml` (TensorFlow) and `fl` (bytes <-> weights); no chain or IPFS here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from offchain.fl.codec import decode_weights, encode_weights
from offchain.ml.dp_sgd import ClippedSum, clipped_gradient_sum
from offchain.ml.files import save_model_file
from offchain.ml.models import model_from_spec
from offchain.ml.train import EvalResult, TrainResult, check_fit, evaluate, train_local
from offchain.ml.weights import get_weights, set_weights, weight_specs
from offchain.types import NamedWeights, TensorSpec


@dataclass(frozen=True)
class TrainingConfig:
    epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 0.05
    optimizer: str = "sgd"
    seed: int = 0


class LocalModel:
    """The task's architecture (from its published spec), reused across rounds."""

    def __init__(self, spec_json: str, *, max_update_bytes: int) -> None:
        self._model = model_from_spec(spec_json)
        self.specs: tuple[TensorSpec, ...] = weight_specs(self._model)
        self.max_update_bytes = max_update_bytes

    def check(self, x: np.ndarray, y: np.ndarray) -> None:
        """TrainingError unless this data can train or evaluate the model (shapes, labels)."""
        check_fit(self._model, x, y)

    def decode(self, data: bytes) -> NamedWeights:
        return decode_weights(data, self.specs, max_bytes=self.max_update_bytes)

    def load(self, weights: NamedWeights) -> None:
        set_weights(self._model, weights)

    def train(
        self, global_bytes: bytes, x: np.ndarray, y: np.ndarray, config: TrainingConfig, *, round_seed: int
    ) -> tuple[bytes, TrainResult]:
        """Start from the global model, train on local data, return the update's bytes."""
        self.load(self.decode(global_bytes))
        result = train_local(
            self._model,
            x,
            y,
            epochs=config.epochs,
            batch_size=config.batch_size,
            learning_rate=config.learning_rate,
            seed=config.seed + round_seed,
            optimizer=config.optimizer,
        )
        return encode_weights(get_weights(self._model)), result

    def dp_step(
        self,
        global_bytes: bytes,
        x: np.ndarray,
        y: np.ndarray,
        config: TrainingConfig,
        *,
        clip: float,
        max_samples: int | None,
        round_seed: int,
    ) -> ClippedSum:
        """Per-sample DP (DP-FedSGD): from the global model, −Σ clip(lr·∇ℓ_i, clip) over the local data."""
        self.load(self.decode(global_bytes))
        return clipped_gradient_sum(
            self._model,
            x,
            y,
            learning_rate=config.learning_rate,
            clip=clip,
            max_samples=max_samples,
            seed=config.seed + round_seed,
        )

    def evaluate(self, weights: NamedWeights, x: np.ndarray, y: np.ndarray) -> EvalResult:
        self.load(weights)
        return evaluate(self._model, x, y)

    def save(self, weights: NamedWeights, path: Path) -> Path:
        """A `.keras` file of the architecture with these weights."""
        self.load(weights)
        return save_model_file(self._model, path)
