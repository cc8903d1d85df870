"""Byzantine robustness: 30% of the trainers attack; final accuracy under each aggregation rule.

Runs without the chain: an in-process FedAvg-style loop whose aggregation step is exactly what
every validator runs (`offchain.fl.round.compute_round` with `parse_rule`, including the
deterministic acceptance checks), on the same shares, model and local training as the
comparison. Chain and IPFS only move the same bytes around, so they cannot change these numbers.

Attacks (each attacker sends a full weight vector W = G + delta for global model G):
  gaussian   delta ~ N(0, sigma^2) per coordinate (sigma = 1.0): pure noise
  sign_flip  delta = -4 * (its honest delta): trains honestly, sends the scaled opposite
  label_flip trains honestly on labels y -> (C - 1 - y)
  free_rider W = G unchanged (no training)
  huge       W = G + 1e38 everywhere: finite, and enough to wreck any plain average
  none       no attacker (reference)

With --bound B the validators also enforce the task's norm bound B on each update's change (what
new tasks do, 10.0 by default): updates beyond it are rejected (and, on-chain, penalized).

    .venv/bin/python -m bench.robustness --model cnn --rounds 20          # the issue's setup
    .venv/bin/python -m bench.robustness --model mlp --rounds 10          # what fits in minutes
    .venv/bin/python -m bench.robustness --dataset mnist-5k --trainers 4 --rounds 5 --epochs 2 \
        --fraction 0.25 --bound 10 --rules consensus_fedavg,fedavg      # the demo's settings, 1 attacker
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

import numpy as np

from bench.common import REPORTS, Setup, load, machine, say, shares, write_report

ATTACKS = ("none", "gaussian", "sign_flip", "label_flip", "free_rider", "huge")
RULE_NAMES = ("fedavg", "median", "trimmed_mean", "multi_krum", "norm_clipped_fedavg", "consensus_fedavg")
SIGMA = 1.0


def rule_params(rule: str, n: int, attackers: int, clip_bound: float) -> tuple[int, list[int]]:
    """Rule id and on-chain params, set as a task requester who expects `attackers` of `n` would."""
    return {
        "fedavg": (0, [0]),
        "median": (1, []),
        "trimmed_mean": (2, [(attackers * 10_000 + n - 1) // n]),  # trims ceil(f) per side
        "multi_krum": (3, [attackers, n - attackers]),
        "norm_clipped_fedavg": (4, [int(clip_bound * 1_000_000), 0]),
        "consensus_fedavg": (5, []),
    }[rule]


def attackers_of(n: int, fraction: float, seed: int) -> list[int]:
    k = int(round(n * fraction))
    return sorted(int(i) for i in np.random.default_rng(seed + 7).choice(n, size=k, replace=False))


def _address(i: int) -> str:
    return f"0x{i + 1:040x}"


def run_one(
    setup: Setup, data: Any, parts: list[np.ndarray], rule: str, attack: str, attackers: list[int], clip_bound: float
) -> dict[str, Any]:
    from bench.common import run_round
    from offchain.fl.records import Update
    from offchain.fl.rules import parse_rule
    from offchain.ml.models import build_model
    from offchain.ml.train import evaluate, train_local
    from offchain.ml.weights import get_weights, set_weights

    model = build_model(setup.model, input_shape=data.input_shape, num_classes=data.num_classes, seed=setup.seed)
    global_w = get_weights(model)
    config = parse_rule(*rule_params(rule, setup.trainers, len(attackers), clip_bound))
    bad = set(attackers) if attack != "none" else set()
    curve, rejected, honest_norms = [], [], []
    for r in range(setup.rounds):
        updates = []
        for i, idx in enumerate(parts):
            x, y = data.x_train[idx], data.y_train[idx]
            if i in bad and attack == "free_rider":
                weights = {k: v.copy() for k, v in global_w.items()}
            elif i in bad and attack == "huge":
                weights = {k: (v + np.float32(1e38)).astype(np.float32) for k, v in global_w.items()}
            elif i in bad and attack == "gaussian":
                noise = np.random.default_rng(setup.seed * 1000 + r * 100 + i)
                weights = {
                    k: (v + noise.standard_normal(v.shape).astype(np.float32) * np.float32(SIGMA)).astype(np.float32)
                    for k, v in global_w.items()
                }
            else:
                set_weights(model, global_w)
                labels = (data.num_classes - 1 - y) if (i in bad and attack == "label_flip") else y
                train_local(
                    model,
                    x,
                    labels,
                    epochs=setup.epochs,
                    batch_size=setup.batch_size,
                    learning_rate=setup.learning_rate,
                    seed=setup.seed + i + r,
                )
                weights = get_weights(model)
                if i in bad and attack == "sign_flip":
                    weights = {
                        k: (global_w[k] - np.float32(4.0) * (v - global_w[k])).astype(np.float32)
                        for k, v in weights.items()
                    }
                elif i not in bad:
                    honest_norms.append(
                        float(
                            np.sqrt(
                                sum(
                                    float(np.sum((v - global_w[k]).astype(np.float64) ** 2)) for k, v in weights.items()
                                )
                            )
                        )
                    )
            updates.append(Update(trainer=_address(i), num_samples=len(idx), weights=weights))
        result = run_round(global_w, updates, config, bound_micro=round(setup.delta_bound * 1_000_000))
        global_w = result.weights
        rejected.append(len(result.verdicts) - len(result.accepted))
        set_weights(model, global_w)
        curve.append(evaluate(model, data.x_test, data.y_test).accuracy)
    return {
        "rule": rule,
        "attack": attack,
        "final_accuracy": curve[-1],
        "accuracy_per_round": curve,
        "rejected_per_round": rejected,
        "honest_delta_norm_median": float(np.median(honest_norms)) if honest_norms else None,
    }


def calibrate_clip(setup: Setup, data: Any, parts: list[np.ndarray]) -> float:
    """Median norm of honest round-0 deltas: the clipping bound a requester would pick from a dry run."""
    from offchain.ml.models import build_model
    from offchain.ml.train import train_local
    from offchain.ml.weights import get_weights, set_weights

    model = build_model(setup.model, input_shape=data.input_shape, num_classes=data.num_classes, seed=setup.seed)
    g = get_weights(model)
    norms = []
    for i, idx in enumerate(parts):
        set_weights(model, g)
        train_local(
            model,
            data.x_train[idx],
            data.y_train[idx],
            epochs=setup.epochs,
            batch_size=setup.batch_size,
            learning_rate=setup.learning_rate,
            seed=setup.seed + i,
        )
        w = get_weights(model)
        norms.append(float(np.sqrt(sum(float(np.sum((w[k] - g[k]).astype(np.float64) ** 2)) for k in g))))
    return float(np.median(norms))


def _single_threaded() -> None:
    """Pool initializer: one TensorFlow thread per job, so `jobs` processes share the cores
    without oversubscribing them (from single-process timings here, about 1.6x the throughput of one 2-thread process).
    TensorFlow's results can depend on its thread count, so compare runs made with the same --jobs."""
    from offchain.ml.train import limit_threads

    limit_threads(1)


