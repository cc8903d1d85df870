"""Tiny, independent CID helpers for the dev node tests (no shared code with the node)."""

from __future__ import annotations

import base64

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58decode(s: str) -> bytes:
    n = 0
    for ch in s:
        n = n * 58 + B58.index(ch)
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return b"\0" * (len(s) - len(s.lstrip("1"))) + body


def b32(data: bytes) -> str:
    return "b" + base64.b32encode(data).decode().lower().rstrip("=")


def cid_v0_to_v1(v0: str) -> str:
    """Qm... (dag-pb, sha2-256) -> the same DAG as a base32 CIDv1."""
    mh = b58decode(v0)
    assert mh[:2] == b"\x12\x20" and len(mh) == 34
    return b32(b"\x01\x70" + mh)


def raw_cid_v1(sha256_digest: bytes) -> str:
    """CIDv1, raw codec, sha2-256 multihash, base32."""
    return b32(b"\x01\x55\x12\x20" + sha256_digest)


def raw_cid_v1_sha512(data: bytes) -> str:
    """CIDv1, raw codec, sha2-512 multihash (a hash the dev node never stores)."""
    import hashlib

    return b32(b"\x01\x55\x13\x40" + hashlib.sha512(data).digest())
