"""kubo RPC behaviour of the dev node: cat, pins, gc, persistence, identity, errors."""

from __future__ import annotations

import base64
import json
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aleph_cid
import pytest
from ipfs_node_cidutil import b58decode, raw_cid_v1_sha512
from ipfs_node_dev import DevNode

CHUNK = 262144
UNKNOWN = "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"  # the empty file: never added in these tests


def blob(size: int, seed: int = 5) -> bytes:
    return random.Random(seed).randbytes(size)


# --- cat ---------------------------------------------------------------------


def test_cat_round_trip_and_ranges(node: DevNode) -> None:
    data = blob(3 * CHUNK + 1234)
    cid = node.add(data)["Hash"]
    assert node.cat(cid) == data
    assert node.cat(f"/ipfs/{cid}") == data
    assert node.cat(cid, offset=CHUNK - 10, length=20) == data[CHUNK - 10 : CHUNK + 10]
    assert node.cat(cid, offset=len(data) - 5) == data[-5:]
    assert node.cat(cid, length=0) == b""
    assert node.cat(cid, offset=len(data)) == b""
    assert node.cat(cid, offset=10**15) == b""  # huge offset: empty, not an error
    assert node.cat(cid, length=10**15) == data  # huge length: the whole file
    assert node.cat(cid, offset=7, length=2 * CHUNK) == data[7 : 7 + 2 * CHUNK]


def test_cat_several_args_concatenates(node: DevNode) -> None:
    a, b = b"alpha-", b"beta"
    ca, cb = node.add(a)["Hash"], node.add(b)["Hash"]
    r = node.rpc("cat", [("arg", ca), ("arg", cb), ("offset", "3"), ("length", "5")])
    assert r.content == (a + b)[3:8]


def test_cat_errors(node: DevNode, kubo_error: Callable[..., dict[str, Any]]) -> None:
    cid = node.add(b"x" * 100)["Hash"]
    kubo_error(node.rpc("cat", {"arg": cid, "offset": -1}), contains="negative offset")
    kubo_error(node.rpc("cat", {"arg": cid, "length": -1}), contains="negative length")
    kubo_error(node.rpc("cat", {"arg": cid, "offset": "abc"}), status=400, code=1, contains='type "int"')
    kubo_error(node.rpc("cat", {"arg": cid, "offset": "9" * 40}), status=400, code=1)
    kubo_error(node.rpc("cat"), status=400, code=1, contains='argument "ipfs-path" is required')


@pytest.mark.parametrize("bad", ["x", "Qm123", "/ipfs/notacid", "bafy!!", "/ipns/example.com", "/ipfs/", ""])
def test_malformed_cid_answers_at_once(node: DevNode, kubo_error: Callable[..., dict[str, Any]], bad: str) -> None:
    t0 = time.monotonic()
    r = node.rpc("cat", {"arg": bad})
    assert time.monotonic() - t0 < 1.0
    if bad == "":
        kubo_error(r)
    else:
        kubo_error(r, contains=f"invalid path {json.dumps(bad)}")


def test_unknown_cid_answers_quickly(node: DevNode, kubo_error: Callable[..., dict[str, Any]]) -> None:
    for endpoint in ("cat", "pin/add"):
        t0 = time.monotonic()
        r = node.rpc(endpoint, {"arg": UNKNOWN}, timeout=10)
        assert time.monotonic() - t0 < 3.0
        kubo_error(r, contains=f"block {UNKNOWN} not found locally")
        assert "offline" in r.json()["Message"]
    # a CIDv1 with a hash function we never store
    other = raw_cid_v1_sha512(b"never stored")
    r = node.rpc("cat", {"arg": other}, timeout=10)
    assert r.status_code == 500 and "not found locally" in r.json()["Message"]


def test_cat_of_a_sub_path_that_does_not_exist(node: DevNode, kubo_error: Callable[..., dict[str, Any]]) -> None:
    cid = node.add(b"plain file")["Hash"]
    kubo_error(node.rpc("cat", {"arg": f"/ipfs/{cid}/nope"}), contains='no link named "nope"')


# --- pins --------------------------------------------------------------------


