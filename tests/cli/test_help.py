"""What `--help` promises about defaults matches what the commands do."""

from __future__ import annotations

import os
import subprocess
import sys

DFL = [sys.executable, "-m", "offchain.cli.main"]


def _option_help(command: str, option: str) -> str:
    out = subprocess.run(
        [*DFL, command, "--help"], capture_output=True, text=True, env={**os.environ, "COLUMNS": "400"}, check=True
    ).stdout
    return next(line for line in out.splitlines() if f"{option} " in line)


def test_trainer_help_says_its_default_stake_backs_its_samples_and_validator_help_the_minimum() -> None:
    # `offchain.workers.trainer.Trainer.stake_amount`: max(task minimum, local samples x stakePerSample).
    assert "stake per sample" in _option_help("trainer", "--stake")
    validator = _option_help("validator", "--stake")
    assert "the task's minimum" in validator and "per sample" not in validator
