"""Local CID computation agrees with two independent offline oracles of kubo's `ipfs add`."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest
from aleph_cid import compute_cid as aleph_cid

from offchain.errors import InvalidCidError
from offchain.storage.cid import CHUNK_SIZE, compute_cid, matches, parse_cid

# Across every boundary that changes the DAG: empty, one byte, exactly one chunk,
# one chunk + 1, many chunks, and 174 / 175 / 176 chunks (one root holds at most 174 links).
SIZES = [0, 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * 2**20, 174 * CHUNK_SIZE, 174 * CHUNK_SIZE + 1, 176 * CHUNK_SIZE + 7]


def _data(size: int) -> bytes:
    return random.Random(size).randbytes(size)


def _ipfs_cid_oracle(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "blob"
    path.write_bytes(data)
    out = subprocess.run(["ipfs_cid", str(path)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)["CIDv0"]


@pytest.mark.parametrize("size", SIZES)
def test_cidv0_matches_both_oracles(size: int, tmp_path: Path) -> None:
    data = _data(size)
    ours = compute_cid(data)
    assert ours == aleph_cid(data)
    assert ours == _ipfs_cid_oracle(tmp_path, data)


def test_known_kubo_cids() -> None:
    # Published values: kubo's empty file, and its CIDv1 (raw leaf) form.
    assert compute_cid(b"") == "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"
    assert compute_cid(b"", cid_version=1) == "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"


def test_cidv1_single_chunk_is_a_raw_block_of_the_bytes() -> None:
    import hashlib

    data = _data(1000)
    cid = parse_cid(compute_cid(data, cid_version=1))
    assert cid.codec == 0x55 and cid.digest == hashlib.sha256(data).digest()


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE + 1, 175 * CHUNK_SIZE])
def test_matches_accepts_the_right_bytes_and_rejects_one_flipped_bit(size: int) -> None:
    data = _data(size)
    for cid in (
        compute_cid(data),
        compute_cid(data, cid_version=1),
        compute_cid(data, cid_version=1, raw_leaves=False),
    ):
        assert matches(data, cid)
        if size:
            flipped = bytearray(data)
            flipped[size // 2] ^= 1
            assert not matches(bytes(flipped), cid)
        assert not matches(data + b"\0", cid)


@pytest.mark.parametrize("text", ["", "hello", "Qm" + "1" * 44, "bafy!!", "f01551220" + "00" * 32, "zzzz"])
def test_malformed_cids_are_rejected_with_a_message(text: str) -> None:
    with pytest.raises(InvalidCidError, match="CID"):
        parse_cid(text)


def test_parse_round_trips_v0_and_v1() -> None:
    for cid in (
        "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH",
        "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
    ):
        assert str(parse_cid(cid)) == cid
        assert str(parse_cid("/ipfs/" + cid)) == cid
