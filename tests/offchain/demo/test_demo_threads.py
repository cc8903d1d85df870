"""How many TensorFlow threads each demo worker gets when workers share a machine."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from offchain.demo.config import DemoConfig
from offchain.demo.run import tf_threads_per_worker


def test_workers_that_outnumber_the_cores_share_them_instead_of_each_taking_all() -> None:
    assert tf_threads_per_worker(13, 2) == 1
    assert tf_threads_per_worker(7, 16) == 0  # enough cores: TensorFlow's own default
    assert tf_threads_per_worker(4, 3) == 1
    assert tf_threads_per_worker(5, 12) == 0


def test_an_explicit_request_wins_over_the_setting_and_the_setting_over_the_share() -> None:
    assert tf_threads_per_worker(13, 2, requested=0, configured=3) == 0
    assert tf_threads_per_worker(13, 2, requested=2) == 2
    assert tf_threads_per_worker(13, 2, configured=3) == 3


def test_a_negative_thread_count_is_refused_before_anything_starts() -> None:
    with pytest.raises(ValueError, match="TensorFlow threads per worker must be 0"):
        DemoConfig(tf_threads=-1)


def test_a_worker_with_a_negative_thread_setting_says_so_and_exits_1() -> None:
    env = {**os.environ, "DFL_TF_THREADS": "-1"}
    run = subprocess.run(
        [sys.executable, "-m", "offchain.cli.main", "trainer", "--task", "1", "--data", "digits", "--dev-account", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "DFL_TF_THREADS" in run.stderr + run.stdout and "Traceback" not in run.stderr
