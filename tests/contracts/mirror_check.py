"""Differential testing of the contract mirror (`bench/incentives_ledger.py`'s MirrorLedger, the
Python arithmetic the incentive benchmark runs on) against FLTaskManager itself.

`MirroredTask` creates a task on the chain and the same task in a MirrorLedger (same parameters,
requester and token balances). `send` sends a transaction to the contract and then the same call
(by the ABI's function name and arguments, at the block's timestamp) to the mirror: both must
succeed, or both revert with the same custom error. `check` reads, in one batch of eth_calls at the
latest block, every view below and asks the mirror for the same at that block's time; every field
must agree, to the wei:

- the token balance of every holder, and the manager's (what it received since the task was created);
- `taskState` (pool, round reward, unclaimed rewards, claims closed, validator stake, leading
  proposal and stake, phase, deadline, counters, active sets) and `currentRound`;
- `participant` of every account (stake, weight, round, flags, unlock time);
- per round: `roundOutcome` (status, roots, winning stake, reward, pools, claimed, finalization
  time), and per account `validatorReward` (claimable), `trainerRewardClaimed`, `trainerPenalized`
  and `participantStatus` (with the record), and `proposalStake` of every proposal revealed.

Only what the mirror declares in `NOT_MIRRORED` is skipped. The harness knows no arithmetic: a change
of the contract's semantics shows up as a disagreement here, and adapting the mirror to it touches
the mirror only.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import brownie

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `bench` lives at the project root, next to `offchain`

from bench.incentives_ledger import NOT_MIRRORED, LedgerRevert, MirrorLedger, Terms  # noqa: E402
from contract_helpers import REJECT, as_tuple, proposal_hash  # noqa: E402


class MirrorDisagrees(AssertionError):
    """The mirror and the contract differ: a revert, an error name or a view."""


def error_name(message: str | None) -> str | None:
    """The custom error's name in a revert message ("Name: args", as Brownie and LedgerRevert say)."""
    if message is None:
        return None
    return message.split(":")[0].strip() or repr(message)


def _plain(value: Any) -> Any:
    """A view's value, comparable across the chain and the mirror: structs and named outputs as dicts,
    bytes and addresses as lowercase hex, numbers and flags as ints."""
    if hasattr(value, "dict") and getattr(value, "_abi", None):
        return {k: _plain(v) for k, v in value.dict().items()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, int):
        return int(value)
    return value


def _key(function: str, args: tuple) -> tuple:
    """A view call as a dict key: its function and arguments (accounts and contracts by address)."""
    return (function, *(_plain(a) if isinstance(a, int | bytes | bytearray | str) else str(a).lower() for a in args))


@dataclass
class ChainViews:
    """Every compared view as the chain answered it at one block (Brownie's decoded values), by
    function and arguments without the task id: `views["participant", account]`."""

    block: int
    timestamp: int
    values: dict[tuple, Any]

    def __getitem__(self, key: tuple | str) -> Any:
        function, *args = (key,) if isinstance(key, str) else key
        return self.values[_key(function, tuple(args))]


def _differences(label: str, function: str, chain: Any, mirror: Any) -> list[str]:
    chain, mirror = _plain(chain), _plain(mirror)
    if not isinstance(chain, dict):
        return [] if chain == mirror else [f"{label}: contract {chain}, mirror {mirror}"]
    if not isinstance(mirror, dict):
        return [f"{label}: contract {chain}, mirror {mirror}"]
    out = []
    for key in sorted(chain.keys() | mirror.keys()):
        if f"{function}.{key}" in NOT_MIRRORED:
            continue
        if key not in mirror or key not in chain:
            out.append(f"{label}.{key}: {'not in the mirror' if key not in mirror else 'not in the contract'}")
        elif chain[key] != mirror[key]:
            out.append(f"{label}.{key}: contract {chain[key]}, mirror {mirror[key]}")
    return out


