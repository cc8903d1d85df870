"""`dfl demo`: the whole job on embedded defaults, in one command."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from offchain.cli.common import Interrupted, console, err_console, settings, setup_logging, tokens
from offchain.errors import ArgumentError, DflError
from offchain.tokens import format_tokens

if TYPE_CHECKING:
    from offchain.config import Settings
    from offchain.demo.config import DemoConfig
    from offchain.demo.run import DemoRun


def demo(
    dataset: Annotated[
        str, typer.Option(help="fashion-mnist, mnist-5k, digits, an .npz or an image folder.")
    ] = "mnist-5k",
    model: Annotated[str, typer.Option(help="mlp (Dense 10 relu, Dense 10 softmax) or cnn.")] = "mlp",
    trainers: Annotated[int, typer.Option(help="Trainer processes.")] = 4,
    validators: Annotated[int, typer.Option(help="Validator processes.")] = 3,
    rounds: Annotated[int, typer.Option(help="Rounds.")] = 5,
    partition: Annotated[
        str, typer.Option(help="How the training data is split among trainers: iid, dirichlet:ALPHA, shards:N.")
    ] = "dirichlet:0.5",
    rule: Annotated[
        str | None,
        typer.Option(
            help="consensus_fedavg (the default), fedavg, median, trimmed_mean, multi_krum, norm_clipped_fedavg "
            "(secagg: fedavg, the mean of the sum)."
        ),
    ] = None,
    rule_param: Annotated[list[int] | None, typer.Option(help="Rule parameter (repeat).")] = None,
    epochs: Annotated[int, typer.Option(help="Local epochs per round.")] = 2,
    learning_rate: Annotated[
        float | None,
        typer.Option(help="Local learning rate (SGD); default 0.1, or 2.0 for a per-sample DP-SGD step."),
    ] = None,
    reward_pool: Annotated[
        int, typer.Option(parser=tokens("--reward-pool"), metavar="TOKENS", help="Reward pool in tokens.")
    ] = "1000",  # type: ignore[assignment]  # parsed by `tokens`
    seed: Annotated[int, typer.Option(help="Seed of data split, initial model and training.")] = 0,
    registration: Annotated[
        int, typer.Option(help="Seconds of staking before round 0 (the demo stakes for every worker first).")
    ] = 15,
    tf_threads: Annotated[
        int | None,
        typer.Option(
            help="TensorFlow threads per worker process (default: DFL_TF_THREADS, else 1 when workers outnumber cores; 0: one per core)."
        ),
    ] = None,
    workdir: Annotated[
        Path | None,
        typer.Option(help="Where data shares, worker state and logs go (default: <state dir>/demo/<time>)."),
    ] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Also write the summary as JSON here.")] = None,
    plot_path: Annotated[Path, typer.Option("--plot", help="PNG of accuracy and cumulative rewards per round.")] = Path(
        "reports/demo.png"
    ),
    explorer: Annotated[
        bool,
        typer.Option(
            "--explorer/--no-explorer",
            help="Also serve the block explorer in the background (a running one is reused; `dfl explorer --stop` stops it).",
        ),
    ] = True,
    explorer_port: Annotated[int, typer.Option(help="Port of the background explorer.")] = 8000,
    privacy: Annotated[
        str,
        typer.Option(help="plaintext (updates public), sealed (validators read them) or secagg (only sums are read)."),
    ] = "plaintext",
    epsilon: Annotated[
        float | None, typer.Option(help="Differential-privacy budget ε of the task (default: no DP).")
    ] = None,
    delta: Annotated[float, typer.Option(help="δ of the privacy budget.")] = 1e-5,
    clip: Annotated[
        float | None,
        typer.Option(
            help="Bound on the norm of an update's change (default 10), or with --dp-unit sample on each "
            "example's scaled gradient (default 2)."
        ),
    ] = None,
    dp_unit: Annotated[
        str,
        typer.Option(
            help="What --epsilon protects: each sample (a clipped DP-SGD step per round: learns with few "
            "trainers) or a trainer's whole data (its clipped update; needs many trainers to learn)."
        ),
    ] = "sample",
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Start the devnet and IPFS node if needed, deploy, create a task, run trainers and validators
    as separate processes with live progress, then print per-round results, balances and a plot."""
    from offchain.demo.config import DemoConfig
    from offchain.fl.rules import parse_rule
    from offchain.ml.partition import parse_partition
    from offchain.services.privacy_setup import PrivacyChoice, default_rule, privacy_params
    from offchain.services.requester import rule_id

    setup_logging(verbose)
    s = settings()
    rule = default_rule(privacy, rule)
    per_sample = epsilon is not None and dp_unit == "sample"
    try:
        config = DemoConfig(
            dataset=dataset,
            model=model,
            trainers=trainers,
            validators=validators,
            rounds=rounds,
            partition=partition,
            rule=rule,
            rule_params=tuple(rule_param) if rule_param else ((0,) if rule == "fedavg" else ()),
            epochs=epochs,
            learning_rate=learning_rate if learning_rate is not None else (2.0 if per_sample else 0.1),
            reward_pool=reward_pool,
            seed=seed,
            registration_seconds=registration,
            tf_threads=tf_threads,
            privacy=privacy,
            epsilon=epsilon,
            delta=delta,
            clip=clip if clip is not None else (2.0 if per_sample else 10.0),
            dp_unit=dp_unit,
        )
    except ValueError as exc:
        raise ArgumentError(str(exc)) from None
    try:
        parse_rule(rule_id(rule), list(config.rule_params))
    except DflError as exc:
        raise ArgumentError(f"--rule {rule} with --rule-param {list(config.rule_params)}: {exc}") from None
    parse_partition(partition)
    privacy_params(  # bad privacy options fail here, before any service starts; the scale needs the model
        PrivacyChoice(privacy, epsilon, delta, None, None, unit=dp_unit if epsilon is not None else "trainer"),
        rounds=rounds,
        clip_micro=round(config.clip * 1_000_000),
        max_trainers=100,
        num_parameters=1,
    )
    if not (s.build_dir / "contracts" / "FLTaskManager.json").exists():
        raise DflError(
            f"contracts are not compiled ({s.build_dir} has no FLTaskManager.json): run `make setup` or `brownie compile`"
        )
    started = _ensure_services(s)
    workdir = workdir or s.state_dir / "demo" / time.strftime("%Y%m%d-%H%M%S")
    box: list[DemoRun] = []
    try:
        _run(config, s, workdir, box, explorer, explorer_port, json_path, plot_path)
    except KeyboardInterrupt:
        from offchain.demo.interrupt import left_behind

        lines = left_behind(s, box[0] if box else None, started_services=started)
        err_console.print("\n".join(["interrupted:", *(f"  {line}" for line in lines)]), highlight=False)
        raise Interrupted(
            "interrupted (Ctrl-C); see above for what was left running and what happens to the task"
        ) from None


