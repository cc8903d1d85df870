"""`dfl deploy`, `dfl round show`, `dfl rewards show|claim`."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from offchain.cli.common import (
    DEVNET_CHAIN_ID,
    DevAccountOpt,
    JsonOpt,
    KeyEnvOpt,
    KeystoreOpt,
    console,
    ipfs_store,
    load_signer,
    print_json,
    require_round,
    require_task,
    settings,
    task_manager,
    tokens,
)
from offchain.tokens import format_tokens

round_app = typer.Typer(help="Inspect rounds.", no_args_is_help=True)
rewards_app = typer.Typer(help="See and claim rewards.", no_args_is_help=True)


def deploy(
    supply: Annotated[
        int,
        typer.Option(
            parser=tokens("--supply"), metavar="TOKENS", help="Token supply minted to the deployer, in tokens."
        ),
    ] = "1000000000",  # type: ignore[assignment]  # parsed by `tokens`
    faucet: Annotated[
        int, typer.Option(help="Devnet only: give this many of anvil's standard accounts (1..N) tokens.")
    ] = 10,
    faucet_amount: Annotated[
        int,
        typer.Option(
            parser=tokens("--faucet-amount", allow_zero=True), metavar="TOKENS", help="Tokens per faucet account."
        ),
    ] = "100000",  # type: ignore[assignment]  # parsed by `tokens`
    keystore: KeystoreOpt = None,
    key_env: KeyEnvOpt = "DFL_PRIVATE_KEY",
    dev_account: DevAccountOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Deploy RewardToken and FLTaskManager and write deployments/<chainId>.json.

    On the local devnet the deployer defaults to anvil's account 0 and the faucet funds accounts 1..N."""
    from offchain.chain.accounts import anvil_account
    from offchain.chain.deploy import deploy as do_deploy
    from offchain.errors import ArgumentError

    if faucet < 0:
        raise ArgumentError(f"--faucet is a number of accounts (0 or more), not {faucet}")
    if faucet * faucet_amount > supply:
        raise ArgumentError(
            f"the faucet needs {format_tokens(faucet * faucet_amount)} DFL, more than the supply of {format_tokens(supply)}"
        )
    s = settings()
    devnet = s.chain_id == DEVNET_CHAIN_ID
    if devnet and keystore is None and dev_account is None and not _env_has_key(key_env):
        dev_account = 0
    account = load_signer(s, keystore, key_env, dev_account)
    grants: dict[str, int] = {anvil_account(i).address: faucet_amount for i in range(1, faucet + 1)} if devnet else {}
    record = do_deploy(
        s.rpc_url,
        account,
        build_dir=s.build_dir,
        deployments_dir=s.deployments_dir,
        supply=supply,
        faucet=grants,
    )
    if as_json:
        print_json(record)
        return
    for name, entry in record["contracts"].items():
        console.print(f"{name}: {entry['address']}", highlight=False)
    console.print(
        f"chain {record['chain_id']}, block {record['block']}; record in {s.deployments_dir / (str(record['chain_id']) + '.json')}"
        + (f"; faucet funded {len(grants)} accounts with {format_tokens(faucet_amount)} DFL" if grants else ""),
        highlight=False,
    )


def _env_has_key(name: str) -> bool:
    import os

    return bool(os.environ.get(name))


