"""`dfl trainer` and `dfl validator`: long-running workers that follow one task to its end."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from offchain.cli.common import (
    DevAccountOpt,
    KeyEnvOpt,
    KeystoreOpt,
    console,
    ipfs_store,
    load_signer,
    require_task,
    settings,
    setup_logging,
    task_manager,
    tokens,
)
from offchain.errors import ArgumentError, ConfigError, IpfsError

TaskOpt = Annotated[int, typer.Option("--task", help="Task id.")]
PartitionOpt = Annotated[
    str, typer.Option(help="How to split a shared data set among clients: iid, dirichlet:ALPHA, shards:N.")
]
ClientOpt = Annotated[
    int | None, typer.Option(help="This worker's share of the data set (0-based), with --num-clients.")
]
NumClientsOpt = Annotated[int, typer.Option(help="Number of shares the data set is split into (with --client-index).")]
SeedOpt = Annotated[int, typer.Option(help="Seed of the data split and of local training.")]
TestFractionOpt = Annotated[
    float,
    typer.Option(
        help="Share of the data kept as a local test split when the data has none of its own: a trainer does "
        "not train on it (0: train on all), a validator evaluates only on it (1: evaluate on all)."
    ),
]
MaxSecondsOpt = Annotated[
    float | None, typer.Option(help="Give up after this many seconds (default: run until the task completes).")
]
PollOpt = Annotated[float, typer.Option(help="Seconds between looks at the chain.")]
ValidatorStakeOpt = Annotated[
    int | None,
    typer.Option(parser=tokens("--stake"), metavar="TOKENS", help="Stake in tokens (default: the task's minimum)."),
]
TrainerStakeOpt = Annotated[
    int | None,
    typer.Option(
        parser=tokens("--stake"),
        metavar="TOKENS",
        help="Stake in tokens (default: the task's minimum, or more when the local samples times the task's "
        "stake per sample is more: a trainer declares only the samples its stake backs).",
    ),
]
DEFAULT_TEST_FRACTION = 0.2


def _check_options(
    client_index: int | None, num_clients: int, poll: float, max_seconds: float | None, test_fraction: float, role: str
) -> None:
    if num_clients < 1:
        raise ArgumentError(f"--num-clients must be at least 1, not {num_clients}")
    if client_index is not None and not 0 <= client_index < num_clients:
        raise ArgumentError(f"--client-index must be in 0..{num_clients - 1} (with --num-clients {num_clients})")
    if not poll > 0:
        raise ArgumentError(f"--poll must be more than 0 seconds, not {poll}")
    if max_seconds is not None and not max_seconds > 0:
        raise ArgumentError(f"--max-seconds must be more than 0, not {max_seconds}")
    ok = 0 <= test_fraction < 1 if role == "trainer" else 0 < test_fraction <= 1
    if not ok:
        bounds = "0 (train on all) up to, not including, 1" if role == "trainer" else "more than 0 up to 1 (all)"
        raise ArgumentError(f"--test-fraction must be from {bounds}, not {test_fraction}")


def _local_data(
    name_or_path: str,
    role: str,
    test_fraction: float,
    partition: str,
    client_index: int | None,
    num_clients: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, str]:
    """This worker's own data (a file or folder of its own, or one share of a shared data set) and
    a line saying which part of it is used: a trainer trains on the training split, a validator
    evaluates on the test split, and sources without a test split of their own are split here."""
    from offchain.ml.datasets import load_dataset
    from offchain.ml.partition import parse_partition

    split = test_fraction if 0 < test_fraction < 1 else DEFAULT_TEST_FRACTION
    data = load_dataset(name_or_path, seed=seed, test_fraction=split)
    total = len(data.y_train) + len(data.y_test)
    use_all = data.held_out and test_fraction in (0, 1)
    if use_all:
        x, y = np.concatenate([data.x_train, data.x_test]), np.concatenate([data.y_train, data.y_test])
        note = f"all {total} samples of {data.name} (--test-fraction {test_fraction:g})"
    elif role == "trainer":
        x, y = data.x_train, data.y_train
        note = (
            f"{len(y)} of the {total} samples of {data.name}: {data.held_out} ({data.held_out / total:.0%}) are held "
            "out as a local test split and not trained on (--test-fraction 0 trains on all)"
            if data.held_out
            else f"the {len(y)} samples of the training split of {data.name}"
        )
    else:
        x, y = data.x_test, data.y_test
        note = (
            f"{len(y)} of the {total} samples of {data.name}: its test split of {data.held_out / total:.0%} "
            "(--test-fraction 1 evaluates on all)"
            if data.held_out
            else f"the {len(y)} samples of the test split of {data.name}"
        )
    if client_index is None:
        return x, y, note
    parts = parse_partition(partition).split(y, num_clients, seed=seed)
    share = parts[client_index]
    return x[share], y[share], f"share {client_index} of {num_clients} ({len(share)} samples, {partition}) of {note}"


def _is_rpc_outage(exc: BaseException) -> bool:
    from offchain.chain.errors import RpcUnavailable

    return isinstance(exc, RpcUnavailable)


def _is_ipfs_outage(exc: BaseException) -> bool:
    return isinstance(exc, IpfsError) and exc.transient


def _run(
    role: str,
    task: int,
    data_args: tuple[str, str, float, str, int | None, int, int],  # for _local_data
    signer_args: tuple[Path | None, str, int | None],  # for load_signer
    make: Callable[..., Any],
    verbose: bool,
    max_seconds: float | None,
) -> None:
    """Set up a worker from the command's options and follow the task to its end."""
    from offchain.workers.state import WorkerState
    from offchain.workers.watch import Watchdog

    setup_logging(verbose)
    s = settings()
    if s.tf_threads < 0:
        raise ConfigError(f"tf_threads (DFL_TF_THREADS) must be 0 (TensorFlow's default) or more, got {s.tf_threads}")
    account = load_signer(s, *signer_args)
    x, y, note = _local_data(*data_args)
    chain = task_manager(s, account)
    require_task(chain, task)
    threads = ""
    if s.tf_threads:
        from offchain.ml.train import limit_threads

        threads = f"; TensorFlow threads: {limit_threads(s.tf_threads)}"
    state = WorkerState(s.state_dir, chain_id=s.chain_id, task_id=task, role=role, account=account.address)
    console.print(
        f"{role} {account.address} on task {task}: {len(x)} local samples; state in {state.path}{threads}",
        highlight=False,
        soft_wrap=True,
    )  # one greppable line in worker logs
    verb = "training on" if role == "trainer" else "evaluating on"
    console.print(f"{role} {account.address}: {verb} {note}", highlight=False, soft_wrap=True)
    with ipfs_store(s) as store, Watchdog() as watchdog:
        watched_chain = watchdog.wrap(chain, f"the chain's RPC at {s.rpc_url}", _is_rpc_outage)
        watched_store = watchdog.wrap(store, f"IPFS at {s.ipfs_api}", _is_ipfs_outage)
        make(watched_chain, watched_store, state, x, y).run(max_seconds=max_seconds)