def _run(
    config: DemoConfig,
    s: Settings,
    workdir: Path,
    box: list[DemoRun],
    explorer: bool,
    explorer_port: int,
    json_path: Path | None,
    plot_path: Path,
) -> None:
    """Deploy, create the task, run the workers with live progress, then the summary."""
    from offchain.demo.live import Progress
    from offchain.demo.run import prepare, settle, start_workers, stop_workers, wait_for_completion
    from offchain.demo.summary import AccuracyMeter, collect, plot, render
    from offchain.storage.ipfs import IpfsStore

    console.print(f"deploying and creating the task (work files in {workdir})", highlight=False)
    run = prepare(config, s, workdir)
    box.append(run)
    console.print(
        f"task {run.task_id}: {config.model} on {config.dataset}, {config.trainers} trainers ({config.partition}), "
        f"{config.validators} validators, {config.rounds} rounds, pool {format_tokens(config.reward_pool)} DFL; "
        f"starting {len(run.workers)} worker processes",
        highlight=False,
    )
    explorer_url = _start_explorer(s, explorer_port) if explorer else None
    with IpfsStore(s.ipfs_api, timeout=s.ipfs_timeout) as store:
        meter = AccuracyMeter(run, store)
        start_workers(run)
        try:
            with Progress(run, meter, console) as progress:
                wait_for_completion(run, progress.tick)
        finally:
            stop_workers(run)
        settle(run)
        summary = collect(run, store, meter)
    render(summary, console)
    summary["plot"] = str(plot(summary, plot_path))
    console.print(
        f"accuracy {summary['initial_accuracy']:.4f} -> {summary['final_accuracy']:.4f} in {summary['seconds']:.0f}s; "
        f"plot {summary['plot']}; worker logs {workdir / 'logs'}",
        highlight=False,
    )
    console.print(
        f"explore: dfl task show {run.task_id}; dfl round show {run.task_id} 0; dfl rewards show --task {run.task_id}",
        highlight=False,
    )
    if explorer_url:
        console.print(
            f"explorer: {explorer_url}/tasks/{run.task_id} (follow a reward: round page -> claim transaction -> account)",
            highlight=False,
        )
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(summary, indent=2, default=str) + "\n")


