"""The one retry policy behind the RPC and IPFS clients: exponential waits, only on transient errors."""

from __future__ import annotations

import time

import pytest

from offchain.retry import Backoff, call_with_retries


class Flaky:
    """Fails with `error` the first `failures` calls, then answers."""

    def __init__(self, failures: int, error: BaseException) -> None:
        self.failures, self.error, self.calls = failures, error, 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "answer"


def _never(attempts: int, exc: BaseException) -> Exception:
    raise AssertionError(f"gave up after {attempts}: {exc}")


def test_transient_errors_are_retried_with_exponential_waits_until_an_answer() -> None:
    retries: list[tuple[int, int, float]] = []
    flaky = Flaky(2, ConnectionError("refused"))
    started = time.monotonic()
    result = call_with_retries(
        flaky,
        backoff=Backoff(attempts=3, first_delay=0.05, factor=3.0),
        transient=(ConnectionError,),
        on_retry=lambda attempt, attempts, delay, exc: retries.append((attempt, attempts, delay)),
        give_up=_never,
    )
    assert result == "answer" and flaky.calls == 3
    assert [(attempt, attempts) for attempt, attempts, _ in retries] == [(1, 3), (2, 3)]
    assert [delay for *_, delay in retries] == pytest.approx([0.05, 0.15])
    assert time.monotonic() - started >= 0.2  # it really waited 0.05 + 0.15 s


def test_when_attempts_run_out_the_callers_error_is_raised_from_the_last_one() -> None:
    flaky = Flaky(5, TimeoutError("slow"))
    with pytest.raises(RuntimeError, match="gave up after 2 attempts: slow") as raised:
        call_with_retries(
            flaky,
            backoff=Backoff(attempts=2, first_delay=0.01),
            transient=(TimeoutError,),
            on_retry=lambda *_: None,
            give_up=lambda attempts, exc: RuntimeError(f"gave up after {attempts} attempts: {exc}"),
        )
    assert flaky.calls == 2 and isinstance(raised.value.__cause__, TimeoutError)


def test_other_errors_pass_through_at_once() -> None:
    flaky = Flaky(1, ValueError("bad request"))
    with pytest.raises(ValueError, match="bad request"):
        call_with_retries(
            flaky,
            backoff=Backoff(attempts=4, first_delay=10.0),
            transient=(ConnectionError,),
            on_retry=lambda *_: pytest.fail("a permanent error must not be retried"),
            give_up=_never,
        )
    assert flaky.calls == 1
