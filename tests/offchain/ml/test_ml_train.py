"""Local training learns, repeats exactly per seed, and checks its inputs."""

from __future__ import annotations

import subprocess
import sys
from typing import TypedDict

import numpy as np
import pytest

from offchain.ml.datasets import Dataset, load_dataset
from offchain.ml.errors import TrainingError
from offchain.ml.models import build_model
from offchain.ml.train import evaluate, predict, train_local
from offchain.ml.weights import get_weights, set_weights


class Options(TypedDict):
    epochs: int
    batch_size: int
    learning_rate: float
    seed: int


OPTIONS: Options = {"epochs": 2, "batch_size": 32, "learning_rate": 0.1, "seed": 7}


@pytest.fixture(scope="module")
def mnist() -> Dataset:
    return load_dataset("mnist-5k")


def test_training_on_mnist_5k_beats_the_untrained_model(mnist: Dataset) -> None:
    model = build_model("mlp", input_shape=mnist.input_shape, num_classes=mnist.num_classes, seed=0)
    before = evaluate(model, mnist.x_test, mnist.y_test)
    result = train_local(model, mnist.x_train, mnist.y_train, **OPTIONS)
    after = evaluate(model, mnist.x_test, mnist.y_test)
    assert result.num_samples == 4000 and result.seconds > 0.0
    assert before.accuracy < 0.3 and after.accuracy > 0.75
    assert after.loss < before.loss and after.num_samples == 1000


def test_training_with_adam_on_digits_learns_too() -> None:
    digits = load_dataset("digits")
    model = build_model("mlp", input_shape=digits.input_shape, num_classes=digits.num_classes, seed=0)
    before = evaluate(model, digits.x_test, digits.y_test)
    options: Options = {"epochs": 2, "batch_size": 16, "learning_rate": 0.01, "seed": 1}
    train_local(model, digits.x_train, digits.y_train, **options, optimizer="adam")
    assert evaluate(model, digits.x_test, digits.y_test).accuracy > before.accuracy + 0.2


def test_same_seed_and_start_give_identical_weights(mnist: Dataset) -> None:
    model = build_model("mlp", input_shape=mnist.input_shape, seed=0)
    start = get_weights(model)
    x, y = mnist.x_train[:1000], mnist.y_train[:1000]
    train_local(model, x, y, **OPTIONS)
    first = get_weights(model)
    set_weights(model, start)
    train_local(model, x, y, **OPTIONS)
    assert all(np.array_equal(first[name], value) for name, value in get_weights(model).items())
    set_weights(model, start)
    train_local(model, x, y, **(OPTIONS | {"seed": 8}))
    assert not all(np.array_equal(first[name], value) for name, value in get_weights(model).items())


def test_a_model_trained_before_gives_the_bytes_of_a_fresh_one_whatever_ran_in_between() -> None:
    # A model keeps its traced train step across runs (its optimizer state is zeroed instead of
    # recompiled): Adam's moments and step count must not leak from one run into the next.
    digits = load_dataset("digits")
    x, y = digits.x_train[:400], digits.y_train[:400]
    adam = OPTIONS | {"learning_rate": 0.01}
    fresh = build_model("mlp", input_shape=digits.input_shape, seed=0)
    start = get_weights(fresh)
    train_local(fresh, x, y, **adam, optimizer="adam")
    reused = build_model("mlp", input_shape=digits.input_shape, seed=0)
    for optimizer, options in (("adam", adam), ("sgd", OPTIONS), ("adam", adam | {"seed": 3}), ("adam", adam)):
        set_weights(reused, start)
        train_local(reused, x, y, **options, optimizer=optimizer)
    assert all(np.array_equal(get_weights(fresh)[name], value) for name, value in get_weights(reused).items())


def test_evaluate_agrees_with_keras(mnist: Dataset) -> None:
    model = build_model("mlp", input_shape=mnist.input_shape, seed=0)
    train_local(model, mnist.x_train[:500], mnist.y_train[:500], **(OPTIONS | {"epochs": 1}))
    ours = evaluate(model, mnist.x_test, mnist.y_test)
    keras_loss, keras_accuracy = model.evaluate(mnist.x_test.reshape(-1, 784), mnist.y_test, verbose=0)
    assert ours.loss == pytest.approx(keras_loss, rel=1e-4)
    assert ours.accuracy == pytest.approx(keras_accuracy, abs=1e-6)
    probabilities = predict(model, mnist.x_test[:3])
    assert probabilities.shape == (3, 10) and np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_labels_beyond_the_model_outputs_are_refused(mnist: Dataset) -> None:
    model = build_model("mlp", input_shape=mnist.input_shape, num_classes=3)
    with pytest.raises(TrainingError, match=r"model has 3 outputs"):
        train_local(model, mnist.x_train[:10], mnist.y_train[:10], **OPTIONS)


def test_inputs_of_the_wrong_shape_are_refused(mnist: Dataset) -> None:
    model = build_model("mlp", input_shape=(8, 8, 1))
    with pytest.raises(TrainingError, match=r"do not fit a model input"):
        evaluate(model, mnist.x_test, mnist.y_test)


def test_unknown_optimizer_and_bad_options_are_refused(mnist: Dataset) -> None:
    model = build_model("mlp", input_shape=mnist.input_shape)
    with pytest.raises(TrainingError, match=r"sgd, adam"):
        train_local(model, mnist.x_train[:10], mnist.y_train[:10], **OPTIONS, optimizer="rmsprop")
    with pytest.raises(TrainingError, match=r"epochs"):
        train_local(model, mnist.x_train[:10], mnist.y_train[:10], **(OPTIONS | {"epochs": 0}))


def _python(code: str) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter: TensorFlow's thread pools can only be sized before its first op."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_limit_threads_caps_tensorflow_before_it_starts_and_says_why_it_cannot_after() -> None:
    capped = _python("from offchain.ml.train import limit_threads; print(limit_threads(1))")
    assert capped.returncode == 0, capped.stderr[-2000:]
    assert capped.stdout.strip().splitlines()[-1] == "1"
    late = _python(
        "from offchain.ml.models import build_model; from offchain.ml.train import limit_threads\n"
        "build_model('mlp', input_shape=(4,), num_classes=2, seed=0)\n"
        "try:\n    limit_threads(1)\nexcept RuntimeError as e:\n    print('refused:', e)\n"
    )
    assert late.returncode == 0, late.stderr[-2000:]
    assert "refused: cannot limit TensorFlow to 1 threads after it has started" in late.stdout
