"""`dfl trainer` and `dfl validator`: long-running workers that follow one task to its end."""

from __future__ import annotations

from collections.abc import Callable
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
    settings,
    setup_logging,
    task_manager,
)
from offchain.errors import DflError

TaskOpt = Annotated[int, typer.Option("--task", help="Task id.")]
PartitionOpt = Annotated[
    str, typer.Option(help="How to split a shared data set among clients: iid, dirichlet:ALPHA, shards:N.")
]
ClientOpt = Annotated[
    int | None, typer.Option(help="This worker's share of the data set (0-based), with --num-clients.")
]
NumClientsOpt = Annotated[int, typer.Option(help="Number of shares the data set is split into (with --client-index).")]
SeedOpt = Annotated[int, typer.Option(help="Seed of the data split and of local training.")]
MaxSecondsOpt = Annotated[
    float | None, typer.Option(help="Give up after this many seconds (default: run until the task completes).")
]
PollOpt = Annotated[float, typer.Option(help="Seconds between looks at the chain.")]
StakeOpt = Annotated[int | None, typer.Option(help="Stake in token base units (default: the task's minimum).")]


def _local_data(
    name_or_path: str, split: str, partition: str, client_index: int | None, num_clients: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """This worker's own data: a file or folder of its own, or one share of a shared data set."""
    from offchain.ml.datasets import load_dataset
    from offchain.ml.partition import parse_partition

    dataset = load_dataset(name_or_path, seed=seed)
    x, y = (dataset.x_train, dataset.y_train) if split == "train" else (dataset.x_test, dataset.y_test)
    if client_index is None:
        return x, y
    if not 0 <= client_index < num_clients:
        raise typer.BadParameter(f"--client-index must be in [0, {num_clients})")
    parts = parse_partition(partition).split(y, num_clients, seed=seed)
    return x[parts[client_index]], y[parts[client_index]]


def _run(
    role: str,
    task: int,
    data_args: tuple,
    signer_args: tuple,
    make: Callable[..., Any],  # type: ignore[type-arg]
    verbose: bool,
    max_seconds: float | None,
) -> None:
    """Set up a worker from the command's options and follow the task to its end."""
    from offchain.workers.state import WorkerState

    setup_logging(verbose)
    s = settings()
    threads = ""
    if s.tf_threads:
        from offchain.ml.train import limit_threads

        if s.tf_threads < 0:
            raise DflError(f"tf_threads (DFL_TF_THREADS) must be 0 (TensorFlow's default) or more, got {s.tf_threads}")
        threads = f"; TensorFlow threads: {limit_threads(s.tf_threads)}"
    account = load_signer(s, *signer_args)
    x, y = _local_data(*data_args)
    chain = task_manager(s, account)
    state = WorkerState(s.state_dir, chain_id=s.chain_id, task_id=task, role=role, account=account.address)
    console.print(
        f"{role} {account.address} on task {task}: {len(x)} local samples; state in {state.path}{threads}",
        highlight=False,
        soft_wrap=True,
    )  # one greppable line in worker logs
    with ipfs_store(s) as store:
        make(chain, store, state, x, y).run(max_seconds=max_seconds)


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
    stake: StakeOpt = None,
    keystore: KeystoreOpt = None,
    key_env: KeyEnvOpt = "DFL_PRIVATE_KEY",
    dev_account: DevAccountOpt = None,
    poll: PollOpt = 1.0,
    max_seconds: MaxSecondsOpt = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Train on local data in every round of TASK: stake, fetch G_r, train, pin the update to IPFS,
    commit and reveal its CID; claim rewards when the task completes. Safe to kill and restart."""
    from offchain.services.local_model import TrainingConfig
    from offchain.workers.trainer import Trainer, TrainerOptions

    options = TrainerOptions(
        stake=stake, training=TrainingConfig(epochs, batch_size, learning_rate, optimizer, seed), poll_seconds=poll
    )
    _run(
        "trainer",
        task,
        (data, "train", partition, client_index, num_clients, seed),
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
    stake: StakeOpt = None,
    keystore: KeystoreOpt = None,
    key_env: KeyEnvOpt = "DFL_PRIVATE_KEY",
    dev_account: DevAccountOpt = None,
    poll: PollOpt = 1.0,
    max_seconds: MaxSecondsOpt = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Validate every round of TASK: stake, fetch and verify each revealed update, aggregate by the
    task's rule, pin the model and round receipt, vote; finalize, slash absentees, claim rewards."""
    from offchain.workers.validator import Validator, ValidatorOptions

    options = ValidatorOptions(stake=stake, tolerance=tolerance, poll_seconds=poll)
    _run(
        "validator",
        task,
        (eval_data, "test", partition, client_index, num_clients, seed),
        (keystore, key_env, dev_account),
        lambda chain, store, state, x, y: Validator(chain, store, state, task, x, y, options),
        verbose,
        max_seconds,
    )