_DATA: dict[Setup, tuple[Any, list[np.ndarray]]] = {}  # per pool process: the dataset, loaded once


def _timed(
    setup: Setup, data: Any, parts: list[np.ndarray], rule: str, attack: str, attackers: list[int], clip: float
) -> dict[str, Any]:
    started = time.time()
    run = run_one(setup, data, parts, rule, attack, attackers, clip)
    return run | {"seconds": time.time() - started}


def _job(setup: Setup, rule: str, attack: str, attackers: list[int], clip: float) -> dict[str, Any]:
    if setup not in _DATA:
        data = load(setup)
        _DATA[setup] = (data, shares(setup, data.y_train))
    return _timed(setup, *_DATA[setup], rule, attack, attackers, clip)


def robustness(
    setup: Setup,
    *,
    fraction: float = 0.3,
    rules: tuple[str, ...] = RULE_NAMES,
    attacks: tuple[str, ...] = ATTACKS,
    out: str | None = "robustness.json",
    plot_path: str | None = "robustness.png",
    jobs: int = 1,
) -> dict[str, Any]:
    """Every (attack, rule) run, `jobs` at a time; the report is rewritten after each run finishes
    (`"complete": false` until the last), so a long run that is cut short still leaves its results."""
    data = load(setup)
    parts = shares(setup, data.y_train)
    attackers = attackers_of(setup.trainers, fraction, setup.seed)
    started = time.time()
    clip = calibrate_clip(setup, data, parts)
    say(
        f"robustness: attackers {attackers} of {setup.trainers}; norm clip bound {clip:.3f} (median honest round-0 delta norm); "
        f"{len(attacks) * len(rules)} runs, {jobs} at a time"
    )
    order = [(attack, rule) for attack in attacks for rule in rules]
    done: dict[tuple[str, str], dict[str, Any]] = {}
    report: dict[str, Any] = {}

    def record(run: dict[str, Any]) -> None:
        done[(run["attack"], run["rule"])] = run
        say(
            f"robustness: {run['attack']:10s} {run['rule']:20s} final accuracy {run['final_accuracy']:.4f} "
            f"(rejected/round {run['rejected_per_round'][-1]}) in {run['seconds']:.0f}s [{len(done)}/{len(order)}]"
        )
        runs = [done[key] for key in order if key in done]
        report.clear()
        report.update(
            {
                "setup": setup.as_dict(),
                "attack_fraction": fraction,
                "attackers": attackers,
                "gaussian_sigma": SIGMA,
                "sign_flip_scale": -4.0,
                "norm_clip_bound": clip,
                "rule_params": {r: rule_params(r, setup.trainers, len(attackers), clip)[1] for r in rules},
                "chain": "not used: the aggregation code is the validators' own (offchain.fl.round); see BENCHMARKS.md",
                "jobs": jobs,
                "complete": len(done) == len(order),
                **tables(runs, attacks),
                "runs": runs,
                "machine": machine(),
                "seconds": time.time() - started,
            }
        )
        if out:
            write_report(out, report)

    if jobs <= 1:
        for attack, rule in order:
            record(_timed(setup, data, parts, rule, attack, attackers, clip))
    else:
        pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_single_threaded)
        try:
            futures = [pool.submit(_job, setup, rule, attack, attackers, clip) for attack, rule in order]
            for future in as_completed(futures):
                record(future.result())
        finally:  # a failed run stops the rest now, not after every queued run has finished
            pool.shutdown(wait=True, cancel_futures=True)
    if plot_path:
        plot(report, REPORTS / plot_path)
    return report


