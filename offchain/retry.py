"""Retrying a call to a service that may be briefly unreachable (the RPC endpoint, the IPFS node).

One policy for both, on tenacity: up to `attempts` calls, waiting `first_delay`, then
`first_delay * factor`, ... between them, and only on the errors the caller calls transient.
The caller keeps its own words: it logs each retry and builds the error raised when the
service stays unreachable, so each edge still names its operation, address and remedy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

T = TypeVar("T")

# (attempt that failed, attempts allowed, seconds until the next one, what went wrong)
OnRetry = Callable[[int, int, float, BaseException], None]
# (attempts made, the last error) -> the error to raise instead
GiveUp = Callable[[int, BaseException], Exception]


@dataclass(frozen=True)
class Backoff:
    """How often and how patiently to call again: `attempts` calls in all, exponential waits."""

    attempts: int = 5
    first_delay: float = 0.5
    factor: float = 2.0


def call_with_retries(
    fn: Callable[[], T],
    *,
    backoff: Backoff,
    transient: tuple[type[BaseException], ...],
    on_retry: OnRetry,
    give_up: GiveUp,
) -> T:
    """`fn()`, called again after a transient error; `give_up(...)` is raised once attempts run out.
    Any other error passes through at once."""

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        assert error is not None  # tenacity sleeps only after a failed attempt
        delay = state.next_action.sleep if state.next_action else 0.0
        on_retry(state.attempt_number, backoff.attempts, delay, error)

    retrying = Retrying(
        stop=stop_after_attempt(backoff.attempts),
        wait=wait_exponential(multiplier=backoff.first_delay, exp_base=backoff.factor),
        retry=retry_if_exception_type(transient),
        before_sleep=before_sleep,
        reraise=True,
    )
    try:
        return retrying(fn)
    except transient as exc:
        raise give_up(backoff.attempts, exc) from exc
