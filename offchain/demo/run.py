"""Run the demo: services, deployment, task, worker processes, live progress, settlement.

Accounts are anvil's standard ones: 0 deploys and requests, 1..T train, T+1..T+V validate.
Each trainer gets its own non-IID share of the data set as a file of its own, as if on its
own machine; each validator gets a share of the test split.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from offchain.chain.accounts import anvil_account
from offchain.chain.artifacts import load_deployment
from offchain.chain.deploy import deploy
from offchain.chain.manager import TaskManager
from offchain.chain.protocol import Phase, Role, RoundStatus
from offchain.config import Settings
from offchain.demo.config import DemoConfig
from offchain.errors import DflError
from offchain.ml.datasets import Dataset, load_dataset
from offchain.ml.partition import parse_partition
from offchain.services.privacy_setup import PrivacyChoice, privacy_params
from offchain.services.requester import PublishedModel, TaskSettings, create_task, publish_model
from offchain.storage.ipfs import IpfsStore
from offchain.units import TOKEN
from offchain.workers.keyring import Keyring

log = logging.getLogger(__name__)


@dataclass
class Worker:
    name: str
    role: str
    account_index: int
    address: str
    argv: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None


@dataclass
class DemoRun:
    config: DemoConfig
    settings: Settings
    workdir: Path
    chain: TaskManager
    task_id: int
    published: PublishedModel
    data: Dataset
    workers: list[Worker]
    balances_before: dict[str, int]
    started: float
    finished: float = 0.0
    requester: str = ""
    extra: dict[str, object] = field(default_factory=dict)


def _shares(config: DemoConfig, data: Dataset, workdir: Path) -> tuple[list[Path], list[Path]]:
    """Each trainer's training data and each validator's evaluation data, as .npz files."""
    split = parse_partition(config.partition)
    trainer_parts = split.split(data.y_train, config.trainers, seed=config.seed)
    validator_parts = parse_partition("iid").split(data.y_test, config.validators, seed=config.seed)
    files: tuple[list[Path], list[Path]] = ([], [])
    for kind, parts, x, y, out in (
        ("trainer", trainer_parts, data.x_train, data.y_train, files[0]),
        ("validator", validator_parts, data.x_test, data.y_test, files[1]),
    ):
        for i, idx in enumerate(parts):
            path = workdir / "data" / f"{kind}-{i}.npz"
            path.parent.mkdir(parents=True, exist_ok=True)
            # As an .npz with its own test split, so `--data` / `--eval-data` use all of it.
            with open(path, "wb") as f:
                np.savez_compressed(f, x=x[idx], y=y[idx], x_test=x[idx], y_test=y[idx])
            out.append(path)
    return files


def prepare(config: DemoConfig, settings: Settings, workdir: Path) -> DemoRun:
    """Deploy, fund, publish the model and create the task; build (not start) the workers."""
    workdir.mkdir(parents=True, exist_ok=True)
    deployer = anvil_account(0)
    indexes = list(range(1, config.trainers + config.validators + 1))
    deploy(
        settings.rpc_url,
        deployer,
        build_dir=settings.build_dir,
        deployments_dir=settings.deployments_dir,
        faucet={anvil_account(i).address: 10_000 * TOKEN for i in indexes},
    )
    chain = TaskManager(
        settings.rpc_url, load_deployment(settings.deployments_dir, settings.chain_id, settings.build_dir), deployer
    )
    accounts = [deployer.address] + [anvil_account(i).address for i in indexes]
    balances: dict[str, int] = {a: chain.balance_of(a) for a in accounts}
    data = load_dataset(config.dataset, seed=config.seed)
    n_eval = min(config.eval_samples, len(data.y_test))
    with IpfsStore(settings.ipfs_api, timeout=settings.ipfs_timeout) as store:
        published = publish_model(
            store,
            preset=config.model,
            spec_json=None,
            input_shape=data.input_shape,
            num_classes=data.num_classes,
            seed=config.seed,
            x_eval=data.x_test[:n_eval],
            y_eval=data.y_test[:n_eval],
        )
    phase = config.phase_seconds
    clip_micro = round(config.clip * 1_000_000)
    privacy = privacy_params(
        PrivacyChoice(
            config.privacy,
            config.epsilon,
            config.delta,
            None,
            _min_contributors(config),
            unit=config.dp_unit if config.epsilon is not None else "trainer",
        ),
        rounds=config.rounds,
        clip_micro=clip_micro,
        max_trainers=TaskSettings.max_trainers,
        num_parameters=published.num_parameters,
    )
    task_id = create_task(
        chain,
        published,
        TaskSettings(
            rule=config.rule,
            rule_params=config.rule_params,
            num_rounds=config.rounds,
            registration=config.registration_seconds,
            commit=phase,
            reveal=phase,
            attest=phase,
            vote_commit=phase,
            vote_reveal=phase,
            # Workers withdraw this long after the last round (the penalty window): short in the demo.
            exit_cooldown=config.exit_cooldown_seconds,
            reward_pool=config.reward_pool,
            max_delta_norm_micro=clip_micro,
            privacy=privacy,
        ),
    )
    trainer_files, validator_files = _shares(config, data, workdir)
    workers = []
    for i, path in enumerate(trainer_files):
        a = 1 + i
        workers.append(
            Worker(
                f"trainer-{i}",
                "trainer",
                a,
                anvil_account(a).address,
                [
                    "trainer",
                    "--task",
                    str(task_id),
                    "--data",
                    str(path),
                    "--dev-account",
                    str(a),
                    "--epochs",
                    str(config.epochs),
                    "--batch-size",
                    str(config.batch_size),
                    "--learning-rate",
                    str(config.learning_rate),
                    "--seed",
                    str(config.seed + i),
                    "--poll",
                    str(config.poll_seconds),
                ],
                workdir / "logs" / f"trainer-{i}.log",
            )
        )
    for i, path in enumerate(validator_files):
        a = 1 + config.trainers + i
        workers.append(
            Worker(
                f"validator-{i}",
                "validator",
                a,
                anvil_account(a).address,
                [
                    "validator",
                    "--task",
                    str(task_id),
                    "--eval-data",
                    str(path),
                    "--dev-account",
                    str(a),
                    "--poll",
                    str(config.poll_seconds),
                ],
                workdir / "logs" / f"validator-{i}.log",
            )
        )
    stake_everyone(settings, chain, task_id, workers)
    return DemoRun(
        config,
        settings,
        workdir,
        chain,
        task_id,
        published,
        data,
        workers,
        balances,
        time.monotonic(),
        requester=deployer.address,
    )


def stake_everyone(settings: Settings, chain: TaskManager, task_id: int, workers: list[Worker]) -> None:
    """Stake each participant's minimum (and register its X25519 key where the privacy mode needs one)
    before any worker starts, so no round can begin (and end early) while a slow-starting process
    has yet to stake, and every key is in round 0's key set. The workers see both and go on."""
    params = chain.task_params(task_id)

    def stake_one(w: Worker) -> None:
        account_chain = TaskManager(settings.rpc_url, chain.deployment, anvil_account(w.account_index))
        role, amount = (
            (Role.TRAINER, params.min_trainer_stake)
            if w.role == "trainer"
            else (Role.VALIDATOR, params.min_validator_stake)
        )
        account_chain.stake(task_id, role, amount)
        Keyring(account_chain, task_id, role).ensure_registered()

    # All accounts at once (each has its own nonces): the same few blocks for 2 workers or 16.
    with ThreadPoolExecutor(max_workers=len(workers) or 1, thread_name_prefix="demo-stake") as pool:
        for done in [pool.submit(stake_one, w) for w in workers]:
            done.result()


