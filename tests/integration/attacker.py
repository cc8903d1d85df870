"""An attacker written from the ABI alone: it does not import the project's code (only web3, the
compiled ABI, IPFS's HTTP API and an offline CID oracle), and plays one round of a task with several
accounts, each with its own strategy:

  malformed_offsets   a safetensors header whose offsets point outside the data (soundness attack 1)
  huge_values         the right tensors, every value 1e38 (soundness attack 2)
  withhold            reveals the CID of bytes it never publishes (attack 5)
  unpin_after_fetch   publishes unpinned, and unpins and garbage-collects the moment a validator
                      pinned its update (attack 5: available to some validators, not others)
  late_serve          publishes its update only after the first availability attestation (attack 5)
  inflate             declares ten times the samples its stake backs (incentives: inflation)
  noisy_free_rider    the global model plus noise of scale 1e-6, as many samples as its stake backs

Run: python attacker.py PLAN.json (see tests/integration/test_attacks.py for the plan). It prints
one JSON line per account with what it did, and exits once the round's Attest phase is over.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import time
from typing import Any

import aleph_cid
import numpy as np
import requests
from eth_abi import encode
from eth_account import Account
from web3 import Web3
from web3.contract.contract import ContractFunction

PHASES = {
    "None": 0,
    "Registration": 1,
    "Commit": 2,
    "Reveal": 3,
    "Attest": 4,
    "VoteCommit": 5,
    "VoteReveal": 6,
    "AwaitingFinalization": 7,
    "Completed": 8,
}


class Ipfs:
    def __init__(self, api: str) -> None:
        self.api = api.rstrip("/")

    def add(self, data: bytes, *, pin: bool) -> str:
        r = requests.post(f"{self.api}/api/v0/add", params={"pin": str(pin).lower()}, files={"file": data}, timeout=30)
        r.raise_for_status()
        return str(json.loads(r.text.splitlines()[-1])["Hash"])

    def cat(self, cid: str) -> bytes:
        r = requests.post(f"{self.api}/api/v0/cat", params={"arg": cid}, timeout=30)
        r.raise_for_status()
        return r.content

    def pinned(self, cid: str) -> bool:
        r = requests.post(f"{self.api}/api/v0/pin/ls", params={"arg": cid, "type": "recursive"}, timeout=10)
        return r.status_code == 200 and cid in r.text

    def unpin_and_gc(self, cid: str) -> None:
        requests.post(f"{self.api}/api/v0/pin/rm", params={"arg": cid}, timeout=10)
        requests.post(f"{self.api}/api/v0/repo/gc", timeout=60)


def safetensors(tensors: dict[str, np.ndarray]) -> bytes:
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors):
        data = np.ascontiguousarray(tensors[name], dtype="<f4").tobytes()
        header[name] = {
            "dtype": "F32",
            "shape": list(tensors[name].shape),
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    return struct.pack("<Q", len(head)) + head + b"".join(chunks)


def read_safetensors(data: bytes) -> dict[str, np.ndarray]:
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + size])
    body = data[8 + size :]
    return {
        n: np.frombuffer(body[e["data_offsets"][0] : e["data_offsets"][1]], "<f4").reshape(e["shape"]).copy()
        for n, e in header.items()
        if n != "__metadata__"
    }


class Player:
    def __init__(self, plan: dict, key: str, strategy: str) -> None:
        self.w3 = Web3(Web3.HTTPProvider(plan["rpc"]))
        self.account = Account.from_key(key)
        self.strategy = strategy
        self.task = plan["task"]
        abi = json.load(open(plan["manager_abi"]))["abi"]
        self.m = self.w3.eth.contract(address=plan["manager"], abi=abi)
        token_abi = json.load(open(plan["token_abi"]))["abi"]
        self.token = self.w3.eth.contract(address=plan["token"], abi=token_abi)
        self.salt = os.urandom(32)
        self.report: dict = {"account": self.account.address, "strategy": strategy}

    def send(self, fn: ContractFunction) -> dict[str, Any]:
        tx = fn.build_transaction(
            {
                "from": self.account.address,
                "nonce": self.w3.eth.get_transaction_count(self.account.address),
                "gas": 3_000_000,
                "gasPrice": self.w3.eth.gas_price,
                "chainId": self.w3.eth.chain_id,
            }
        )
        signed = self.account.sign_transaction(tx)
        receipt = self.w3.eth.wait_for_transaction_receipt(self.w3.eth.send_raw_transaction(signed.raw_transaction))
        return dict(receipt)

    def stake(self) -> None:
        """Stake the minimum unless already staked; note how many samples the stake backs."""
        params = self.m.functions.taskParams(self.task).call()
        stake = self.m.functions.participant(self.task, self.account.address).call()[1]
        if stake == 0:
            stake = params[15]  # minTrainerStake (positions as in the ABI)
            self.send(self.token.functions.approve(self.m.address, stake))
            self.send(self.m.functions.stake(self.task, 1, stake))
        per_sample = params[17]  # stakePerSample
        self.backed = stake // per_sample if per_sample else 10**6

    def error_name(self, exc: Exception) -> str:
        """The contract's custom error a revert carries, found by its selector in the ABI."""
        text = str(exc)
        for entry in self.m.abi:
            if entry.get("type") == "error":
                signature = f"{entry['name']}({','.join(i['type'] for i in entry['inputs'])})"
                if Web3.keccak(text=signature)[:4].hex() in text:
                    return str(entry["name"])
        return text[:200]

    def commit(self, cid: str, samples: int) -> None:
        self.cid, self.samples = cid, samples
        commitment = Web3.keccak(
            encode(
                ["uint256", "uint256", "address", "string", "uint256", "bytes32"],
                [self.task, 0, self.account.address, cid, samples, self.salt],
            )
        )
        self.send(self.m.functions.commitUpdate(self.task, commitment))
        self.report |= {"cid": cid, "samples": samples}

    def reveal(self) -> None:
        try:
            fn = self.m.functions.revealUpdate(self.task, self.cid, self.samples, self.salt)
            fn.call({"from": self.account.address})  # a revert shows here without spending gas
            self.send(fn)
            self.report["revealed"] = True
        except Exception as exc:  # the contract refuses it: that is what this attack meets
            self.report["revealed"] = False
            self.report["reveal_error"] = self.error_name(exc)


