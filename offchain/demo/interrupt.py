"""What a demo interrupted by Ctrl-C leaves behind, said plainly: services still running and how
to stop them, and where its task stands (round, phase, stakes) and how it can be settled."""

from __future__ import annotations

from offchain.chain.errors import ChainError
from offchain.chain.protocol import Phase
from offchain.config import Settings
from offchain.demo.run import DemoRun
from offchain.devnet.services import anvil_answers, ipfs_answers
from offchain.explorer import background
from offchain.tokens import format_tokens
from offchain.when import deadline


def left_behind(s: Settings, run: DemoRun | None, *, started_services: bool) -> list[str]:
    """Lines for the user after the worker processes were stopped."""
    lines = ["the demo's worker processes were stopped."]
    running = [
        f"{name} at {url}"
        for name, url, up in (
            ("the chain (anvil)", s.rpc_url, anvil_answers(s.rpc_url)),
            ("the IPFS node", s.ipfs_api, ipfs_answers(s.ipfs_api)),
        )
        if up
    ]
    explorer = background.running(s.state_dir)
    if explorer:
        running.append(f"the explorer at {explorer['url']} (pid {explorer['pid']})")
    if running:
        origin = "started by this demo" if started_services else "they were running before"
        lines.append(
            f"still running: {', '.join(running)} ({origin}); stop them with `dfl node down`"
            + (f" (state dir {s.state_dir})" if not started_services else "")
            + ", or keep them for the next run."
        )
    if run is None:
        lines.append(
            "it was interrupted while deploying and creating its task (`dfl task list` shows what was created)."
        )
        return lines
    lines += _task_lines(run)
    return lines


def _task_lines(run: DemoRun) -> list[str]:
    task = run.task_id
    try:
        round_id, phase, end = run.chain.current_round(task)
        now = run.chain.timestamp()
        staked = [(w, run.chain.participant(task, w.address).stake) for w in run.workers]
    except ChainError as exc:
        return [f"task {task}: its state could not be read ({exc})."]
    locked = sum(amount for _, amount in staked)
    if phase == Phase.COMPLETED:
        return [
            f"task {task} had completed: claim with `dfl rewards claim --task {task}` and `dfl withdraw --task {task}`."
        ]
    first = next((w for w, amount in staked if amount), None)
    account = f" --dev-account {first.account_index}" if first else ""
    return [
        f"task {task} stays in round {round_id} ({phase.name.lower()}, ends {deadline(end, now)}) with "
        f"{format_tokens(locked)} DFL staked by {sum(1 for _, a in staked if a)} workers, locked until it completes.",
        f"  nothing happens until its phase deadlines pass; then `dfl round finalize {task}` moves it on (a round "
        "without votes fails), one round at a time, until it completes.",
        f"  then each participant withdraws (`dfl withdraw --task {task}{account}`) and `dfl task reclaim {task}` "
        f"returns the unspent pool. Worker logs: {run.workdir / 'logs'}",
    ]
