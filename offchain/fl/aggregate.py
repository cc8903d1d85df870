"""Aggregation policy: order the updates, screen them, apply the task's rule.

The arithmetic lives in `offchain.fl.rules`; this module decides who takes
part and with what weight. Updates are processed in ascending order of
lowercase trainer address, so input order never changes the output bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from offchain.fl import rules
from offchain.fl.acceptance import check_update
from offchain.fl.address import normalize_address
from offchain.fl.errors import AggregationInputError, RuleConfigError
from offchain.fl.reasons import Reason
from offchain.fl.records import AggregationResult, Update, Verdict
from offchain.fl.ruleconfig import BPS, RuleConfig
from offchain.types import NamedWeights


@dataclass(frozen=True)
class _Outcome:
    weights: NamedWeights
    trainer_weights: dict[str, int]
    verdicts: dict[str, Verdict]  # for accepted updates, possibly overridden (Krum)


def aggregate(
    global_weights: NamedWeights,
    updates: Sequence[Update],
    config: RuleConfig,
    *,
    rejected: Sequence[Verdict] = (),
) -> AggregationResult:
    """New global weights from `updates` under `config`.

    `rejected` carries verdicts decided before decoding (missing, cid_mismatch,
    too_large, ...) so the result lists every trainer of the round.
    """
    rule = _RULES.get(config.rule)
    if rule is None:
        raise RuleConfigError(f"unknown aggregation rule {config.rule!r}")
    ordered, verdicts = _screen(global_weights, updates, rejected)
    accepted = [u for u in ordered if verdicts[u.trainer].accepted]
    if not accepted:
        copy = {name: np.array(global_weights[name], dtype=np.float32) for name in sorted(global_weights)}
        return AggregationResult(weights=copy, trainer_weights={}, verdicts=_sorted(verdicts))
    outcome = rule(global_weights, accepted, config.params)
    verdicts.update(outcome.verdicts)
    return AggregationResult(
        weights=outcome.weights, trainer_weights=outcome.trainer_weights, verdicts=_sorted(verdicts)
    )


def _screen(
    global_weights: NamedWeights, updates: Sequence[Update], rejected: Sequence[Verdict]
) -> tuple[list[Update], dict[str, Verdict]]:
    verdicts: dict[str, Verdict] = {}
    for verdict in rejected:
        trainer = _unique(normalize_address(verdict.trainer), verdicts)
        verdicts[trainer] = Verdict(trainer, False, verdict.reason, verdict.message)
    ordered = []
    for update in updates:
        trainer = _unique(normalize_address(update.trainer), verdicts)
        normalized = Update(trainer=trainer, num_samples=update.num_samples, weights=update.weights)
        verdicts[trainer] = check_update(normalized, global_weights)
        ordered.append(normalized)
    ordered.sort(key=lambda u: u.trainer)
    return ordered, verdicts


def _unique(trainer: str, seen: dict[str, Verdict]) -> str:
    if trainer in seen:
        raise AggregationInputError(f"trainer {trainer} appears more than once in the round")
    return trainer


def _sorted(verdicts: dict[str, Verdict]) -> tuple[Verdict, ...]:
    return tuple(verdicts[t] for t in sorted(verdicts))


# --- rules: each gets the accepted updates in address order -----------------


def _sample_weight(update: Update, cap: int) -> int:
    return min(update.num_samples, cap) if cap else update.num_samples


def _fedavg(global_weights: NamedWeights, accepted: list[Update], params: dict[str, int | float]) -> _Outcome:
    weights = [_sample_weight(u, int(params["cap"])) for u in accepted]
    new = {
        name: rules.weighted_mean([u.weights[name] for u in accepted], weights).astype(np.float32)
        for name in sorted(global_weights)
    }
    return _Outcome(new, {u.trainer: w for u, w in zip(accepted, weights)}, {})


def _per_tensor_delta_rule(
    combine: Callable[[list[np.ndarray]], np.ndarray],
) -> Callable[[NamedWeights, list[Update], dict[str, int | float]], _Outcome]:
    """A coordinate-wise rule applied to deltas, every accepted update weighing 1.

    Works on `rules.chunk_length(n)` coordinates at a time: the same bits as whole
    tensors, with float64 working memory bounded at any number of updates.
    """

    def rule(global_weights: NamedWeights, accepted: list[Update], params: dict[str, int | float]) -> _Outcome:
        new = {}
        step = rules.chunk_length(len(accepted))
        for name in sorted(global_weights):
            base = global_weights[name].astype(np.float64).reshape(-1)
            flats = [u.weights[name].reshape(-1) for u in accepted]
            out = np.empty_like(base)
            for lo in range(0, base.size, step):
                part = slice(lo, min(lo + step, base.size))
                out[part] = base[part] + combine([f[part].astype(np.float64) - base[part] for f in flats])
            new[name] = out.reshape(global_weights[name].shape).astype(np.float32)
        return _Outcome(new, {u.trainer: 1 for u in accepted}, {})

    return rule


def _median(global_weights: NamedWeights, accepted: list[Update], params: dict[str, int | float]) -> _Outcome:
    return _per_tensor_delta_rule(rules.coordinate_median)(global_weights, accepted, params)


def _trimmed_mean(global_weights: NamedWeights, accepted: list[Update], params: dict[str, int | float]) -> _Outcome:
    trim = len(accepted) * int(params["beta_bps"]) // BPS
    combine = lambda deltas: rules.trimmed_mean(deltas, trim=trim)  # noqa: E731
    return _per_tensor_delta_rule(combine)(global_weights, accepted, params)


def _multi_krum(global_weights: NamedWeights, accepted: list[Update], params: dict[str, int | float]) -> _Outcome:
    names = sorted(global_weights)
    # Distances between updates equal distances between their deltas; using the
    # float32 weights directly avoids one rounding step.
    distances = rules.pairwise_squared_distances([[u.weights[n] for n in names] for u in accepted])
    scores = rules.krum_scores(distances, f=int(params["f"]))
    chosen = rules.krum_select(scores, m=int(params["m"]))
    selected = [accepted[i] for i in chosen]
    new = _per_tensor_delta_rule(lambda d: rules.weighted_mean(d, [1] * len(d)))(global_weights, selected, params)
    excluded = {
        u.trainer: Verdict.reject(
            u.trainer, Reason.KRUM_EXCLUDED, f"Krum score {scores[i]!r} not among the {len(chosen)} lowest"
        )
        for i, u in enumerate(accepted)
        if i not in chosen
    }
    return _Outcome(new.weights, new.trainer_weights, excluded)


def _norm_clipped_fedavg(
    global_weights: NamedWeights, accepted: list[Update], params: dict[str, int | float]
) -> _Outcome:
    names, bound = sorted(global_weights), float(params["bound"])
    base = {n: global_weights[n].astype(np.float64) for n in names}
    sq_norms = [rules.squared_distance([u.weights[n] for n in names], [base[n] for n in names]) for u in accepted]
    scales = [rules.clip_scale(sq, bound) for sq in sq_norms]
    weights = [_sample_weight(u, int(params["cap"])) for u in accepted]
    new = {}
    for name in names:  # one update at a time: memory of one model, not N
        mean = rules.RunningMean(base[name].shape)
        for update, scale, weight in zip(accepted, scales, weights):
            mean.add((update.weights[name].astype(np.float64) - base[name]) * scale, weight)
        new[name] = (base[name] + mean.result()).astype(np.float32)
    notes = {
        u.trainer: Verdict.accept(u.trainer, message=f"delta norm {sq**0.5!r} clipped to {bound!r}")
        for u, sq, s in zip(accepted, sq_norms, scales)
        if s < 1.0
    }
    return _Outcome(new, {u.trainer: w for u, w in zip(accepted, weights)}, notes)


_RULES: dict[str, Callable[[NamedWeights, list[Update], dict[str, int | float]], _Outcome]] = {
    "fedavg": _fedavg,
    "median": _median,
    "trimmed_mean": _trimmed_mean,
    "multi_krum": _multi_krum,
    "norm_clipped_fedavg": _norm_clipped_fedavg,
}
