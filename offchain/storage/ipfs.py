"""The only module that talks to IPFS: any kubo-RPC endpoint (kubo, or the dev node).

ipfshttpclient is unmaintained; it stays behind this one class. Its
`connect()` refuses kubo newer than 0.7, so the Client is constructed directly.
Every failure leaves here as an IpfsError naming the operation, the CID and
the API address; transient failures (connection refused, timeouts) are
retried with exponential backoff first (offchain.retry).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlparse

import ipfshttpclient
import ipfshttpclient.exceptions as ipfs_exc

from offchain.errors import CidMismatchError, ContentTooLargeError, IpfsError
from offchain.retry import Backoff, call_with_retries
from offchain.storage.cid import matches, parse_cid

log = logging.getLogger(__name__)
T = TypeVar("T")

_HINT = "Is an IPFS node running there? Start the dev node with `dfl node up`, or set DFL_IPFS_API to your kubo RPC address."


def url_to_multiaddr(url: str) -> str:
    """`http://127.0.0.1:5001` -> `/ip4/127.0.0.1/tcp/5001/http` (multiaddrs pass through)."""
    if url.startswith("/"):
        return url
    parsed = urlparse(url if "://" in url else f"http://{url}")
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise IpfsError(f"invalid IPFS API address {url!r}: expected http://HOST:PORT or a multiaddr")
    host = parsed.hostname
    proto = "ip6" if ":" in host else "ip4" if host.replace(".", "").isdigit() else "dns"
    port = parsed.port or (443 if parsed.scheme == "https" else 5001)
    return f"/{proto}/{host}/tcp/{port}/{parsed.scheme}"


# Four attempts, 0.5 s, 1 s and 2 s apart: a dead node is reported within about 4 s plus timeouts.
IPFS_BACKOFF = Backoff(attempts=4, first_delay=0.5, factor=2.0)


class IpfsStore:
    """put/get/pin/unpin of immutable blobs, each fetched blob verified against its CID."""

    def __init__(self, api: str, *, timeout: float = 30.0, retry: Backoff = IPFS_BACKOFF) -> None:
        self.api = api
        self._retry = retry
        self._timeout = timeout
        try:
            self._client = ipfshttpclient.Client(url_to_multiaddr(api), timeout=timeout)
        except ipfs_exc.AddressError as exc:
            raise IpfsError(f"invalid IPFS API address {api!r}: {exc}") from exc

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> IpfsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- operations ---------------------------------------------------------

    def put(self, data: bytes, *, pin: bool = True) -> str:
        """Add `data` as one file (kubo defaults: CIDv0) and return its CID."""
        result = self._call("add", None, lambda: self._client.add(io.BytesIO(data), pin=pin))
        cid = str(result["Hash"])
        if not matches(data, cid):  # a node that hashes differently would break every CID check
            raise CidMismatchError(
                f"the node returned CID {cid} for {len(data)} bytes, which do not hash to it", api=self.api, cid=cid
            )
        return cid

    def get(self, cid: str, *, max_bytes: int | None = None, timeout: float | None = None) -> bytes:
        """Fetch the file `cid` and check that its bytes hash to `cid`.

        `max_bytes` bounds what is read (an IpfsError says the file is larger)."""
        parse_cid(cid)  # InvalidCidError at once, before any network call
        length = None if max_bytes is None else max_bytes + 1
        data: bytes = self._call(
            "cat", cid, lambda: self._client.cat(cid, length=length, timeout=timeout or self._timeout)
        )
        if max_bytes is not None and len(data) > max_bytes:
            raise ContentTooLargeError(f"{cid} is larger than the limit of {max_bytes} bytes", api=self.api, cid=cid)
        if not matches(data, cid):
            raise CidMismatchError(
                f"the {len(data)} bytes received for {cid} do not hash to that CID; refusing them",
                api=self.api,
                cid=cid,
            )
        return data

    def pin(self, cid: str) -> None:
        parse_cid(cid)
        self._call("pin/add", cid, lambda: self._client.pin.add(cid))

    def unpin(self, cid: str) -> None:
        parse_cid(cid)
        self._call("pin/rm", cid, lambda: self._client.pin.rm(cid))

    def pinned(self) -> set[str]:
        result = self._call("pin/ls", None, lambda: self._client.pin.ls(type="recursive"))
        return set(result["Keys"])

    def node_id(self) -> str:
        return str(self._call("id", None, self._client.id)["ID"])

    def version(self) -> str:
        return str(self._call("version", None, self._client.version)["Version"])

    # --- error translation and retries ---------------------------------------

    def _call(self, op: str, cid: str | None, fn: Callable[[], T]) -> T:
        subject = f" of {cid}" if cid else ""

        def kind(exc: BaseException) -> str:
            return "timed out" if isinstance(exc, ipfs_exc.TimeoutError) else "could not connect"

        def on_retry(attempt: int, attempts: int, delay: float, exc: BaseException) -> None:
            log.warning(
                "IPFS %s%s %s (attempt %d/%d); retrying in %.1fs", op, subject, kind(exc), attempt, attempts, delay
            )

        def give_up(attempts: int, exc: BaseException) -> Exception:
            return IpfsError(
                f"IPFS {op}{subject} failed: {kind(exc)} after {attempts} attempts. {_HINT}", api=self.api, cid=cid
            )

        try:
            return call_with_retries(
                fn,
                backoff=self._retry,
                transient=(ipfs_exc.ConnectionError, ipfs_exc.TimeoutError),
                on_retry=on_retry,
                give_up=give_up,
            )
        except ipfs_exc.ErrorResponse as exc:
            raise IpfsError(f"IPFS {op}{subject} refused by the node: {exc}", api=self.api, cid=cid) from exc
        except ipfs_exc.Error as exc:
            raise IpfsError(f"IPFS {op}{subject} failed: {exc}", api=self.api, cid=cid) from exc
