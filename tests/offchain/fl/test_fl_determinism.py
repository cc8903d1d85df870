"""Same inputs, different threads and SIMD dispatch: byte-identical aggregates, receipts and roots."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)
# Turns off numpy's AVX2/AVX-512 kernels so the baseline (SSE) loops run instead.
NO_WIDE_SIMD = "X86_V3 X86_V4 AVX512_ICL AVX512_SPR"


def _run(threads: int, *, disable_simd: bool, small_chunks: bool = False) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS and k != "NPY_DISABLE_CPU_FEATURES"}
    env |= {var: str(threads) for var in THREAD_VARS}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(HERE)])
    if disable_simd:
        env["NPY_DISABLE_CPU_FEATURES"] = NO_WIDE_SIMD
    run = subprocess.run(
        [sys.executable, str(HERE / "fl_determinism_job.py"), *(["--small-chunks"] if small_chunks else [])],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(run.stdout)


def test_rounds_are_bit_identical_across_threads_and_simd_builds() -> None:
    narrow = _run(1, disable_simd=True)
    wide = _run(2, disable_simd=False)
    simd_flag = "x86_v3_dispatch"
    assert {k: v for k, v in narrow.items() if k != simd_flag} == {k: v for k, v in wide.items() if k != simd_flag}
    assert len(narrow) == 7  # six rules plus the SIMD flag
    if wide[simd_flag]:  # on CPUs with AVX2 the two runs really used different kernels
        assert narrow[simd_flag] is False


# The aggregates of the same accepted updates, recorded with numpy 2.4.6 / safetensors 0.8.0
# (x86-64, AVX-512) before rounds had scores, norm bounds and v2 receipts: the rules' arithmetic
# must never move (consensus_fedavg is newer: re-recorded when its scores' consensus direction
# became weighted by samples, issue 12, and when its clip became the weighted median norm, issue 19).
# Validators on any machine must reproduce these bytes;
# a change here means honest validators on different setups would vote for different CIDs.
AGGREGATES = {
    "fedavg": "a61c156433db73cc56da35367009dc73b18a62ef3ab5603074346e599c04fa93",
    "median": "9d3107266cf390be3d601a6700fdc79bf564f33058db89072e113b82a5e6b6fb",
    "trimmed_mean": "0110746276e0c91179724add13d5a37de6400adf6c3526128f0cbd4c78955aa3",
    "multi_krum": "eaddc16491bb9ec3aea02ff58c2fa336261403e3fcf963252dcf0cb1e9e90ef3",
    "norm_clipped_fedavg": "e24493f3ba442a046f3b2fb93921d2cab684181e852d2c2b0b5152789fea4e3f",
    "consensus_fedavg": "623a5d444b8d966c1843fdde9d9f21dc517bb855d4935a1682a1a36a442f4a25",
}
# Full rounds (receipt : model : reward root : penalty root), recorded the same way (re-recorded for
# the sample-weighted consensus direction of the scores, issue 12, and for receipt v4's reward scores,
# counted samples and reward groups, with a public change G_r - G_{r-1} to project out, issue 19).
ROUNDS = {
    "fedavg": "bb85e3b6d9b31f1805afbf3a80f479511fe97ddc26b63ffeea8ef249b15d6b8c:e542f7d36b6e95b25dc17dafdf32f00fbfee9223bc0f3a308ad0c23792e2b55a:b8f1b2a2f32f3894991ccd407253b9fc42e454874f01d6df7f4252fd49e7385d:85b01a8792617a617b36244b4433d92ebaad2852d85f536066e125c88b8c662a",
    "median": "d3324fdd0d6fa084289b48576c80b11a0e08dbd63be49cbcdf62e18b906b0135:e8c95e3b0382acc6b05e50bde2945e19bb4e1bfd58e4dcd283078558ddcea4d9:b8f1b2a2f32f3894991ccd407253b9fc42e454874f01d6df7f4252fd49e7385d:85b01a8792617a617b36244b4433d92ebaad2852d85f536066e125c88b8c662a",
    "trimmed_mean": "8ee5a485ad74df3f78bc867e2439a069a3b2e47e73bc6cbf366838137d2d55c2:b6b9a435c13eae6ae60a9aff80c4ba540efaf83eca1a746b3ca33c7235b0e99e:b8f1b2a2f32f3894991ccd407253b9fc42e454874f01d6df7f4252fd49e7385d:85b01a8792617a617b36244b4433d92ebaad2852d85f536066e125c88b8c662a",
    "multi_krum": "b7502fe2f8517b36b685005447c0d0ddf188db7417acd7bf00249695df851f24:604580030c23809db5ea64e77eabceab4eb1783d3d5c6f9c1ac0e8507cf17511:b8f1b2a2f32f3894991ccd407253b9fc42e454874f01d6df7f4252fd49e7385d:85b01a8792617a617b36244b4433d92ebaad2852d85f536066e125c88b8c662a",
    "norm_clipped_fedavg": "59ef5858becd22993bb5993a8fe14e2259a62d0e12e429e316df2fd4b4a9ea0a:e542f7d36b6e95b25dc17dafdf32f00fbfee9223bc0f3a308ad0c23792e2b55a:b8f1b2a2f32f3894991ccd407253b9fc42e454874f01d6df7f4252fd49e7385d:85b01a8792617a617b36244b4433d92ebaad2852d85f536066e125c88b8c662a",
    "consensus_fedavg": "4d7fdf2623212dcc9134ac5e2460ab3d546f73fd673750763f438515ccb08d4f:7124de0d7bedd358e25964b7b2b784eeb1c1a61f9199831c0dbe5eeb3a9b23b2:b8f1b2a2f32f3894991ccd407253b9fc42e454874f01d6df7f4252fd49e7385d:85b01a8792617a617b36244b4433d92ebaad2852d85f536066e125c88b8c662a",
}


def test_aggregates_match_the_recorded_reference_bytes() -> None:
    got = _run(1, disable_simd=False)
    mismatched = sorted(rule for rule, digest in AGGREGATES.items() if got[rule]["aggregate"] != digest)
    assert not mismatched, f"aggregate bytes changed for {mismatched}"
    mismatched = sorted(rule for rule, digest in ROUNDS.items() if got[rule]["round"] != digest)
    assert not mismatched, f"round receipts, models or Merkle roots changed for {mismatched}"


def test_memory_bounded_chunks_give_the_same_bytes() -> None:
    """Median, trimmed mean, Krum's mean and the scores' consensus direction work on coordinate
    chunks so that 1,000 updates fit in memory; the chunk size must never show in the result."""
    got = _run(1, disable_simd=False, small_chunks=True)
    mismatched = sorted(rule for rule in ROUNDS if got[rule] != {"aggregate": AGGREGATES[rule], "round": ROUNDS[rule]})
    assert not mismatched, f"round bytes depend on the chunk size for {mismatched}"
