"""Blocks, transactions and logs for the explorer's indexer.

Fetched with raw JSON-RPC (blocks and receipts in batches, logs with one `eth_getLogs` per
range) and decoded generically from the ABIs in the build artifacts, so a changed event or
function needs no change here. Everything returned is plain Python: ints, str (0x-hex for
bytes, checksummed addresses), lists and dicts, ready for JSON.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, cast

from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_typing import ABIEvent, ABIFunction
from eth_utils import event_abi_to_log_topic, function_abi_to_4byte_selector, to_checksum_address
from eth_utils.abi import collapse_if_tuple
from web3 import Web3
from web3.providers import JSONBaseProvider
from web3.types import RPCEndpoint

from offchain.chain.abi_records import from_abi
from offchain.chain.artifacts import Deployment
from offchain.chain.errors import ChainError
from offchain.chain.manager import MANAGER_CONTRACT, TOKEN_CONTRACT, TaskManager
from offchain.chain.protocol import Participant, TaskParams, TaskState
from offchain.chain.rpc import Backoff, with_retries

log = logging.getLogger(__name__)

RPC_BATCH = 100  # JSON-RPC requests per HTTP batch


# --- records -------------------------------------------------------------------


@dataclass(frozen=True)
class BlockRecord:
    number: int
    hash: str
    parent_hash: str
    timestamp: int
    tx_count: int
    gas_used: int
    miner: str


@dataclass(frozen=True)
class TxRecord:
    hash: str
    block_number: int
    index: int
    sender: str
    to: str | None
    value: int
    status: int
    gas_used: int
    contract: str | None  # name of the project contract it calls, if any
    function: str | None  # decoded function name, None if not decodable
    args: dict[str, Any]
    input: str
    created: str | None  # contract address for a creation


@dataclass(frozen=True)
class LogRecord:
    block_number: int
    block_hash: str
    log_index: int
    tx_hash: str
    address: str
    contract: str | None
    name: str | None  # decoded event name, None if no ABI matches
    args: dict[str, Any]
    topics: tuple[str, ...]
    data: str


@dataclass(frozen=True)
class RangeData:
    """Blocks [lo, hi], the logs of the project's contracts in them, and every transaction that
    either calls one of those contracts or emitted one of those logs."""

    lo: int
    hi: int
    blocks: list[BlockRecord]
    txs: list[TxRecord]
    logs: list[LogRecord]


class RangeChanged(ChainError):
    """The chain changed (reorg) while a range was being fetched; fetch it again."""


# --- generic ABI decoding -------------------------------------------------------


def _plain(value: Any, param: Mapping[str, Any]) -> Any:
    kind = str(param["type"])
    if kind.endswith("]"):
        inner = {**param, "type": kind[: kind.rindex("[")]}
        return [_plain(v, inner) for v in value]
    if kind == "tuple":
        return {c["name"] or str(i): _plain(v, c) for i, (c, v) in enumerate(zip(param["components"], value))}
    if kind == "address":
        return to_checksum_address(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    return value


class AbiDecoder:
    """Decodes calls and logs of the deployment's contracts from their ABIs."""

    def __init__(self, deployment: Deployment) -> None:
        self.names = {Web3.to_checksum_address(a): n for n, a in deployment.addresses.items()}
        self._events: dict[tuple[str, bytes], dict[str, Any]] = {}
        self._any_event: dict[bytes, dict[str, Any]] = {}
        self._functions: dict[tuple[str, bytes], dict[str, Any]] = {}
        self._any_function: dict[bytes, dict[str, Any]] = {}
        for name, abi in deployment.abis.items():
            for item in abi:
                if item.get("type") == "event" and not item.get("anonymous"):
                    topic = event_abi_to_log_topic(cast("ABIEvent", item))
                    self._events[(name, topic)] = item
                    self._any_event.setdefault(topic, item)
                elif item.get("type") == "function":
                    selector = function_abi_to_4byte_selector(cast("ABIFunction", item))
                    self._functions[(name, selector)] = item
                    self._any_function.setdefault(selector, item)

    def contract_of(self, address: str | None) -> str | None:
        return self.names.get(Web3.to_checksum_address(address)) if address else None

    def decode_log(self, address: str, topics: Sequence[str], data: str) -> tuple[str | None, dict[str, Any]]:
        if not topics:
            return None, {}
        topic0 = bytes.fromhex(topics[0][2:])
        abi = self._events.get((self.contract_of(address) or "", topic0)) or self._any_event.get(topic0)
        if abi is None:
            return None, {}
        indexed = [p for p in abi["inputs"] if p.get("indexed")]
        plain = [p for p in abi["inputs"] if not p.get("indexed")]
        if len(indexed) != len(topics) - 1:
            return None, {}
        try:
            values = dict(
                zip(
                    (p["name"] for p in plain),
                    (
                        _plain(v, p)
                        for p, v in zip(
                            plain, abi_decode([collapse_if_tuple(p) for p in plain], bytes.fromhex(data[2:]))
                        )
                    ),
                )
            )
            for p, topic in zip(indexed, topics[1:]):
                kind = str(p["type"])
                raw = bytes.fromhex(topic[2:])
                # indexed dynamic values (string, bytes, arrays, tuples) are only their keccak hash
                dynamic = kind in ("string", "bytes") or kind.endswith("]") or kind.startswith("tuple")
                values[p["name"]] = topic if dynamic else _plain(abi_decode([kind], raw)[0], p)
        except (DecodingError, ValueError, OverflowError) as exc:
            log.warning("cannot decode %s log at %s: %s", abi["name"], address, exc)
            return None, {}
        return str(abi["name"]), {p["name"]: values[p["name"]] for p in abi["inputs"]}

    def decode_call(self, to: str | None, data: str) -> tuple[str | None, dict[str, Any]]:
        if not to or len(data) < 10:
            return None, {}
        selector = bytes.fromhex(data[2:10])
        abi = self._functions.get((self.contract_of(to) or "", selector)) or self._any_function.get(selector)
        if abi is None:
            return None, {}
        try:
            decoded = abi_decode([collapse_if_tuple(p) for p in abi["inputs"]], bytes.fromhex(data[10:]))
        except (DecodingError, ValueError, OverflowError):
            return None, {}
        return str(abi["name"]), {
            p["name"] or str(i): _plain(v, p) for i, (p, v) in enumerate(zip(abi["inputs"], decoded))
        }


