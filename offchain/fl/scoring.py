"""Contribution scores: how much each accepted update agrees with the round's consensus direction.

The consensus direction is the coordinate-wise median of the accepted updates' changes from the
global model, each update weighing as many samples as it counts for (robust: a minority of the
samples cannot move it far). Weighing by samples makes the score sybil-neutral: an unweighted median
gives one vote per account, so a data set split over three accounts (three updates that agree) moved
the direction toward itself and its scores rose well above what one account earned with the same
data (reports/incentives.json, sybil_split_3). By samples, three accounts of a third each weigh what
the one account does. No update weighs more than all the others together (`median_weights`). The
median is robust only while honest trainers declare a majority of the samples, which is why a task's
`stakePerSample` makes every declared sample cost collateral (with 0, samples are free and so is a
majority).

An update's score is the cosine between its change and that direction, floored at zero, as an
integer in parts per million; below a floor it is zero, so that noise, sign flips and copies of the
model with a little noise earn nothing:

  floor = max(0.05, 5 / sqrt(number of parameters))

(a random direction's cosine with a fixed one has a standard deviation of about 1 / sqrt(P); the
floor is at least five of those). Aggregation weighs score x counted samples; pay is computed apart
(`offchain.fl.contribution`).

Like aggregation, every step is bit-exact: changes in float64, sums left to right (`kernels.dot`),
one correctly rounded sqrt, multiply and divide, and the conversion to an integer by floor. Memory
stays bounded: the median is taken a chunk of coordinates at a time and each update's dot product
one tensor at a time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from offchain.fl import kernels
from offchain.fl.records import Update
from offchain.types import NamedWeights

PPM = 1_000_000
FLOOR = 0.05


def score_floor(num_parameters: int) -> float:
    return max(FLOOR, 5.0 / math.sqrt(max(num_parameters, 1)))


def median_weights(samples: Sequence[int]) -> list[int]:
    """Each update's weight in the consensus direction: its samples, but never more than all the
    other updates' together, so no single update is the direction by itself (with two trainers the
    direction is their mean, as with an unweighted median, not the larger one's change)."""
    total = sum(samples)
    if len(samples) < 2:
        return list(samples)
    return [min(count, total - count) for count in samples]


def consensus_change(
    global_weights: NamedWeights, updates: Sequence[Update], samples: Sequence[int]
) -> dict[str, np.ndarray]:
    """The coordinate-wise median of the updates' changes weighted by `samples` (float64, per
    flattened tensor)."""
    weights = median_weights(samples)

    def median(changes: list[np.ndarray]) -> np.ndarray:
        return kernels.weighted_median(changes, weights)

    return {
        name: kernels.combine_changes(
            global_weights[name].astype(np.float64).reshape(-1), [u.weights[name].reshape(-1) for u in updates], median
        )
        for name in sorted(global_weights)
    }


def scores(
    global_weights: NamedWeights, updates: Sequence[Update], sq_delta_norms: Sequence[float], samples: Sequence[int]
) -> list[int]:
    """Each update's score in parts per million (same order as `updates`); `samples`: what each
    update counts for (its weight in the consensus direction)."""
    if not updates:
        return []
    direction = consensus_change(global_weights, updates, samples)
    return scores_against(global_weights, updates, sq_delta_norms, direction)


def scores_against(
    global_weights: NamedWeights,
    updates: Sequence[Update],
    sq_delta_norms: Sequence[float],
    direction: dict[str, np.ndarray],
) -> list[int]:
    """The scores of `updates` against a consensus `direction` (from `consensus_change`)."""
    names = sorted(global_weights)
    sq_direction = kernels.squared_norm([direction[n] for n in names])
    floor = score_floor(sum(int(global_weights[n].size) for n in names))
    out = []
    for update, sq_norm in zip(updates, sq_delta_norms, strict=True):
        cos = kernels.cosine(
            kernels.dot(change(global_weights, update), [direction[n] for n in names]), sq_norm, sq_direction
        )
        out.append(to_ppm(cos, floor))
    return out


def change(global_weights: NamedWeights, update: Update) -> list[np.ndarray]:
    """The update's change from the global model, float64, flattened, in tensor-name order."""
    return [
        update.weights[n].astype(np.float64).reshape(-1) - global_weights[n].astype(np.float64).reshape(-1)
        for n in sorted(global_weights)
    ]


def to_ppm(cos: float, floor: float) -> int:
    """A cosine as a score: 0 below the floor, else floor(cos x 1e6), at most 1e6."""
    return 0 if cos < floor else min(PPM, math.floor(cos * PPM))
