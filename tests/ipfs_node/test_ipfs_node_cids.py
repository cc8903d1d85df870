"""The dev node yields kubo's CIDs: checked against two independent offline oracles."""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aleph_cid
import pytest
from ipfs_node_cidutil import cid_v0_to_v1, raw_cid_v1
from ipfs_node_dev import DevNode

CHUNK = 262144
SIZES = {
    "0B": 0,
    "1B": 1,
    "256KiB": CHUNK,
    "256KiB_plus_1": CHUNK + 1,
    "3MiB": 3 * 1024 * 1024,
    "174chunks": 174 * CHUNK,  # exactly one full root node
    "175chunks": 174 * CHUNK + 1,  # first size needing a second tree level
    "176chunks": 176 * CHUNK,
}


def data_of(size: int, seed: int = 1234) -> bytes:
    return random.Random(seed + size).randbytes(size)


def ipfs_cid_oracle(data: bytes, tmp_path: Path) -> dict:
    f = tmp_path / "oracle.bin"
    f.write_bytes(data)
    out = subprocess.run(["ipfs_cid", str(f)], capture_output=True, check=True, timeout=60).stdout
    return json.loads(out)


@pytest.mark.parametrize("label", list(SIZES))
def test_default_add_matches_both_oracles(node: DevNode, tmp_path: Path, label: str) -> None:
    data = data_of(SIZES[label])
    got = node.add(data, f"{label}.bin")
    oracle = ipfs_cid_oracle(data, tmp_path)
    assert got["Hash"] == oracle["CIDv0"] == aleph_cid.compute_cid(data)
    assert got["Name"] == f"{label}.bin"
    assert int(got["Size"]) >= len(data)  # cumulative DAG size, a decimal string
    assert isinstance(got["Size"], str)


def test_cumulative_size_like_kubo(node: DevNode) -> None:
    # values kubo prints for these inputs
    assert node.add(b"")["Size"] == "6"
    assert node.add(b"hello\n")["Size"] == "14"


def test_ipfs_cid_oracle_v1_is_the_v0_dag_in_base32(node: DevNode, tmp_path: Path) -> None:
    """`ipfs_cid`'s CIDv1 is the CIDv0 DAG re-encoded as CIDv1 (dag-pb, no raw leaves); so it is
    what kubo gives with cid-version=1&raw-leaves=false for a single-chunk file."""
    for size in (0, 11, 1000, CHUNK):
        data = data_of(size)
        oracle = ipfs_cid_oracle(data, tmp_path)
        assert oracle["CIDv1"] == cid_v0_to_v1(oracle["CIDv0"])
        got = node.add(data, **{"cid-version": 1, "raw-leaves": "false"})
        assert got["Hash"] == oracle["CIDv1"]


@pytest.mark.parametrize("size", [0, 1, 1000, CHUNK])
def test_cidv1_single_chunk_is_raw_sha256(node: DevNode, size: int) -> None:
    data = data_of(size)
    got = node.add(data, **{"cid-version": 1})
    assert got["Hash"].startswith("bafkrei")
    assert got["Hash"] == raw_cid_v1(hashlib.sha256(data).digest())
    assert got["Size"] == str(size)
    assert node.cat(got["Hash"]) == data


def test_raw_leaves_with_cidv0_single_chunk_is_raw(node: DevNode) -> None:
    data = b"raw leaf with a v0 root"
    got = node.add(data, **{"raw-leaves": "true"})
    assert got["Hash"] == raw_cid_v1(hashlib.sha256(data).digest())