def _min_contributors(config: DemoConfig) -> int | None:
    """SecAgg: the sum may be unmasked with all trainers but one (the demo tolerates one dropout)."""
    if config.privacy != "secagg":
        return None
    return config.min_contributors or max(2, config.trainers - 1)


def tf_threads_per_worker(workers: int, cores: int, *, requested: int | None = None, configured: int = 0) -> int:
    """TensorFlow threads for each of `workers` processes on `cores` cores (0: TF's default, one per core).

    An explicit request wins, then the `tf_threads` setting. Otherwise workers that outnumber
    the cores would each start a thread per core and fight over them, so each gets one.
    """
    if requested is not None:
        return requested
    if configured:
        return configured
    return 1 if workers > cores else 0


def worker_env(run: DemoRun) -> dict[str, str]:
    """The environment every worker process starts with: this run's chain, IPFS node and files."""
    s = run.settings
    threads = tf_threads_per_worker(
        len(run.workers), os.cpu_count() or 1, requested=run.config.tf_threads, configured=s.tf_threads
    )
    return {
        **os.environ,
        "DFL_RPC_URL": s.rpc_url,
        "DFL_CHAIN_ID": str(s.chain_id),
        "DFL_IPFS_API": s.ipfs_api,
        "DFL_STATE_DIR": str(run.workdir / "state"),
        "DFL_DEPLOYMENTS_DIR": str(s.deployments_dir),
        "DFL_BUILD_DIR": str(s.build_dir),
        "DFL_TF_THREADS": str(threads),
        "PYTHONUNBUFFERED": "1",
    }


