"""Records passed into and out of a round's computation."""

from __future__ import annotations

from dataclasses import dataclass

from offchain.fl.reasons import Reason
from offchain.types import NamedWeights


@dataclass(frozen=True)
class Update:
    """A trainer's decoded update: full float32 weights, not a delta."""

    trainer: str
    num_samples: int
    weights: NamedWeights


@dataclass(frozen=True)
class Verdict:
    """Whether a trainer's update entered the aggregate, and if not, why (`detail` is derived by the
    project from the task's specs and integers only: it is consensus data)."""

    trainer: str
    accepted: bool
    reason: Reason | None = None
    detail: str = ""

    @classmethod
    def accept(cls, trainer: str, *, detail: str = "") -> Verdict:
        return cls(trainer=trainer, accepted=True, reason=None, detail=detail)

    @classmethod
    def reject(cls, trainer: str, reason: Reason, detail: str) -> Verdict:
        return cls(trainer=trainer, accepted=False, reason=reason, detail=detail)