def test_cidv1_multi_chunk_is_self_consistent(node: DevNode) -> None:
    data = data_of(3 * CHUNK + 17, seed=7)
    a = node.add(data, **{"cid-version": 1})
    b = node.add(data, **{"cid-version": "1", "raw-leaves": "true"})
    c = node.add(data, **{"cid-version": 1, "raw-leaves": "false"})
    assert a["Hash"] == b["Hash"] and a["Hash"].startswith("bafybei")
    assert c["Hash"] != a["Hash"] and c["Hash"].startswith("bafybei")
    # raw leaves: no per-leaf protobuf wrapping, so a smaller cumulative size
    assert int(a["Size"]) < int(c["Size"])
    assert node.cat(a["Hash"]) == data and node.cat(c["Hash"]) == data
    # v0 and v1 of the same bytes are different DAGs but the same content
    v0 = node.add(data)
    assert v0["Hash"].startswith("Qm") and node.cat(v0["Hash"]) == data


def test_chunker_size_n(node: DevNode) -> None:
    data = data_of(10_000, seed=3)
    got = node.add(data, chunker="size-1024")
    plain = node.add(data)
    assert got["Hash"] != plain["Hash"]
    assert node.cat(got["Hash"]) == data
    same = node.add(data, chunker="size-262144")
    assert same["Hash"] == plain["Hash"]


@pytest.mark.parametrize(
    "params,needle",
    [
        ({"chunker": "rabin-100-200-300"}, "not supported"),
        ({"chunker": "buzhash"}, "not supported"),
        ({"chunker": "size-0"}, "greater than 0"),
        ({"chunker": "size-2000000"}, "maximum chunk size"),
        ({"hash": "blake2b-256"}, "only sha2-256"),
        ({"cid-version": 2}, "unknown CID version"),
        ({"trickle": "true"}, "not supported"),
        ({"wrap-with-directory": "true"}, "not supported"),
    ],
)
def test_unsupported_add_options_are_rejected(
    node: DevNode, kubo_error: Callable[..., dict[str, Any]], params: dict[str, Any], needle: str
) -> None:
    r = node.rpc("add", params, files={"file": ("x", b"data")})
    kubo_error(r, contains=needle)


def test_bad_bool_option(node: DevNode, kubo_error: Callable[..., dict[str, Any]]) -> None:
    r = node.rpc("add", {"pin": "maybe"}, files={"file": ("x", b"data")})
    kubo_error(r, status=400, code=1, contains='to type "bool"')


def test_only_hash_stores_and_pins_nothing(node: DevNode, kubo_error: Callable[..., dict[str, Any]]) -> None:
    data = data_of(2 * CHUNK + 5, seed=99)
    got = node.add(data, **{"only-hash": "true"})
    assert got["Hash"] == aleph_cid.compute_cid(data)
    kubo_error(node.rpc("cat", {"arg": got["Hash"]}), contains="not found locally")
    assert got["Hash"] not in node.rpc("pin/ls").json()["Keys"]
    kubo_error(node.rpc("pin/ls", {"arg": got["Hash"]}), contains="is not pinned")


def test_several_files_in_one_request(node: DevNode) -> None:
    parts = [("file", ("a.txt", b"first")), ("file", ("b.txt", b"second")), ("file", ("", b"third"))]
    r = node.rpc("add", files=parts)
    assert r.status_code == 200, r.text
    lines = [json.loads(x) for x in r.text.splitlines()]
    assert [x["Hash"] for x in lines] == [aleph_cid.compute_cid(d) for d in (b"first", b"second", b"third")]
    assert [x["Name"] for x in lines] == ["a.txt", "b.txt", lines[2]["Hash"]]  # no name: kubo shows the CID
    r = node.rpc("add", {"quieter": "true"}, files=parts)
    assert [json.loads(x)["Hash"] for x in r.text.splitlines()] == [lines[2]["Hash"]]


def test_part_without_filename_is_a_file_too(node: DevNode) -> None:
    data = bytes(range(256)) * 40  # every byte value: the body must pass through unchanged
    r = node.rpc("add", files={"file": (None, data)})
    assert r.status_code == 200, r.text
    got = json.loads(r.text)
    assert got["Hash"] == aleph_cid.compute_cid(data) == got["Name"]
    assert node.cat(got["Hash"]) == data