# --- the reader ------------------------------------------------------------------


def _int(value: str | None) -> int:
    return int(value, 16) if value else 0


@dataclass
class ChainReader:
    """Read-only chain access for the indexer: head, blocks, logs, receipts, and the views it
    snapshots (task state, participants, balances) at a given block."""

    rpc_url: str
    deployment: Deployment
    backoff: Backoff = field(default_factory=Backoff)

    def __post_init__(self) -> None:
        self.chain = TaskManager(self.rpc_url, self.deployment, backoff=self.backoff)
        self.w3 = self.chain.w3
        self.decoder = AbiDecoder(self.deployment)
        self.addresses = sorted(self.decoder.names)

    # raw JSON-RPC, retried while the endpoint is unreachable
    def _rpc(self, method: str, params: list[Any]) -> Any:
        endpoint = RPCEndpoint(method)
        reply = with_retries(
            method, self.rpc_url, lambda: self.w3.provider.make_request(endpoint, params), self.backoff
        )
        if "error" in reply:
            raise ChainError(f"{method} failed at {self.rpc_url}: {reply['error']}")
        return reply["result"]

    def _batch(self, method: str, params: Iterable[list[Any]]) -> list[Any]:
        provider = self.w3.provider
        assert isinstance(provider, JSONBaseProvider)  # an HTTPProvider (TaskManager connects over HTTP)
        calls = [(RPCEndpoint(method), p) for p in params]
        results: list[Any] = []
        for i in range(0, len(calls), RPC_BATCH):
            chunk = calls[i : i + RPC_BATCH]
            replies = with_retries(method, self.rpc_url, partial(provider.make_batch_request, chunk), self.backoff)
            if isinstance(replies, dict):  # a provider that refuses batches answers with one error
                raise ChainError(f"{method} batch failed at {self.rpc_url}: {replies.get('error')}")
            numbered = []
            for reply in replies:
                number = reply.get("id")
                if number is None:  # JSON-RPC's answer to a call it could not read: no id, an error
                    raise ChainError(f"{method} failed at {self.rpc_url}: {reply.get('error')}")
                numbered.append((int(number), reply))
            for _, reply in sorted(numbered, key=lambda pair: pair[0]):
                if "error" in reply:
                    raise ChainError(f"{method} failed at {self.rpc_url}: {reply['error']}")
                results.append(reply["result"])
        return results

    def chain_id(self) -> int:
        return _int(self._rpc("eth_chainId", []))

    def head(self) -> int:
        return _int(self._rpc("eth_blockNumber", []))

    def block_hashes(self, numbers: Sequence[int]) -> dict[int, str | None]:
        blocks = self._batch("eth_getBlockByNumber", ([hex(n), False] for n in numbers))
        return {n: (b["hash"] if b else None) for n, b in zip(numbers, blocks)}

    def get_logs(self, lo: int, hi: int) -> list[dict[str, Any]]:
        """Logs of the project's contracts in [lo, hi]; halves the range when the provider refuses it."""
        try:
            return list(
                self._rpc("eth_getLogs", [{"fromBlock": hex(lo), "toBlock": hex(hi), "address": self.addresses}])
            )
        except ChainError:
            if hi == lo:
                raise
            mid = (lo + hi) // 2
            return self.get_logs(lo, mid) + self.get_logs(mid + 1, hi)

    def fetch_range(self, lo: int, hi: int) -> RangeData:
        raw_blocks = self._batch("eth_getBlockByNumber", ([hex(n), True] for n in range(lo, hi + 1)))
        if any(b is None for b in raw_blocks):
            raise RangeChanged(f"blocks {lo}..{hi} are not all there (the chain is shorter than expected)")
        for prev, cur in zip(raw_blocks, raw_blocks[1:]):
            if cur["parentHash"] != prev["hash"]:
                raise RangeChanged(f"block {_int(cur['number'])} does not extend the block fetched before it")
        hashes = {_int(b["number"]): b["hash"] for b in raw_blocks}
        raw_logs = self.get_logs(lo, hi)
        if any(hashes.get(_int(entry["blockNumber"])) != entry["blockHash"] for entry in raw_logs):
            raise RangeChanged(f"logs of blocks {lo}..{hi} belong to another fork than the blocks")
        ours = set(self.addresses)
        wanted = {entry["transactionHash"] for entry in raw_logs}
        txs_raw = [
            t
            for b in raw_blocks
            for t in b["transactions"]
            if t["hash"] in wanted or (t.get("to") and Web3.to_checksum_address(t["to"]) in ours)
        ]
        receipts = self._batch("eth_getTransactionReceipt", ([t["hash"]] for t in txs_raw))
        blocks = [
            BlockRecord(
                _int(b["number"]),
                b["hash"],
                b["parentHash"],
                _int(b["timestamp"]),
                len(b["transactions"]),
                _int(b["gasUsed"]),
                Web3.to_checksum_address(b["miner"]),
            )
            for b in raw_blocks
        ]
        return RangeData(
            lo, hi, blocks, [self._tx(t, r) for t, r in zip(txs_raw, receipts)], [self._log(e) for e in raw_logs]
        )

    def _tx(self, tx: dict[str, Any], receipt: dict[str, Any] | None) -> TxRecord:
        to = Web3.to_checksum_address(tx["to"]) if tx.get("to") else None
        function, args = self.decoder.decode_call(to, tx["input"])
        created = receipt.get("contractAddress") if receipt else None
        return TxRecord(
            tx["hash"],
            _int(tx["blockNumber"]),
            _int(tx["transactionIndex"]),
            Web3.to_checksum_address(tx["from"]),
            to,
            _int(tx["value"]),
            _int(receipt["status"]) if receipt else 0,
            _int(receipt["gasUsed"]) if receipt else 0,
            self.decoder.contract_of(to),
            function,
            args,
            tx["input"],
            Web3.to_checksum_address(created) if created else None,
        )

    def _log(self, entry: dict[str, Any]) -> LogRecord:
        address = Web3.to_checksum_address(entry["address"])
        name, args = self.decoder.decode_log(address, entry["topics"], entry["data"])
        return LogRecord(
            _int(entry["blockNumber"]),
            entry["blockHash"],
            _int(entry["logIndex"]),
            entry["transactionHash"],
            address,
            self.decoder.contract_of(address),
            name,
            args,
            tuple(entry["topics"]),
            entry["data"],
        )

    # --- views at a block ---------------------------------------------------------

    def _call(self, what: str, fn: Any, block: int | None) -> Any:
        ident = "latest" if block is None else block
        return with_retries(what, self.rpc_url, lambda: fn.call(block_identifier=ident), self.backoff)

    def task_params(self, task_id: int, block: int | None = None) -> TaskParams:
        return from_abi(TaskParams, self._call("taskParams", self.chain.manager.functions.taskParams(task_id), block))

    def task_state(self, task_id: int, block: int | None = None) -> TaskState:
        return from_abi(TaskState, self._call("taskState", self.chain.manager.functions.taskState(task_id), block))

    def participant(self, task_id: int, account: str, block: int | None = None) -> Participant:
        fn = self.chain.manager.functions.participant(task_id, Web3.to_checksum_address(account))
        return from_abi(Participant, self._call("participant", fn, block))

    def balance(self, account: str, block: int | None = None) -> int:
        return int(
            self._call("balanceOf", self.chain.token.functions.balanceOf(Web3.to_checksum_address(account)), block)
        )

    def token_info(self) -> dict[str, Any]:
        fns = self.chain.token.functions
        return {
            "address": self.chain.token.address,
            "symbol": str(self._call("symbol", fns.symbol(), None)),
            "decimals": int(self._call("decimals", fns.decimals(), None)),
            "manager": self.chain.manager.address,
        }


__all__ = [
    "MANAGER_CONTRACT",
    "TOKEN_CONTRACT",
    "AbiDecoder",
    "BlockRecord",
    "ChainReader",
    "LogRecord",
    "RangeChanged",
    "RangeData",
    "TxRecord",
]
