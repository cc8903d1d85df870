"""The contract's state-changing calls a user makes by hand: `dfl stake`, `dfl exit`, `dfl withdraw`,
`dfl round finalize`, `dfl round slash`, `dfl task reclaim`. Workers make the round actions
(commit, reveal, vote) and claims (`dfl rewards claim` by hand).

Each command checks first what the contract would refuse and says what to do instead, so a
call that cannot succeed sends nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from offchain.cli.common import (
    DevAccountOpt,
    KeyEnvOpt,
    KeystoreOpt,
    console,
    load_signer,
    require_round,
    require_task,
    settings,
    task_manager,
    tokens,
)
from offchain.errors import ArgumentError, DflError
from offchain.tokens import format_tokens
from offchain.when import deadline as show_deadline

if TYPE_CHECKING:
    from pathlib import Path

    from offchain.chain.manager import TaskManager
    from offchain.chain.protocol import Participant, Phase

TaskArg = Annotated[int, typer.Argument(help="Task id.")]
TaskOpt = Annotated[int, typer.Option("--task", help="Task id.")]


class NotNow(DflError):
    """The call is valid but the task is not in a state that allows it; the message says when."""


def _signed(keystore: KeystoreOpt, key_env: str, dev_account: int | None, task_id: int) -> TaskManager:
    s = settings()
    chain = task_manager(s, load_signer(s, keystore, key_env, dev_account))
    require_task(chain, task_id)
    return chain


def _phase_line(chain: TaskManager, task_id: int) -> str:
    round_id, phase, end = chain.current_round(task_id)
    rounds = chain.task_params(task_id).num_rounds
    return f"round {round_id} of {rounds}, phase {phase.name.lower()} until {show_deadline(end, chain.timestamp())}"


def stake(
    task: TaskOpt,
    role: Annotated[str, typer.Option(help="trainer or validator.")],
    amount: Annotated[int, typer.Option(parser=tokens("--amount"), metavar="TOKENS", help="Tokens to stake.")],
    keystore: KeystoreOpt = None,
    key_env: KeyEnvOpt = "DFL_PRIVATE_KEY",
    dev_account: DevAccountOpt = None,
) -> None:
    """Stake tokens in a task as trainer or validator (approves the manager first if needed)."""
    from offchain.chain.protocol import Role
    from offchain.workers.staking import stake as do_stake

    if role not in ("trainer", "validator"):
        raise ArgumentError(f"--role must be trainer or validator, not {role!r}")
    chain = _signed(keystore, key_env, dev_account, task)
    total = do_stake(chain, task, Role.TRAINER if role == "trainer" else Role.VALIDATOR, amount)
    console.print(
        f"{chain.address} staked {format_tokens(amount)} DFL in task {task} as {role}; stake now {format_tokens(total)} DFL",
        highlight=False,
        soft_wrap=True,
    )


def exit_task(
    task: TaskOpt,
    keystore: KeystoreOpt = None,
    key_env: KeyEnvOpt = "DFL_PRIVATE_KEY",
    dev_account: DevAccountOpt = None,
) -> None:
    """Leave a running task: stop taking part from the next round; withdraw after the task's cooldown."""
    from offchain.chain.protocol import VALIDATOR_STAKE_FROZEN, Phase, Role

    chain, p, round_id, phase = _staked(task, keystore, key_env, dev_account, "leave")
    if phase == Phase.COMPLETED:
        raise NotNow(f"task {task} is completed: withdraw your stake with `dfl withdraw --task {task}`")
    if p.exiting:
        raise NotNow(f"{chain.address} already left task {task}: `dfl withdraw --task {task}` once its stake unlocks")
    if p.role == Role.VALIDATOR and phase in VALIDATOR_STAKE_FROZEN:
        raise NotNow(f"validators cannot leave task {task} while it votes ({_phase_line(chain, task)}): try after it")
    if p.committed and p.has_round and p.last_round == round_id:
        raise NotNow(
            f"{chain.address} committed in round {round_id} of task {task}, which is not finalized: it can leave "
            "once the round is (an exit now could end the Commit phase before every trainer committed)"
        )
    chain.request_exit(task)
    assert chain.address is not None  # _staked loaded a signer
    unlock = chain.participant(task, chain.address).unlock_at
    console.print(
        f"{chain.address} left task {task}; withdraw its {format_tokens(p.stake)} DFL with `dfl withdraw --task {task}` "
        f"from {show_deadline(unlock, chain.timestamp())}, once its last round is finalized",
        highlight=False,
        soft_wrap=True,
    )


