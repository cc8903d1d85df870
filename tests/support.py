"""Small helpers for tests (importable: pyproject puts tests/ on pytest's pythonpath)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

from web3.types import RPCEndpoint

from offchain.chain.accounts import anvil_account
from offchain.chain.artifacts import load_deployment
from offchain.chain.manager import TaskManager
from offchain.chain.protocol import Phase, TaskState
from offchain.config import PROJECT_ROOT
from offchain.devnet.services import Ports

T = TypeVar("T")


def wait_until(condition: Callable[[], T | None], *, timeout: float, what: str, every: float = 0.2) -> T:
    """Ask `condition` until it answers something truthy, and return that; fail the test, naming
    `what`, once `timeout` seconds have passed without it."""
    deadline = time.monotonic() + timeout
    while True:
        answer = condition()
        if answer:
            return answer
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(every)


def committed(state_file: Path, round_id: int) -> bool:
    """Whether the worker whose state file this is has its commit for `round_id` on-chain."""
    try:
        return bool(json.loads(state_file.read_text())["rounds"][str(round_id)].get("committed"))
    except (OSError, ValueError, KeyError):
        return False


def stop_processes(procs: Iterable[subprocess.Popen[Any]], logs: Iterable[IO[Any]]) -> None:
    """Kill whatever a test started and is still running, and close its logs."""
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for log in logs:
        log.close()


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve an ASGI app (the explorer) over real HTTP on a free port while the block runs; yields its URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="test-http-server", daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, timeout=20, what="the HTTP server to start", every=0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_ports() -> Ports:
    return Ports("127.0.0.1", free_port(), free_port(), free_port())


BUILD_DIR = PROJECT_ROOT / "build"


def signer(chain: TaskManager) -> str:
    """The address of the account a TaskManager signs with (None only for a read-only one)."""
    assert chain.address is not None, "this TaskManager was built without an account"
    return chain.address


@dataclass
class DevnetDeployment:
    """The suite's contracts deployed on its own devnet: its addresses, the environment a `dfl`
    process needs to use it, and chain clients signing as anvil's standard accounts."""

    rpc_url: str
    ipfs_api: str
    deployments: Path
    state_dir: Path

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DFL_RPC_URL": self.rpc_url,
            "DFL_IPFS_API": self.ipfs_api,
            "DFL_CHAIN_ID": "31337",
            "DFL_DEPLOYMENTS_DIR": str(self.deployments),
            "DFL_STATE_DIR": str(self.state_dir),
            "DFL_BUILD_DIR": str(BUILD_DIR),
            "PYTHONUNBUFFERED": "1",
        }

    def manager(self, account_index: int | None = None) -> TaskManager:
        account = anvil_account(account_index) if account_index is not None else None
        return TaskManager(self.rpc_url, load_deployment(self.deployments, 31337, BUILD_DIR), account)

    def stake(self, task: int, trainers: tuple[int, ...], validators: tuple[int, ...]) -> None:
        """Stake the minimum for these anvil accounts before their workers start (as users would with
        `dfl stake`), so a slow-starting process never misses a round that ends early without it."""
        from offchain.chain.protocol import Role

        params = self.manager().task_params(task)
        for index in trainers:
            self.manager(index).stake(task, Role.TRAINER, params.min_trainer_stake)
        for index in validators:
            self.manager(index).stake(task, Role.VALIDATOR, params.min_validator_stake)

    def dfl(self, args: list[str], log: IO[bytes]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "offchain.cli.main", *args], env=self.env(), stdout=log, stderr=subprocess.STDOUT
        )


def publish_digits(ipfs_api: str, *, eval_samples: int | None = None, seed: int = 0) -> Any:
    """Pin the MLP preset for scikit-learn's 8x8 digits (initial weights seeded with `seed`) and the
    first `eval_samples` of its test split as the task's public evaluation set (all of it by default),
    as a requester does before `create_task`; returns the PublishedModel."""
    from offchain.ml.datasets import load_dataset
    from offchain.services.requester import publish_model
    from offchain.storage.ipfs import IpfsStore

    digits = load_dataset("digits", seed=0)
    n = len(digits.y_test) if eval_samples is None else eval_samples
    with IpfsStore(ipfs_api) as store:
        return publish_model(
            store,
            preset="mlp",
            spec_json=None,
            input_shape=digits.input_shape,
            num_classes=digits.num_classes,
            seed=seed,
            x_eval=digits.x_test[:n],
            y_eval=digits.y_test[:n],
        )


def warp_to(chain: TaskManager, timestamp: int) -> None:
    """Mine a block stamped `timestamp` or later on anvil: what waiting until then would do, at once."""
    ahead = timestamp - chain.timestamp()
    if ahead > 0:
        chain.w3.provider.make_request(RPCEndpoint("evm_increaseTime"), [ahead])
    chain.w3.provider.make_request(RPCEndpoint("evm_mine"), [])


def run_out_phases(chain: TaskManager, task: int, until: Phase) -> None:
    """Let `task`'s phases run out, one deadline after the other, until it is in phase `until`: what
    waiting would do, at once (anvil's clock moved to each deadline)."""
    for _ in range(len(Phase)):
        state = chain.task_state(task)
        if state.phase == until:
            return
        warp_to(chain, state.phase_deadline)
    raise AssertionError(f"task {task} never reached {until.name}: it is in {chain.task_state(task).phase.name}")


def registration(state: TaskState) -> bool:
    """Skip rule: end registration at once (for tests that staked everyone before starting workers)."""
    return state.phase == Phase.REGISTRATION


@contextmanager
def skipping_waits(
    protocol: DevnetDeployment,
    task: int,
    *rules: Callable[[TaskState], bool],
    settled: Callable[[], bool] | None = None,
) -> Iterator[None]:
    """While the block runs, end `task`'s phases early instead of sitting out their deadlines: whenever a
    rule says the current phase has nothing more to wait for (every action the test expects is on
    chain), anvil's clock jumps to the phase's deadline. Once the task is completed and `settled()`
    says so (say, every validator has applied its penalties and exited), the clock jumps past the
    penalty window too, so the trainers withdraw. The chain sees exactly what it would after the
    wait: the same transactions, blocks past the same deadlines; only the wall clock is spared."""
    stop = threading.Event()
    chain = protocol.manager()  # a client of its own: the test's are used from the test's thread
    cooldown = chain.task_params(task).exit_cooldown

    def watch() -> None:
        warped: set[tuple[int, Phase]] = set()
        while not stop.wait(0.25):
            state = chain.task_state(task)
            key = (state.round, state.phase)
            if key in warped:
                continue
            if state.phase == Phase.COMPLETED:
                if settled is not None and settled():
                    warp_to(chain, chain.timestamp() + cooldown + 1)
                    warped.add(key)
            elif any(rule(state) for rule in rules):
                warp_to(chain, state.phase_deadline)
                warped.add(key)

    thread = threading.Thread(target=watch, name="skipping-waits", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)
