"""The benchmark's building blocks at toy size, so the scripts cannot rot: the quick comparison
(this system on real anvil + IPFS + worker processes, Flower in its own virtualenv, centralized),
one robustness run, the aggregation-scale probe and the round-time split."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # `bench` lives at the project root, next to `offchain`

from bench.common import Setup  # noqa: E402
from bench.ours import round_timings, split_round  # noqa: E402

TOY = Setup(dataset="digits", model="mlp", trainers=2, validators=1, rounds=1, alpha=0.5)


def test_round_time_split_attributes_overlaps_by_priority_and_the_rest_to_waiting() -> None:
    spans = [("train", 0.0, 5.0), ("ipfs", 4.0, 6.0), ("chain", 6.0, 7.0), ("chain", 8.0, 9.0)]
    split = split_round(spans, 0.0, 10.0)
    assert split == {"training": 5.0, "aggregation": 0.0, "evaluation": 0.0, "ipfs": 1.0, "chain": 2.0, "waiting": 2.0}
    assert sum(split.values()) == pytest.approx(10.0)


def test_round_timings_run_from_one_finalization_to_the_next(tmp_path: Path) -> None:
    trainer = {
        "rounds": {
            "0": {"spans": [["train", 100.0, 104.0], ["chain", 104.0, 105.0]], "train_seconds": 4.0},
            "1": {"spans": [["train", 111.0, 113.0]], "train_seconds": 2.0},
        }
    }
    validator = {
        "rounds": {
            "0": {"spans": [["aggregation", 106.0, 107.0], ["chain", 108.0, 110.0]], "finalized_at": 110.0},
            "1": {"spans": [["chain", 118.0, 120.0]], "finalized_at": 120.0},
        }
    }
    for name, state in (("trainer.json", trainer), ("validator.json", validator)):
        (tmp_path / name).write_text(json.dumps(state))
    rounds = round_timings(sorted(tmp_path.glob("*.json")), 2)
    assert [r["seconds"] for r in rounds] == [10.0, 10.0]
    assert rounds[1]["split"]["training"] == 2.0 and rounds[1]["split"]["waiting"] == 6.0
    assert rounds[0]["trainer_train_seconds"] == [4.0]


def test_quick_comparison_at_toy_size_writes_the_headline_keys(tmp_path: Path) -> None:
    from bench.quick import quick

    # Flower lives in its own virtualenv; build it as `make bench-quick` does (idempotent, ~40 s once).
    subprocess.run([str(ROOT / "bench" / "setup_flower.sh")], check=True, timeout=900)

    result = quick(TOY, reports=tmp_path, registration=15, name="toy")
    saved = json.loads((tmp_path / "toy.json").read_text())
    for key in (
        "ours_final_accuracy",
        "flower_final_accuracy",
        "centralized_final_accuracy",
        "ours_round_seconds",
        "flower_round_seconds",
    ):
        assert key in saved and saved[key] > 0, key
    # Same shares, initial weights, seeds and local training: FedAvg must land on (nearly) the same model.
    assert abs(result["ours_final_accuracy"] - result["flower_final_accuracy"]) <= 0.02
    assert (tmp_path / "toy_accuracy.png").stat().st_size > 0 and (tmp_path / "toy_round_time.png").stat().st_size > 0


def test_robustness_run_rejects_free_riders_and_krum_leaves_out_the_sign_flippers() -> None:
    from bench.common import load, shares
    from bench.robustness import run_one

    setup = Setup(dataset="digits", model="mlp", trainers=10, rounds=1)
    data = load(setup)
    parts = shares(setup, data.y_train)
    free = run_one(setup, data, parts, "fedavg", "free_rider", [7, 8, 9], clip_bound=1.0)
    assert free["rejected_per_round"] == [3]  # bit-identical to G_r: the acceptance check refuses a free ride
    flip = run_one(setup, data, parts, "multi_krum", "sign_flip", [7, 8, 9], clip_bound=1.0)
    assert flip["rejected_per_round"] == [3] and 0.0 <= flip["final_accuracy"] <= 1.0


def test_aggregation_scale_probe_measures_seconds_and_peak_rss(tmp_path: Path) -> None:
    from bench.scale_aggregate import run

    result = run([3], ["fedavg"], folder=tmp_path)
    (probe,) = result["runs"]
    assert probe["n"] == 3 and probe["accepted"] == 3
    assert probe["seconds"] > 0 and probe["peak_rss_mib"] > 4 * 3  # three 4 MB updates were held


def test_robustness_in_parallel_jobs_reports_every_run_and_marks_the_report_complete(tmp_path: Path) -> None:
    from bench.robustness import robustness

    setup = Setup(dataset="digits", model="mlp", trainers=10, rounds=1)
    report = robustness(
        setup,
        rules=("fedavg", "multi_krum"),
        attacks=("none", "free_rider"),
        out=str(tmp_path / "rob.json"),
        plot_path=None,
        jobs=2,
    )
    saved = json.loads((tmp_path / "rob.json").read_text())
    assert saved["complete"] is True and saved["jobs"] == 2
    assert {(r["attack"], r["rule"]) for r in saved["runs"]} == {
        (a, r) for a in ("none", "free_rider") for r in ("fedavg", "multi_krum")
    }
    assert report["final_accuracy"]["free_rider"].keys() == {"fedavg", "multi_krum"}
    free = next(r for r in saved["runs"] if r["attack"] == "free_rider" and r["rule"] == "fedavg")
    assert free["rejected_per_round"] == [3]