LAST = 5


def tables(runs: list[dict[str, Any]], attacks: tuple[str, ...] | list[str]) -> dict[str, dict[str, dict[str, float]]]:
    """Attack x rule tables: the final accuracy, and the worst of the last rounds, since an attack
    can make the global model oscillate so that the last round alone flatters it."""

    def table(value: Any) -> dict[str, dict[str, float]]:
        return {a: {r["rule"]: value(r) for r in runs if r["attack"] == a} for a in attacks}

    return {
        "final_accuracy": table(lambda r: r["final_accuracy"]),
        f"worst_of_last_{LAST}_rounds": table(lambda r: min(r["accuracy_per_round"][-LAST:])),
    }


def plot(report: dict[str, Any], path: Any) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = report["final_accuracy"]
    attacks, rules = list(table), list(next(iter(table.values())))
    fig, ax = plt.subplots(figsize=(8, 3.8), dpi=120)
    width = 0.8 / len(rules)
    worst = report.get(f"worst_of_last_{LAST}_rounds")
    for j, rule in enumerate(rules):
        xs = [i + j * width for i in range(len(attacks))]
        ax.bar(xs, [table[a][rule] for a in attacks], width, label=rule)
        if worst:
            ax.plot(
                xs,
                [worst[a][rule] for a in attacks],
                "k_",
                markersize=9,
                label=f"worst of last {LAST} rounds" if j == 0 else None,
            )
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(attacks))], attacks)
    ax.set_ylabel("final test accuracy")
    ax.set_ylim(0, 1)
    s = report["setup"]
    ax.set_title(
        f"30% attackers ({len(report['attackers'])} of {s['trainers']}), {s['model']} on {s['dataset']}, "
        f"{s['rounds']} rounds, {s['partition']}",
        fontsize=9,
    )
    ax.set_ylim(0, 1.12)  # room for the legend above the bars
    ax.legend(fontsize=7, ncol=3, loc="upper center")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    d = Setup()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default=d.dataset)
    p.add_argument("--model", default="mlp", choices=("cnn", "mlp"))
    p.add_argument("--trainers", type=int, default=d.trainers)
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--alpha", type=float, default=d.alpha)
    p.add_argument("--fraction", type=float, default=0.3)
    p.add_argument("--rules", default=",".join(RULE_NAMES))
    p.add_argument("--attacks", default=",".join(ATTACKS))
    p.add_argument("--out", default="robustness.json")
    p.add_argument("--jobs", type=int, default=1, help="runs in parallel, one TensorFlow thread each (2 suits 2 cores)")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--learning-rate", type=float, default=d.learning_rate)
    p.add_argument("--bound", type=float, default=0.0, help="the task's norm bound on each change (0: none)")
    a = p.parse_args()
    setup = Setup(
        dataset=a.dataset,
        model=a.model,
        trainers=a.trainers,
        rounds=a.rounds,
        alpha=a.alpha,
        epochs=a.epochs,
        learning_rate=a.learning_rate,
        delta_bound=a.bound,
    )
    robustness(
        setup,
        fraction=a.fraction,
        rules=tuple(a.rules.split(",")),
        attacks=tuple(a.attacks.split(",")),
        out=a.out,
        plot_path=a.out.replace(".json", ".png"),
        jobs=a.jobs,
    )


if __name__ == "__main__":
    main()