def test_pin_add_ls_rm(node: DevNode, kubo_error: Callable[..., dict[str, Any]]) -> None:
    data = blob(2 * CHUNK + 1, seed=11)
    cid = node.add(data, pin="false")["Hash"]
    assert cid not in node.rpc("pin/ls", {"type": "recursive"}).json()["Keys"]
    kubo_error(node.rpc("pin/ls", {"arg": cid}), contains=f"path '{cid}' is not pinned")

    assert node.rpc("pin/add", {"arg": cid}).json() == {"Pins": [cid]}
    assert node.rpc("pin/ls", {"arg": cid}).json() == {"Keys": {cid: {"Type": "recursive"}}}
    assert node.rpc("pin/ls", {"arg": f"/ipfs/{cid}", "type": "recursive"}).json() == {
        "Keys": {cid: {"Type": "recursive"}}
    }
    assert node.rpc("pin/ls", {"type": "recursive"}).json()["Keys"][cid] == {"Type": "recursive"}
    everything = node.rpc("pin/ls").json()["Keys"]
    indirect = [k for k, v in everything.items() if v["Type"] == "indirect"]
    assert len(indirect) >= 3  # the three leaves of this file are pinned through it
    kubo_error(node.rpc("pin/ls", {"type": "bogus"}), contains="invalid type")
    streamed = [json.loads(x) for x in node.rpc("pin/ls", {"type": "recursive", "stream": "true"}).text.splitlines()]
    assert {"Cid": cid, "Type": "recursive"} in streamed

    assert node.rpc("pin/rm", {"arg": cid}).json() == {"Pins": [cid]}
    assert cid not in node.rpc("pin/ls").json()["Keys"]
    kubo_error(node.rpc("pin/rm", {"arg": cid}), contains="not pinned")
    kubo_error(node.rpc("pin/add"), status=400, code=1, contains="is required")
    kubo_error(node.rpc("pin/rm"), status=400, code=1, contains="is required")
    kubo_error(node.rpc("pin/add", {"arg": "nonsense"}), contains='invalid path "nonsense"')


def test_add_pins_by_default(node: DevNode) -> None:
    cid = node.add(b"pinned by add")["Hash"]
    assert node.rpc("pin/ls", {"arg": cid}).json() == {"Keys": {cid: {"Type": "recursive"}}}


def test_pin_add_refuses_incomplete_dag(
    start_node: Callable[..., DevNode], kubo_error: Callable[..., dict[str, Any]]
) -> None:
    n = start_node()
    data = blob(3 * CHUNK, seed=12)
    cid = n.add(data, pin="false")["Hash"]
    # remove one leaf block behind the node's back
    leaf = next(p for p in sorted((n.repo / "blocks").rglob("*.data")) if p.stat().st_size > CHUNK)
    leaf.unlink()
    r = n.rpc("pin/add", {"arg": cid})
    kubo_error(r, contains="not found locally")
    assert cid not in n.rpc("pin/ls").json()["Keys"]


def test_corrupt_block_is_detected(
    start_node: Callable[..., DevNode], kubo_error: Callable[..., dict[str, Any]]
) -> None:
    n = start_node()
    cid = n.add(b"soon to be corrupted")["Hash"]
    [path] = list((n.repo / "blocks").rglob("*.data"))
    path.write_bytes(path.read_bytes()[:-1] + b"!")
    kubo_error(n.rpc("cat", {"arg": cid}), contains="does not match its hash")


# --- gc ----------------------------------------------------------------------


def test_gc_removes_unpinned_and_keeps_pinned(
    start_node: Callable[..., DevNode], kubo_error: Callable[..., dict[str, Any]]
) -> None:
    n = start_node()
    keep = blob(2 * CHUNK + 3, seed=21)
    drop = blob(2 * CHUNK + 4, seed=22)
    kept = n.add(keep)["Hash"]
    dropped = n.add(drop, pin="false")["Hash"]
    raw_dropped = n.add(b"raw and unpinned", **{"cid-version": 1, "pin": "false"})["Hash"]
    r = n.rpc("repo/gc")
    assert r.status_code == 200
    removed = [json.loads(x)["Key"]["/"] for x in r.text.splitlines()]
    assert len(removed) == 5  # `drop`: root + 3 leaves; plus the raw block
    assert raw_dropped in removed
    assert all(k.startswith("bafkrei") for k in removed)  # kubo names removed blocks by raw CIDv1
    assert n.cat(kept) == keep
    kubo_error(n.rpc("cat", {"arg": dropped}), contains="not found locally")
    # a second gc has nothing left to do
    assert n.rpc("repo/gc").text == ""
    # unpinning then gc removes the rest
    n.rpc("pin/rm", {"arg": kept})
    assert len(n.rpc("repo/gc").text.splitlines()) == 4
    assert list((n.repo / "blocks").rglob("*.data")) == []


