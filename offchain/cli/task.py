"""`dfl task create|list|show`."""

from __future__ import annotations

import secrets
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from offchain import task_defaults as D
from offchain.cli.common import (
    DevAccountOpt,
    JsonOpt,
    KeyEnvOpt,
    KeystoreOpt,
    console,
    ipfs_store,
    load_signer,
    print_json,
    require_task,
    settings,
    task_manager,
    tokens,
)
from offchain.errors import ArgumentError, DflError
from offchain.tokens import UINT96_MAX, format_tokens
from offchain.units import BPS, MICRO
from offchain.when import deadline as show_deadline

if TYPE_CHECKING:
    from offchain.chain.manager import TaskManager
    from offchain.services.requester import TaskSettings

app = typer.Typer(help="Create, list, inspect and settle federated-learning tasks.", no_args_is_help=True)


@app.command()
def create(
    dataset: Annotated[
        str, typer.Option(help="Data set that fixes the input shape and provides the public evaluation set.")
    ] = "mnist-5k",
    model: Annotated[str, typer.Option(help="Model preset: mlp or cnn.")] = "mlp",
    model_spec: Annotated[Path | None, typer.Option(help="A Keras JSON model config instead of a preset.")] = None,
    eval_samples: Annotated[
        int, typer.Option(help="Size of the public evaluation set (from the data set's test split).")
    ] = 1000,
    rule: Annotated[
        str | None,
        typer.Option(
            help="consensus_fedavg (robust, the default), fedavg, median, trimmed_mean, multi_krum or "
            "norm_clipped_fedavg (see offchain/fl/rules.py); secagg aggregates the mean of the sum: fedavg."
        ),
    ] = None,
    rule_param: Annotated[
        list[int] | None,
        typer.Option(help="Rule parameter (repeat; see offchain/fl/rules.py). Default: none, fedavg [0]."),
    ] = None,
    rounds: Annotated[int, typer.Option(help="Number of rounds.")] = D.NUM_ROUNDS,
    registration: Annotated[int, typer.Option(help="Seconds to stake before round 0.")] = D.REGISTRATION,
    commit: Annotated[int, typer.Option(help="Seconds of the update-commit phase.")] = D.COMMIT,
    reveal: Annotated[int, typer.Option(help="Seconds of the update-reveal phase.")] = D.REVEAL,
    attest: Annotated[int, typer.Option(help="Seconds of the availability-attestation phase.")] = D.ATTEST,
    vote_commit: Annotated[int, typer.Option(help="Seconds of the vote-commit phase.")] = D.VOTE_COMMIT,
    vote_reveal: Annotated[int, typer.Option(help="Seconds of the vote-reveal phase.")] = D.VOTE_REVEAL,
    reward_pool: Annotated[
        int, typer.Option(parser=tokens("--reward-pool"), metavar="TOKENS", help="Reward pool in tokens.")
    ] = format_tokens(D.REWARD_POOL),  # type: ignore[assignment]  # parsed by `tokens`
    min_trainer_stake: Annotated[
        int,
        typer.Option(parser=tokens("--min-trainer-stake"), metavar="TOKENS", help="Minimum trainer stake in tokens."),
    ] = format_tokens(D.MIN_TRAINER_STAKE),  # type: ignore[assignment]  # parsed by `tokens`
    min_validator_stake: Annotated[
        int,
        typer.Option(
            parser=tokens("--min-validator-stake"), metavar="TOKENS", help="Minimum validator stake in tokens."
        ),
    ] = format_tokens(D.MIN_VALIDATOR_STAKE),  # type: ignore[assignment]  # parsed by `tokens`
    quorum_bps: Annotated[
        int, typer.Option(help="Winning stake needed, in basis points of validator stake (5001-10000).")
    ] = D.QUORUM_BPS,
    trainer_share_bps: Annotated[
        int, typer.Option(help="Share of each round's reward for trainers (basis points).")
    ] = D.TRAINER_SHARE_BPS,
    max_update_mb: Annotated[float, typer.Option(help="Largest update accepted, in MiB.")] = D.MAX_UPDATE_BYTES
    / (1 << 20),
    max_delta_norm: Annotated[
        float,
        typer.Option(
            help="Bound on the L2 norm of an update's change from the global model; longer changes are rejected and "
            "penalized (honest trainers clip to it). 0: no bound."
        ),
    ] = D.MAX_DELTA_NORM_MICRO / MICRO,
    stake_per_sample: Annotated[
        int,
        typer.Option(
            parser=tokens("--stake-per-sample", allow_zero=True),
            metavar="TOKENS",
            help="Stake that must back each sample a trainer declares (0: no limit).",
        ),
    ] = format_tokens(D.STAKE_PER_SAMPLE),  # type: ignore[assignment]  # parsed by `tokens`
    penalty_bps: Annotated[
        int, typer.Option(help="Penalty of a trainer whose update was provably bad or unavailable (basis points).")
    ] = D.TRAINER_PENALTY_BPS,
    exit_cooldown: Annotated[
        int, typer.Option(help="Seconds between an exit request and the withdrawal; also the penalty window.")
    ] = D.EXIT_COOLDOWN,
    claim_window: Annotated[
        int, typer.Option(help="Seconds after completion to claim rewards; then `dfl task reclaim` returns the rest.")
    ] = D.CLAIM_WINDOW,
    seed: Annotated[
        int | None,
        typer.Option(
            help="Seed of the initial weights and of the evaluation split (default: a fresh random one, so that no "
            "other task starts from this task's initial model and updates cannot be copied between tasks)."
        ),
    ] = None,
    privacy: Annotated[
        str,
        typer.Option(
            help="Who can read updates: plaintext (everyone: they are public on IPFS), sealed (the validators "
            "only) or secagg (nobody: validators read only the round's sum). See docs/privacy.md."
        ),
    ] = "plaintext",
    epsilon: Annotated[
        float | None,
        typer.Option(
            help="Differential-privacy budget ε of the whole task: every update is clipped to --max-delta-norm "
            "and noised (distributed noise under secagg, local noise otherwise). Default: no DP."
        ),
    ] = None,
    delta: Annotated[float, typer.Option(help="δ of the privacy budget.")] = 1e-5,
    noise_multiplier: Annotated[
        float | None, typer.Option(help="Noise std over the clip (default: the least that keeps ε within budget).")
    ] = None,
    min_contributors: Annotated[
        int | None,
        typer.Option(
            help="secagg: the fewest revealed updates whose sum may be unmasked; with --epsilon each adds "
            "1/this of the noise, so ε holds while that many honest trainers contribute. Default 2."
        ),
    ] = None,
    dp_unit: Annotated[
        str,
        typer.Option(
            help="What --epsilon protects: each sample (each example's scaled gradient is clipped to "
            "--max-delta-norm and a round is one DP-SGD step) or a trainer's whole data (its clipped update)."
        ),
    ] = "sample",
    keystore: KeystoreOpt = None,
    key_env: KeyEnvOpt = "DFL_PRIVATE_KEY",
    dev_account: DevAccountOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Publish the model, initial weights and evaluation set to IPFS, then create and fund the task.

    Every option, the account's balance and the data set are checked before anything is uploaded or sent."""
    from offchain.ml.datasets import load_dataset
    from offchain.ml.models import PRESETS
    from offchain.services.privacy_report import describe_privacy, privacy_summary
    from offchain.services.privacy_setup import PrivacyChoice, accounting_line, default_rule, privacy_params
    from offchain.services.requester import TaskSettings, create_task, publish_model

    if model_spec is None and model not in PRESETS:
        raise ArgumentError(f"unknown --model {model!r}: choose one of {', '.join(PRESETS)}, or give --model-spec")
    if eval_samples < 1:
        raise ArgumentError(f"--eval-samples must be at least 1, not {eval_samples}")
    if not 0 < max_update_mb <= 1024:
        raise ArgumentError(f"--max-update-mb must be more than 0 and at most 1024, not {max_update_mb}")
    rule = default_rule(privacy, rule)
    task_settings = TaskSettings(
        rule=rule,
        rule_params=tuple(rule_param) if rule_param else _default_rule_params(rule),
        num_rounds=rounds,
        registration=registration,
        commit=commit,
        reveal=reveal,
        attest=attest,
        vote_commit=vote_commit,
        vote_reveal=vote_reveal,
        exit_cooldown=exit_cooldown,
        claim_window=claim_window,
        min_trainer_stake=min_trainer_stake,
        min_validator_stake=min_validator_stake,
        stake_per_sample=stake_per_sample,
        max_update_bytes=int(max_update_mb * (1 << 20)),
        max_delta_norm_micro=_micro("--max-delta-norm", max_delta_norm),
        trainer_penalty_bps=penalty_bps,
        quorum_bps=quorum_bps,
        trainer_share_bps=trainer_share_bps,
        reward_pool=reward_pool,
    )
    check_task_settings(task_settings)
    choice = PrivacyChoice(
        privacy, epsilon, delta, noise_multiplier, min_contributors, unit=dp_unit if epsilon is not None else "trainer"
    )
    privacy_params(  # refuse bad privacy options before anything is uploaded; the scale needs the model's size
        choice,
        rounds=rounds,
        clip_micro=task_settings.max_delta_norm_micro,
        max_trainers=task_settings.max_trainers,
        num_parameters=1,
    )
    spec_json = _read_spec(model_spec) if model_spec else None
    s = settings()
    account = load_signer(s, keystore, key_env, dev_account)
    chain = task_manager(s, account)
    balance = chain.balance_of(account.address)
    if balance < reward_pool:
        raise ArgumentError(
            f"{account.address} holds {format_tokens(balance)} DFL, less than the reward pool of "
            f"{format_tokens(reward_pool)} DFL: lower --reward-pool or fund the account"
        )
    if seed is None:  # a task-specific initial model: another task's updates fail its norm bound
        seed = secrets.randbelow(2**31)
    data = load_dataset(dataset, seed=seed)
    n = min(eval_samples, len(data.y_test))
    with ipfs_store(s) as store:
        published = publish_model(
            store,
            preset=None if model_spec else model,
            spec_json=spec_json,
            input_shape=data.input_shape,
            num_classes=data.num_classes,
            seed=seed,
            x_eval=data.x_test[:n],
            y_eval=data.y_test[:n],
        )
    task_settings = replace(
        task_settings,
        privacy=privacy_params(
            choice,
            rounds=rounds,
            clip_micro=task_settings.max_delta_norm_micro,
            max_trainers=task_settings.max_trainers,
            num_parameters=published.num_parameters,
        ),
    )
    task_id = create_task(chain, published, task_settings)
    if as_json:
        print_json({"task": task_id, "model": published})
    else:
        console.print(
            f"task {task_id} created by {account.address}: {model_spec.name if model_spec else model} "
            f"({published.num_parameters} parameters), {rule}, {rounds} rounds, pool {format_tokens(reward_pool)} DFL",
            highlight=False,
        )
        console.print(
            f"  spec {published.spec_cid}\n  initial weights {published.weights_cid}\n  evaluation set {published.eval_cid}",
            highlight=False,
        )
        terms = privacy_summary(chain.task_params(task_id), 0)
        console.print(f"  privacy: {describe_privacy(terms)}", highlight=False)
        if task_settings.privacy.dp:
            console.print(f"  {accounting_line(task_settings.privacy, rounds)}", highlight=False)


def _read_spec(path: Path) -> str:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ArgumentError(f"cannot read --model-spec {path}: {exc}; give a Keras model config (JSON)") from None


def _default_rule_params(rule: str) -> tuple[int, ...]:
    return (0,) if rule == "fedavg" else ()


def _micro(flag: str, value: float) -> int:
    if not 0 <= value <= 1e12:
        raise ArgumentError(f"{flag} must be between 0 and 1e12, not {value}")
    return round(value * 1_000_000)


def check_task_settings(t: TaskSettings) -> None:
    """What the contract (and the validators' rule parser) would refuse, as a message naming the option."""
    from offchain.fl.rules import parse_rule
    from offchain.services.requester import rule_id

    try:
        parse_rule(rule_id(t.rule), list(t.rule_params))
    except DflError as exc:
        raise ArgumentError(f"--rule {t.rule} with --rule-param {list(t.rule_params)}: {exc}") from None
    if t.num_rounds < 1:
        raise ArgumentError(f"--rounds must be at least 1, not {t.num_rounds}")
    if t.registration < 0:
        raise ArgumentError(f"--registration must be 0 or more seconds, not {t.registration}")
    for flag, seconds in (
        ("--commit", t.commit),
        ("--reveal", t.reveal),
        ("--attest", t.attest),
        ("--vote-commit", t.vote_commit),
        ("--claim-window", t.claim_window),
        ("--vote-reveal", t.vote_reveal),
    ):
        if seconds < 1:
            raise ArgumentError(f"{flag} must be at least 1 second, not {seconds}")
    if not BPS // 2 < t.quorum_bps <= BPS:
        raise ArgumentError(f"--quorum-bps must be in {BPS // 2 + 1}..{BPS} (a majority of stake), not {t.quorum_bps}")
    if not 0 <= t.trainer_share_bps <= BPS:
        raise ArgumentError(f"--trainer-share-bps must be in 0..{BPS}, not {t.trainer_share_bps}")
    if not 0 <= t.trainer_penalty_bps <= BPS:
        raise ArgumentError(f"--penalty-bps must be in 0..{BPS}, not {t.trainer_penalty_bps}")
    if t.exit_cooldown < 0:
        raise ArgumentError(f"--exit-cooldown must be 0 or more seconds, not {t.exit_cooldown}")
    for flag, amount in (
        ("--reward-pool", t.reward_pool),
        ("--min-trainer-stake", t.min_trainer_stake),
        ("--min-validator-stake", t.min_validator_stake),
        ("--stake-per-sample", t.stake_per_sample),
    ):
        if amount > UINT96_MAX:
            raise ArgumentError(f"{flag} of {format_tokens(amount)} DFL is more than the contract holds (2^96-1 units)")


def _rule(rule_id: int, params: tuple[int, ...]) -> tuple[str, dict[str, int | float | list[int]]]:
    from offchain.fl.rules import RULES, parse_rule

    try:
        config = parse_rule(rule_id, list(params))
    except DflError:
        known = RULES.get(rule_id)
        return known.name if known else f"unknown rule id {rule_id}", {"raw": list(params)}
    return config.rule, dict(config.params)


def _task_summary(chain: TaskManager, task_id: int) -> dict[str, Any]:
    params = chain.task_params(task_id)
    state = chain.task_state(task_id)
    round_id, phase, end = chain.current_round(task_id)  # as of the latest block, deadlines passed included
    rule, rule_config = _rule(params.rule_id, params.rule_params)
    return {
        "task": task_id,
        "requester": state.requester,
        "phase": phase.name.lower(),
        "round": round_id,
        "num_rounds": params.num_rounds,
        "rule": rule,
        "rule_config": rule_config,
        "rule_id": params.rule_id,
        "active_trainers": state.active_trainers,
        "active_validators": state.active_validators,
        "unallocated_pool": state.unallocated_pool,
        "phase_deadline": end,
    }


@app.command("list")
def list_tasks(as_json: JsonOpt = False) -> None:
    """Every task on the deployment, with its phase and round."""
    chain = task_manager(settings())
    rows = [_task_summary(chain, t) for t in range(1, chain.task_count() + 1)]
    if as_json:
        print_json({"tasks": rows})
        return
    table = Table("task", "phase", "round", "rule", "trainers", "validators", "pool left (DFL)", "requester")
    for r in rows:
        table.add_row(
            str(r["task"]),
            r["phase"],
            f"{r['round']}/{r['num_rounds']}",
            r["rule"],
            str(r["active_trainers"]),
            str(r["active_validators"]),
            format_tokens(r["unallocated_pool"]),
            r["requester"],
        )
    console.print(table if rows else "no tasks yet: create one with `dfl task create`")


@app.command()
def show(task_id: Annotated[int, typer.Argument(help="Task id.")], as_json: JsonOpt = False) -> None:
    """A task's parameters, live state and the outcome of each round."""
    from offchain.chain.protocol import Phase
    from offchain.services.privacy_report import describe_privacy, privacy_summary
    from offchain.services.reports import round_outcomes

    chain = task_manager(settings())
    require_task(chain, task_id)
    params = chain.task_params(task_id)
    state = chain.task_state(task_id)
    summary = _task_summary(chain, task_id)
    now = chain.timestamp()
    rounds = round_outcomes(chain, task_id, min(state.round + 1, params.num_rounds))
    privacy = privacy_summary(params, chain.epsilon_spent_micro(task_id))
    body = {"task": task_id, "params": params, "state": state, "summary": summary, "rounds": rounds, "privacy": privacy}
    if as_json:
        print_json(body | {"chain_time": now})
        return
    completed = summary["phase"] == Phase.COMPLETED.name.lower()
    if completed:
        when = ""
    elif summary["phase"] == Phase.AWAITING_FINALIZATION.name.lower():
        when = f" since {show_deadline(summary['phase_deadline'], now)}: anyone can `dfl round finalize {task_id}`"
    else:
        when = f", phase ends {show_deadline(summary['phase_deadline'], now)}"
    console.print(
        f"[bold]task {task_id}[/] phase {summary['phase']} round {summary['round']}/{params.num_rounds}{when}",
        highlight=False,
    )
    config = ", ".join(f"{k}={v}" for k, v in summary["rule_config"].items())
    console.print(
        f"  rule {summary['rule']}{f' ({config})' if config else ''}; model spec {params.model_spec_cid}; "
        f"initial weights {params.initial_model_cid}",
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        f"  stakes: trainers at least {format_tokens(params.min_trainer_stake)} DFL, validators at least "
        f"{format_tokens(params.min_validator_stake)} DFL; pool left {format_tokens(summary['unallocated_pool'])} DFL",
        highlight=False,
    )
    console.print(f"  privacy: {describe_privacy(privacy)}", highlight=False)
    table = Table(
        "round",
        "status",
        "winning stake (DFL)",
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
            format_tokens(r["winning_stake"]),
            "-"
            if r["total_validator_stake"] is None
            else f"{format_tokens(r['leading_stake'])} / {format_tokens(r['total_validator_stake'])}",
            format_tokens(r["trainer_pool"]),
            format_tokens(r["trainer_claimed"]),
            format_tokens(r["validator_pool"]),
            format_tokens(r["validator_claimed"]),
        )
    console.print(table)
    if completed and (summary["unallocated_pool"] or state.unclaimed_rewards):
        console.print(
            f"  unclaimed rewards {format_tokens(state.unclaimed_rewards)} DFL; return what is left to the requester "
            f"(the unspent pool now, unclaimed rewards after the claim window): dfl task reclaim {task_id}",
            highlight=False,
        )