def _ensure_services(s: Settings) -> bool:
    """Use the chain and IPFS node the settings name; start the local dev services if they do not
    answer. True if this started them."""
    from urllib.parse import urlparse

    from offchain.devnet.services import DevServices, Ports, anvil_answers, ipfs_answers

    rpc_ok, ipfs_ok = anvil_answers(s.rpc_url), ipfs_answers(s.ipfs_api)
    if rpc_ok and ipfs_ok:
        return False
    rpc, api, gateway = urlparse(s.rpc_url), urlparse(s.ipfs_api), urlparse(s.ipfs_gateway)
    if not all(u.hostname in ("127.0.0.1", "localhost") for u in (rpc, api)):
        down = [n for n, ok in (("chain " + s.rpc_url, rpc_ok), ("IPFS " + s.ipfs_api, ipfs_ok)) if not ok]
        raise DflError(
            f"{' and '.join(down)} not answering; start them, or unset DFL_RPC_URL / DFL_IPFS_API to use local dev services"
        )
    ports = Ports("127.0.0.1", rpc.port or 8545, api.port or 5001, gateway.port or 8080)
    console.print("starting the local devnet and IPFS node (`dfl node down` stops them)")
    for st in DevServices(s.state_dir, ports, chain_id=s.chain_id, block_time=1).up():
        console.print(f"  {st.name}: pid {st.pid} at {st.url}", highlight=False)
    return True


def _start_explorer(s: Settings, port: int) -> str | None:
    """`dfl explorer` in the background on the same settings (reused if running); a failure only warns."""
    from offchain.explorer import background

    env = {
        **os.environ,
        "DFL_RPC_URL": s.rpc_url,
        "DFL_CHAIN_ID": str(s.chain_id),
        "DFL_IPFS_API": s.ipfs_api,
        "DFL_IPFS_GATEWAY": s.ipfs_gateway,
        "DFL_STATE_DIR": str(s.state_dir),
        "DFL_DEPLOYMENTS_DIR": str(s.deployments_dir),
        "DFL_BUILD_DIR": str(s.build_dir),
    }
    try:
        url, pid, started = background.ensure(s.state_dir, env, port=port)
    except DflError as exc:
        console.print(f"[yellow]explorer not started:[/] {exc}", highlight=False)
        return None
    console.print(
        f"explorer: {url} ({'started' if started else 'already running'}, pid {pid}; `dfl explorer --stop` stops it)",
        highlight=False,
    )
    return url
