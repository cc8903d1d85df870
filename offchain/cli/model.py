"""`dfl model pull` and `dfl predict`."""

from __future__ import annotations

import json
import zipfile
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from offchain.cli.common import (
    JsonOpt,
    console,
    ipfs_store,
    print_json,
    require_round,
    require_task,
    settings,
    task_manager,
)

app = typer.Typer(help="Fetch and verify a task's global models.", no_args_is_help=True)


@app.command()
def pull(
    task: Annotated[int, typer.Argument(help="Task id.")],
    round_id: Annotated[
        int | None, typer.Option("--round", help="The model after this round (default: the latest).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Where to save the .keras file (default: task-T-round-R.keras).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Fetch a global model from IPFS, verify it against the CIDs on-chain, save it as a Keras file
    with its lineage (OUT.lineage.json): the initial model and every accepted round since."""
    from offchain.services.lineage import pull as do_pull

    s = settings()
    chain = task_manager(s)
    require_task(chain, task)
    if round_id is not None:
        require_round(chain, task, round_id)
    target = out or Path(f"task-{task}-{'latest' if round_id is None else f'round-{round_id}'}.keras")
    with ipfs_store(s) as store:
        chosen, versions, path = do_pull(chain, store, task, round_id, target)
    lineage_path = path.with_suffix(".lineage.json")
    record = {"task": task, "model": asdict(chosen), "file": str(path), "lineage": [asdict(v) for v in versions]}
    lineage_path.write_text(json.dumps(record, indent=2) + "\n")
    if as_json:
        print_json(record)
        return
    label = "initial model" if chosen.round is None else f"model after round {chosen.round}"
    console.print(f"saved the {label} of task {task} to {path} (lineage in {lineage_path})", highlight=False)
    table = Table("round", "CID on-chain", "weights CID")
    for v in versions:
        table.add_row("initial" if v.round is None else str(v.round), v.cid, v.weights_cid)
    console.print(table)


def _inputs(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """x (and y if present) from an .npz, or one image file."""
    from offchain.ml.errors import DatasetError

    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as npz:
                y = np.asarray(npz["y"]) if "y" in npz else None
                return np.asarray(npz["x"], dtype=np.float32), y
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise DatasetError(f"{path} is not an .npz with an array x (and optionally y): {exc}") from exc
    if path.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp", ".gif"):
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(path) as image:
                return np.asarray(image.convert("L"), dtype=np.float32)[None, ..., None] / 255.0, None
        except (OSError, UnidentifiedImageError) as exc:
            raise DatasetError(f"cannot read image {path}: {exc}") from exc
    raise DatasetError(f"{path}: give an .npz (x, optional y) or an image file")


def predict(
    model: Annotated[Path, typer.Argument(help="A .keras file from `dfl model pull`.")],
    inputs: Annotated[Path, typer.Argument(help="An .npz with x (and optionally y) or an image file.")],
    limit: Annotated[int, typer.Option(help="Rows to print.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Run a pulled model on inputs: predicted class and confidence per sample; accuracy if labels are given."""
    from offchain.ml.datasets import adapt_inputs
    from offchain.ml.files import load_model_file
    from offchain.ml.train import predict as run

    x, y = _inputs(inputs)  # the inputs first: reading them needs no TensorFlow
    keras_model = load_model_file(model)
    if x.max(initial=0.0) > 1.0:  # raw pixels: the models are trained on [0, 1]
        x = x / 255.0
    x = adapt_inputs(x, tuple(keras_model.input_shape[1:]))
    probabilities = run(keras_model, x)
    classes = probabilities.argmax(axis=1)
    rows = [
        {"index": i, "class": int(c), "confidence": float(probabilities[i, c])}
        | ({"label": int(y[i])} if y is not None else {})
        for i, c in enumerate(classes)
    ]
    accuracy = float(np.mean(classes == y)) if y is not None else None
    if as_json:
        print_json({"model": str(model), "samples": len(rows), "accuracy": accuracy, "predictions": rows})
        return
    table = Table("sample", "class", "confidence", *(["label"] if y is not None else []))
    for r in rows[:limit]:
        table.add_row(
            str(r["index"]), str(r["class"]), f"{r['confidence']:.3f}", *([str(r["label"])] if y is not None else [])
        )
    console.print(table)
    console.print(f"{len(rows)} samples" + (f", accuracy {accuracy:.4f}" if accuracy is not None else ""))
