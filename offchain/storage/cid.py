"""CIDs of UnixFS files as kubo's `ipfs add` computes them, without a node.

Lets the client verify that bytes fetched from any IPFS node hash to the CID
asked for, so a lying or corrupted node can never feed us a wrong model.
Covered: kubo's default layout (fixed 256 KiB chunks, balanced DAG with at most
174 links per node), CIDv0 (dag-pb leaves) and CIDv1 (raw leaves), sha2-256.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

import base58

from offchain.errors import InvalidCidError

CHUNK_SIZE = 262_144
MAX_LINKS = 174
_SHA2_256 = 0x12
_DAG_PB = 0x70
_RAW = 0x55


@dataclass(frozen=True)
class Cid:
    version: int
    codec: int
    digest: bytes  # sha2-256

    @property
    def multihash(self) -> bytes:
        return bytes([_SHA2_256, len(self.digest)]) + self.digest

    def __str__(self) -> str:
        if self.version == 0:
            return base58.b58encode(self.multihash).decode()
        raw = _varint(1) + _varint(self.codec) + self.multihash
        return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


# --- protobuf / varint encoding (only what dag-pb and UnixFS need) ---------


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    shift = result = 0
    while pos < len(data):
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
    raise ValueError("truncated varint")


def _field_bytes(number: int, value: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def _field_int(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _unixfs_file(data: bytes | None, filesize: int, blocksizes: list[int]) -> bytes:
    out = _field_int(1, 2)  # Type = File
    if data:
        out += _field_bytes(2, data)
    out += _field_int(3, filesize)
    for size in blocksizes:
        out += _field_int(4, size)
    return out


def _dag_pb(links: list[tuple[Cid, int]], data: bytes) -> bytes:
    # dag-pb writes Links (field 2) before Data (field 1); kubo writes an empty Name.
    out = b""
    for cid, tsize in links:
        link = _field_bytes(1, _cid_bytes(cid)) + _field_bytes(2, b"") + _field_int(3, tsize)
        out += _field_bytes(2, link)
    return out + _field_bytes(1, data)


def _cid_bytes(cid: Cid) -> bytes:
    if cid.version == 0:
        return cid.multihash
    return _varint(1) + _varint(cid.codec) + cid.multihash


# --- the DAG ---------------------------------------------------------------


@dataclass(frozen=True)
class _Node:
    cid: Cid
    filesize: int  # bytes of file content below this node
    tsize: int  # bytes of all blocks below and including this node


def _leaf(chunk: bytes, version: int, raw_leaves: bool) -> _Node:
    if raw_leaves:
        return _Node(Cid(1, _RAW, hashlib.sha256(chunk).digest()), len(chunk), len(chunk))
    block = _dag_pb([], _unixfs_file(chunk, len(chunk), []))
    return _Node(Cid(version, _DAG_PB, hashlib.sha256(block).digest()), len(chunk), len(block))


def _parent(children: list[_Node], version: int) -> _Node:
    filesize = sum(c.filesize for c in children)
    data = _unixfs_file(None, filesize, [c.filesize for c in children])
    block = _dag_pb([(c.cid, c.tsize) for c in children], data)
    cid = Cid(version, _DAG_PB, hashlib.sha256(block).digest())
    return _Node(cid, filesize, len(block) + sum(c.tsize for c in children))


def compute_cid(data: bytes, *, cid_version: int = 0, raw_leaves: bool | None = None) -> str:
    """The CID `ipfs add --cid-version=N [--raw-leaves=B]` gives for `data` (kubo defaults
    otherwise: raw leaves only with CIDv1)."""
    return str(_root(data, cid_version, raw_leaves).cid)


def _root(data: bytes, version: int, raw_leaves: bool | None) -> _Node:
    if version not in (0, 1):
        raise ValueError(f"cid_version must be 0 or 1, not {version}")
    raw = version == 1 if raw_leaves is None else raw_leaves
    if raw and version == 0:
        raise ValueError("raw leaves need CIDv1")
    chunks = [data[i : i + CHUNK_SIZE] for i in range(0, len(data), CHUNK_SIZE)] or [b""]
    # A single chunk is its own root (kubo reduces a one-leaf file to the leaf).
    level = [_leaf(c, version, raw) for c in chunks]
    # Balanced layout: group bottom-up in batches of MAX_LINKS until one root remains.
    while len(level) > 1:
        level = [_parent(level[i : i + MAX_LINKS], version) for i in range(0, len(level), MAX_LINKS)]
    return level[0]


# --- parsing ---------------------------------------------------------------


def parse_cid(text: str) -> Cid:
    """Parse a CIDv0 (Qm...) or base32/base58 CIDv1 string; InvalidCidError otherwise."""
    text = text.strip()
    if text.startswith("/ipfs/"):
        text = text[len("/ipfs/") :]
    try:
        if len(text) == 46 and text.startswith("Qm"):
            mh = base58.b58decode(text)
            version, codec, pos = 0, _DAG_PB, 0
            raw = mh
        elif text[:1] == "b":
            raw = base64.b32decode(text[1:].upper() + "=" * (-len(text[1:]) % 8))
            version, pos = _read_varint(raw, 0)
            codec, pos = _read_varint(raw, pos)
        elif text[:1] == "z":
            raw = base58.b58decode(text[1:])
            version, pos = _read_varint(raw, 0)
            codec, pos = _read_varint(raw, pos)
        else:
            raise ValueError("unknown multibase prefix (expected Qm..., b... or z...)")
        hash_fn, pos = _read_varint(raw, pos)
        length, pos = _read_varint(raw, pos)
        digest = raw[pos:]
    except ValueError as exc:
        raise InvalidCidError(f"{text!r} is not a valid CID: {exc}", cid=text) from exc
    if version not in (0, 1) or (version == 1 and codec not in (_DAG_PB, _RAW)):
        raise InvalidCidError(f"{text!r}: unsupported CID version {version} / codec {codec:#x}", cid=text)
    if hash_fn != _SHA2_256 or length != 32 or len(digest) != 32:
        raise InvalidCidError(f"{text!r}: only sha2-256 CIDs are supported", cid=text)
    return Cid(version, codec, digest)


def is_cid(text: str) -> bool:
    """Whether `text` is a CID this module can check (a pure function: usable in consensus code)."""
    try:
        parse_cid(text)
    except InvalidCidError:
        return False
    return True


def matches(data: bytes, cid: str) -> bool:
    """True when `data` is the file kubo would address as `cid` (default chunker and layout,
    with or without raw leaves)."""
    parsed = parse_cid(cid)
    if parsed.version == 0:
        return compute_cid(data) == str(parsed)
    return any(compute_cid(data, cid_version=1, raw_leaves=r) == str(parsed) for r in (True, False))
