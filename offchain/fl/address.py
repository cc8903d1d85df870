"""One spelling for trainer addresses: lowercase 0x-hex, the sort key of every round."""

from __future__ import annotations

import re

from offchain.fl.errors import AggregationInputError

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def normalize_address(address: str) -> str:
    """`address` as lowercase 0x-hex; raises AggregationInputError if it is not one."""
    if not isinstance(address, str) or not _ADDRESS.fullmatch(address):
        raise AggregationInputError(f"not a 20-byte 0x-hex address: {address!r}")
    return address.lower()