def trainer(
    task: TaskOpt,
    data: Annotated[
        str,
        typer.Option(help="Local training data: fashion-mnist, mnist-5k, digits, an .npz (x, y) or an image folder."),
    ],
    partition: PartitionOpt = "iid",
    client_index: ClientOpt = None,
    num_clients: NumClientsOpt = 1,
    epochs: Annotated[int, typer.Option(help="Local epochs per round.")] = 1,
    batch_size: Annotated[int, typer.Option(help="Local batch size.")] = 32,
    learning_rate: Annotated[float, typer.Option(help="Local learning rate.")] = 0.05,
    optimizer: Annotated[str, typer.Option(help="sgd or adam.")] = "sgd",
    seed: SeedOpt = 0,
    test_fraction: TestFractionOpt = DEFAULT_TEST_FRACTION,
    stake: TrainerStakeOpt = None,
    keystore: KeystoreOpt = None,
    key_env: KeyEnvOpt = "DFL_PRIVATE_KEY",
    dev_account: DevAccountOpt = None,
    poll: PollOpt = 1.0,
    max_seconds: MaxSecondsOpt = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Train on local data in every round of TASK: stake, fetch G_r, train, pin the update to IPFS,
    commit and reveal its CID; claim rewards when the task completes. Safe to kill and restart."""
    from offchain.ml.train import OPTIMIZERS
    from offchain.services.local_model import TrainingConfig
    from offchain.workers.trainer import Trainer, TrainerOptions

    _check_options(client_index, num_clients, poll, max_seconds, test_fraction, "trainer")
    if epochs < 1 or batch_size < 1 or not learning_rate > 0:
        raise ArgumentError("--epochs and --batch-size must be at least 1 and --learning-rate more than 0")
    if optimizer not in OPTIMIZERS:
        raise ArgumentError(f"unknown --optimizer {optimizer!r}: choose one of {', '.join(OPTIMIZERS)}")
    options = TrainerOptions(
        stake=stake, training=TrainingConfig(epochs, batch_size, learning_rate, optimizer, seed), poll_seconds=poll
    )
    _run(
        "trainer",
        task,
        (data, "trainer", test_fraction, partition, client_index, num_clients, seed),
        (keystore, key_env, dev_account),
        lambda chain, store, state, x, y: Trainer(chain, store, state, task, x, y, options),
        verbose,
        max_seconds,
    )


def validator(
    task: TaskOpt,
    eval_data: Annotated[
        str,
        typer.Option(
            help="The validator's own evaluation data (its test split is used): a built-in name, .npz or image folder."
        ),
    ],
    partition: PartitionOpt = "iid",
    client_index: ClientOpt = None,
    num_clients: NumClientsOpt = 1,
    seed: SeedOpt = 0,
    tolerance: Annotated[
        float, typer.Option(help="Vote reject when the aggregate's accuracy is this much below G_r's.")
    ] = 0.02,
    fetch_timeout: Annotated[
        float, typer.Option(help="Seconds to wait for one update from IPFS per attempt (retried until the phase ends).")
    ] = 20.0,
    test_fraction: TestFractionOpt = DEFAULT_TEST_FRACTION,
    stake: ValidatorStakeOpt = None,
    keystore: KeystoreOpt = None,
    key_env: KeyEnvOpt = "DFL_PRIVATE_KEY",
    dev_account: DevAccountOpt = None,
    poll: PollOpt = 1.0,
    max_seconds: MaxSecondsOpt = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Validate every round of TASK: stake, fetch, verify and pin each revealed update, attest to what
    it holds, compute the round over the updates a quorum holds, pin the model and round receipt, vote;
    finalize, slash absentees, apply penalties, claim rewards."""
    from offchain.workers.validator import Validator, ValidatorOptions

    _check_options(client_index, num_clients, poll, max_seconds, test_fraction, "validator")
    if not 0 <= tolerance <= 1:
        raise ArgumentError(f"--tolerance is an accuracy difference from 0 to 1, not {tolerance}")
    if not 0.5 <= fetch_timeout <= 3600:
        raise ArgumentError(f"--fetch-timeout is in seconds, from 0.5 to 3600, not {fetch_timeout}")
    options = ValidatorOptions(stake=stake, tolerance=tolerance, fetch_timeout=fetch_timeout, poll_seconds=poll)
    _run(
        "validator",
        task,
        (eval_data, "validator", test_fraction, partition, client_index, num_clients, seed),
        (keystore, key_env, dev_account),
        lambda chain, store, state, x, y: Validator(chain, store, state, task, x, y, options),
        verbose,
        max_seconds,
    )
