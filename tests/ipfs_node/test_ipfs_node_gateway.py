"""The read-only gateway of the dev node, and the ipfshttpclient against its RPC."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import ipfshttpclient
import pytest
import requests
from ipfs_node_dev import DevNode

CHUNK = 262144
UNKNOWN = "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"


def test_gateway_get_and_head(node: DevNode) -> None:
    data = random.Random(3).randbytes(2 * CHUNK + 9)
    cid = node.add(data)["Hash"]
    r = requests.get(f"{node.gateway}/ipfs/{cid}", timeout=10)
    assert r.status_code == 200 and r.content == data
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert r.headers["Content-Length"] == str(len(data))
    assert r.headers["X-Ipfs-Path"] == f"/ipfs/{cid}"
    assert r.headers["Etag"] == f'"{cid}"'
    h = requests.head(f"{node.gateway}/ipfs/{cid}", timeout=10)
    assert h.status_code == 200 and h.content == b"" and h.headers["Content-Length"] == str(len(data))
    assert (
        requests.get(f"{node.gateway}/ipfs/{cid}", headers={"If-None-Match": f'"{cid}"'}, timeout=10).status_code == 304
    )


def test_gateway_range(node: DevNode) -> None:
    data = random.Random(4).randbytes(CHUNK + 100)
    cid = node.add(data)["Hash"]
    r = requests.get(f"{node.gateway}/ipfs/{cid}", headers={"Range": f"bytes={CHUNK - 5}-{CHUNK + 4}"}, timeout=10)
    assert r.status_code == 206 and r.content == data[CHUNK - 5 : CHUNK + 5]
    assert r.headers["Content-Range"] == f"bytes {CHUNK - 5}-{CHUNK + 4}/{len(data)}"
    r = requests.get(f"{node.gateway}/ipfs/{cid}", headers={"Range": "bytes=-10"}, timeout=10)
    assert r.status_code == 206 and r.content == data[-10:]
    r = requests.get(f"{node.gateway}/ipfs/{cid}", headers={"Range": f"bytes={10**12}-"}, timeout=10)
    assert r.status_code == 416


def test_gateway_errors(node: DevNode) -> None:
    t0 = time.monotonic()
    assert requests.get(f"{node.gateway}/ipfs/{UNKNOWN}", timeout=10).status_code == 404
    assert time.monotonic() - t0 < 3
    assert requests.get(f"{node.gateway}/ipfs/not-a-cid", timeout=10).status_code == 400
    assert requests.get(f"{node.gateway}/ipfs/", timeout=10).status_code == 400
    assert requests.get(f"{node.gateway}/something", timeout=10).status_code == 404
    cid = node.add(b"gateway file")["Hash"]
    assert requests.post(f"{node.gateway}/ipfs/{cid}", timeout=10).status_code == 405
    assert requests.put(f"{node.gateway}/ipfs/{cid}", data=b"x", timeout=10).status_code == 405
    assert requests.get(f"{node.gateway}/ipfs/{cid}/sub", timeout=10).status_code == 404
    assert requests.get(f"{node.gateway}/ipfs/{cid}", timeout=10).content == b"gateway file"


def test_gateway_cidv1(node: DevNode) -> None:
    cid = node.add(b"v1 via gateway", **{"cid-version": 1})["Hash"]
    r = requests.get(f"{node.gateway}/ipfs/{cid}", timeout=10)
    assert r.content == b"v1 via gateway" and r.headers["Etag"] == f'"{cid}"'


# --- ipfshttpclient -----------------------------------------------------------


@pytest.fixture
def client(node: DevNode) -> Iterator[ipfshttpclient.Client]:
    c = ipfshttpclient.Client(f"/ip4/127.0.0.1/tcp/{node.api_port}/http")
    yield c
    c.close()


def test_ipfshttpclient_round_trip(client: ipfshttpclient.Client, node: DevNode) -> None:
    data = random.Random(9).randbytes(CHUNK * 2 + 1)
    cid = client.add_bytes(data)
    import aleph_cid

    assert cid == aleph_cid.compute_cid(data)
    assert client.cat(cid) == data
    assert client.cat(cid, offset=5, length=10) == data[5:15]
    assert client.add_str("hello") == aleph_cid.compute_cid(b"hello")

    assert client.pin.ls(cid)["Keys"] == {cid: {"Type": "recursive"}}
    assert client.pin.rm(cid)["Pins"] == [cid]
    assert cid not in client.pin.ls(type="recursive")["Keys"]
    assert client.pin.add(cid)["Pins"] == [cid]
    assert cid in client.pin.ls(type="recursive")["Keys"]

    ident = client.id()
    assert ident["ID"].startswith("12D3KooW") and ident["AgentVersion"] == "dfl-devnode/0.1.0"
    assert client.version()["Version"] == "0.38.0"


def test_ipfshttpclient_add_file(client: ipfshttpclient.Client, tmp_path: Path) -> None:
    f = tmp_path / "model weights.bin"
    data = random.Random(10).randbytes(5000)
    f.write_bytes(data)
    res = client.add(str(f))
    assert res["Name"] == "model weights.bin"
    assert client.cat(res["Hash"]) == data


def test_ipfshttpclient_errors(client: ipfshttpclient.Client) -> None:
    with pytest.raises(ipfshttpclient.exceptions.ErrorResponse, match="not found locally"):
        client.cat(UNKNOWN)
    with pytest.raises(ipfshttpclient.exceptions.ErrorResponse, match="invalid path"):
        client.cat("not-a-cid")
    with pytest.raises(ipfshttpclient.exceptions.ErrorResponse, match="not pinned"):
        client.pin.rm(UNKNOWN)
