from __future__ import annotations

import numpy as np
import pytest
from fl_helpers import address, specs_of, weights

from offchain.fl.acceptance import check_update, screen_bytes
from offchain.fl.codec import encode_weights
from offchain.fl.reasons import Reason
from offchain.fl.records import Update, Verdict

GLOBAL = weights(w=[1.0, 2.0], b=[0.0])
TRAINER = address(0)


def _update(num_samples: int = 10, **tensors: list[float]) -> Update:
    return Update(TRAINER, num_samples, weights(**({"w": [1.5, 2.5], "b": [0.1]} | tensors)))


def test_valid_update_is_accepted() -> None:
    assert check_update(_update(), GLOBAL) == Verdict.accept(TRAINER)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_values_are_rejected(bad: float) -> None:
    verdict = check_update(_update(w=[1.0, bad]), GLOBAL)
    assert not verdict.accepted and verdict.reason == Reason.NON_FINITE
    assert "0001/w" in verdict.message


@pytest.mark.parametrize("num_samples", [0, -1])
def test_zero_samples_is_rejected(num_samples: int) -> None:
    assert check_update(_update(num_samples), GLOBAL).reason == Reason.NO_SAMPLES


def test_copy_of_global_is_rejected_as_unchanged() -> None:
    copy = Update(TRAINER, 10, {k: v.copy() for k, v in GLOBAL.items()})
    assert check_update(copy, GLOBAL).reason == Reason.UNCHANGED


def test_negative_zero_counts_as_a_change() -> None:
    update = Update(TRAINER, 10, weights(w=[1.0, 2.0], b=[-0.0]))
    assert check_update(update, GLOBAL).accepted


def test_hand_built_update_with_wrong_tensors_is_rejected() -> None:
    assert check_update(Update(TRAINER, 1, weights(w=[1.0, 2.0])), GLOBAL).reason == Reason.MISSING_TENSOR
    shaped = Update(TRAINER, 1, weights(w=[1.0], b=[0.0]))
    assert check_update(shaped, GLOBAL).reason == Reason.WRONG_SHAPE
    typed = Update(TRAINER, 1, {**_update().weights, "0000/b": np.zeros(1, np.float64)})
    assert check_update(typed, GLOBAL).reason == Reason.WRONG_DTYPE


def test_screen_bytes_turns_decode_errors_into_verdicts() -> None:
    specs = specs_of(GLOBAL)
    good = screen_bytes(TRAINER, 3, encode_weights(_update().weights), specs=specs, max_bytes=1000)
    assert isinstance(good, Update) and good.num_samples == 3
    bad = screen_bytes(TRAINER, 3, b"not safetensors", specs=specs, max_bytes=1000)
    assert bad == Verdict(TRAINER, False, Reason.MALFORMED, bad.message) and bad.message
    big = screen_bytes(TRAINER, 3, encode_weights(_update().weights), specs=specs, max_bytes=10)
    assert isinstance(big, Verdict) and big.reason == Reason.TOO_LARGE
