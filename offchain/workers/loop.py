"""The polling loop both workers share: act on the task's phase until it completes.

Errors of one step are sorted by `DflError.transient`. Transient ones (the RPC or IPFS down
or slow, a nonce race, a phase that moved on under a transaction) are logged once and the
step is tried again on the next tick, so a passing fault never kills a worker. Any other
error would fail the same way on every tick (a revert that cannot succeed, data that do not
fit the model): it ends the worker at once, and the command prints it as its one-line error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from offchain.errors import DflError

log = logging.getLogger(__name__)

REPEAT_EVERY = 30.0  # seconds between two logs of the same transient error


def run_until_done(
    step: Callable[[], bool],
    *,
    poll_seconds: float,
    name: str,
    max_seconds: float | None = None,
    repeat_every: float = REPEAT_EVERY,
) -> None:
    """Call `step` until it returns False; retry transient errors, raise permanent ones."""
    started = time.monotonic()
    last: tuple[str, float] = ("", 0.0)
    while True:
        try:
            if not step():
                return
        except DflError as exc:
            if not exc.transient:
                raise
            text, now = str(exc), time.monotonic()
            if text != last[0] or now - last[1] >= repeat_every:
                log.warning("%s: %s (will retry)", name, text)
                last = (text, now)
        if max_seconds is not None and time.monotonic() - started > max_seconds:
            raise DflError(f"{name}: gave up after {max_seconds:.0f}s (--max-seconds)")
        time.sleep(poll_seconds)
