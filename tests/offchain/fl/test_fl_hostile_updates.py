"""Hostile update files never split validators: two processes with different thread and SIMD
settings screen the same corpus (hand-written and hypothesis-generated) into byte-identical round
receipts, every verdict is one of the project's reasons with a detail it derived itself, the
receipt's size stays bounded whatever the files hold, and decoding stays within a small constant
times the task's maximum update size in memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_corpus import MAX_BYTES, SPECS, handwritten, hostile_files
from hypothesis import HealthCheck, given, settings

from offchain.fl.codec import decode_weights
from offchain.fl.errors import InvalidUpdateError
from offchain.fl.reasons import Reason

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")
GENERATED = 80


def _generated() -> list[bytes]:
    """A fixed sample of hypothesis-generated hostile files (derandomized: the same on every run)."""
    found: list[bytes] = []

    @settings(max_examples=GENERATED, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(hostile_files())
    def collect(data: bytes) -> None:
        found.append(data)

    collect()
    return found


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    for name, data in handwritten().items():
        (folder / f"{name}.bin").write_bytes(data)
    for i, data in enumerate(_generated()):
        (folder / f"generated_{i:03d}.bin").write_bytes(data)
    return folder


def _screen_in_process(corpus: Path, threads: int, *, narrow_simd: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS and k != "NPY_DISABLE_CPU_FEATURES"}
    env |= {var: str(threads) for var in THREAD_VARS}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(HERE)])
    env["PYTHONHASHSEED"] = str(threads)  # different dict/set iteration orders in the two processes
    if narrow_simd:
        env["NPY_DISABLE_CPU_FEATURES"] = "X86_V3 X86_V4 AVX512_ICL AVX512_SPR"
    run = subprocess.run(
        [sys.executable, str(HERE / "hostile_corpus.py"), str(corpus)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout)


def test_two_processes_write_byte_identical_receipts_for_the_hostile_corpus(corpus: Path) -> None:
    one = _screen_in_process(corpus, 1, narrow_simd=True)
    two = _screen_in_process(corpus, 2, narrow_simd=False)
    assert one["receipt"] == two["receipt"] and one["verdicts"] == two["verdicts"]
    verdicts = one["verdicts"]
    assert len(verdicts) == len(list(corpus.glob("*.bin")))
    expected = {
        "offsets_outside_data": "malformed",
        "overlapping_offsets": "malformed",
        "gap_between_tensors": "malformed",
        "huge_declared_shape": "malformed",
        "shape_overflowing_u64": "malformed",
        "duplicate_names": "malformed",
        "non_utf8_name": "malformed",
        "truncated_data": "malformed",
        "trailing_bytes": "malformed",
        "zip_payload": "malformed",
        "pickle_payload": "malformed",
        "header_length_max_u64": "malformed",
        "header_is_array": "malformed",
        "deeply_nested_header": "malformed",
        "unknown_dtype": "malformed",
        "empty_file": "malformed",
        "f16_bias": "wrong_dtype",
        "wrong_shape_kernel": "wrong_shape",
        "missing_kernel": "missing_tensor",
        "extra_tensor_long_name": "malformed",  # a header longer than the model's tensors can need
        "extra_tensor": "extra_tensor",
        "nan_values": "non_finite",
        "huge_finite_values": "out_of_bounds",
        "copy_of_global": "unchanged",
        "too_large": "too_large",
        "reordered_but_valid": None,
        "metadata_ok": None,
        "honest_a": None,
    }
    assert {name: verdicts[name][0] for name in expected} == expected
    known = {str(r) for r in Reason} | {None}
    assert all(reason in known for reason, _, _ in verdicts.values())
    # Penalized exactly when the reason says only a broken or dishonest client produces it.
    assert all(penalized == (reason not in (None, "krum_excluded")) for reason, penalized, _ in verdicts.values())
    # Details are the project's own words: bounded, and never echo what the file holds.
    assert all(len(detail) <= 120 and "xxxxxxxx" not in detail for _, _, detail in verdicts.values())


def test_receipt_size_is_bounded_by_the_round_whatever_the_files_hold(corpus: Path) -> None:
    result = _screen_in_process(corpus, 1, narrow_simd=False)
    assert result["receipt_bytes"] <= 2_000 + 600 * len(result["verdicts"])


def test_decoding_hostile_files_stays_within_a_small_multiple_of_the_size_limit(corpus: Path) -> None:
    result = _screen_in_process(corpus, 1, narrow_simd=False)
    assert result["peak_over_max_bytes"] <= 2.0


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_files())
def test_any_file_decodes_or_fails_with_a_reason_and_a_derived_detail(data: bytes) -> None:
    try:
        decode_weights(data, SPECS, max_bytes=MAX_BYTES)
    except InvalidUpdateError as exc:
        assert exc.reason in set(Reason) and len(exc.detail) <= 120
        # The same bytes always fail the same way.
        with pytest.raises(InvalidUpdateError) as again:
            decode_weights(bytes(data), SPECS, max_bytes=MAX_BYTES)
        assert (again.value.reason, again.value.detail) == (exc.reason, exc.detail)
