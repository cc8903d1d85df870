"""Revert data -> the contract's custom error name and arguments, from the ABIs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from eth_abi import decode
from eth_utils import keccak

_ERROR_STRING = bytes.fromhex("08c379a0")  # Error(string)
_PANIC = bytes.fromhex("4e487b71")  # Panic(uint256)


def _type_of(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_type_of(c) for c in param["components"])
        return f"({inner}){param['type'][5:]}"
    return str(param["type"])


class ErrorDecoder:
    def __init__(self, abis: Iterable[list[dict[str, Any]]]) -> None:
        self._errors: dict[bytes, tuple[str, list[str]]] = {}
        for abi in abis:
            for item in abi:
                if item.get("type") == "error":
                    types = [_type_of(p) for p in item.get("inputs", [])]
                    selector = keccak(text=f"{item['name']}({','.join(types)})")[:4]
                    self._errors[selector] = (item["name"], types)

    def decode(self, data: bytes | str | None) -> tuple[str, tuple[object, ...]]:
        """("ErrorName", args); ("", ()) when there is no data; ("unknown error 0x...", ()) otherwise."""
        if isinstance(data, str):
            data = bytes.fromhex(data.removeprefix("0x")) if data.startswith("0x") else None
        if not data or len(data) < 4:
            return "", ()
        selector, body = data[:4], data[4:]
        try:
            if selector == _ERROR_STRING:
                return "Error", tuple(decode(["string"], body))
            if selector == _PANIC:
                return "Panic", tuple(decode(["uint256"], body))
            if selector in self._errors:
                name, types = self._errors[selector]
                return name, tuple(_readable(v) for v in decode(types, body))
        except Exception:  # malformed revert data: report the selector
            pass
        return f"unknown error 0x{selector.hex()}", ()


def _readable(value: object) -> object:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value
