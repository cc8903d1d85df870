"""What a trainer is paid for, kept apart from what its update weighs in the model.

The rules and the scores of `offchain.fl.scoring` decide the model. Pay is a separate quantity,
built from three measurements a trainer cannot raise without its own data and its own work
(docs/protocol.md, "Incentives", gives the reasoning and the measured attacks):

1. **Counted samples.** A declared sample count is unverifiable: collateral only makes it cost
   capital that comes back. So an update counts for its samples (after the rule's cap), but never
   for more than the typical sample of the round belongs to: the *sample-weighted* median of the
   other updates' counts (`sample_caps`). One's own declaration cannot move one's own cap, many
   small accounts hold few samples and cannot pull it down, and only a majority of the declared
   samples can pull it up. The same counts weigh the consensus direction, so declaring more than the
   cap moves nothing at all.
2. **Reward score.** The consensus direction of a round is largely predictable from public data:
   last round's global change (G_r - G_{r-1}) points about where this round's does (cosine 0.74 to
   0.84 on the incentives benchmark). Replaying it needs no data, so the reward pays only for
   agreement *beyond* it: the cosine between the update's change and the consensus change, both with
   their component along the public change removed (`reward_scores`), and never more than the
   aggregation score: an update that pushes the model back along the public change (a label flip
   does) must not have that part forgiven by the projection. An update that does not agree with the
   consensus at all (aggregation score 0) earns nothing either.
3. **Groups.** Two updates of one trainer's data (the same update revealed by several accounts, or
   one data set split over several) agree with each other far beyond what the consensus explains.
   Updates whose residuals (changes without their public and consensus components) have a cosine of
   at least `GROUP_PPM` are one contribution (`groups`): the group is paid as one update holding all
   its members' samples (capped by the median outside the group) with its best reward score, shared
   by the members in proportion to their counted samples. Measured over rounds 0 to 5 of the
   benchmark's Dirichlet(0.5) shares: honest pairs at most 0.46 in round 0 and 0.25 to 0.39 after,
   the thirds of one share 0.91 falling to 0.63, copies 1.

Everything is bit-exact with `offchain.fl.kernels` (float64, fixed order, integer results), like
aggregation: every honest validator computes the same reward weights.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from offchain.fl import kernels
from offchain.fl.records import Update
from offchain.fl.scoring import PPM, change, score_floor, to_ppm
from offchain.types import NamedWeights

GROUP_PPM = 450_000  # residual cosine (ppm) from which two updates count as one contribution


def sample_caps(samples: Sequence[int]) -> list[int]:
    """Each update's counted samples: min(samples[i], the sample-weighted median of the others'
    counts); an update alone in its round keeps its count."""
    return [min(count, _median_outside(samples, {i}) or count) for i, count in enumerate(samples)]


def group_counts(counted: Sequence[int], group: Sequence[int]) -> list[int]:
    """Counted samples once groups are known: a group counts as one update holding its members'
    samples, capped by the sample-weighted median count outside it, split over the members in
    proportion to their counts (rounded down, the remainder to the first members, at least 1 each),
    so that a group weighs in the consensus direction and in the model what one account would."""
    out = list(counted)
    for lead in sorted(set(group)):
        members = [i for i, g in enumerate(group) if g == lead]
        if len(members) < 2:
            continue
        held = sum(counted[i] for i in members)
        total = min(held, _median_outside(counted, set(members)) or held)
        shares = [total * counted[i] // held for i in members]
        for k in range(total - sum(shares)):
            shares[k % len(shares)] += 1
        for i, share in zip(members, shares, strict=True):
            out[i] = max(1, share)
    return out


def public_change(parent: NamedWeights, previous: NamedWeights | None) -> dict[str, np.ndarray] | None:
    """G_r - G_{r-1} in float64 per flattened tensor, or None when there is no previous model or the
    last accepted round left the model unchanged."""
    if previous is None:
        return None
    out = {
        n: parent[n].astype(np.float64).reshape(-1) - previous[n].astype(np.float64).reshape(-1) for n in sorted(parent)
    }
    return out if kernels.squared_norm(list(out.values())) > 0 else None


def reward_scores(
    global_weights: NamedWeights,
    updates: Sequence[Update],
    scores: Sequence[int],
    direction: dict[str, np.ndarray],
    public: dict[str, np.ndarray] | None,
    *,
    find_groups: bool = True,
) -> tuple[list[int], list[int]]:
    """The reward score of each screened update (address order), given its aggregation score and
    the consensus `direction` it was scored against, and (with `find_groups`) each one's group; without
    it every update is alone."""
    names = sorted(global_weights)
    basis = _basis([direction[n] for n in names], None if public is None else [public[n] for n in names])
    floor = score_floor(sum(int(global_weights[n].size) for n in names))
    consensus = basis[-1]
    sq_consensus = kernels.squared_norm(consensus)
    rewards: list[int] = []
    residuals: dict[int, list[np.ndarray]] = {}
    for i, (update, score) in enumerate(zip(updates, scores, strict=True)):
        if score == 0 or not consensus:
            rewards.append(0)
            continue
        beyond_public = _remove(change(global_weights, update), basis[:-1])
        cos = kernels.cosine(kernels.dot(beyond_public, consensus), kernels.squared_norm(beyond_public), sq_consensus)
        # never more than the score: removing the public component must not forgive an update that
        # works against the trajectory (a label flip's change points partly back along it)
        rewards.append(min(score, to_ppm(cos, floor)))
        if find_groups:  # every update that counts in the model (score > 0), paid or not in this pass
            residuals[i] = _remove(beyond_public, basis[-1:])
    return rewards, groups(len(updates), residuals)


def reward_weights(rewards: Sequence[int], group: Sequence[int], counted: Sequence[int]) -> list[int]:
    """Reward weights from `group_counts`' counts: a group is paid as one update with its best reward
    score and its members' counted samples together, shared in proportion to them (rounded down)."""
    weight = [0] * len(rewards)
    for lead in sorted(set(group)):
        members = [i for i, g in enumerate(group) if g == lead]
        held = sum(counted[i] for i in members)
        total = max(rewards[i] for i in members) * held
        for i in members:
            weight[i] = total * counted[i] // held if held else 0
    return weight


