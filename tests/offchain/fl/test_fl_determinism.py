"""Same inputs, different threads and SIMD dispatch: byte-identical aggregates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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


def _run(threads: int, *, disable_simd: bool, small_chunks: bool = False) -> dict[str, object]:
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


def test_aggregates_are_bit_identical_across_threads_and_simd_builds() -> None:
    narrow = _run(1, disable_simd=True)
    wide = _run(2, disable_simd=False)
    simd_flag = "x86_v3_dispatch"
    assert {k: v for k, v in narrow.items() if k != simd_flag} == {k: v for k, v in wide.items() if k != simd_flag}
    assert len(narrow) == 6  # five rules plus the SIMD flag
    if wide[simd_flag]:  # on CPUs with AVX2 the two runs really used different kernels
        assert narrow[simd_flag] is False


# Recorded with numpy 2.4.6 / safetensors 0.8.0 (x86-64, AVX-512). Validators on
# any machine must reproduce these bytes; a change here means honest validators
# on different setups would vote for different CIDs.
REFERENCE = {
    "fedavg": "a61c156433db73cc56da35367009dc73b18a62ef3ab5603074346e599c04fa93:c80f12cf893d59cf290f639afe50d22af674cda0340e74e32be7c759d4a76b9f",
    "median": "9d3107266cf390be3d601a6700fdc79bf564f33058db89072e113b82a5e6b6fb:d92522b0a9c210f765926f6dd730ca5a242ec5ae765234ffb86b0cadf67b487f",
    "trimmed_mean": "0110746276e0c91179724add13d5a37de6400adf6c3526128f0cbd4c78955aa3:d92522b0a9c210f765926f6dd730ca5a242ec5ae765234ffb86b0cadf67b487f",
    "multi_krum": "eaddc16491bb9ec3aea02ff58c2fa336261403e3fcf963252dcf0cb1e9e90ef3:58c4dcd35d314987e636274aa5e5a6bf64ff308bfc6095c4d84f67c7d4d128c2",
    "norm_clipped_fedavg": "e24493f3ba442a046f3b2fb93921d2cab684181e852d2c2b0b5152789fea4e3f:c80f12cf893d59cf290f639afe50d22af674cda0340e74e32be7c759d4a76b9f",
}


def test_aggregates_match_the_recorded_reference_bytes() -> None:
    got = _run(1, disable_simd=False)
    mismatched = sorted(rule for rule, digest in REFERENCE.items() if got[rule] != digest)
    assert not mismatched, f"aggregate bytes (sha256:merkle root) changed for {mismatched}"


def test_memory_bounded_chunks_give_the_same_bytes() -> None:
    """Median, trimmed mean and Krum's mean work on coordinate chunks so that 1,000 updates fit
    in memory; the chunk size must never show in the result."""
    got = _run(1, disable_simd=False, small_chunks=True)
    mismatched = sorted(rule for rule, digest in REFERENCE.items() if got[rule] != digest)
    assert not mismatched, f"aggregate bytes (sha256:merkle root) depend on the chunk size for {mismatched}"
