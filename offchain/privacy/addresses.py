"""Ethereum addresses as the 20 bytes the privacy formats carry, and back as lowercase 0x-hex."""

from __future__ import annotations

import re

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def address_bytes(address: str, what: str = "address") -> bytes:
    """The 20 bytes of a 0x-hex address (any letter case); ValueError naming `what` if it is not one."""
    if not isinstance(address, str) or not _ADDRESS.fullmatch(address):
        raise ValueError(f"{what} is not a 20-byte 0x-hex address")
    return bytes.fromhex(address[2:])


def address_hex(raw: bytes) -> str:
    """Lowercase 0x-hex of 20 address bytes: the one spelling used in records and comparisons."""
    if len(raw) != 20:
        raise ValueError(f"an address is 20 bytes, got {len(raw)}")
    return "0x" + raw.hex()
