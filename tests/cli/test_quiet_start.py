"""TensorFlow stays out of the user's terminal: commands that need no model never import it, and
one that runs a model prints none of its start-up lines (oneDNN, absl) on stderr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from offchain.ml.datasets import load_dataset
from offchain.ml.files import save_model_file
from offchain.ml.models import build_model
from offchain.services.requester import TaskSettings, create_task
from support import DevnetDeployment, publish_digits

DFL = [sys.executable, "-m", "offchain.cli.main"]
TF_NOISE = ("oneDNN", "absl::InitializeLog", "cpu_feature_guard", "I0000", "W0000")


@pytest.fixture(scope="module")
def task(protocol: DevnetDeployment) -> int:
    published = publish_digits(protocol.ipfs_api, eval_samples=20)
    return create_task(protocol.manager(0), published, TaskSettings(num_rounds=2, registration=3600))


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["task", "list"],
        ["task", "show", "{task}"],
        ["round", "show", "{task}", "0"],
        ["rewards", "show", "--task", "{task}"],
        ["stake", "--task", "{task}", "--role", "trainer", "--amount", "-1"],
        ["round", "finalize", "{task}", "--dev-account", "7"],
    ],
    ids=lambda a: " ".join(a),
)
def test_commands_without_a_model_never_import_tensorflow(
    protocol: DevnetDeployment, task: int, args: list[str]
) -> None:
    argv = [a.format(task=task) for a in args]
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "offchain.cli.main", *argv],
        capture_output=True,
        text=True,
        env=protocol.env(),
        timeout=120,
    )
    imported = [
        line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")
    ]
    assert len(imported) > 100  # the import log is there to read
    assert not [m for m in imported if m.split(".")[0] in ("tensorflow", "keras")]


def test_a_command_that_runs_a_model_prints_no_tensorflow_start_up_lines(
    protocol: DevnetDeployment, tmp_path: Path
) -> None:
    digits = load_dataset("digits", seed=0)
    model = build_model("mlp", input_shape=digits.input_shape, num_classes=digits.num_classes, seed=0)
    save_model_file(model, tmp_path / "model.keras")
    np.savez(tmp_path / "test.npz", x=digits.x_test[:30], y=digits.y_test[:30])
    result = subprocess.run(
        [*DFL, "predict", str(tmp_path / "model.keras"), str(tmp_path / "test.npz")],
        capture_output=True,
        text=True,
        env=protocol.env(),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "30 samples, accuracy" in result.stdout
    assert result.stderr == ""
    assert not [n for n in TF_NOISE if n in result.stdout + result.stderr]
