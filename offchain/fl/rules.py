"""The aggregation rules: one registry, read by aggregation, task creation, the CLI and the explorer.

A task names its rule on-chain as (ruleId, uint256[] params); `RULES` maps each id to its name, its
parameter parser and its aggregation. The arithmetic lives in `offchain.fl.kernels`; a rule decides
who takes part and with what weight. Rules get the accepted updates in ascending order of trainer
address, so input order never changes the output bytes.

  id  name                 params                  aggregate
  0   fedavg               [cap]                   weights min(numSamples, cap); cap 0 = no cap
  1   median               []                      coordinate-wise median of changes
  2   trimmed_mean         [beta_bps]              drop floor(n*beta_bps/10000) per side; < 5000
  3   multi_krum           [f, m]                  uniform mean of the m updates Krum scores lowest
  4   norm_clipped_fedavg  [bound_micro(, cap)]    clip each change to bound_micro/1e6, then fedavg
  5   consensus_fedavg     [] or [cap]             changes clipped to the weighted median change norm,
                                                   weighted by score x min(numSamples, cap) (a reward
                                                   group counts once): updates that do not agree with
                                                   the consensus direction weigh 0
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from offchain.fl import kernels
from offchain.fl.errors import RuleConfigError
from offchain.fl.reasons import Reason
from offchain.fl.records import Update, Verdict
from offchain.types import NamedWeights
from offchain.units import BPS, MICRO

# Sanity bound on a declared sample count used as a weight (about 4e9 samples): keeps weights exact
# in float64 products whatever a task without collateral lets trainers declare.
MAX_SAMPLES = 2**32
_UINT256_MAX = 2**256 - 1

Params = dict[str, int | float]


@dataclass(frozen=True)
class Contribution:
    """An accepted update with what rules weigh it by: the squared norm of its change, its
    contribution score (parts per million, `offchain.fl.scoring`) and its effective sample count."""

    update: Update
    sq_delta_norm: float
    score_ppm: int
    samples: int  # the rule's count: min(numSamples, cap)
    counted: int = -1  # what consensus_fedavg weighs it by; -1: `samples` (a reward group's members
    # share the group's count instead: offchain.fl.contribution.group_counts)

    @property
    def consensus_weight(self) -> int:
        """Its weight in consensus_fedavg: score x samples (a group's share of them)."""
        return self.score_ppm * (self.samples if self.counted < 0 else self.counted)

    @property
    def trainer(self) -> str:
        return self.update.trainer


@dataclass(frozen=True)
class RuleOutcome:
    weights: NamedWeights
    excluded: dict[str, Verdict] = field(default_factory=dict)  # accepted by the checks, left out by the rule
    notes: dict[str, str] = field(default_factory=dict)  # details for accepted updates (clipping)


Aggregate = Callable[[NamedWeights, list[Contribution], Params], RuleOutcome]


@dataclass(frozen=True)
class Rule:
    id: int
    name: str
    layout: str  # its on-chain params, for messages and help
    parse: Callable[[list[int]], Params]
    aggregate: Aggregate
    capped: bool  # whether params carry a sample cap ("cap")


@dataclass(frozen=True)
class RuleConfig:
    """A task's rule with its decoded parameters (and the raw on-chain values, for receipts)."""

    rule: str
    params: Params = field(default_factory=dict)
    rule_id: int = -1
    raw: tuple[int, ...] = ()


def parse_rule(rule_id: int, params: Sequence[int]) -> RuleConfig:
    """Decode the on-chain rule id and params; raises RuleConfigError if invalid."""
    rule = RULES.get(rule_id) if isinstance(rule_id, int) and not isinstance(rule_id, bool) else None
    if rule is None:
        raise RuleConfigError(f"unknown aggregation rule id {rule_id!r}; known: {sorted(RULES)}")
    values = [_uint256(rule.name, i, v) for i, v in enumerate(params)]
    return RuleConfig(rule=rule.name, params=rule.parse(values), rule_id=rule.id, raw=tuple(values))


def rule_named(name: str) -> Rule:
    """The rule called `name`; a RuleConfigError lists the known names otherwise."""
    for rule in RULES.values():
        if rule.name == name:
            return rule
    raise RuleConfigError(f"unknown rule {name!r}; choose one of {', '.join(r.name for r in RULES.values())}")


def sample_weight(config: RuleConfig, num_samples: int) -> int:
    """The samples an update counts for under `config`: capped by the rule's cap, if any, and by
    MAX_SAMPLES."""
    cap = int(config.params.get("cap", 0)) if RULES[config.rule_id].capped else 0
    return min(num_samples, cap or MAX_SAMPLES, MAX_SAMPLES)


def aggregate(global_weights: NamedWeights, accepted: list[Contribution], config: RuleConfig) -> RuleOutcome:
    """New global weights from the accepted contributions (in address order) under `config`."""
    if not accepted:
        copy = {name: np.array(global_weights[name], dtype=np.float32) for name in sorted(global_weights)}
        return RuleOutcome(copy)
    return RULES[config.rule_id].aggregate(global_weights, accepted, config.params)


# --- parameters -------------------------------------------------------------------------------


def _uint256(rule: str, index: int, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _UINT256_MAX:
        raise RuleConfigError(f"{rule}: param {index} must be a uint256, got {value!r}")
    return value


def _arity(rule: str, values: list[int], *, allowed: tuple[int, ...], layout: str) -> None:
    if len(values) not in allowed:
        raise RuleConfigError(f"{rule}: expected params {layout}, got {len(values)} values {values}")


def _parse_fedavg(values: list[int]) -> Params:
    _arity("fedavg", values, allowed=(1,), layout="[cap]")
    return {"cap": values[0]}


def _parse_median(values: list[int]) -> Params:
    _arity("median", values, allowed=(0,), layout="[]")
    return {}


def _parse_trimmed_mean(values: list[int]) -> Params:
    _arity("trimmed_mean", values, allowed=(1,), layout="[beta_bps]")
    if values[0] >= BPS // 2:
        raise RuleConfigError(f"trimmed_mean: beta_bps must be below {BPS // 2}, got {values[0]}")
    return {"beta_bps": values[0]}


def _parse_multi_krum(values: list[int]) -> Params:
    _arity("multi_krum", values, allowed=(2,), layout="[f, m]")
    if values[1] < 1:
        raise RuleConfigError("multi_krum: m (updates to select) must be at least 1")
    return {"f": values[0], "m": values[1]}


def _parse_norm_clipped_fedavg(values: list[int]) -> Params:
    _arity("norm_clipped_fedavg", values, allowed=(1, 2), layout="[bound_micro] or [bound_micro, cap]")
    if values[0] < 1:
        raise RuleConfigError("norm_clipped_fedavg: bound_micro must be at least 1")
    cap = values[1] if len(values) == 2 else 0
    return {"bound": values[0] / MICRO, "cap": cap}  # int/int division is correctly rounded


def _parse_consensus_fedavg(values: list[int]) -> Params:
    _arity("consensus_fedavg", values, allowed=(0, 1), layout="[] or [cap]")
    return {"cap": values[0] if values else 0}


# --- aggregations: each gets the accepted contributions in address order ------------------------


def _fedavg(global_weights: NamedWeights, accepted: list[Contribution], params: Params) -> RuleOutcome:
    weights = [c.samples for c in accepted]
    new = {
        name: kernels.weighted_mean([c.update.weights[name] for c in accepted], weights).astype(np.float32)
        for name in sorted(global_weights)
    }
    return RuleOutcome(new)


def _coordinatewise(
    combine: Callable[[list[np.ndarray]], np.ndarray],
) -> Callable[[NamedWeights, list[Contribution], Params], RuleOutcome]:
    """A coordinate-wise rule applied to changes, every accepted update weighing 1.

    Works on `kernels.chunk_length(n)` coordinates at a time: the same bits as whole tensors, with
    float64 working memory bounded at any number of updates.
    """

    def rule(global_weights: NamedWeights, accepted: list[Contribution], params: Params) -> RuleOutcome:
        return RuleOutcome(coordinatewise_change(global_weights, [c.update for c in accepted], combine))

    return rule


def coordinatewise_change(
    global_weights: NamedWeights, updates: Sequence[Update], combine: Callable[[list[np.ndarray]], np.ndarray]
) -> NamedWeights:
    """G + combine(changes), coordinate chunk by coordinate chunk (float32 result)."""
    new = {}
    for name in sorted(global_weights):
        base = global_weights[name].astype(np.float64).reshape(-1)
        change = kernels.combine_changes(base, [u.weights[name].reshape(-1) for u in updates], combine)
        new[name] = (base + change).reshape(global_weights[name].shape).astype(np.float32)
    return new


def _trimmed_mean(global_weights: NamedWeights, accepted: list[Contribution], params: Params) -> RuleOutcome:
    trim = len(accepted) * int(params["beta_bps"]) // BPS
    updates = [c.update for c in accepted]
    return RuleOutcome(coordinatewise_change(global_weights, updates, lambda d: kernels.trimmed_mean(d, trim=trim)))


def _multi_krum(global_weights: NamedWeights, accepted: list[Contribution], params: Params) -> RuleOutcome:
    names = sorted(global_weights)
    # Distances between updates equal distances between their changes; using the float32 weights
    # directly avoids one rounding step.
    distances = kernels.pairwise_squared_distances([[c.update.weights[n] for n in names] for c in accepted])
    scores = kernels.krum_scores(distances, f=int(params["f"]))
    chosen = kernels.krum_select(scores, m=int(params["m"]))
    selected = [accepted[i].update for i in chosen]
    new = coordinatewise_change(global_weights, selected, lambda d: kernels.weighted_mean(d, [1] * len(d)))
    excluded = {
        c.trainer: Verdict.reject(c.trainer, Reason.KRUM_EXCLUDED, f"not among the {len(chosen)} lowest Krum scores")
        for i, c in enumerate(accepted)
        if i not in chosen
    }
    return RuleOutcome(new, excluded)


def _clipped_mean(
    global_weights: NamedWeights, accepted: list[Contribution], bound: float, weights: list[int]
) -> RuleOutcome:
    """G + sum(w_i * clip(change_i, bound)) / sum(w_i), one update at a time (memory of one model)."""
    names = sorted(global_weights)
    base = {n: global_weights[n].astype(np.float64) for n in names}
    scales = [kernels.clip_scale(c.sq_delta_norm, bound) for c in accepted]
    new = {}
    for name in names:
        mean = kernels.RunningMean(base[name].shape)
        for c, scale, weight in zip(accepted, scales, weights, strict=True):
            mean.add((c.update.weights[name].astype(np.float64) - base[name]) * scale, weight)
        new[name] = (base[name] + mean.result()).astype(np.float32)
    notes = {c.trainer: "change clipped to the bound" for c, s in zip(accepted, scales, strict=True) if s < 1.0}
    return RuleOutcome(new, notes=notes)


def _norm_clipped_fedavg(global_weights: NamedWeights, accepted: list[Contribution], params: Params) -> RuleOutcome:
    return _clipped_mean(global_weights, accepted, float(params["bound"]), [c.samples for c in accepted])


def _consensus_fedavg(global_weights: NamedWeights, accepted: list[Contribution], params: Params) -> RuleOutcome:
    weights = [c.consensus_weight for c in accepted]
    if sum(weights) == 0:  # nobody agrees with the consensus direction: keep the model
        return RuleOutcome({n: np.array(global_weights[n], dtype=np.float32) for n in sorted(global_weights)})
    # Every change is clipped to the median change norm, each update weighing what it weighs in the
    # mean: a scaled-up update cannot outweigh the others, and neither accounts that weigh nothing
    # (zero score) nor a data set split over several accounts can move the clip.
    bound = kernels.weighted_median_of([math.sqrt(c.sq_delta_norm) for c in accepted], weights)
    return _clipped_mean(global_weights, accepted, bound, weights)


RULES: dict[int, Rule] = {
    rule.id: rule
    for rule in (
        Rule(0, "fedavg", "[cap]", _parse_fedavg, _fedavg, capped=True),
        Rule(1, "median", "[]", _parse_median, _coordinatewise(kernels.coordinate_median), capped=False),
        Rule(2, "trimmed_mean", "[beta_bps]", _parse_trimmed_mean, _trimmed_mean, capped=False),
        Rule(3, "multi_krum", "[f, m]", _parse_multi_krum, _multi_krum, capped=False),
        Rule(4, "norm_clipped_fedavg", "[bound_micro(, cap)]", _parse_norm_clipped_fedavg, _norm_clipped_fedavg, True),
        Rule(5, "consensus_fedavg", "[] or [cap]", _parse_consensus_fedavg, _consensus_fedavg, capped=True),
    )
}
