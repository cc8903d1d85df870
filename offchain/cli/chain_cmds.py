"""`dfl deploy`, `dfl stake`, `dfl round show`, `dfl rewards show|claim`."""

from __future__ import annotations

from typing import Annotated

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
    settings,
    task_manager,
)
from offchain.units import TOKEN

round_app = typer.Typer(help="Inspect rounds.", no_args_is_help=True)
rewards_app = typer.Typer(help="See and claim rewards.", no_args_is_help=True)


def deploy(
    supply: Annotated[float, typer.Option(help="Token supply minted to the deployer, in tokens.")] = 1e9,
    faucet: Annotated[
        int, typer.Option(help="Devnet only: give this many of anvil's standard accounts (1..N) tokens.")
    ] = 10,
    faucet_amount: Annotated[float, typer.Option(help="Tokens per faucet account.")] = 100_000.0,
    keystore: KeystoreOpt = None,
    key_env: KeyEnvOpt = "DFL_PRIVATE_KEY",
    dev_account: DevAccountOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Deploy RewardToken and FLTaskManager and write deployments/<chainId>.json.

    On the local devnet the deployer defaults to anvil's account 0 and the faucet funds accounts 1..N."""
    from offchain.chain.accounts import anvil_account
    from offchain.chain.deploy import deploy as do_deploy

    s = settings()
    devnet = s.chain_id == DEVNET_CHAIN_ID
    if devnet and keystore is None and dev_account is None and not _env_has_key(key_env):
        dev_account = 0
    account = load_signer(s, keystore, key_env, dev_account)
    grants = {anvil_account(i).address: int(faucet_amount * TOKEN) for i in range(1, faucet + 1)} if devnet else {}
    record = do_deploy(
        s.rpc_url,
        account,
        build_dir=s.build_dir,
        deployments_dir=s.deployments_dir,
        supply=int(supply * TOKEN),
        faucet=grants,
    )
    if as_json:
        print_json(record)
        return
    for name, entry in record["contracts"].items():
        console.print(f"{name}: {entry['address']}", highlight=False)
    console.print(
        f"chain {record['chain_id']}, block {record['block']}; record in {s.deployments_dir / (str(record['chain_id']) + '.json')}"
        + (f"; faucet funded {len(grants)} accounts with {faucet_amount:g} tokens" if grants else ""),
        highlight=False,
    )


def _env_has_key(name: str) -> bool:
    import os

    return bool(os.environ.get(name))


def stake(
    task: Annotated[int, typer.Option("--task", help="Task id.")],
    role: Annotated[str, typer.Option(help="trainer or validator.")],
    amount: Annotated[float, typer.Option(help="Tokens to stake.")],
    keystore: KeystoreOpt = None,
    key_env: KeyEnvOpt = "DFL_PRIVATE_KEY",
    dev_account: DevAccountOpt = None,
) -> None:
    """Stake tokens in a task as trainer or validator (approves the manager first if needed)."""
    from offchain.chain.protocol import Role

    if role not in ("trainer", "validator"):
        raise typer.BadParameter("--role must be trainer or validator")
    s = settings()
    chain = task_manager(s, load_signer(s, keystore, key_env, dev_account))
    chain.stake(task, Role.TRAINER if role == "trainer" else Role.VALIDATOR, int(amount * TOKEN))
    p = chain.participant(task, chain.address)
    console.print(
        f"{chain.address} staked {amount:g} in task {task} as {role}; stake now {p.stake / TOKEN:g}", highlight=False
    )


@round_app.command("show")
def round_show(
    task: Annotated[int, typer.Argument(help="Task id.")],
    round_id: Annotated[int, typer.Argument(help="Round (0-based).")],
    as_json: JsonOpt = False,
) -> None:
    """A round's receipt: every update (CID, samples, accepted or why not, reward), what every validator did, every slash."""
    from offchain.services.reports import round_report

    s = settings()
    with ipfs_store(s) as store:
        report = round_report(task_manager(s), store, task, round_id)
    if as_json:
        print_json(report)
        return
    console.print(
        f"[bold]task {task} round {round_id}[/]: {report['status']}; started from {report['global_model_cid']}; "
        f"winning receipt {report['receipt_cid'] or '-'}; {_stakes(report)}",
        highlight=False,
    )
    table = Table("trainer", "update CID", "samples", "accepted", "reason", "reward (tokens)", "claimed")
    for u in report["updates"]:
        table.add_row(
            u["trainer"],
            u["cid"] or "-",
            str(u["num_samples"] or "-"),
            "yes" if u["accepted"] else "no",
            u["reason"] or "",
            f"{u['reward'] / TOKEN:g}",
            "yes" if u["claimed"] else "",
        )
    console.print(table)
    votes = Table("validator", "vote", "stake (tokens)", "metric (bps)")
    for v in report["votes"]:
        votes.add_row(
            v["validator"],
            v["vote"],
            f"{v['weight'] / TOKEN:g}" if v["weight"] is not None else "-",
            str(v["metric"] if v["metric"] is not None else "-"),
        )
    console.print(votes)
    for sl in report["slashes"]:
        console.print(f"slashed {sl['account']}: {sl['amount'] / TOKEN:g} tokens ({sl['reason']})", highlight=False)


def _stakes(report: dict) -> str:  # type: ignore[type-arg]
    """The vote's stakes, labelled as the explorer labels them."""
    if report["total_validator_stake"] is None:
        return "not finalized"
    of = f"of {report['total_validator_stake'] / TOKEN:g} staked"
    if report["status"] == "failed":
        return f"no winner (leading stake {report['leading_stake'] / TOKEN:g} {of}, short of quorum)"
    return f"winning stake {report['winning_stake'] / TOKEN:g} {of}"


@rewards_app.command("show")
def rewards_show(
    task: Annotated[int, typer.Option("--task", help="Task id.")],
    account: Annotated[str | None, typer.Option(help="Address (default: every participant).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Rewards earned, claimed and slashed per participant of a task."""
    from offchain.services.reports import participants_report

    s = settings()
    with ipfs_store(s) as store:
        rows = participants_report(task_manager(s), store, task)
    if account:
        rows = [r for r in rows if r["address"].lower() == account.lower()]
    if as_json:
        print_json({"task": task, "participants": rows})
        return
    table = Table("address", "role", "stake", "earned", "claimed", "slashed", "balance")
    for r in rows:
        table.add_row(
            r["address"],
            r["role"],
            f"{r['stake'] / TOKEN:g}",
            f"{r['reward_earned'] / TOKEN:g}",
            f"{r['reward_claimed'] / TOKEN:g}",
            f"{r['slashed'] / TOKEN:g}",
            f"{r['balance'] / TOKEN:g}",
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
    with ipfs_store(s) as store:
        claimed = claim_all(chain, store, task)
    console.print(f"{chain.address} claimed {claimed / TOKEN:g} tokens in task {task}", highlight=False)