def test_gc_keeps_blocks_shared_with_a_pinned_dag(start_node: Callable[..., DevNode]) -> None:
    n = start_node()
    a = blob(CHUNK, seed=31)
    b = blob(CHUNK, seed=32)
    big = n.add(a + b)["Hash"]  # pinned, leaves a and b
    small = n.add(a, pin="false")["Hash"]  # the same single leaf block as big's first leaf
    n.rpc("repo/gc")
    assert n.cat(small) == a  # still there: reachable from the pin
    assert n.cat(big) == a + b


# --- persistence, identity, version -------------------------------------------


def test_state_survives_a_restart(start_node: Callable[..., DevNode], tmp_path: Path) -> None:
    repo = tmp_path / "persist"
    n1 = start_node(repo)
    data = blob(CHUNK + 77, seed=41)
    cid = n1.add(data)["Hash"]
    unpinned = n1.add(b"unpinned but stored", pin="false")["Hash"]
    peer = n1.rpc("id").json()["ID"]
    assert n1.stop() == 0  # SIGTERM: clean exit 0
    assert not (repo / "repo.lock").exists()

    n2 = start_node(repo)
    assert n2.cat(cid) == data
    assert n2.cat(unpinned) == b"unpinned but stored"
    assert n2.rpc("pin/ls", {"arg": cid}).json() == {"Keys": {cid: {"Type": "recursive"}}}
    assert n2.rpc("id").json()["ID"] == peer
    n2.rpc("repo/gc")
    assert n2.cat(cid) == data
    assert n2.stop(signal.SIGINT) == 0

    n3 = start_node(repo)
    assert n3.cat(cid) == data
    assert n3.rpc("cat", {"arg": unpinned}).status_code == 500


def test_second_node_on_the_same_repo_is_refused(start_node: Callable[..., DevNode], tmp_path: Path) -> None:
    repo = tmp_path / "shared"
    start_node(repo)
    with pytest.raises(RuntimeError, match="in use by another dev node"):
        start_node(repo)


def test_id_is_a_real_ed25519_peer_id(node: DevNode) -> None:
    r = node.rpc("id")
    body = r.json()
    assert body["AgentVersion"] == "dfl-devnode/0.1.0"
    assert body["ProtocolVersion"] == "ipfs/0.1.0"
    assert body["Addresses"] == []
    assert body["ID"].startswith("12D3KooW")
    mh = b58decode(body["ID"])
    assert mh[:2] == b"\x00\x24"  # identity multihash of 36 bytes
    pub = base64.b64decode(body["PublicKey"])
    assert mh[2:] == pub and pub[:4] == b"\x08\x01\x12\x20"  # protobuf {Type: Ed25519, Data: 32 bytes}
    assert node.rpc("id").json()["ID"] == body["ID"]


def test_version(node: DevNode) -> None:
    v = node.rpc("version").json()
    assert v["Version"] == "0.38.0" and v["Commit"] == "dfl-devnode" and v["Repo"] == "16"
    assert "/" in v["System"] and v["Golang"].startswith("n/a (Node v22")


# --- HTTP-level behaviour and abuse -------------------------------------------


def test_get_on_rpc_is_405_and_unknown_is_404(node: DevNode) -> None:
    r = node.session.get(f"{node.api}/api/v0/version", timeout=5)
    assert r.status_code == 405
    r = node.rpc("does/not/exist")
    assert r.status_code == 404 and "404 page not found" in r.text
    assert node.session.get(f"{node.api}/", timeout=5).status_code == 404


@pytest.mark.parametrize(
    "body,ctype",
    [
        (b"this is not multipart at all", "multipart/form-data; boundary=xyz"),
        (
            b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc',
            "multipart/form-data; boundary=xyz",
        ),
        (b"\x00\xff" * 1000, "multipart/form-data"),
        (b"--xyz--\r\n", "multipart/form-data; boundary=xyz"),
        (b"hello", "text/plain"),
        (b"", None),
    ],
)
def test_garbage_add_bodies_get_errors(node: DevNode, body: bytes, ctype: str | None) -> None:
    headers = {"Content-Type": ctype} if ctype else {}
    r = node.rpc("add", data=body, headers=headers)
    assert r.status_code in (400, 500), r.text
    assert r.json()["Type"] == "error"
    assert node.alive()


def test_directory_part_is_refused(node: DevNode, kubo_error: Callable[..., dict[str, Any]]) -> None:
    files = [("file", ("dir", b"", "application/x-directory")), ("file", ("dir%2Fa.txt", b"a"))]
    kubo_error(node.rpc("add", files=files), contains="not supported")
    kubo_error(node.rpc("add", files={"file": ("dir%2Fa.txt", b"a")}), contains="contains a directory")
    assert node.alive()


