"""A web3 connection whose calls are retried with backoff (offchain.retry) while the RPC endpoint is unreachable."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import requests
from web3 import Web3
from web3.exceptions import TimeExhausted

from offchain.chain.errors import RpcUnavailable
from offchain.retry import Backoff, call_with_retries

log = logging.getLogger(__name__)
T = TypeVar("T")

_TRANSIENT = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    TimeExhausted,
    ConnectionError,
    TimeoutError,
)


def connect(url: str, *, timeout: float = 30.0) -> Web3:
    return Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout}))


def with_retries(what: str, url: str, fn: Callable[[], T], backoff: Backoff = Backoff()) -> T:
    """Run `fn`, retrying while the endpoint is unreachable; RpcUnavailable when it stays so."""

    def on_retry(attempt: int, attempts: int, delay: float, exc: BaseException) -> None:
        log.warning("%s: RPC %s unreachable (attempt %d/%d), retrying in %.1fs", what, url, attempt, attempts, delay)

    def give_up(attempts: int, exc: BaseException) -> Exception:
        return RpcUnavailable(
            f"{what}: the RPC endpoint {url} did not answer after {attempts} attempts ({type(exc).__name__}). "
            "Is the chain running? Start the devnet with `dfl node up`, or set DFL_RPC_URL."
        )

    return call_with_retries(fn, backoff=backoff, transient=_TRANSIENT, on_retry=on_retry, give_up=give_up)


__all__ = ["Backoff", "connect", "with_retries"]
