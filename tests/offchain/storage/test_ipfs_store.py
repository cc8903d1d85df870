"""IpfsStore against the real IPFS dev node: round trips, verification, pins, and failures."""

from __future__ import annotations

import http.server
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from offchain.devnet.services import DevServices
from offchain.errors import CidMismatchError, InvalidCidError, IpfsError
from offchain.storage.cid import CHUNK_SIZE, compute_cid
from offchain.storage.ipfs import Backoff, IpfsStore, url_to_multiaddr
from support import free_port


@pytest.fixture
def store(ipfs_api: str) -> Iterator[IpfsStore]:
    with IpfsStore(ipfs_api, timeout=10) as s:
        yield s


@pytest.mark.parametrize("size", [0, 1, 5000, 3 * CHUNK_SIZE + 11])
def test_put_then_get_returns_the_same_bytes_under_kubos_cid(store: IpfsStore, size: int) -> None:
    data = random.Random(size).randbytes(size)
    cid = store.put(data)
    assert cid == compute_cid(data)
    assert store.get(cid) == data


def test_pin_and_unpin(store: IpfsStore) -> None:
    cid = store.put(b"pin me " + random.randbytes(8), pin=False)
    assert cid not in store.pinned()
    store.pin(cid)
    assert cid in store.pinned()
    store.unpin(cid)
    assert cid not in store.pinned()


def test_get_refuses_a_file_over_the_size_limit(store: IpfsStore) -> None:
    cid = store.put(b"x" * 2000)
    with pytest.raises(IpfsError, match="larger than the limit of 1000 bytes"):
        store.get(cid, max_bytes=1000)
    assert store.get(cid, max_bytes=2000) == b"x" * 2000


def test_unknown_cid_fails_quickly_with_the_cid_in_the_message(store: IpfsStore) -> None:
    unknown = compute_cid(random.randbytes(64))
    started = time.monotonic()
    with pytest.raises(IpfsError) as raised:
        store.get(unknown)
    assert time.monotonic() - started < 10
    assert unknown in str(raised.value) and store.api in str(raised.value)


def test_malformed_cid_is_refused_before_any_request() -> None:
    dead = IpfsStore(f"http://127.0.0.1:{free_port()}", retry=Backoff(attempts=1))
    with pytest.raises(InvalidCidError):
        dead.get("not-a-cid")


def test_dead_node_is_retried_then_reported_with_address_and_what_to_do() -> None:
    api = f"http://127.0.0.1:{free_port()}"
    store = IpfsStore(api, timeout=2, retry=Backoff(attempts=3, first_delay=0.1, factor=2))
    started = time.monotonic()
    with pytest.raises(IpfsError) as raised:
        store.put(b"data")
    assert time.monotonic() - started >= 0.3  # two backoff sleeps: 0.1 + 0.2
    message = str(raised.value)
    assert "after 3 attempts" in message and api in message and "dfl node up" in message


def test_bytes_corrupted_on_the_node_are_never_returned(store: IpfsStore, dev_services: DevServices) -> None:
    # A real fault, provoked for real: flip a byte of the stored block on disk.
    marker = b"corrupt-me-" + random.randbytes(16)
    data = marker * 100
    cid = store.put(data)
    blocks = [p for p in Path(dev_services.state_dir, "ipfs").rglob("*") if p.is_file() and marker in p.read_bytes()]
    assert blocks, "the block holding the data should be on disk in the node's repo"
    for block in blocks:
        raw = bytearray(block.read_bytes())
        raw[raw.index(marker)] ^= 0xFF
        block.write_bytes(bytes(raw))
    with pytest.raises(IpfsError) as raised:
        store.get(cid)
    assert cid in str(raised.value) and "does not match its hash" in str(raised.value)


class _LyingNode(http.server.BaseHTTPRequestHandler):
    """Answers every `cat` with the wrong bytes."""

    def do_POST(self) -> None:
        body = b"not the bytes you asked for"
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_wrong_bytes_from_a_lying_node_raise_cid_mismatch() -> None:
    # A fake, on purpose: kubo and the dev node both verify blocks, so a node that
    # serves wrong bytes cannot be provoked with a real one.
    server = http.server.HTTPServer(("127.0.0.1", 0), _LyingNode)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        store = IpfsStore(f"http://127.0.0.1:{server.server_port}", retry=Backoff(attempts=1))
        cid = compute_cid(b"the real model")
        with pytest.raises(CidMismatchError, match="do not hash to that CID"):
            store.get(cid)
    finally:
        server.shutdown()


def test_node_identity_and_version(store: IpfsStore) -> None:
    assert store.node_id().startswith("12D3KooW")
    assert store.version()


@pytest.mark.parametrize(
    ("url", "multiaddr"),
    [
        ("http://127.0.0.1:5001", "/ip4/127.0.0.1/tcp/5001/http"),
        ("https://ipfs.example.org", "/dns/ipfs.example.org/tcp/443/https"),
        ("/ip4/10.0.0.2/tcp/5001/http", "/ip4/10.0.0.2/tcp/5001/http"),
    ],
)
def test_api_urls_become_multiaddrs(url: str, multiaddr: str) -> None:
    assert url_to_multiaddr(url) == multiaddr


def test_a_bad_api_address_is_a_clear_error() -> None:
    with pytest.raises(IpfsError, match="invalid IPFS API address"):
        IpfsStore("ftp://nowhere")
