"""Reader for image folders: root/<class name>/*.png|jpg, as grayscale arrays."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from offchain.ml.errors import DatasetError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})


@dataclass(frozen=True, eq=False)
class ImageFolder:
    """Images as uint8 (N, height, width, 1), labels indexing `class_names`."""

    x: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...]


def read_image_folder(
    root: Path, *, image_size: tuple[int, int], class_names: tuple[str, ...] | None = None
) -> ImageFolder:
    """Read every image under root/<class>/ in sorted order, resized to (height, width).

    class_names fixes the label order (e.g. a test folder uses the train folder's);
    by default it is the sorted list of subfolder names.
    """
    classes = class_names if class_names is not None else _class_names(root)
    images: list[np.ndarray] = []
    labels: list[int] = []
    for label, name in enumerate(classes):
        for path in _image_files(root / name):
            images.append(_read_image(path, image_size))
            labels.append(label)
    if not images:
        raise DatasetError(f"no images in {root}: expected {root}/<class name>/*.png or *.jpg with at least one image")
    return ImageFolder(x=np.stack(images)[..., np.newaxis], y=np.array(labels, dtype=np.int64), class_names=classes)


def _class_names(root: Path) -> tuple[str, ...]:
    names = tuple(sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")))
    if len(names) < 2:
        raise DatasetError(
            f"image folder {root} has {len(names)} class subfolder(s): expected one subfolder per class, at least two"
        )
    return names


def _image_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise DatasetError(f"class folder {folder} is missing")
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _read_image(path: Path, image_size: tuple[int, int]) -> np.ndarray:
    height, width = image_size
    try:
        with Image.open(path) as image:
            gray = image.convert("L").resize((width, height), Image.Resampling.BILINEAR)
            return np.asarray(gray, dtype=np.uint8)
    except (OSError, UnidentifiedImageError) as exc:
        raise DatasetError(f"cannot read image {path}: {exc}; remove or replace the file") from exc
