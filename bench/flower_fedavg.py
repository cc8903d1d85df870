"""Flower baseline: FedAvg in Flower's Simulation Engine (Ray backend) on the bench's shares.

Runs in bench/.venv-flower (see bench/setup_flower.sh), never in the project's .venv:

    bench/.venv-flower/bin/python bench/flower_fedavg.py --data-dir DIR --out result.json

DIR is what `bench.common.write_shares` writes. Model, initial weights, local training
(`offchain.ml.train.train_local`: SGD, batch size, learning rate, seeds) are the project's own,
so Flower differs from our system only in how updates travel and get aggregated: Flower's
`FedAvg` (weighted by "num-examples") over in-memory messages. With `central_dp` in meta.json
({"noise_multiplier": z, "clip": C}) FedAvg runs inside Flower's central-DP wrapper
(`DifferentialPrivacyServerSideFixedClipping`), weighting every client equally.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # offchain.ml only needs numpy and TensorFlow, both in this venv
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict  # noqa: E402
from flwr.clientapp import ClientApp  # noqa: E402
from flwr.serverapp import Grid, ServerApp  # noqa: E402
from flwr.serverapp.strategy import DifferentialPrivacyServerSideFixedClipping, FedAvg  # noqa: E402
from flwr.simulation import run_simulation  # noqa: E402

if TYPE_CHECKING:
    import keras

DATA_ENV = "BENCH_FLOWER_DATA"
_cache: dict[str, Any] = {}


def _meta() -> dict[str, Any]:
    if "meta" not in _cache:
        _cache["meta"] = json.loads((Path(os.environ[DATA_ENV]) / "meta.json").read_text())
    return _cache["meta"]


def _model() -> keras.Model:
    """One Keras model per process, reused across rounds (as our trainers do)."""
    if "model" not in _cache:
        from offchain.ml.models import build_model

        meta = _meta()
        _cache["model"] = build_model(
            meta["model"], input_shape=tuple(meta["input_shape"]), num_classes=meta["num_classes"], seed=meta["seed"]
        )
    return _cache["model"]


def _arrays(path: Path) -> tuple[np.ndarray, np.ndarray]:
    key = str(path)
    if key not in _cache:
        with np.load(path, allow_pickle=False) as npz:
            _cache[key] = (npz["x"], npz["y"])
    return _cache[key]


def _load(model: keras.Model, arrays: ArrayRecord) -> None:
    from offchain.ml.weights import set_weights, weight_names

    set_weights(model, dict(zip(weight_names(model), arrays.to_numpy_ndarrays())))


def _dump(model: keras.Model) -> ArrayRecord:
    from offchain.ml.weights import get_weights

    return ArrayRecord(list(get_weights(model).values()))


client = ClientApp()


@client.train()
def train(msg: Message, context: Context) -> Message:
    from offchain.ml.train import train_local

    meta = _meta()
    partition = int(context.node_config["partition-id"])
    x, y = _arrays(Path(os.environ[DATA_ENV]) / f"trainer-{partition}.npz")
    model = _model()
    _load(model, msg.content["arrays"])
    server_round = int(msg.content["config"]["server-round"])  # 1-based
    result = train_local(
        model,
        x,
        y,
        epochs=meta["epochs"],
        batch_size=meta["batch_size"],
        learning_rate=meta["learning_rate"],
        seed=meta["seed"] + partition + server_round - 1,
    )
    metrics = MetricRecord(
        {
            "num-examples": result.num_samples,
            "train_seconds": result.seconds,
            "train_accuracy": result.accuracy,
            "dp-weight": 1,  # central DP averages clipped updates with equal weights
        }
    )
    return Message(content=RecordDict({"arrays": _dump(model), "metrics": metrics}), reply_to=msg)


class TimedFedAvg(FedAvg):
    """Flower's FedAvg, unchanged, with the time spent in aggregation and per round recorded."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.log: dict[int, dict[str, Any]] = {}

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        self.log.setdefault(server_round, {})["start"] = time.time()
        return super().configure_train(server_round, arrays, config, grid)

    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        replies = list(replies)
        started = time.time()
        out = super().aggregate_train(server_round, replies)
        entry = self.log.setdefault(server_round, {})
        entry.update(
            replies_at=started,
            aggregation=time.time() - started,
            client_train_seconds=[float(r.content["metrics"]["train_seconds"]) for r in replies if r.has_content()],
        )
        return out


