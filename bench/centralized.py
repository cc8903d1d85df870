"""Centralized baseline: one model trained on the union of the trainers' shares (the whole
training split), one epoch per "round" with the same optimizer, batch size and learning rate,
evaluated on the full test split after each epoch."""

from __future__ import annotations

import time
from typing import Any

from bench.common import Setup


def run_centralized(setup: Setup, data: Any) -> dict[str, Any]:
    from offchain.ml.models import build_model
    from offchain.ml.train import evaluate, train_local

    model = build_model(setup.model, input_shape=data.input_shape, num_classes=data.num_classes, seed=setup.seed)
    initial = evaluate(model, data.x_test, data.y_test).accuracy
    rounds = []
    for r in range(setup.rounds):
        started = time.perf_counter()
        result = train_local(
            model,
            data.x_train,
            data.y_train,
            epochs=setup.epochs,
            batch_size=setup.batch_size,
            learning_rate=setup.learning_rate,
            seed=setup.seed + r,
        )
        seconds = time.perf_counter() - started
        rounds.append(
            {
                "round": r,
                "accuracy": evaluate(model, data.x_test, data.y_test).accuracy,
                "seconds": seconds,
                "train_seconds": result.seconds,
                "samples": result.num_samples,
            }
        )
    return {
        "initial_accuracy": initial,
        "final_accuracy": rounds[-1]["accuracy"],
        "rounds": rounds,
        "total_seconds": sum(r["seconds"] for r in rounds),
    }