def phase(player: Player) -> int:
    return int(player.m.functions.currentRound(player.task).call()[1])


def wait_phase(player: Player, target: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while phase(player) < PHASES[target]:
        if time.monotonic() > deadline:
            raise SystemExit(f"attacker: the task never reached {target}")
        time.sleep(0.2)


def main(plan_path: str) -> None:
    plan = json.load(open(plan_path))
    ipfs = Ipfs(plan["ipfs_api"])
    players = [Player(plan, a["key"], a["strategy"]) for a in plan["attackers"]]
    first = players[0]
    initial_cid = first.m.functions.taskParams(first.task).call()[1]
    glob = read_safetensors(ipfs.cat(initial_cid))
    rng = np.random.default_rng(7)
    for p in players:
        p.stake()
    wait_phase(first, "Commit")
    pending: dict[str, tuple[Player, str, bytes]] = {}  # actions for after the reveal phase
    for p in players:
        if p.strategy == "malformed_offsets":
            header = json.dumps(
                {n: {"dtype": "F32", "shape": list(a.shape), "data_offsets": [0, 10**9]} for n, a in glob.items()}
            ).encode()
            data = struct.pack("<Q", len(header)) + header + b"\0" * 64
            p.commit(ipfs.add(data, pin=True), 100)
        elif p.strategy == "huge_values":
            p.commit(
                ipfs.add(safetensors({n: np.full(a.shape, 1e38, np.float32) for n, a in glob.items()}), pin=True), 100
            )
        elif p.strategy == "withhold":
            secret = safetensors({n: a + np.float32(0.01) for n, a in glob.items()})
            p.commit(aleph_cid.compute_cid(secret), 100)
        elif p.strategy in ("unpin_after_fetch", "late_serve"):
            data = safetensors(
                {n: (a + 0.01 * rng.standard_normal(a.shape)).astype(np.float32) for n, a in glob.items()}
            )
            if p.strategy == "unpin_after_fetch":
                p.commit(ipfs.add(data, pin=False), 100)
            else:
                p.commit(aleph_cid.compute_cid(data), 100)
            pending[p.strategy] = (p, p.cid, data)
        elif p.strategy == "inflate":
            p.commit(
                ipfs.add(
                    safetensors(
                        {n: (a + 0.05 * rng.standard_normal(a.shape)).astype(np.float32) for n, a in glob.items()}
                    ),
                    pin=True,
                ),
                10 * p.backed,
            )
        elif p.strategy == "noisy_free_rider":
            noisy = {n: (a + 1e-6 * rng.standard_normal(a.shape)).astype(np.float32) for n, a in glob.items()}
            p.commit(ipfs.add(safetensors(noisy), pin=True), p.backed)
        else:
            raise SystemExit(f"attacker: unknown strategy {p.strategy}")
    wait_phase(first, "Reveal")
    for p in players:
        p.reveal()
    unpinned = served = False
    while phase(first) <= PHASES["Attest"]:
        if "unpin_after_fetch" in pending and not unpinned:
            _, cid, _ = pending["unpin_after_fetch"]
            if ipfs.pinned(cid):  # a validator fetched and pinned it: take it away from the rest
                ipfs.unpin_and_gc(cid)
                unpinned = True
                pending["unpin_after_fetch"][0].report["unpinned_at_phase"] = phase(first)
        if "late_serve" in pending and not served:
            attested = first.m.events.AvailabilityAttested().get_logs(
                from_block=0, argument_filters={"taskId": first.task}
            )
            if attested:
                p, _, data = pending["late_serve"]
                ipfs.add(data, pin=True)
                served = True
                p.report["served_after_attestations"] = len(attested)
        time.sleep(0.1)
    for p in players:
        print(json.dumps(p.report), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
