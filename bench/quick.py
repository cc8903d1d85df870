"""`make bench-quick`: a reduced side-by-side run (Fashion-MNIST, the small mlp model, 4 trainers,
2 validators, 3 rounds, Dirichlet 0.5, 1 local epoch) in well under 10 minutes on 2 cores.

Writes reports/bench_quick.json (headline keys first, the full comparison under "details")
and reports/bench_quick_accuracy.png, reports/bench_quick_round_time.png.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench.common import REPORTS, Setup, say, write_report
from bench.compare import compare

QUICK = Setup(dataset="fashion-mnist", model="mlp", trainers=4, validators=2, rounds=3, alpha=0.5, epochs=1)


def quick(setup: Setup = QUICK, *, reports: Path = REPORTS, registration: int = 25, name: str = "bench_quick") -> dict:
    started = time.time()
    report = compare(
        setup,
        out=reports / f"{name}_details.json",
        plots=(reports / f"{name}_accuracy.png", reports / f"{name}_round_time.png"),
        registration=registration,
        contestants=("ours", "flower", "centralized"),
    )
    ours, flower, central = report["ours"], report["flower"], report["centralized"]
    result = {
        "ours_final_accuracy": ours["final_accuracy"],
        "flower_final_accuracy": flower["final_accuracy"],
        "centralized_final_accuracy": central["final_accuracy"],
        "ours_round_seconds": ours["mean_round_seconds"],
        "flower_round_seconds": flower["mean_round_seconds"],
        "ratios": report["ratios"],
        "ours_round_split_seconds": ours["mean_split"],
        "setup": report["setup"],
        "machine": report["machine"],
        "seconds": time.time() - started,
        "details": f"{name}_details.json",
    }
    write_report(f"{name}.json", result, reports)
    say(f"wrote {reports / f'{name}.json'} in {result['seconds']:.0f}s")
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reports", type=Path, default=REPORTS)
    a = p.parse_args()
    quick(reports=a.reports)


if __name__ == "__main__":
    main()
