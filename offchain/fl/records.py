"""Records passed into and out of an aggregation."""

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
    """Whether a trainer's update entered the aggregate, and if not, why."""

    trainer: str
    accepted: bool
    reason: Reason | None = None
    message: str = ""

    @classmethod
    def accept(cls, trainer: str, *, message: str = "") -> Verdict:
        return cls(trainer=trainer, accepted=True, reason=None, message=message)

    @classmethod
    def reject(cls, trainer: str, reason: Reason, message: str) -> Verdict:
        return cls(trainer=trainer, accepted=False, reason=reason, message=message)


@dataclass(frozen=True)
class AggregationResult:
    """New global weights, each accepted trainer's rule weight, and every verdict.

    `trainer_weights` holds accepted trainers only (lowercase addresses) and is
    what `rewards.allocate` splits the trainer pool by. `verdicts` covers every
    trainer, sorted by address. With no accepted update, `weights` is a copy of
    the global model.
    """

    weights: NamedWeights
    trainer_weights: dict[str, int]
    verdicts: tuple[Verdict, ...]

    @property
    def accepted(self) -> tuple[str, ...]:
        return tuple(v.trainer for v in self.verdicts if v.accepted)