class MirroredTask:
    """One task on the chain and in a MirrorLedger, driven by the same transactions."""

    def __init__(self, manager, token, requester, params: dict, holders: list, accounts: list) -> None:
        """`holders`: every account whose token balance is compared; `accounts`: the participants
        whose standing is compared, per round too."""
        self.m, self.token = manager, token
        self.holders, self.accounts = list(holders), list(accounts)
        self.num_rounds = int(params["numRounds"])
        balances = {str(h).lower(): int(token.balanceOf(h)) for h in self.holders}
        self.manager_before = int(token.balanceOf(manager))
        tx = manager.createTask(as_tuple(params), {"from": requester})
        self.task = int(tx.return_value)
        gas: dict[str, int] = defaultdict(int)
        terms = Terms.from_params(params)
        self.ledger = MirrorLedger(terms, gas, balances, self.task, requester=str(requester), now=tx.timestamp)
        self.proposals: set[tuple[int, bytes]] = {(r, REJECT) for r in range(self.num_rounds)}
        self.last_error: str | None = None  # the error both reverted with in the last `send`, if any
        self.transactions = 0  # sent to both
        self.reverts = 0  # of those, reverted on both with the same error
        self.checks = 0
        self.seconds = 0.0  # spent reading views in batches and running and comparing the mirror
        self._views: ChainViews | None = None

    def send(self, fn, *args):
        """`fn(*args)` on the chain (args: the task id, the ABI arguments, the transaction dict), then
        on the mirror. Returns the receipt, or None if both reverted with the same error."""
        function = fn.abi["name"]
        task, *abi_args, tx_params = args
        assert task == self.task, f"{function}: the mirror holds task {self.task}, not {task}"
        sender = str(tx_params["from"])
        chain_error = None
        try:
            tx = fn(*args)
        except brownie.exceptions.VirtualMachineError as exc:
            tx = brownie.history[-1]  # reverting transactions are mined on the development network
            assert tx.txid == exc.txid, "the reverted transaction is not the last one sent"
            chain_error = error_name(exc.revert_msg) or "revert without a reason"
        started = time.perf_counter()
        round_before = self.ledger.current
        mirror_error = None
        try:
            self.ledger.transact(function, sender, *abi_args, now=tx.timestamp)
        except LedgerRevert as exc:
            mirror_error = str(exc)
        if function == "revealVote":
            self.proposals.add((round_before, proposal_hash(*abi_args[:3])))
        self.transactions += 1
        self.last_error = chain_error
        self.seconds += time.perf_counter() - started
        if error_name(mirror_error) != chain_error:
            raise MirrorDisagrees(
                f"{function}{tuple(abi_args)} from {sender} at {tx.timestamp}: contract "
                f"{'reverted with ' + chain_error if chain_error else 'succeeded'}, mirror "
                f"{'reverted with ' + mirror_error if mirror_error else 'succeeded'}"
            )
        if chain_error:
            self.reverts += 1
            return None
        return tx

    def _probes(self) -> list[tuple[Any, str, tuple]]:
        """Every view compared: (contract, function, arguments)."""
        m, t = self.m, self.task
        probes: list[tuple[Any, str, tuple]] = [(m, "taskState", (t,)), (m, "currentRound", (t,))]
        probes += [(m, "participant", (t, a)) for a in self.accounts]
        for r in range(self.num_rounds):
            probes.append((m, "roundOutcome", (t, r)))
            for a in self.accounts:
                probes += [(m, fn, (t, r, a)) for fn in ("validatorReward", "trainerRewardClaimed", "trainerPenalized")]
                probes.append((m, "participantStatus", (t, r, a)))
        probes += [(m, "proposalStake", (t, r, p)) for r, p in sorted(self.proposals)]
        probes += [(self.token, "balanceOf", (h,)) for h in [*self.holders, m]]
        return [p for p in probes if p[1] not in NOT_MIRRORED]

    def read(self) -> ChainViews:
        """Every compared view at the latest block, in one batch of eth_calls (kept until a block is
        mined: the state machine's own invariants read the same views)."""
        started = time.perf_counter()
        web3 = brownie.web3
        probes = self._probes()
        block = int(web3.eth.block_number)
        if self._views is not None and self._views.block == block and len(self._views.values) == len(probes):
            return self._views
        requests: list[tuple[Any, Any]] = [("eth_getBlockByNumber", [hex(block), False])]
        for contract, fn, args in probes:
            call = {"to": contract.address, "data": getattr(contract, fn).encode_input(*args)}
            requests.append(("eth_call", [call, hex(block)]))
        provider: Any = web3.provider  # Brownie's HTTPProvider (typed as the base class)
        responses = provider.make_batch_request(requests)
        assert isinstance(responses, list) and len(responses) == len(requests), f"batch failed: {responses}"
        failed = [r for r in responses if "error" in r]
        assert not failed, f"views failed: {failed[:3]}"
        values = {}
        for (contract, fn, args), response in zip(probes, responses[1:], strict=True):
            values[_key(fn, args[1:] if contract is self.m else args)] = getattr(contract, fn).decode_output(
                response["result"]
            )
        self._views = ChainViews(block, int(responses[0]["result"]["timestamp"], 16), values)
        self.seconds += time.perf_counter() - started
        return self._views

    def check(self) -> None:
        """Every view, on the chain at the latest block and in the mirror at that block's time."""
        views = self.read()
        started = time.perf_counter()
        diffs: list[str] = []
        for contract, fn, args in self._probes():
            if contract is self.token:
                holder = args[0]
                chain = views["balanceOf", holder]
                if holder is self.m:
                    label, chain, mirror = (
                        "manager's tokens (since the task)",
                        chain - self.manager_before,
                        self.ledger.escrow,
                    )
                else:
                    label, mirror = f"balanceOf({holder})", self.ledger.balance(str(holder))
                diffs += _differences(label, "balanceOf", chain, mirror)
                continue
            label = f"{fn}({', '.join(str(_plain(a)) for a in args[1:])})"
            mirror = self.ledger.call(fn, *args[1:], at=views.timestamp)
            diffs += _differences(label, fn, views[(fn, *args[1:])], mirror)
        self.checks += 1
        self.seconds += time.perf_counter() - started
        if diffs:
            shown = "\n  ".join(diffs[:25]) + (f"\n  ... and {len(diffs) - 25} more" if len(diffs) > 25 else "")
            raise MirrorDisagrees(
                f"the mirror differs from the contract at block {views.block} (t={views.timestamp}):\n  {shown}"
            )
