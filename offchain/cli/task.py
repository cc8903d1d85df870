"""`dfl task create|list|show`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from offchain.cli.common import (
    DevAccountOpt,
    JsonOpt,
    KeyEnvOpt,
    KeystoreOpt,
    console,
    ipfs_store,
    load_signer,
    print_json,
    settings,
    task_manager,
)
from offchain.units import TOKEN

app = typer.Typer(help="Create, list and inspect federated-learning tasks.", no_args_is_help=True)


def _tokens(amount: float) -> int:
    return int(round(amount * TOKEN))


@app.command()
def create(
    dataset: Annotated[
        str, typer.Option(help="Data set that fixes the input shape and provides the public evaluation set.")
    ] = "mnist-5k",
    model: Annotated[str, typer.Option(help="Model preset: mlp or cnn.")] = "mlp",
    model_spec: Annotated[
        typer.FileText | None, typer.Option(help="A Keras JSON model config instead of a preset.")
    ] = None,
    eval_samples: Annotated[
        int, typer.Option(help="Size of the public evaluation set (from the data set's test split).")
    ] = 1000,
    rule: Annotated[
        str, typer.Option(help="fedavg, median, trimmed_mean, multi_krum or norm_clipped_fedavg.")
    ] = "fedavg",
    rule_param: Annotated[
        list[int] | None,
        typer.Option(help="Rule parameter (repeat; see offchain/fl/ruleconfig.py). Default: fedavg [0]."),
    ] = None,
    rounds: Annotated[int, typer.Option(help="Number of rounds.")] = 3,
    registration: Annotated[int, typer.Option(help="Seconds to stake before round 0.")] = 30,
    commit: Annotated[int, typer.Option(help="Seconds of the update-commit phase.")] = 120,
    reveal: Annotated[int, typer.Option(help="Seconds of the update-reveal phase.")] = 60,
    vote_commit: Annotated[int, typer.Option(help="Seconds of the vote-commit phase.")] = 120,
    vote_reveal: Annotated[int, typer.Option(help="Seconds of the vote-reveal phase.")] = 60,
    reward_pool: Annotated[float, typer.Option(help="Reward pool in tokens.")] = 1000.0,
    min_trainer_stake: Annotated[float, typer.Option(help="Minimum trainer stake in tokens.")] = 10.0,
    min_validator_stake: Annotated[float, typer.Option(help="Minimum validator stake in tokens.")] = 100.0,
    quorum_bps: Annotated[
        int, typer.Option(help="Winning stake needed, in basis points of validator stake (5001-10000).")
    ] = 6000,
    trainer_share_bps: Annotated[
        int, typer.Option(help="Share of each round's reward for trainers (basis points).")
    ] = 7000,
    max_update_mb: Annotated[float, typer.Option(help="Largest update accepted, in MiB.")] = 16.0,
    seed: Annotated[int, typer.Option(help="Seed of the initial weights.")] = 0,
    keystore: KeystoreOpt = None,
    key_env: KeyEnvOpt = "DFL_PRIVATE_KEY",
    dev_account: DevAccountOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Publish the model, initial weights and evaluation set to IPFS, then create and fund the task."""
    from offchain.ml.datasets import load_dataset
    from offchain.services.requester import TaskSettings, create_task, publish_model

    s = settings()
    account = load_signer(s, keystore, key_env, dev_account)
    chain = task_manager(s, account)
    data = load_dataset(dataset, seed=seed)
    n = min(eval_samples, len(data.y_test))
    with ipfs_store(s) as store:
        published = publish_model(
            store,
            preset=None if model_spec else model,
            spec_json=model_spec.read() if model_spec else None,
            input_shape=data.input_shape,
            num_classes=data.num_classes,
            seed=seed,
            x_eval=data.x_test[:n],
            y_eval=data.y_test[:n],
        )
    task_settings = TaskSettings(
        rule=rule,
        rule_params=tuple(rule_param) if rule_param else ((0,) if rule == "fedavg" else ()),
        num_rounds=rounds,
        registration=registration,
        commit=commit,
        reveal=reveal,
        vote_commit=vote_commit,
        vote_reveal=vote_reveal,
        min_trainer_stake=_tokens(min_trainer_stake),
        min_validator_stake=_tokens(min_validator_stake),
        max_update_bytes=int(max_update_mb * (1 << 20)),
        quorum_bps=quorum_bps,
        trainer_share_bps=trainer_share_bps,
        reward_pool=_tokens(reward_pool),
    )
    task_id = create_task(chain, published, task_settings)
    if as_json:
        print_json({"task": task_id, "model": published})
    else:
        console.print(
            f"task {task_id} created by {account.address}: {model_spec.name if model_spec else model} "
            f"({published.num_parameters} parameters), {rule}, {rounds} rounds, pool {reward_pool} tokens",
            highlight=False,
        )
        console.print(
            f"  spec {published.spec_cid}\n  initial weights {published.weights_cid}\n  evaluation set {published.eval_cid}",
            highlight=False,
        )


