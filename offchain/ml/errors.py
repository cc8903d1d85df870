"""Errors raised by offchain.ml; each message says what failed and what to do."""

from __future__ import annotations

from offchain.errors import DflError


class MlError(DflError):
    """Root of the errors raised by offchain.ml."""


class DatasetError(MlError):
    """A dataset is missing, unreadable or malformed."""


class PartitionError(MlError):
    """A data partition cannot be made as asked (bad spec, too few samples)."""


class ModelSpecError(MlError):
    """A model preset or spec is unknown, malformed or unsafe to load."""


class WeightsError(MlError):
    """Named weights do not match a model's tensors (names, shapes or dtypes)."""


class TrainingError(MlError):
    """Training or evaluation inputs do not fit the model (shapes, labels, sizes)."""
