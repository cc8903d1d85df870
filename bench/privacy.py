"""Privacy benchmark: accuracy against ε, side by side with Flower's central DP, and what each
privacy mode costs a round against plaintext. Writes reports/privacy.json and reports/privacy.png.

    .venv/bin/python -m bench.privacy            # Fashion-MNIST, MLP, 10 trainers, 20 rounds (issue 18)
    .venv/bin/python -m bench.privacy --quick    # MNIST-5k, MLP, 4 trainers, 3 rounds (minutes)

Accuracy, per trainer (user-level DP, the unit of Flower's wrapper): this system with secure
aggregation and distributed discrete Gaussian noise (every trainer adds 1/n of the variance, n the
number of trainers, so the sum carries exactly the central mechanism's noise) against Flower's
`DifferentialPrivacyServerSideFixedClipping` (the server clips each update and adds the noise
itself); same shares, model, initial weights, clip and noise multiplier z, calibrated so the task's
rounds spend ε at δ = 1e-5 by the RDP bound the contract enforces. ε = inf: clipping, no noise.
Accuracy, per sample (this system only; Flower has no central per-sample wrapper): a round is one
DP-SGD step, −Σ clip(lr·∇ℓ_i), summed securely with distributed noise.
Cost (the quick setup, all modes): seconds per round, bytes pinned per round, gas per round.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.common import REPORTS, Setup, load, machine, say, write_report
from bench.compare import run_flower
from bench.ours import run_ours
from offchain.privacy.budget import dp_accounting_epsilon, epsilon_micro, noise_multiplier_micro_for

DELTA = 1e-5
DELTA_ATTO = 10**13
FULL = Setup(dataset="fashion-mnist", model="mlp", trainers=10, validators=3, rounds=20)
QUICK = Setup(dataset="mnist-5k", model="mlp", trainers=4, validators=3, rounds=3, epochs=2)


def noise_for(epsilon: float, rounds: int) -> float:
    """z that spends exactly `epsilon` over `rounds` (the contract's integer RDP bound)."""
    return noise_multiplier_micro_for(round(epsilon * 1e6), DELTA_ATTO, rounds) / 1e6


Rows = list[dict[str, Any]]


def _done(rows: Rows, epsilon: float) -> bool:
    key = epsilon if math.isfinite(epsilon) else None
    return any(r["epsilon"] == key for r in rows)


def accuracy_rows(
    setup: Setup, epsilons: list[float], work: Path, *, clip: float, flower: bool, data: Any, rows: Rows, save: Any
) -> Rows:
    """Per-trainer rows, appended to `rows` (those already there are kept: --resume); `save` after each."""
    for epsilon in epsilons:
        if _done(rows, epsilon):
            continue
        finite = math.isfinite(epsilon)
        z = noise_for(epsilon, setup.rounds) if finite else 0.0
        say(f"per trainer, ε = {epsilon:g}: z = {z:.4f}, clip {clip}")
        privacy: dict[str, Any] = {
            "privacy": "secagg",
            "epsilon": epsilon if finite else None,
            "clip": clip,
            "dp_unit": "trainer",
            "min_contributors": setup.trainers,  # all n add 1/n of the variance: the central noise
        }
        row: dict[str, Any] = {"epsilon": epsilon if finite else None, "noise_multiplier": z, "clip": clip}
        if finite:
            row["epsilon_rdp_onchain"] = epsilon_micro(setup.rounds, round(z * 1e6), DELTA_ATTO) / 1e6
            row["epsilon_pld"] = dp_accounting_epsilon(setup.rounds, z, DELTA, accountant="pld")
        row["ours"] = run_ours(setup, work / f"ours-trainer-{epsilon:g}", privacy=privacy)
        if flower:
            row["flower"] = run_flower(
                setup,
                data,
                work / f"flower-{epsilon:g}",
                extra_meta={"central_dp": {"noise_multiplier": z, "clip": clip}},
            )
        say(
            f"per trainer, ε = {epsilon:g}: ours {row['ours']['final_accuracy']:.4f}"
            + (f", Flower central DP {row['flower']['final_accuracy']:.4f}" if flower else "")
        )
        rows.append(row)
        save()
    return rows


def sample_rows(
    setup: Setup, epsilons: list[float], work: Path, *, clip: float, lr: float, rows: Rows, save: Any
) -> Rows:
    for epsilon in [e for e in epsilons if math.isfinite(e) and not _done(rows, e)]:
        z = noise_for(epsilon, setup.rounds)
        privacy = {
            "privacy": "secagg",
            "epsilon": epsilon,
            "clip": clip,
            "dp_unit": "sample",
            "min_contributors": setup.trainers,
            "learning_rate": lr,
        }
        say(f"per sample, ε = {epsilon:g}: z = {z:.4f}, clip {clip}, lr {lr}")
        ours = run_ours(setup, work / f"ours-sample-{epsilon:g}", privacy=privacy)
        rows.append({"epsilon": epsilon, "noise_multiplier": z, "clip": clip, "learning_rate": lr, "ours": ours})
        save()
        say(f"per sample, ε = {epsilon:g}: ours {ours['final_accuracy']:.4f}")
    return rows


def cost_rows(setup: Setup, work: Path) -> dict[str, Any]:
    modes: dict[str, dict[str, Any] | None] = {
        "plaintext": None,
        "sealed": {"privacy": "sealed"},
        "secagg": {"privacy": "secagg", "clip": 10.0, "min_contributors": setup.trainers - 1},
        "secagg_dp_sample": {
            "privacy": "secagg",
            "epsilon": 8.0,
            "clip": 2.0,
            "dp_unit": "sample",
            "min_contributors": setup.trainers - 1,
            "learning_rate": 2.0,
        },
    }
    out = {}
    for name, privacy in modes.items():
        say(f"cost: {name}")
        result = run_ours(setup, work / f"cost-{name}", privacy=privacy)
        seconds = [r["seconds"] for r in result["rounds"]]
        out[name] = {
            "seconds_per_round": sum(seconds) / len(seconds),
            "final_accuracy": result["final_accuracy"],
            **result["cost"],
        }
        say(f"cost: {name}: {out[name]['seconds_per_round']:.1f} s, {out[name]['gas_per_round']:.0f} gas per round")
    return out


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.8), dpi=120)
    rows = report["accuracy_per_trainer"]
    labels = [f"{r['epsilon']:g}" if r["epsilon"] else "∞" for r in rows]
    xs = range(len(rows))
    ax.plot(
        xs,
        [r["ours"]["final_accuracy"] for r in rows],
        "o-",
        label="this system: secagg + distributed DP (per trainer)",
    )
    if rows and "flower" in rows[0]:
        ax.plot(xs, [r["flower"]["final_accuracy"] for r in rows], "s--", label="Flower central DP (per trainer)")
    sample = {r["epsilon"]: r for r in report.get("accuracy_per_sample", [])}
    if sample:
        ax.plot(
            [i for i, r in enumerate(rows) if r["epsilon"] in sample],
            [sample[r["epsilon"]]["ours"]["final_accuracy"] for r in rows if r["epsilon"] in sample],
            "^:",
            label="this system: secagg + distributed DP (per sample, DP-FedSGD)",
        )
    ax.set_xticks(list(xs), labels)
    ax.set_xlabel("ε (δ = 1e-5)")
    ax.set_ylabel("test accuracy after the last round")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    s = report["setup"]
    ax.set_title(f"{s['model']} on {s['dataset']}, {s['trainers']} trainers, {s['rounds']} rounds", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="MNIST-5k, MLP, 4 trainers, 3 rounds")
    parser.add_argument("--model", choices=("mlp", "cnn"), default=None, help="override the setup's model")
    parser.add_argument("--epsilons", default="inf,8,4,1")
    parser.add_argument("--clip", type=float, default=2.0, help="per-trainer clip (norm of an update's change)")
    # lr 1, C 1: the step that kept improving over 20 rounds (with 2 and 2 validators voted rounds 4-19 down)
    parser.add_argument("--sample-clip", type=float, default=1.0, help="per-sample clip of lr·gradient")
    parser.add_argument("--sample-lr", type=float, default=1.0, help="step size of the per-sample DP-SGD step")
    parser.add_argument("--no-flower", action="store_true")
    parser.add_argument("--no-sample", action="store_true")
    parser.add_argument("--no-trainer", action="store_true", help="skip the per-trainer rows")
    parser.add_argument("--no-cost", action="store_true")
    parser.add_argument(
        "--only-cost", action="store_true", help="only the cost of each mode (reports/privacy_cost.json)"
    )
    parser.add_argument("--out", default=None)
    parser.add_argument("--resume", action="store_true", help="keep the rows an earlier run of --out already wrote")
    args = parser.parse_args()
    setup = QUICK if args.quick else FULL
    if args.model:
        setup = replace(setup, model=args.model)
    epsilons = [float(e) for e in args.epsilons.split(",")]
    name = args.out or str(REPORTS / ("privacy_quick.json" if args.quick else "privacy.json"))
    started = time.time()
    report: dict[str, Any] = {"setup": setup.as_dict(), "machine": machine(), "delta": DELTA, "epsilons": epsilons}
    if args.only_cost:
        with tempfile.TemporaryDirectory(prefix="bench-privacy-") as tmp:
            cost = {
                "setup": replace(QUICK, rounds=3).as_dict(),
                "machine": machine(),
                "cost": cost_rows(replace(QUICK, rounds=3), Path(tmp)),
            }
        cost["machine"]["load_average_at_end"] = list(os.getloadavg())
        say(f"wrote {write_report(args.out or 'privacy_cost.json', cost)}")
        return
    path = Path(name)
    if args.resume and path.exists():
        previous = json.loads(path.read_text())
        report |= {k: previous[k] for k in ("accuracy_per_trainer", "accuracy_per_sample", "cost") if k in previous}
        say(
            f"resuming {path}: keeping {len(report.get('accuracy_per_trainer', []))} + "
            f"{len(report.get('accuracy_per_sample', []))} rows"
        )

    def save() -> None:  # after every row, so that a crash loses one run, not all of them
        report["seconds"] = time.time() - started
        write_report(path.name, report, path.parent)

    report.setdefault("accuracy_per_trainer", [])
    report.setdefault("accuracy_per_sample", [])
    with tempfile.TemporaryDirectory(prefix="bench-privacy-") as tmp:
        work = Path(tmp)
        data = load(setup)
        if not args.no_trainer:
            accuracy_rows(
                setup,
                epsilons,
                work,
                clip=args.clip,
                flower=not args.no_flower,
                data=data,
                rows=report["accuracy_per_trainer"],
                save=save,
            )
        if not args.no_sample:
            sample_rows(
                setup,
                epsilons,
                work,
                clip=args.sample_clip,
                lr=args.sample_lr,
                rows=report["accuracy_per_sample"],
                save=save,
            )
        if not args.no_cost and "cost" not in report:
            report["cost"] = cost_rows(replace(QUICK, rounds=3), work)
    report["seconds"] = time.time() - started
    write_report(path.name, report, path.parent)
    plot(report, path.with_suffix(".png"))
    say(f"wrote {path} and {path.with_suffix('.png')} in {report['seconds']:.0f}s")


if __name__ == "__main__":
    main()