@round_app.command("show")
def round_show(
    task: Annotated[int, typer.Argument(help="Task id.")],
    round_id: Annotated[int, typer.Argument(help="Round (0-based).")],
    as_json: JsonOpt = False,
) -> None:
    """A round's receipt: every update (CID, samples, accepted or why not, reward), what every validator did, every slash."""
    from offchain.services.reports import round_report

    s = settings()
    chain = task_manager(s)
    require_round(chain, task, round_id)
    with ipfs_store(s) as store:
        report = round_report(chain, store, task, round_id)
    if as_json:
        print_json(report)
        return
    console.print(
        f"[bold]task {task} round {round_id}[/]: {report['status']}; started from {report['global_model_cid']}; "
        f"winning receipt {report['receipt_cid'] or '-'}; {_stakes(report)}",
        highlight=False,
    )
    table = Table(
        "trainer", "update CID", "samples", "score", "reward score", "reward (DFL)", "why", "claimed", "penalty (DFL)"
    )
    for u in report["updates"]:
        table.add_row(
            u["trainer"],
            u["cid"] or "-",
            str(u["num_samples"] or "-"),
            f"{u['score_ppm'] / 1e6:.3f}" if u["score_ppm"] is not None else "-",
            f"{u['reward_ppm'] / 1e6:.3f}" if u["reward_ppm"] is not None else "-",
            format_tokens(u["reward"]),
            u["why"],
            "yes" if u["claimed"] else "",
            format_tokens(u["penalty"]) if u["penalty"] else ("due" if u["penalized"] else ""),
        )
    console.print(table)
    votes = Table("validator", "attested", "vote", "stake (DFL)", "metric (bps)")
    for v in report["votes"]:
        votes.add_row(
            v["validator"],
            str(v["attested"]) if v["attested"] is not None else "-",
            v["vote"],
            format_tokens(v["weight"]) if v["weight"] is not None else "-",
            str(v["metric"] if v["metric"] is not None else "-"),
        )
    console.print(votes)
    privacy = report["privacy"]
    if privacy is not None:
        line = f"privacy: {privacy['mode']}"
        if privacy["epsilon_spent"] is not None:
            line += f"; ε per {privacy['unit']} spent after this round {privacy['epsilon_spent']:.3f} of {privacy['epsilon_budget']:g}"
        total = privacy["secure_sum"]
        if total is not None:
            line += (
                f"; secure sum {total['status']} over {len(total['contributors'])} masked updates"
                + (f", masks of {len(total['dropouts'])} dropouts removed" if total["dropouts"] else "")
                + (f" ({total['detail']})" if total["detail"] else "")
            )
        console.print(line, highlight=False)
    for sl in report["slashes"]:
        console.print(f"slashed {sl['account']}: {format_tokens(sl['amount'])} DFL ({sl['reason']})", highlight=False)


def _stakes(report: dict[str, Any]) -> str:
    """The vote's stakes, labelled as the explorer labels them."""
    if report["total_validator_stake"] is None:
        return "not finalized"
    of = f"of {format_tokens(report['total_validator_stake'])} DFL staked"
    if report["status"] == "failed":
        return f"no winner (leading stake {format_tokens(report['leading_stake'])} DFL {of}, short of quorum)"
    return f"winning stake {format_tokens(report['winning_stake'])} DFL {of}"


@rewards_app.command("show")
def rewards_show(
    task: Annotated[int, typer.Option("--task", help="Task id.")],
    account: Annotated[str | None, typer.Option(help="Address (default: every participant).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Rewards earned, claimed and slashed per participant of a task."""
    from offchain.services.reports import participants_report

    s = settings()
    chain = task_manager(s)
    require_task(chain, task)
    with ipfs_store(s) as store:
        rows = participants_report(chain, store, task)
    if account:
        rows = [r for r in rows if r["address"].lower() == account.lower()]
    if as_json:
        print_json({"task": task, "participants": rows})
        return
    table = Table("address", "role", "stake (DFL)", "earned", "claimed", "slashed", "balance (DFL)")
    for r in rows:
        table.add_row(
            r["address"],
            r["role"],
            format_tokens(r["stake"]),
            format_tokens(r["reward_earned"]),
            format_tokens(r["reward_claimed"]),
            format_tokens(r["slashed"]),
            format_tokens(r["balance"]),
        )
    console.print(table)


@rewards_app.command("claim")
def rewards_claim(
    task: Annotated[int, typer.Option("--task", help="Task id.")],
    keystore: KeystoreOpt = None,
    key_env: KeyEnvOpt = "DFL_PRIVATE_KEY",
    dev_account: DevAccountOpt = None,
) -> None:
    """Claim every unclaimed trainer and validator reward of the account in a task."""
    from offchain.services.claims import claim_all

    s = settings()
    chain = task_manager(s, load_signer(s, keystore, key_env, dev_account))
    require_task(chain, task)
    with ipfs_store(s) as store:
        claimed = claim_all(chain, store, task)
    console.print(f"{chain.address} claimed {format_tokens(claimed)} DFL in task {task}", highlight=False)