def start_workers(run: DemoRun) -> None:
    env = worker_env(run)
    for w in run.workers:
        w.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(w.log_path, "ab") as out:
            out.write(f"$ dfl {' '.join(w.argv)}\n".encode())  # how to run this worker by hand
            out.flush()
            w.process = subprocess.Popen(
                [sys.executable, "-m", "offchain.cli.main", *w.argv],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )


def stop_workers(run: DemoRun) -> None:
    for w in run.workers:
        if w.process and w.process.poll() is None:
            w.process.terminate()
    for w in run.workers:
        if w.process:
            try:
                w.process.wait(10)
            except subprocess.TimeoutExpired:
                w.process.kill()
                w.process.wait()


def wait_for_completion(run: DemoRun, on_tick: Callable[[], None]) -> None:
    """Until the task completes and every worker has exited (they claim and withdraw last)."""
    deadline = time.monotonic() + run.config.timeout_seconds
    while True:
        on_tick()
        failed = [w for w in run.workers if w.process and w.process.poll() not in (None, 0)]
        if failed:
            w = failed[0]
            assert w.process is not None  # `failed` holds workers whose process has exited
            tail = w.log_path.read_text(errors="replace").splitlines()[-15:]
            raise DflError(
                f"{w.name} exited with code {w.process.returncode}; its log {w.log_path} ends:\n" + "\n".join(tail)
            )
        if all(w.process and w.process.poll() == 0 for w in run.workers):
            return
        if time.monotonic() > deadline:
            raise DflError(
                f"the demo did not finish within {run.config.timeout_seconds:.0f}s; worker logs are in {run.workdir / 'logs'}"
            )
        time.sleep(run.config.poll_seconds)


def settle(run: DemoRun) -> None:
    """Return what is left of the reward pool to the requester once the task completed (unclaimed
    rewards stay claimable for the task's claim window; `dfl task reclaim` returns them after it)."""
    if (
        run.chain.current_round(run.task_id)[1] == Phase.COMPLETED
        and run.chain.task_state(run.task_id).unallocated_pool > 0
    ):
        run.chain.reclaim(run.task_id)
    run.finished = time.monotonic()


def finalized_rounds(run: DemoRun) -> list[int]:
    return [r for r in range(run.config.rounds) if run.chain.round_outcome(run.task_id, r).status != RoundStatus.OPEN]
