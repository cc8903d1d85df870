"""The polling loop both workers share: act on the task's phase until it completes."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from offchain.chain.errors import RpcUnavailable, TxReverted
from offchain.errors import DflError, IpfsError

log = logging.getLogger(__name__)


def run_until_done(
    step: Callable[[], bool], *, poll_seconds: float, name: str, max_seconds: float | None = None
) -> None:
    """Call `step` until it returns False. Errors of one step are logged and retried on the
    next tick (a phase may still be open), so a passing RPC or IPFS fault never kills a worker."""
    started = time.monotonic()
    while True:
        try:
            if not step():
                return
        except TxReverted as exc:
            log.warning("%s: %s", name, exc)
        except (RpcUnavailable, IpfsError) as exc:
            log.warning("%s: %s (will retry)", name, exc)
        except DflError as exc:
            log.error("%s: %s", name, exc)
        if max_seconds is not None and time.monotonic() - started > max_seconds:
            raise DflError(f"{name}: gave up after {max_seconds:.0f}s")
        time.sleep(poll_seconds)