def _task_summary(chain, task_id: int) -> dict:  # type: ignore[no-untyped-def]
    params = chain.task_params(task_id)
    state = chain.task_state(task_id)
    return {
        "task": task_id,
        "requester": state.requester,
        "phase": state.phase.name.lower(),
        "round": state.round,
        "num_rounds": params.num_rounds,
        "rule_id": params.rule_id,
        "active_trainers": state.active_trainers,
        "active_validators": state.active_validators,
        "unallocated_pool": state.unallocated_pool,
        "phase_deadline": state.phase_deadline,
    }


@app.command("list")
def list_tasks(as_json: JsonOpt = False) -> None:
    """Every task on the deployment, with its phase and round."""
    chain = task_manager(settings())
    rows = [_task_summary(chain, t) for t in range(1, chain.task_count() + 1)]
    if as_json:
        print_json({"tasks": rows})
        return
    table = Table("task", "phase", "round", "trainers", "validators", "pool left (tokens)", "requester")
    for r in rows:
        table.add_row(
            str(r["task"]),
            r["phase"],
            f"{r['round']}/{r['num_rounds']}",
            str(r["active_trainers"]),
            str(r["active_validators"]),
            f"{r['unallocated_pool'] / TOKEN:g}",
            r["requester"],
        )
    console.print(table if rows else "no tasks yet: create one with `dfl task create`")


@app.command()
def show(task_id: Annotated[int, typer.Argument(help="Task id.")], as_json: JsonOpt = False) -> None:
    """A task's parameters, live state and the outcome of each round."""
    from offchain.chain.errors import ChainError

    chain = task_manager(settings())
    if not 1 <= task_id <= chain.task_count():
        raise ChainError(f"no task {task_id}: there are {chain.task_count()} tasks (see `dfl task list`)")
    from offchain.services.reports import round_outcomes

    params = chain.task_params(task_id)
    state = chain.task_state(task_id)
    rounds = round_outcomes(chain, task_id, min(state.round + 1, params.num_rounds))
    body = {"task": task_id, "params": params, "state": state, "rounds": rounds}
    if as_json:
        print_json(body)
        return
    console.print(
        f"[bold]task {task_id}[/] phase {state.phase.name.lower()} round {state.round}/{params.num_rounds}, deadline {state.phase_deadline}"
    )
    console.print(
        f"  model spec {params.model_spec_cid}; initial weights {params.initial_model_cid}; rule id {params.rule_id} {list(params.rule_params)}"
    )
    table = Table(
        "round",
        "status",
        "winning stake",
        "leading / total stake",
        "trainer pool",
        "claimed (trainers)",
        "validator pool",
        "claimed (validators)",
    )
    for r in rounds:
        table.add_row(
            str(r["round"]),
            r["status"],
            f"{r['winning_stake'] / TOKEN:g}",
            "-"
            if r["total_validator_stake"] is None
            else f"{r['leading_stake'] / TOKEN:g} / {r['total_validator_stake'] / TOKEN:g}",
            f"{r['trainer_pool'] / TOKEN:g}",
            f"{r['trainer_claimed'] / TOKEN:g}",
            f"{r['validator_pool'] / TOKEN:g}",
            f"{r['validator_claimed'] / TOKEN:g}",
        )
    console.print(table)
