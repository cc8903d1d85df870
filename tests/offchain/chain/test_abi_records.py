"""The Python records of the contract's structs and events agree with the compiled ABI, field by
field: same names (camelCase <-> snake_case), same order, compatible types. A field added to a
Solidity struct or event without its line in the record fails here."""

from __future__ import annotations

import json
import typing
from dataclasses import dataclass, fields, is_dataclass
from enum import IntEnum
from typing import Any

import pytest

from offchain.chain.abi_records import AbiRecordError, abi_name, field_name, from_abi, to_abi
from offchain.chain.events import (
    EVENT_RECORDS,
    MANAGER_EVENT_RECORDS,
    PRIVACY_EVENT_RECORDS,
    RoundFinalized,
    TaskCreated,
)
from offchain.chain.protocol import VIEW_RECORDS, RoundStatus, TaskParams
from support import BUILD_DIR

ABI: list[dict[str, Any]] = json.loads((BUILD_DIR / "contracts" / "FLTaskManager.json").read_text())["abi"]
PRIVACY_ABI: list[dict[str, Any]] = json.loads((BUILD_DIR / "contracts" / "FLPrivacy.json").read_text())["abi"]


def _python_type_for(solidity: str) -> tuple[type, ...]:
    if solidity.endswith("[]"):
        return (tuple,)
    if solidity.startswith(("uint", "int")):
        return (int, IntEnum)
    return {"address": (str,), "string": (str,), "bool": (bool,), "tuple": (object,)}.get(
        solidity, (bytes,) if solidity.startswith("bytes") else ()
    )


def mismatches(record: type, components: list[dict[str, Any]]) -> list[str]:
    """What differs between a record and the ABI's components (empty when they agree)."""
    ours = [(f.name, typing.get_type_hints(record)[f.name]) for f in fields(record)]
    theirs = [(field_name(c["name"]), c) for c in components]
    found = []
    if [n for n, _ in ours] != [n for n, _ in theirs]:
        found.append(f"{record.__name__}: fields {[n for n, _ in ours]} but the ABI has {[n for n, _ in theirs]}")
    for (name, hint), (_, component) in zip(ours, theirs):
        base = typing.get_origin(hint) or hint
        if component["type"] == "tuple":
            if isinstance(hint, type) and is_dataclass(hint):
                found += mismatches(hint, component["components"])
            else:
                found.append(f"{name}: not a record")
        elif not (isinstance(base, type) and issubclass(base, _python_type_for(component["type"]))):
            found.append(f"{record.__name__}.{name}: {hint} does not hold a Solidity {component['type']}")
    return found


def _abi(kind: str, name: str) -> dict[str, Any]:
    (item,) = [i for i in ABI if i["type"] == kind and i["name"] == name]
    return item


@pytest.mark.parametrize("view", sorted(VIEW_RECORDS))
def test_each_view_record_matches_the_struct_the_view_returns(view: str) -> None:
    (output,) = _abi("function", view)["outputs"]
    assert mismatches(VIEW_RECORDS[view], output["components"]) == []


def test_every_event_of_the_contracts_has_a_record_and_every_record_an_event() -> None:
    assert sorted(MANAGER_EVENT_RECORDS) == sorted(i["name"] for i in ABI if i["type"] == "event")
    assert sorted(PRIVACY_EVENT_RECORDS) == sorted(i["name"] for i in PRIVACY_ABI if i["type"] == "event")


@pytest.mark.parametrize("event", sorted(EVENT_RECORDS))
def test_each_event_record_matches_the_events_arguments(event: str) -> None:
    abi = ABI if event in MANAGER_EVENT_RECORDS else PRIVACY_ABI
    (item,) = [i for i in abi if i["type"] == "event" and i["name"] == event]
    assert mismatches(EVENT_RECORDS[event], item["inputs"]) == []


def test_a_record_missing_a_struct_field_is_caught() -> None:
    @dataclass(frozen=True)
    class Shorter:
        status: RoundStatus
        winning_proposal: bytes

    (output,) = _abi("function", "roundOutcome")["outputs"]
    assert mismatches(Shorter, output["components"])  # the check can fail
    with pytest.raises(AbiRecordError, match="no 'rewardRoot'"):
        from_abi(RoundFinalized, {"taskId": 1, "round": 0, "status": 1, "winningProposal": b"\0" * 32})


def test_names_map_both_ways() -> None:
    for name in ("model_spec_cid", "trainer_non_reveal_slash_bps", "round", "task_id"):
        assert field_name(abi_name(name)) == name
    assert abi_name("eval_dataset_hash") == "evalDatasetHash"


def test_web3_values_and_the_explorers_json_give_the_same_record() -> None:
    params = TaskParams(
        "QmSpec", "QmInit", "QmEval", b"\x01" * 32, 3, (1, 2), 2, 0, 60, 60, 60, 60, 60, 60, 3600, 10, 100, 1,
        5, 1 << 20, 10_000_000, 6000, 1000, 2000, 1000, 500, 7000, 10**21,
    )  # fmt: skip
    as_web3 = {"taskId": 7, "requester": "0x" + "ab" * 20, "params": to_abi(params)}
    as_json = json.loads(json.dumps({**as_web3, "params": {**to_abi(params), "evalDatasetHash": "0x" + "01" * 32}}))
    assert from_abi(TaskCreated, as_web3) == from_abi(TaskCreated, as_json) == TaskCreated(7, "0x" + "ab" * 20, params)
