"""A web3 connection whose calls are retried with backoff while the RPC endpoint is unreachable."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import requests
from web3 import Web3
from web3.exceptions import TimeExhausted

from offchain.chain.errors import RpcUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")

_TRANSIENT = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    TimeExhausted,
    ConnectionError,
    TimeoutError,
)


@dataclass(frozen=True)
class Backoff:
    attempts: int = 5
    first_delay: float = 0.5
    factor: float = 2.0


def connect(url: str, *, timeout: float = 30.0) -> Web3:
    return Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout}))


def with_retries(what: str, url: str, fn: Callable[[], T], backoff: Backoff = Backoff()) -> T:
    """Run `fn`, retrying while the endpoint is unreachable; RpcUnavailable when it stays so."""
    delay = backoff.first_delay
    for attempt in range(1, backoff.attempts + 1):
        try:
            return fn()
        except _TRANSIENT as exc:
            if attempt == backoff.attempts:
                raise RpcUnavailable(
                    f"{what}: the RPC endpoint {url} did not answer after {attempt} attempts ({type(exc).__name__}). "
                    "Is the chain running? Start the devnet with `dfl node up`, or set DFL_RPC_URL."
                ) from exc
            log.warning(
                "%s: RPC %s unreachable (attempt %d/%d), retrying in %.1fs", what, url, attempt, backoff.attempts, delay
            )
            time.sleep(delay)
            delay *= backoff.factor
    raise AssertionError("unreachable")
