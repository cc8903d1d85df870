"""Errors raised by the deterministic federated-learning code."""

from __future__ import annotations

from offchain.errors import DflError
from offchain.fl.reasons import Reason


class FlError(DflError):
    """Root of the errors raised by `offchain.fl`."""


class InvalidUpdateError(FlError):
    """An update cannot be used; `reason` says why in a machine-readable code."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(f"{reason.value}: {message}")
        self.reason = reason
        self.detail = message


class RuleConfigError(FlError):
    """The task's aggregation rule id or parameters are not valid."""


class AggregationInputError(FlError):
    """The inputs to an aggregation are inconsistent (duplicate trainer, bad address)."""


class RewardError(FlError):
    """Reward allocation inputs are invalid (negative pool or weight, non-finite weight)."""


class MerkleError(FlError):
    """A Merkle tree cannot be built or queried as asked."""


class InvalidWeightsError(FlError):
    """Weights handed to the encoder are not float32 numpy arrays with valid names."""