def raw_request(node: DevNode, payload: bytes, shutdown: bool = True, read: bool = True) -> bytes:
    import socket

    host, port = "127.0.0.1", node.api_port
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(payload)
        if shutdown:
            s.shutdown(socket.SHUT_WR)
        out = b""
        if read:
            try:
                while chunk := s.recv(65536):
                    out += chunk
            except (ConnectionResetError, TimeoutError):
                pass
        return out


def test_truncated_upload_leaves_node_healthy(node: DevNode) -> None:
    body = b'--b\r\nContent-Disposition: form-data; name="file"; filename="t"\r\n\r\n' + b"z" * 5000
    head = (
        f"POST /api/v0/add HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
        f"Content-Length: {len(body) + 100000}\r\n\r\n"
    ).encode()
    raw_request(node, head + body)
    assert node.alive()
    # the partial upload did not create a pin
    keys = node.rpc("pin/ls", {"type": "recursive"}).json()["Keys"]
    assert aleph_cid.compute_cid(b"z" * 5000) not in keys


def test_aborted_chunked_upload(node: DevNode) -> None:
    head = (
        b"POST /api/v0/add HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    part = b'--b\r\nContent-Disposition: form-data; name="file"; filename="t"\r\n\r\n' + b"q" * 300000
    raw_request(node, head + f"{len(part):x}\r\n".encode() + part + b"\r\n", read=False)
    assert node.alive()


def test_huge_headers_and_garbage_requests(node: DevNode) -> None:
    out = raw_request(node, b"POST /api/v0/version HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 431")
    out = raw_request(node, b"NOT HTTP AT ALL\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400")
    out = raw_request(node, b"POST /api/v0/cat?arg=%ZZ HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    assert b"HTTP/1.1 " in out
    assert node.alive()


def test_oversized_body_on_a_bodiless_endpoint(node: DevNode) -> None:
    r = None
    try:
        r = node.rpc("version", data=b"x" * (3 << 20), timeout=10)
    except Exception:  # the node may cut the connection: that is fine
        pass
    if r is not None:
        assert r.status_code == 413 and r.json()["Type"] == "error"
    assert node.alive()


def test_concurrent_adds_and_gc(start_node: Callable[..., DevNode]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    import requests

    n = start_node()
    datas = [blob(CHUNK + i, seed=100 + i) for i in range(6)]

    def add(d: bytes) -> str:
        r = requests.post(f"{n.api}/api/v0/add", files={"file": ("f", d)}, timeout=30)
        return r.json()["Hash"]

    def gc(_: int) -> int:
        return requests.post(f"{n.api}/api/v0/repo/gc", timeout=30).status_code

    with ThreadPoolExecutor(8) as pool:
        adds = [pool.submit(add, d) for d in datas]
        gcs = [pool.submit(gc, i) for i in range(3)]
        cids = [f.result() for f in adds]
        assert all(f.result() == 200 for f in gcs)
    n.rpc("repo/gc")
    for cid, d in zip(cids, datas):
        assert cid == aleph_cid.compute_cid(d)
        assert n.cat(cid) == d  # pinned by add, so gc never takes them


def test_upload_limit(start_node: Callable[..., DevNode], kubo_error: Callable[..., dict[str, Any]]) -> None:
    n = start_node(None, "--max-upload-bytes", "100000")
    assert n.add(b"y" * 100000)["Hash"] == aleph_cid.compute_cid(b"y" * 100000)
    kubo_error(n.rpc("add", files={"file": ("big", b"y" * 100001)}), contains="upload limit")
    assert n.alive()


def test_cross_origin_browser_requests_are_refused(node: DevNode) -> None:
    r = node.rpc("version", headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    r = node.rpc("repo/gc", headers={"Referer": "http://evil.example/page"})
    assert r.status_code == 403
    r = node.rpc("version", headers={"Origin": f"http://127.0.0.1:{node.api_port}"})
    assert r.status_code == 200
    r = node.rpc("version", headers={"Origin": "http://127.0.0.1:1"})
    assert r.status_code == 403


def test_exit_code_and_message_on_bad_arguments(tmp_path: Path) -> None:
    import subprocess

    from ipfs_node_dev import NODE22, SERVER

    p = subprocess.run(
        [str(NODE22), str(SERVER), "--repo", str(tmp_path / "r"), "--api", "nonsense"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert p.returncode == 1 and "bad address" in p.stderr and p.stdout == ""