def withdraw(
    task: TaskOpt,
    keystore: KeystoreOpt = None,
    key_env: KeyEnvOpt = "DFL_PRIVATE_KEY",
    dev_account: DevAccountOpt = None,
) -> None:
    """Withdraw the whole stake: once the task is completed, or after `dfl exit` and its cooldown."""
    from offchain.chain.protocol import Phase
    from offchain.services.claims import unlock_time

    chain, p, _, phase = _staked(task, keystore, key_env, dev_account, "withdraw")
    assert chain.address is not None
    if phase != Phase.COMPLETED and not p.exiting:
        raise NotNow(
            f"task {task} is running ({_phase_line(chain, task)}): stakes unlock when it completes, "
            f"or leave it first with `dfl exit --task {task}`"
        )
    now, unlock = chain.timestamp(), unlock_time(chain, task, chain.address)
    if now < unlock:
        raise NotNow(
            f"the stake in task {task} unlocks at {show_deadline(unlock, now)} (after the exit cooldown, and for a "
            "trainer no earlier than that long after its last round was finalized: the penalty window)"
        )
    before = chain.balance_of(chain.address)
    chain.withdraw(task)
    received = chain.balance_of(chain.address) - before
    console.print(
        f"{chain.address} withdrew {format_tokens(received)} DFL from task {task}", highlight=False, soft_wrap=True
    )


def _staked(
    task: int, keystore: Path | None, key_env: str, dev_account: int | None, doing: str
) -> tuple[TaskManager, Participant, int, Phase]:
    """The signing account's chain client, its standing in `task`, and the task's round and phase; an
    ArgumentError if it has no stake there (nothing to `doing`)."""
    from offchain.chain.protocol import Role

    chain = _signed(keystore, key_env, dev_account, task)
    assert chain.address is not None
    p = chain.participant(task, chain.address)
    if p.role == Role.NONE:
        raise ArgumentError(f"{chain.address} has no stake in task {task}: nothing to {doing}")
    round_id, phase, _ = chain.current_round(task)
    return chain, p, round_id, phase


def finalize(
    task: TaskArg,
    keystore: KeystoreOpt = None,
    key_env: KeyEnvOpt = "DFL_PRIVATE_KEY",
    dev_account: DevAccountOpt = None,
) -> None:
    """Finalize the task's current round once its vote is over (anyone may; a task whose validators
    left waits for this): the round is decided, the next one starts or the task completes."""
    from offchain.chain.protocol import Phase

    chain = _signed(keystore, key_env, dev_account, task)
    round_id, phase, _ = chain.current_round(task)
    if phase == Phase.COMPLETED:
        raise NotNow(f"task {task} is completed: every round is finalized")
    if phase != Phase.AWAITING_FINALIZATION:
        raise NotNow(f"task {task} is not awaiting finalization ({_phase_line(chain, task)}): finalize after that")
    chain.finalize_round(task)
    outcome = chain.round_outcome(task, round_id)
    _, after, _ = chain.current_round(task)
    if after == Phase.COMPLETED:
        pool = chain.task_state(task).unallocated_pool
        nxt = "the task is completed; participants can claim and withdraw" + (
            f"; return the unspent {format_tokens(pool)} DFL with `dfl task reclaim {task}`" if pool else ""
        )
    else:
        nxt = f"now {_phase_line(chain, task)}"
    console.print(
        f"round {round_id} of task {task} finalized: {outcome.status.name.lower()}; {nxt}",
        highlight=False,
        soft_wrap=True,
    )


def slash(
    task: TaskArg,
    round_id: Annotated[int, typer.Argument(help="The round the account committed in and did not reveal.")],
    account: Annotated[str, typer.Argument(help="Address to slash.")],
    keystore: KeystoreOpt = None,
    key_env: KeyEnvOpt = "DFL_PRIVATE_KEY",
    dev_account: DevAccountOpt = None,
) -> None:
    """Apply the slash an account owes for a finalized round (anyone may; validators do it on their own)."""
    from offchain.chain.protocol import RoundStatus

    chain = _signed(keystore, key_env, dev_account, task)
    require_round(chain, task, round_id)
    if not (account.startswith("0x") and len(account) == 42):
        raise ArgumentError(f"{account!r} is not an address (0x and 40 hex digits)")
    if chain.round_outcome(task, round_id).status == RoundStatus.OPEN:
        raise NotNow(f"round {round_id} of task {task} is not finalized yet: `dfl round finalize {task}` first")
    p = chain.participant(task, account)
    if not (p.unsettled and p.last_round == round_id):
        raise ArgumentError(f"{account} owes no slash for round {round_id} of task {task} (none due, or settled)")
    chain.slash(task, round_id, account)
    lost = p.stake - chain.participant(task, account).stake
    console.print(
        f"{account} slashed {format_tokens(lost)} DFL for round {round_id} of task {task}",
        highlight=False,
        soft_wrap=True,
    )


