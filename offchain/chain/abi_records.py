"""Python records of the contract's structs and events, read and written by the ABI's names.

A record is a frozen dataclass whose fields are the ABI's names in snake_case and in the ABI's
order (`modelSpecCid` <-> `model_spec_cid`); `tests/offchain/chain/test_abi_records.py` checks
both against the build artifacts. Values are converted by the field's type, so adding a field
to a struct or an event means adding one line to its record. Decoding accepts what web3 returns
(named tuples, dicts, bytes) and what the explorer stores (dicts, 0x-hex strings).
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from enum import IntEnum
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")


class AbiRecordError(ValueError):
    """Values from the chain do not fit a record (a field the ABI does not have, or a bad value)."""


def abi_name(field_name: str) -> str:
    """`model_spec_cid` -> `modelSpecCid`: the ABI's name of a record field."""
    head, *rest = field_name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def field_name(abi: str) -> str:
    """`modelSpecCid` -> `model_spec_cid`: the record field of an ABI name."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", abi).lower()


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_abi(cls: type[R], values: Mapping[str, Any] | tuple[Any, ...]) -> R:
    """A record from the ABI-named values of a struct or an event (a mapping or a named tuple)."""
    named = _as_mapping(cls, values)
    hints = _hints(cls)
    data = {}
    for f in fields(cls):
        key = abi_name(f.name)
        if key not in named:
            raise AbiRecordError(f"{cls.__name__}: the chain's values have no {key!r} (has: {', '.join(named)})")
        try:
            data[f.name] = _convert(hints[f.name], named[key])
        except (TypeError, ValueError) as exc:
            raise AbiRecordError(f"{cls.__name__}.{f.name}: cannot read {named[key]!r}: {exc}") from exc
    return cls(**data)


def to_abi(record: DataclassInstance) -> dict[str, Any]:
    """The ABI-named values of a record, as web3 takes them for a struct argument."""
    return {abi_name(f.name): _plain(getattr(record, f.name)) for f in fields(record)}


def _as_mapping(cls: type, values: Mapping[str, Any] | tuple[Any, ...]) -> Mapping[str, Any]:
    if isinstance(values, Mapping):
        return values
    if hasattr(values, "_asdict"):  # web3's named tuple of a struct (decode_tuples=True)
        named: Mapping[str, Any] = values._asdict()
        return named
    raise AbiRecordError(f"{cls.__name__}: expected values named by the ABI, got {type(values).__name__}")


def _convert(kind: Any, value: Any) -> Any:
    origin = typing.get_origin(kind)
    if origin in (types.UnionType, typing.Union):
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        return None if value is None else _convert(options[0], value)
    if origin is tuple:
        (item, _) = typing.get_args(kind)
        return tuple(_convert(item, v) for v in value)
    if isinstance(kind, type) and is_dataclass(kind):
        return from_abi(kind, value)
    if isinstance(kind, type) and issubclass(kind, IntEnum):
        return kind(int(value))
    if kind is bytes:
        return bytes.fromhex(value[2:] if value.startswith("0x") else value) if isinstance(value, str) else bytes(value)
    if kind is bool:
        if not isinstance(value, bool):
            raise TypeError("expected a bool")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("expected an integer")
        return value
    if kind is str:
        return str(value)
    raise TypeError(f"no conversion to {kind!r}")


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return to_abi(value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, IntEnum):
        return int(value)
    return value
