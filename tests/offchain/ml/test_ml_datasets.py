"""Datasets load offline, scaled to [0, 1], with clear errors for bad inputs."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from offchain.ml.datasets import Dataset, adapt_inputs, load_dataset
from offchain.ml.errors import DatasetError
from offchain.ml.idx import parse_idx, read_idx


def _assert_well_formed(dataset: Dataset, *, train: int, test: int, input_shape: tuple[int, ...]) -> None:
    assert dataset.x_train.shape == (train, *input_shape)
    assert dataset.x_test.shape == (test, *input_shape)
    assert dataset.input_shape == input_shape
    for x in (dataset.x_train, dataset.x_test):
        assert x.dtype == np.float32
        assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    for y in (dataset.y_train, dataset.y_test):
        assert y.dtype == np.int64
        assert int(y.min()) >= 0 and int(y.max()) < dataset.num_classes


def test_fashion_mnist_loads_full_train_and_test_sets() -> None:
    dataset = load_dataset("fashion-mnist")
    _assert_well_formed(dataset, train=60000, test=10000, input_shape=(28, 28, 1))
    assert dataset.num_classes == 10 and len(dataset.class_names) == 10
    assert float(dataset.x_train.max()) == 1.0  # 255 pixels scale to exactly 1
    assert np.bincount(dataset.y_train).tolist() == [6000] * 10


def test_mnist_5k_splits_deterministically_into_4000_and_1000() -> None:
    first, second = load_dataset("mnist-5k"), load_dataset("mnist-5k")
    _assert_well_formed(first, train=4000, test=1000, input_shape=(28, 28, 1))
    assert first.num_classes == 10
    assert np.array_equal(first.y_test, second.y_test) and np.array_equal(first.x_train, second.x_train)
    assert len(np.unique(first.y_test)) == 10  # the source file is sorted by label: the split must shuffle


def test_digits_loads_as_8x8_images() -> None:
    dataset = load_dataset("digits")
    _assert_well_formed(dataset, train=1438, test=359, input_shape=(8, 8, 1))
    assert dataset.num_classes == 10
    assert float(dataset.x_train.max()) == 1.0


def test_missing_fashion_mnist_says_which_package_to_install(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"apt-get install dataset-fashion-mnist"):
        load_dataset("fashion-mnist", fashion_mnist_dir=tmp_path)


def test_unknown_name_lists_the_choices() -> None:
    with pytest.raises(DatasetError, match=r"fashion-mnist, mnist-5k, digits"):
        load_dataset("cifar-100")


def test_npz_without_test_arrays_is_split_and_scaled(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "mine.npz"
    np.savez(path, x=rng.integers(0, 256, size=(50, 12, 12), dtype=np.uint8), y=np.arange(50) % 3)
    dataset = load_dataset(path, test_fraction=0.2)
    _assert_well_formed(dataset, train=40, test=10, input_shape=(12, 12, 1))
    assert dataset.num_classes == 3


def test_npz_with_test_arrays_keeps_them_and_float_pixels_as_given(tmp_path: Path) -> None:
    path = tmp_path / "mine.npz"
    x, x_test = np.full((6, 4), 0.5, dtype=np.float32), np.full((2, 4), 0.25, dtype=np.float32)
    np.savez(path, x=x, y=np.array([0, 1, 2, 0, 1, 2]), x_test=x_test, y_test=np.array([1, 0]))
    dataset = load_dataset(path)
    assert np.array_equal(dataset.x_train, x) and np.array_equal(dataset.x_test, x_test)
    assert dataset.input_shape == (4,) and dataset.num_classes == 3


def test_npz_with_pickled_objects_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.npz"
    np.savez(path, x=np.array([{"a": 1}, None], dtype=object), y=np.array([0, 1]))
    with pytest.raises(DatasetError, match=r"no pickles"):
        load_dataset(path)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"x": np.zeros((4, 3))}, r"must contain arrays 'x' and 'y'"),
        ({"x": np.zeros((4, 3)), "y": np.zeros(5, dtype=int)}, r"one label per sample"),
        ({"x": np.zeros((4, 3)), "y": np.array([0.0, 1.0, 0.0, 1.0])}, r"class indices"),
        ({"x": np.full((4, 3), 300.0), "y": np.array([0, 1, 0, 1])}, r"\[0, 255\]"),
        ({"x": np.zeros((4, 3)), "y": np.array([0, 1, 0, 1]), "x_test": np.zeros((1, 3))}, r"both 'x_test'"),
    ],
)
def test_malformed_npz_is_refused_with_the_reason(tmp_path: Path, arrays: dict, message: str) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DatasetError, match=message):
        load_dataset(path)


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_damaged_npz_is_a_dataset_error_not_a_zip_traceback(tmp_path: Path, damage: str) -> None:
    good = tmp_path / "good.npz"
    np.savez(good, x=np.zeros((40, 3)), y=np.arange(40) % 2)
    path = tmp_path / "damaged.npz"
    data = good.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(DatasetError, match=r"cannot read .*damaged.npz.*re-create the file"):
        load_dataset(path)


def test_held_out_counts_the_samples_split_off_and_is_zero_for_a_given_test_split(tmp_path: Path) -> None:
    path = tmp_path / "mine.npz"
    np.savez(path, x=np.zeros((50, 3)), y=np.arange(50) % 2)
    assert load_dataset(path, test_fraction=0.2).held_out == 10
    np.savez(path, x=np.zeros((5, 3)), y=np.arange(5) % 2, x_test=np.zeros((2, 3)), y_test=np.array([0, 1]))
    assert load_dataset(path).held_out == 0


def _write_images(folder: Path, classes: dict[str, int], *, size: tuple[int, int] = (20, 30)) -> None:
    rng = np.random.default_rng(1)
    for name, count in classes.items():
        (folder / name).mkdir(parents=True)
        for i in range(count):
            pixels = rng.integers(0, 256, size=(*size, 3), dtype=np.uint8)
            suffix = ".png" if i % 2 else ".jpg"
            Image.fromarray(pixels, mode="RGB").save(folder / name / f"{i}{suffix}")


def test_image_folder_is_read_as_resized_grayscale_and_split(tmp_path: Path) -> None:
    _write_images(tmp_path / "pets", {"cat": 6, "dog": 4})
    (tmp_path / "pets" / "cat" / "notes.txt").write_text("not an image")
    dataset = load_dataset(tmp_path / "pets", image_size=(16, 16), test_fraction=0.3)
    _assert_well_formed(dataset, train=7, test=3, input_shape=(16, 16, 1))
    assert dataset.class_names == ("cat", "dog") and dataset.num_classes == 2


def test_image_folder_with_train_and_test_subfolders_uses_them(tmp_path: Path) -> None:
    _write_images(tmp_path / "pets" / "train", {"cat": 3, "dog": 3})
    _write_images(tmp_path / "pets" / "test", {"cat": 1, "dog": 1})
    dataset = load_dataset(tmp_path / "pets")
    _assert_well_formed(dataset, train=6, test=2, input_shape=(28, 28, 1))
    assert dataset.y_test.tolist() == [0, 1]


def test_unreadable_image_names_the_file(tmp_path: Path) -> None:
    _write_images(tmp_path / "pets", {"cat": 2, "dog": 2})
    (tmp_path / "pets" / "dog" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError, match=r"broken\.png"):
        load_dataset(tmp_path / "pets")


def test_image_folder_without_class_subfolders_is_refused(tmp_path: Path) -> None:
    (tmp_path / "flat").mkdir()
    with pytest.raises(DatasetError, match=r"one subfolder per class"):
        load_dataset(tmp_path / "flat")


def test_adapt_inputs_flattens_images_for_a_flat_model_and_refuses_a_misfit() -> None:
    x = np.zeros((5, 28, 28, 1), dtype=np.float32)
    assert adapt_inputs(x, (784,)).shape == (5, 784)
    assert adapt_inputs(x.reshape(5, 784), (28, 28, 1)).shape == (5, 28, 28, 1)
    with pytest.raises(DatasetError, match=r"do not fit a model input"):
        adapt_inputs(x, (64,))


def test_idx_round_trip_and_corrupt_files(tmp_path: Path) -> None:
    values = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    header = bytes([0, 0, 0x08, 3]) + np.array([2, 3, 4], dtype=">u4").tobytes()
    path = tmp_path / "x-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(header + values.tobytes()))
    assert np.array_equal(read_idx(path), values)
    with pytest.raises(DatasetError, match=r"has 39 bytes, expected 40"):
        parse_idx(header + values.tobytes()[:-1])
    with pytest.raises(DatasetError, match=r"bad magic"):
        parse_idx(b"\x1f\x8b\x08\x00")