def groups(count: int, residuals: dict[int, list[np.ndarray]]) -> list[int]:
    """Each position's group (its first member's position): positions whose residuals have a cosine
    of at least GROUP_PPM are joined, transitively."""
    leader = list(range(count))

    def find(i: int) -> int:
        while leader[i] != i:
            i = leader[i]
        return i

    keys = sorted(residuals)
    sq = {i: kernels.squared_norm(residuals[i]) for i in keys}
    for a, i in enumerate(keys):
        for j in keys[a + 1 :]:
            cos = kernels.cosine(kernels.dot(residuals[i], residuals[j]), sq[i], sq[j])
            if cos * PPM >= GROUP_PPM:
                ri, rj = find(i), find(j)
                leader[max(ri, rj)] = min(ri, rj)
    return [find(i) for i in range(count)]


def _median_outside(samples: Sequence[int], inside: set[int]) -> int | None:
    """The sample-weighted median of the counts outside `inside` (None if there are none)."""
    rest = [count for i, count in enumerate(samples) if i not in inside and count > 0]
    if not rest:
        return None
    return int(kernels.weighted_median_of([float(c) for c in rest], rest))


def _basis(consensus: list[np.ndarray], public: list[np.ndarray] | None) -> list[list[np.ndarray]]:
    """Orthonormal directions: the public change (if any), then the consensus change without its
    public component (empty if nothing is left of it)."""
    out: list[list[np.ndarray]] = []
    if public is not None:
        out.append(_unit(public))
    rest = _remove(consensus, out)
    out.append(_unit(rest) if kernels.squared_norm(rest) > 0 else [])
    return out


def _unit(vector: list[np.ndarray]) -> list[np.ndarray]:
    norm = math.sqrt(kernels.squared_norm(vector))
    return [v / norm for v in vector]


def _remove(vector: list[np.ndarray], basis: Sequence[list[np.ndarray]]) -> list[np.ndarray]:
    """`vector` without its components along each (unit) direction of `basis`, one after the other."""
    for direction in basis:
        if direction:
            along = kernels.dot(vector, direction)
            vector = [v - along * d for v, d in zip(vector, direction, strict=True)]
    return vector
