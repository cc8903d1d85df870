"""One round with 1,000 trainers on anvil (1 s blocks, default 30M block gas limit), synthetic
tiny updates (a CID string; nothing is trained or fetched): how fast commits and reveals get
mined, the round's total gas, and whether it finalizes.

Trainer accounts are derived keys funded with `anvil_setBalance` and a token transfer. All
transactions of a phase are signed up front and sent in JSON-RPC batches without waiting,
so the rates measure the chain (anvil's mining, block gas limit), not a Python client.

    .venv/bin/python -m bench.scale_chain --trainers 1000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from eth_account import Account

from offchain.chain.accounts import anvil_account
from offchain.chain.artifacts import load_deployment
from offchain.chain.deploy import deploy
from offchain.chain.manager import TaskManager
from offchain.chain.protocol import ZERO_ROOT, Phase, Role, proposal_hash, update_commitment, vote_commitment
from offchain.config import PROJECT_ROOT
from offchain.devnet.tools import find_tool
from offchain.services.requester import PublishedModel, TaskSettings, create_task
from offchain.units import TOKEN

FAKE_CID = "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"  # any string: nobody fetches it
GAS = {"approve": 80_000, "stake": 200_000, "commitUpdate": 120_000, "revealUpdate": 150_000, "transfer": 80_000}


class Rpc:
    def __init__(self, url: str) -> None:
        self.url = url

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        out: list[Any] = []
        for i in range(0, len(calls), 200):
            chunk = calls[i : i + 200]
            body = json.dumps(
                [{"jsonrpc": "2.0", "id": j, "method": m, "params": p} for j, (m, p) in enumerate(chunk)]
            ).encode()
            req = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=60) as resp:
                replies = sorted(json.loads(resp.read()), key=lambda r: r["id"])
            for r in replies:
                if "error" in r:
                    raise RuntimeError(f"{chunk[r['id']][0]}: {r['error']}")
                out.append(r["result"])
        return out

    def call(self, method: str, params: list[Any]) -> Any:
        return self.batch([(method, params)])[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _keys(n: int) -> list[Any]:
    return [Account.from_key(hashlib.sha256(f"dfl-bench-trainer-{i}".encode()).digest()) for i in range(n)]


def _signed(contract: Any, fn: str, args: list[Any], account: Any, nonce: int, chain_id: int) -> str:
    tx = {
        "to": contract.address,
        "data": contract.encode_abi(fn, args=args),
        "gas": GAS[fn],
        "nonce": nonce,
        "chainId": chain_id,
        "maxFeePerGas": 200 * 10**9,
        "maxPriorityFeePerGas": 10**9,
        "value": 0,
        "type": 2,
    }
    return "0x" + account.sign_transaction(tx).raw_transaction.hex().removeprefix("0x")


def _send_and_mine(rpc: Rpc, raw: list[str]) -> dict[str, Any]:
    """Send every signed tx, wait for all receipts; seconds from first send to the last inclusion."""
    started = time.time()
    hashes = rpc.batch([("eth_sendRawTransaction", [r]) for r in raw])
    sent = time.time()
    receipts: dict[str, Any] = {}
    while len(receipts) < len(hashes):
        pending = [h for h in hashes if h not in receipts]
        for h, rec in zip(pending, rpc.batch([("eth_getTransactionReceipt", [h]) for h in pending])):
            if rec is not None:
                receipts[h] = rec
        if len(receipts) < len(hashes):
            time.sleep(0.2)
    mined = time.time()
    blocks = sorted({int(r["blockNumber"], 16) for r in receipts.values()})
    failed = sum(1 for r in receipts.values() if int(r["status"], 16) != 1)
    gas = sum(int(r["gasUsed"], 16) for r in receipts.values())
    return {
        "count": len(raw),
        "send_seconds": sent - started,
        "seconds": mined - started,
        "per_second": len(raw) / (mined - started),
        "blocks": len(blocks),
        "first_block": blocks[0],
        "last_block": blocks[-1],
        "failed": failed,
        "gas": gas,
        "gas_per_tx": gas / len(raw),
    }


def _wait_phase(chain: TaskManager, task: int, phase: Phase, timeout: float = 600) -> float:
    started = time.time()
    while chain.current_round(task)[1] != phase:
        if time.time() - started > timeout:
            raise RuntimeError(f"task {task} did not reach {phase.name} within {timeout:.0f}s")
        time.sleep(0.2)
    return time.time() - started


def run(trainers: int, workdir: Path) -> dict[str, Any]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(workdir / "anvil.log", "wb")
    anvil = subprocess.Popen(
        [str(find_tool("anvil")), "--host", "127.0.0.1", "--port", str(port), "--block-time", "1"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        rpc = Rpc(url)
        for _ in range(100):
            try:
                rpc.call("eth_chainId", [])
                break
            except OSError:
                time.sleep(0.1)
        block_gas_limit = int(rpc.call("eth_getBlockByNumber", ["latest", False])["gasLimit"], 16)
        deployer, validator = anvil_account(0), anvil_account(1)
        build = PROJECT_ROOT / "build"
        deploy(url, deployer, build_dir=build, deployments_dir=workdir, faucet={validator.address: 1_000 * TOKEN})
        chain = TaskManager(url, load_deployment(workdir, 31337, build), deployer)
        token, manager, chain_id = chain.token, chain.manager, 31337
        keys = _keys(trainers)
        stake = 10 * TOKEN
        rpc.batch([("anvil_setBalance", [k.address, hex(100 * TOKEN)]) for k in keys])
        nonce = int(rpc.call("eth_getTransactionCount", [deployer.address, "pending"]), 16)
        funding = _send_and_mine(
            rpc,
            [_signed(token, "transfer", [k.address, stake], deployer, nonce + i, chain_id) for i, k in enumerate(keys)],
        )
        published = PublishedModel(FAKE_CID, FAKE_CID, FAKE_CID, b"\1" * 32, 0)
        registration = 30 + trainers // 20
        task = create_task(
            chain,
            published,
            TaskSettings(
                num_rounds=1,
                registration=registration,
                commit=600,
                reveal=600,
                vote_commit=120,
                vote_reveal=120,
                max_trainers=trainers,
                min_trainer_stake=stake,
                reward_pool=1_000 * TOKEN,
            ),
        )
        vchain = TaskManager(url, load_deployment(workdir, 31337, build), validator)
        vchain.stake(task, Role.VALIDATOR, vchain.task_params(task).min_validator_stake)
        approve = [_signed(token, "approve", [manager.address, stake], k, 0, chain_id) for k in keys]
        staking = [_signed(manager, "stake", [task, int(Role.TRAINER), stake], k, 1, chain_id) for k in keys]
        stakes = _send_and_mine(rpc, approve + staking)
        _wait_phase(chain, task, Phase.COMMIT)
        salt = b"\2" * 32
        commits = _send_and_mine(
            rpc,
            [
                _signed(
                    manager,
                    "commitUpdate",
                    [task, update_commitment(task, 0, k.address, FAKE_CID, 100, salt)],
                    k,
                    2,
                    chain_id,
                )
                for k in keys
            ],
        )
        commit_to_reveal = _wait_phase(chain, task, Phase.REVEAL)
        reveals = _send_and_mine(
            rpc, [_signed(manager, "revealUpdate", [task, FAKE_CID, 100, salt], k, 3, chain_id) for k in keys]
        )
        _wait_phase(chain, task, Phase.VOTE_COMMIT)
        root, vsalt = b"\3" * 32, b"\4" * 32
        proposal = proposal_hash(FAKE_CID, root, ZERO_ROOT)
        votes = [vchain.commit_vote(task, vote_commitment(task, 0, validator.address, proposal, vsalt))]
        _wait_phase(chain, task, Phase.VOTE_REVEAL)
        votes.append(vchain.reveal_vote(task, FAKE_CID, root, ZERO_ROOT, vsalt, 9000))
        _wait_phase(chain, task, Phase.AWAITING_FINALIZATION)
        finalize = vchain.finalize_round(task)
        outcome = vchain.round_outcome(task, 0)
        round_gas = commits["gas"] + reveals["gas"] + sum(int(v["gasUsed"]) for v in votes) + int(finalize["gasUsed"])
        return {
            "trainers": trainers,
            "block_time_seconds": 1,
            "block_gas_limit": block_gas_limit,
            "funding_transfers": funding,
            "stakes_approve_and_stake": stakes,
            "commits": commits,
            "seconds_from_last_commit_to_reveal_phase": commit_to_reveal,
            "reveals": reveals,
            "vote_commit_gas": int(votes[0]["gasUsed"]),
            "vote_reveal_gas": int(votes[1]["gasUsed"]),
            "finalize_gas": int(finalize["gasUsed"]),
            "round_status": outcome.status.name.lower(),
            "finalized": outcome.status.name.lower() == "accepted",
            "round_gas_total": round_gas,
            "round_gas_per_trainer": round_gas / trainers,
        }
    finally:
        os.killpg(anvil.pid, 15)
        anvil.wait(10)
        log.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trainers", type=int, default=1000)
    p.add_argument("--workdir", type=Path, default=None)
    p.add_argument("--out", type=Path, default=None)
    a = p.parse_args()
    import tempfile

    workdir = a.workdir or Path(tempfile.mkdtemp(prefix="dfl-scale-chain-"))
    workdir.mkdir(parents=True, exist_ok=True)
    result = run(a.trainers, workdir)
    print(json.dumps(result, indent=1))
    if a.out:
        a.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
