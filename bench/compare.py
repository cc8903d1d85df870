"""Side by side in one run: this system, Flower FedAvg and centralized training on the same
shares, model, initial weights and hyperparameters. Prints the headline and writes JSON + plots.

    .venv/bin/python -m bench.compare                      # the full comparison of issue 7
    .venv/bin/python -m bench.compare --model mlp --trainers 4 --rounds 3 --out reports/x.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import FLOWER_PYTHON, REPORTS, ROOT, Setup, load, machine, say, write_report, write_shares

SPLIT_KEYS = ("training", "ipfs", "chain", "aggregation", "evaluation", "waiting")


def run_flower(
    setup: Setup,
    data: Any,
    workdir: Path,
    *,
    timeout: float = 7200.0,
    client_cpus: float = 1.0,
    extra_meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Flower's simulation in its own virtualenv, as a subprocess (bench/flower_fedavg.py).
    `extra_meta` goes into its meta.json (e.g. {"central_dp": {...}})."""
    if not FLOWER_PYTHON.exists():
        raise SystemExit(f"{FLOWER_PYTHON} is missing: run bench/setup_flower.sh first")
    folder = write_shares(setup, data, workdir / "flower-data")
    if extra_meta:
        meta_path = folder / "meta.json"
        meta_path.write_text(json.dumps(json.loads(meta_path.read_text()) | extra_meta, indent=1))
    out, log = workdir / "flower.json", workdir / "flower.log"
    started = time.time()
    with open(log, "wb") as f:
        proc = subprocess.Popen(
            [
                str(FLOWER_PYTHON),
                str(ROOT / "bench" / "flower_fedavg.py"),
                "--data-dir",
                str(folder),
                "--out",
                str(out),
                "--client-cpus",
                str(client_cpus),
            ],
            stdout=f,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            start_new_session=True,
        )
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise SystemExit(f"Flower did not finish within {timeout:.0f}s; its log: {log}") from None
    if code != 0 or not out.exists():
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        raise SystemExit(f"Flower failed (exit {code}); its log {log} ends:\n{tail}")
    result = json.loads(out.read_text())
    result["wall_seconds"] = time.time() - started
    result["client_cpus"] = client_cpus
    return result


def mean_round(result: dict[str, Any], *, skip_first: bool = False) -> float:
    rounds = result["rounds"][1:] if skip_first and len(result["rounds"]) > 1 else result["rounds"]
    return statistics.fmean(r["seconds"] for r in rounds)


def mean_split(result: dict[str, Any]) -> dict[str, float]:
    return {k: statistics.fmean(r["split"].get(k, 0.0) for r in result["rounds"]) for k in SPLIT_KEYS}


def ratios(ours: dict[str, Any], flower: dict[str, Any], centralized: dict[str, Any] | None) -> dict[str, float]:
    out = {
        "round_seconds_ours_over_flower": mean_round(ours) / mean_round(flower),
        "steady_round_seconds_ours_over_flower": mean_round(ours, skip_first=True)
        / mean_round(flower, skip_first=True),
        "final_accuracy_ours_over_flower": ours["final_accuracy"] / flower["final_accuracy"],
        "final_accuracy_ours_minus_flower": ours["final_accuracy"] - flower["final_accuracy"],
    }
    if centralized:
        out["final_accuracy_ours_minus_centralized"] = ours["final_accuracy"] - centralized["final_accuracy"]
    return out


def plot(report: dict[str, Any], accuracy_png: Path, time_png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = report["setup"]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    for key, label, style in (
        ("ours", "this system (anvil + IPFS, FedAvg)", "o-"),
        ("flower", "Flower 1.42 FedAvg (simulation)", "s--"),
        ("centralized", "centralized (union, 1 epoch per round)", "^:"),
    ):
        if report.get(key):
            r = report[key]
            ax.plot(
                range(len(r["rounds"]) + 1),
                [r["initial_accuracy"]] + [x["accuracy"] for x in r["rounds"]],
                style,
                label=label,
                ms=3,
            )
    ax.set_xlabel("round (centralized: epoch)")
    ax.set_ylabel("test accuracy (full test split)")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(
        f"{s['model']} on {s['dataset']}, {s['trainers']} trainers, {s['partition']}, {s['epochs']} epoch/round",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(accuracy_png)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 3.2), dpi=120)
    names = [n for n in ("ours", "flower") if report.get(n)]
    colors = {
        "training": "tab:blue",
        "ipfs": "tab:orange",
        "chain": "tab:red",
        "aggregation": "tab:green",
        "evaluation": "tab:purple",
        "waiting": "tab:gray",
    }
    for i, name in enumerate(names):
        left = 0.0
        for key, value in mean_split(report[name]).items():
            ax.barh(i, value, left=left, color=colors[key], label=key if i == 0 else None)
            left += value
    ax.set_yticks(range(len(names)), ["this system", "Flower"][: len(names)] if names == ["ours", "flower"] else names)
    ax.set_xlabel("mean seconds per round")
    ax.legend(fontsize=8, ncol=3, loc="upper right")
    ax.set_title("where a round's time goes (critical path; see BENCHMARKS.md)", fontsize=9)
    fig.tight_layout()
    fig.savefig(time_png)
    plt.close(fig)


