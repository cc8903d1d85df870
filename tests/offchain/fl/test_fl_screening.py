"""Per-update checks (offchain.fl.screening): each failure is a verdict with a derived detail."""

from __future__ import annotations

import numpy as np
import pytest
from fl_helpers import address, specs_of, weights

from offchain.fl.codec import encode_weights
from offchain.fl.reasons import Reason
from offchain.fl.records import Update, Verdict
from offchain.fl.screening import TOO_LARGE, Checks, Screened, check_values, screen

GLOBAL = weights(w=[1.0, 2.0], b=[0.0])
TRAINER = address(0)


def _update(num_samples: int = 10, **tensors: list[float]) -> Update:
    return Update(TRAINER, num_samples, weights(**({"w": [1.5, 2.5], "b": [0.1]} | tensors)))


def test_valid_update_passes_with_the_squared_norm_of_its_change() -> None:
    screened = check_values(_update(), GLOBAL, 0)
    assert isinstance(screened, Screened) and screened.update.trainer == TRAINER
    assert screened.sq_delta_norm == pytest.approx(0.5**2 + 0.5**2 + 0.1**2)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_values_are_rejected(bad: float) -> None:
    verdict = check_values(_update(w=[1.0, bad]), GLOBAL, 0)
    assert verdict == Verdict(TRAINER, False, Reason.NON_FINITE, "0001/w: 1 NaN or infinite values")


def test_copy_of_global_is_rejected_as_unchanged() -> None:
    copy = Update(TRAINER, 10, {k: v.copy() for k, v in GLOBAL.items()})
    verdict = check_values(copy, GLOBAL, 0)
    assert isinstance(verdict, Verdict) and verdict.reason == Reason.UNCHANGED


def test_negative_zero_counts_as_a_change() -> None:
    update = Update(TRAINER, 10, weights(w=[1.0, 2.0], b=[-0.0]))
    assert isinstance(check_values(update, GLOBAL, 0), Screened)


def test_change_longer_than_the_bound_is_out_of_bounds() -> None:
    # |change| = sqrt(0.5) = 0.7071...: within a bound of 0.75, beyond 0.7.
    assert isinstance(check_values(_update(b=[0.0]), GLOBAL, 750_000), Screened)
    verdict = check_values(_update(b=[0.0]), GLOBAL, 700_000)
    assert verdict == Verdict(
        TRAINER, False, Reason.OUT_OF_BOUNDS, "norm of the change 707106 > bound 700000 (millionths)"
    )
    huge = check_values(_update(w=[3e38, -3e38]), GLOBAL, 700_000)
    assert isinstance(huge, Verdict) and huge.reason == Reason.OUT_OF_BOUNDS


def test_screen_turns_decode_errors_into_verdicts() -> None:
    checks = Checks(specs_of(GLOBAL), 1000, 0)
    good = screen(TRAINER, 3, encode_weights(_update().weights), GLOBAL, checks)
    assert isinstance(good, Screened) and good.update.num_samples == 3
    bad = screen(TRAINER, 3, b"not safetensors", GLOBAL, checks)
    assert bad == Verdict(TRAINER, False, Reason.MALFORMED, "header length out of range")
    big = screen(TRAINER, 3, encode_weights(_update().weights), GLOBAL, Checks(specs_of(GLOBAL), 10, 0))
    assert big == Verdict(TRAINER, False, Reason.TOO_LARGE, "more than 10 bytes")
    assert screen(TRAINER, 3, TOO_LARGE, GLOBAL, checks) == Verdict(
        TRAINER, False, Reason.TOO_LARGE, "more than 1000 bytes"
    )


def test_wrong_dtype_and_shape_are_reported_for_the_first_tensor_in_name_order() -> None:
    checks = Checks(specs_of(GLOBAL), 1000, 0)
    typed = {**_update().weights, "0000/b": np.zeros(1, np.float32)}
    shaped = encode_weights({**typed, "0000/b": np.zeros(2, np.float32)})
    verdict = screen(TRAINER, 1, shaped, GLOBAL, checks)
    assert isinstance(verdict, Verdict) and verdict.detail == "0000/b: shape is not [1]"