def penalize(
    task: TaskArg,
    round_id: Annotated[int, typer.Argument(help="An accepted round whose receipt names penalized trainers.")],
    keystore: KeystoreOpt = None,
    key_env: KeyEnvOpt = "DFL_PRIVATE_KEY",
    dev_account: DevAccountOpt = None,
) -> None:
    """Apply every penalty the winning receipt of a round names, with Merkle proofs (anyone may;
    validators do it on their own)."""
    from offchain.chain.protocol import ZERO_ROOT, RoundStatus
    from offchain.cli.common import ipfs_store
    from offchain.services.penalties import apply_penalties

    chain = _signed(keystore, key_env, dev_account, task)
    require_round(chain, task, round_id)
    outcome = chain.round_outcome(task, round_id)
    if outcome.status == RoundStatus.OPEN:
        raise NotNow(f"round {round_id} of task {task} is not finalized yet: `dfl round finalize {task}` first")
    if outcome.status != RoundStatus.ACCEPTED or outcome.penalty_root == ZERO_ROOT:
        raise ArgumentError(f"round {round_id} of task {task} penalizes nobody (status {outcome.status.name.lower()})")
    before = {e.args["account"] for e in chain.events("Slashed", taskId=task, round=round_id)}
    with ipfs_store(settings()) as store:
        done = apply_penalties(chain, store, task, round_id - 1, round_id)
    if done < round_id:
        raise NotNow(
            f"a penalized trainer of round {round_id} committed in the open Commit phase: try again once it ends"
        )
    applied = [e for e in chain.events("Slashed", taskId=task, round=round_id) if e.args["account"] not in before]
    for e in applied:
        console.print(f"penalized {e.args['account']}: {format_tokens(e.args['amount'])} DFL", highlight=False)
    if not applied:
        console.print(f"every penalty of round {round_id} of task {task} was already applied", highlight=False)


def reclaim(
    task: TaskArg,
    keystore: KeystoreOpt = None,
    key_env: KeyEnvOpt = "DFL_PRIVATE_KEY",
    dev_account: DevAccountOpt = None,
) -> None:
    """Return what a completed task leaves to its requester (anyone may call): its unspent pool at
    once, and, once the claim window has passed, the rewards nobody claimed (which closes the claims)."""
    from offchain.chain.protocol import Phase

    chain = _signed(keystore, key_env, dev_account, task)
    _, phase, _ = chain.current_round(task)
    if phase != Phase.COMPLETED:
        raise NotNow(
            f"task {task} is still running ({_phase_line(chain, task)}): what it leaves returns once it "
            f"completes (`dfl round finalize {task}` moves a stalled round on)"
        )
    state = chain.task_state(task)
    params = chain.task_params(task)
    window_end = chain.round_outcome(task, params.num_rounds - 1).finalized_at + params.claim_window
    window_open = chain.timestamp() < window_end
    unclaimed = 0 if window_open or state.claims_closed else state.unclaimed_rewards
    if state.unallocated_pool == 0 and unclaimed == 0:
        when = f"; its unclaimed rewards ({format_tokens(state.unclaimed_rewards)} DFL) return " + (
            f"after the claim window, {show_deadline(window_end, chain.timestamp())}"
            if window_open and state.unclaimed_rewards
            else "never (none left)"
        )
        raise NotNow(f"task {task} has nothing to return now: no unspent pool{when}")
    chain.reclaim(task)
    console.print(
        f"returned {format_tokens(state.unallocated_pool)} DFL of unspent pool and {format_tokens(unclaimed)} DFL "
        f"of unclaimed rewards of task {task} to its requester {state.requester}"
        + ("; claims of this task are now closed" if unclaimed else ""),
        highlight=False,
        soft_wrap=True,
    )
