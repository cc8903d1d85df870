"""What every comparison shares: the setup, the data shares, reports and machine facts.

Runs in the project's .venv except `write_shares`' output, which the Flower run (its own
virtualenv) reads back, so all three contestants train on byte-identical shares.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from offchain.ml.datasets import Dataset

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "reports"
FLOWER_PYTHON = ROOT / "bench" / ".venv-flower" / "bin" / "python"


@dataclass(frozen=True)
class Setup:
    """One experiment's data, model and hyperparameters, identical for all contestants.

    Trainer i trains with seed `seed + i`, and in (0-based) round r with `seed + i + r`, as
    the demo's trainers do; the initial model is `build_model(model, seed=seed)`.
    """

    dataset: str = "fashion-mnist"
    model: str = "cnn"
    trainers: int = 10
    validators: int = 3
    rounds: int = 20
    alpha: float = 0.5
    epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 0.1
    seed: int = 0
    delta_bound: float = 0.0  # the task's norm bound on an update's change (0: none), for robustness runs

    @property
    def partition(self) -> str:
        return f"dirichlet:{self.alpha:g}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"partition": self.partition}


def load(setup: Setup) -> Dataset:
    from offchain.ml.datasets import load_dataset

    return load_dataset(setup.dataset, seed=setup.seed)


def shares(setup: Setup, y_train: np.ndarray) -> list[np.ndarray]:
    """The trainers' index sets: the same call the demo makes (offchain.demo.run._shares)."""
    from offchain.ml.partition import parse_partition

    return parse_partition(setup.partition).split(y_train, setup.trainers, seed=setup.seed)


def write_shares(setup: Setup, data: Any, folder: Path) -> Path:
    """trainer-<i>.npz (x, y) per trainer, test.npz and meta.json: the Flower run's input."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, idx in enumerate(shares(setup, data.y_train)):
        np.savez(folder / f"trainer-{i}.npz", x=data.x_train[idx], y=data.y_train[idx])
    np.savez(folder / "test.npz", x=data.x_test, y=data.y_test)
    meta = setup.as_dict() | {"input_shape": list(data.input_shape), "num_classes": data.num_classes}
    (folder / "meta.json").write_text(json.dumps(meta, indent=1))
    return folder


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    mem = 0
    try:
        mem = (
            int(
                next(
                    line.split()[1]
                    for line in Path("/proc/meminfo").read_text().splitlines()
                    if line.startswith("MemTotal")
                )
            )
            // 1024
        )
    except (OSError, StopIteration):
        pass
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_mib": mem,
        "python": platform.python_version(),
        "os": platform.platform(),
        "load_average_at_start": list(os.getloadavg()),
        "commit": commit,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def write_report(name: str, payload: dict[str, Any], folder: Path = REPORTS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(payload, indent=1, default=float) + "\n")
    return path


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def run_round(global_weights: Any, updates: list[Any], config: Any, *, bound_micro: int = 0, pool: int = 10**21) -> Any:
    """The validators' round computation (`offchain.fl.round.compute_round`) over `updates`, with every
    validator holding every update: what a round of the real protocol would give, without the chain."""
    from offchain.fl.availability import Attestation, bitmap
    from offchain.fl.codec import encode_weights
    from offchain.fl.round import Addressing, Reveal, RoundTerms, compute_round
    from offchain.fl.screening import Checks
    from offchain.storage.cid import compute_cid, is_cid
    from offchain.types import TensorSpec

    contents = {i: encode_weights(u.weights) for i, u in enumerate(updates)}
    reveals = [Reveal(i, u.trainer, compute_cid(contents[i]), u.num_samples) for i, u in enumerate(updates)]
    held = bitmap(range(len(updates)), len(updates))
    attestations = [Attestation(f"0x{9000 + v:040x}", held, 1, 3) for v in range(3)]
    specs = [TensorSpec(n, tuple(a.shape)) for n, a in sorted(global_weights.items())]
    terms = RoundTerms(1, 0, config, Checks(specs, 1 << 30, bound_micro), 6000, pool)
    return compute_round(
        terms, "QmParent", global_weights, reveals, attestations, contents, Addressing(compute_cid, is_cid)
    )
