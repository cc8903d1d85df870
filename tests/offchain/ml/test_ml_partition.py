"""Partitioners cover every sample once, repeat per seed, and skew labels when asked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from offchain.ml.errors import PartitionError
from offchain.ml.partition import Partitioner, dirichlet, iid, parse_partition, shards

REPO_ROOT = Path(__file__).resolve().parents[3]
LABELS = np.repeat(np.arange(10), 60)  # 600 samples, 10 balanced classes


def _assert_exact_cover(parts: list[np.ndarray], n: int) -> None:
    joined = np.concatenate(parts)
    assert len(joined) == n, "some sample is assigned twice or not at all"
    assert np.array_equal(np.sort(joined), np.arange(n))
    assert all(part.dtype == np.int64 and len(part) > 0 for part in parts)


def _mean_classes_per_client(parts: list[np.ndarray]) -> float:
    return float(np.mean([len(np.unique(LABELS[part])) for part in parts]))


@pytest.mark.parametrize("spec", ["iid", "dirichlet:0.5", "dirichlet:0.05", "shards:2"])
def test_every_partition_covers_each_sample_exactly_once(spec: str) -> None:
    parts = parse_partition(spec).split(LABELS, 8, seed=3)
    assert len(parts) == 8
    _assert_exact_cover(parts, len(LABELS))


@pytest.mark.parametrize("spec", ["iid", "dirichlet:0.5", "shards:2"])
def test_same_seed_same_partition_other_seed_other_partition(spec: str) -> None:
    partitioner = parse_partition(spec)
    first, again = partitioner.split(LABELS, 5, seed=11), partitioner.split(LABELS, 5, seed=11)
    other = partitioner.split(LABELS, 5, seed=12)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_iid_sizes_differ_by_at_most_one_and_every_client_sees_most_classes() -> None:
    parts = iid(len(LABELS), 7, seed=0)
    sizes = [len(part) for part in parts]
    assert max(sizes) - min(sizes) <= 1
    assert _mean_classes_per_client(parts) == 10.0


def test_dirichlet_with_small_alpha_is_far_more_skewed_than_iid() -> None:
    skewed = dirichlet(LABELS, 10, 0.1, seed=0)
    balanced = dirichlet(LABELS, 10, 100.0, seed=0)
    assert _mean_classes_per_client(skewed) < 5.0
    assert _mean_classes_per_client(balanced) == 10.0


def test_dirichlet_gives_every_client_a_sample_even_when_clients_outnumber_classes() -> None:
    parts = dirichlet(LABELS, 100, 0.01, seed=5)
    _assert_exact_cover(parts, len(LABELS))


def test_two_shards_per_client_give_at_most_a_few_classes_each() -> None:
    parts = shards(LABELS, 10, 2, seed=0)
    assert [len(part) for part in parts] == [60] * 10
    assert max(len(np.unique(LABELS[part])) for part in parts) <= 4
    assert _mean_classes_per_client(parts) <= 3.0


def test_too_few_samples_is_refused() -> None:
    with pytest.raises(PartitionError, match=r"too few"):
        iid(3, 4, seed=0)
    with pytest.raises(PartitionError, match=r"too few"):
        shards(LABELS[:10], 4, 3, seed=0)


def test_parse_partition_reads_kind_and_parameter() -> None:
    assert parse_partition("iid") == Partitioner("iid")
    assert parse_partition("dirichlet:0.5") == Partitioner("dirichlet", 0.5)
    assert parse_partition(" shards:2 ") == Partitioner("shards", 2.0)
    assert str(parse_partition("dirichlet:0.5")) == "dirichlet:0.5"
    assert str(parse_partition("shards:2")) == "shards:2"


@pytest.mark.parametrize(
    "spec", ["", "random", "iid:3", "dirichlet", "dirichlet:0", "dirichlet:x", "shards:1.5", "shards:0"]
)
def test_parse_partition_refuses_malformed_specs(spec: str) -> None:
    with pytest.raises(PartitionError, match=r"iid, dirichlet:<alpha>|must be"):
        parse_partition(spec)


def test_importing_ml_modules_does_not_import_tensorflow() -> None:
    # TF costs ~2 s to import: only calling into models/weights/train may load it.
    modules = "offchain.ml.partition, offchain.ml.datasets, offchain.ml.models, offchain.ml.weights, offchain.ml.train"
    code = f"import sys, {modules}; sys.exit(int('tensorflow' in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=False)
    assert result.returncode == 0, "importing offchain.ml modules imported TensorFlow"