server = ServerApp()


@server.main()
def main(grid: Grid, context: Context) -> None:
    from offchain.ml.train import evaluate
    from offchain.ml.weights import get_weights

    meta = _meta()
    n = int(meta["trainers"])
    out = Path(os.environ["BENCH_FLOWER_OUT"])
    x_test, y_test = _arrays(Path(os.environ[DATA_ENV]) / "test.npz")
    model = _model()
    initial = ArrayRecord(list(get_weights(model).values()))
    accuracy: dict[int, float] = {}
    eval_seconds: dict[int, float] = {}
    eval_end: dict[int, float] = {}

    def central(server_round: int, arrays: ArrayRecord) -> MetricRecord:
        started = time.time()
        _load(model, arrays)
        acc = evaluate(model, x_test, y_test).accuracy
        accuracy[server_round], eval_seconds[server_round], eval_end[server_round] = (
            acc,
            time.time() - started,
            time.time(),
        )
        return MetricRecord({"accuracy": acc})

    dp = meta.get("central_dp")
    strategy = TimedFedAvg(
        fraction_train=1.0,
        fraction_evaluate=0.0,
        min_train_nodes=n,
        min_available_nodes=n,
        weighted_by_key="dp-weight" if dp else "num-examples",
    )
    runner: Any = strategy
    if dp:
        # Flower's central DP: the server clips every update to the clip, averages them with equal
        # weights and adds N(0, (z·clip/n)²) to the average (its server-side fixed-clipping wrapper).
        runner = DifferentialPrivacyServerSideFixedClipping(
            strategy, float(dp["noise_multiplier"]), float(dp["clip"]), n
        )
    started = time.time()
    runner.start(grid=grid, initial_arrays=initial, num_rounds=int(meta["rounds"]), evaluate_fn=central)
    rounds = []
    for r in range(1, int(meta["rounds"]) + 1):
        e = strategy.log[r]
        wall = e["replies_at"] - e["start"] + e["aggregation"]
        rounds.append(
            {
                "round": r - 1,
                "accuracy": accuracy[r],
                "seconds": wall,
                "evaluation_seconds": eval_seconds[r],
                "split": {
                    "training": e["replies_at"] - e["start"],
                    "aggregation": e["aggregation"],
                    "ipfs": 0.0,
                    "chain": 0.0,
                    "waiting": 0.0,
                },
                "client_train_seconds": e["client_train_seconds"],
            }
        )
    out.write_text(
        json.dumps(
            {
                "initial_accuracy": accuracy[0],
                "final_accuracy": accuracy[int(meta["rounds"])],
                "rounds": rounds,
                "strategy_seconds": time.time() - started,
            },
            indent=1,
        )
    )


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--client-cpus", type=float, default=1.0, help="Ray CPUs per client (2 cores: 1 runs two clients at a time)"
    )
    args = parser.parse_args()
    os.environ[DATA_ENV] = str(args.data_dir.resolve())
    os.environ["BENCH_FLOWER_OUT"] = str(args.out.resolve())
    meta = json.loads((args.data_dir / "meta.json").read_text())
    started = time.time()
    run_simulation(
        server_app=server,
        client_app=client,
        num_supernodes=int(meta["trainers"]),
        backend_config={
            "client_resources": {"num_cpus": args.client_cpus, "num_gpus": 0.0},
            # Ray's workers inherit this process's environment (DATA_ENV); Flower sets PYTHONPATH.
            "init_args": {"num_cpus": os.cpu_count() or 1, "include_dashboard": False},
        },
    )
    if not args.out.exists():
        sys.exit("flower run produced no result (see its log above)")
    result = json.loads(args.out.read_text())
    result["total_seconds"] = time.time() - started
    args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    cli()