def compare(
    setup: Setup,
    *,
    out: Path,
    plots: tuple[Path, Path] | None,
    registration: int,
    contestants: tuple[str, ...],
    workdir: Path | None = None,
    flower_client_cpus: float = 1.0,
    tf_threads: int | None = None,
) -> dict[str, Any]:
    own_workdir = workdir is None  # a temporary one goes when done (data shares are hundreds of MB)
    workdir = workdir or Path(tempfile.mkdtemp(prefix="dfl-bench-"))
    try:
        return _compare(
            setup,
            out=out,
            plots=plots,
            registration=registration,
            contestants=contestants,
            workdir=workdir,
            flower_client_cpus=flower_client_cpus,
            tf_threads=tf_threads,
        )
    finally:
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def _compare(
    setup: Setup,
    *,
    out: Path,
    plots: tuple[Path, Path] | None,
    registration: int,
    contestants: tuple[str, ...],
    workdir: Path,
    flower_client_cpus: float,
    tf_threads: int | None,
) -> dict[str, Any]:
    data = load(setup)
    report: dict[str, Any] = {"setup": setup.as_dict(), "machine": machine(), "command": " ".join(sys.argv)}
    from bench.ours import run_ours

    if "ours" in contestants:
        say(f"ours: {setup.trainers} trainers + {setup.validators} validators as processes, {setup.rounds} rounds")
        report["ours"] = run_ours(setup, workdir / "ours", registration=registration, tf_threads=tf_threads)
        say(f"ours: final accuracy {report['ours']['final_accuracy']:.4f}, {mean_round(report['ours']):.1f} s/round")
    if "flower" in contestants:
        say("flower: simulation engine")
        report["flower"] = run_flower(setup, data, workdir, client_cpus=flower_client_cpus)
        say(
            f"flower: final accuracy {report['flower']['final_accuracy']:.4f}, {mean_round(report['flower']):.1f} s/round"
        )
    if "centralized" in contestants:
        from bench.centralized import run_centralized

        say(f"centralized: {setup.rounds * setup.epochs} epochs on the union")
        report["centralized"] = run_centralized(setup, data)
        say(f"centralized: final accuracy {report['centralized']['final_accuracy']:.4f}")
    if report.get("ours") and report.get("flower"):
        report["ratios"] = ratios(report["ours"], report["flower"], report.get("centralized"))
        for name in ("ours", "flower"):
            report[name]["mean_round_seconds"] = mean_round(report[name])
            report[name]["steady_round_seconds"] = mean_round(report[name], skip_first=True)
            report[name]["mean_split"] = mean_split(report[name])
    report["machine"]["load_average_at_end"] = list(os.getloadavg())
    write_report(out.name, report, out.parent)
    if plots:
        plot(report, *plots)
    headline(report)
    return report


def headline(report: dict[str, Any]) -> None:
    for name in ("ours", "flower", "centralized"):
        r = report.get(name)
        if r:
            extra = (
                f", {mean_round(r):.1f} s/round (steady {mean_round(r, skip_first=True):.1f})"
                if name != "centralized"
                else ""
            )
            print(f"{name:12s} final accuracy {r['final_accuracy']:.4f}{extra}")
    if "ratios" in report:
        for k, v in report["ratios"].items():
            print(f"{k:45s} {v:.3f}")
        split = report["ours"]["mean_split"]
        print("ours split (s/round): " + ", ".join(f"{k} {v:.1f}" for k, v in split.items()))


def main() -> None:
    d = Setup()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default=d.dataset)
    p.add_argument("--model", default=d.model, choices=("cnn", "mlp"))
    p.add_argument("--trainers", type=int, default=d.trainers)
    p.add_argument("--validators", type=int, default=d.validators)
    p.add_argument("--rounds", type=int, default=d.rounds)
    p.add_argument("--alpha", type=float, default=d.alpha)
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--learning-rate", type=float, default=d.learning_rate)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--registration", type=int, default=60, help="seconds the workers get to stake before round 0")
    p.add_argument("--only", default="ours,flower,centralized")
    p.add_argument("--flower-client-cpus", type=float, default=1.0)
    p.add_argument("--out", type=Path, default=REPORTS / "compare.json")
    p.add_argument("--plot-prefix", type=Path, default=None, help="default: the --out path without .json")
    p.add_argument("--workdir", type=Path, default=None)
    p.add_argument(
        "--tf-threads",
        type=int,
        default=None,
        help="TensorFlow threads per worker process of ours (default: 1 when workers outnumber cores, as dfl demo; 0: one per core)",
    )
    a = p.parse_args()
    setup = Setup(
        dataset=a.dataset,
        model=a.model,
        trainers=a.trainers,
        validators=a.validators,
        rounds=a.rounds,
        alpha=a.alpha,
        epochs=a.epochs,
        batch_size=a.batch_size,
        learning_rate=a.learning_rate,
        seed=a.seed,
    )
    prefix = a.plot_prefix or a.out.with_suffix("")
    compare(
        setup,
        out=a.out,
        plots=(Path(f"{prefix}_accuracy.png"), Path(f"{prefix}_round_time.png")),
        registration=a.registration,
        contestants=tuple(a.only.split(",")),
        workdir=a.workdir,
        flower_client_cpus=a.flower_client_cpus,
        tf_threads=a.tf_threads,
    )


if __name__ == "__main__":
    main()
