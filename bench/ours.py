"""This system end to end: anvil (1 s blocks), the IPFS dev node, the contracts, a FedAvg task,
and one OS process per trainer and validator (`dfl trainer` / `dfl validator`), exactly as
`dfl demo` runs them; then each round's global model is evaluated on the full test split and
each round's wall time is split by the workers' timing spans (`offchain/workers/spans.py`).
"""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import Setup, say
from bench.privacy_cost import task_cost
from offchain.demo.config import DemoConfig

# Attribution order when activities of several workers overlap in time: a second in which
# anyone trains counts as training, and so on; a second in which nobody does anything is waiting.
CATEGORIES = ("train", "aggregation", "evaluation", "ipfs", "chain")
SPLIT_NAMES = {
    "train": "training",
    "aggregation": "aggregation",
    "evaluation": "evaluation",
    "ipfs": "ipfs",
    "chain": "chain",
}
ANVIL_FUNDED = 10  # anvil funds accounts 0..9 with ether; the bench funds the others itself


@dataclass(frozen=True)
class _Config(DemoConfig):
    """The demo's configuration without its 8-trainer cap (the bench funds accounts 10+ itself)."""

    def __post_init__(self) -> None:
        if self.trainers < 1 or self.validators < 1 or self.trainers + self.validators > 30:
            raise ValueError("1..29 trainers and validators in all")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rpc(url: str, method: str, params: list[Any]) -> Any:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["result"]


def split_round(spans: list[tuple[str, float, float]], start: float, end: float) -> dict[str, float]:
    """Seconds of [start, end] attributed to each category (by CATEGORIES priority) and to waiting."""
    points = sorted({start, end, *(max(start, min(end, t)) for _, a, b in spans for t in (a, b))})
    split = {SPLIT_NAMES[c]: 0.0 for c in CATEGORIES} | {"waiting": 0.0}
    for a, b in zip(points, points[1:]):
        active = {c for c, s0, s1 in spans if s0 <= a and s1 >= b and s1 > s0}
        chosen = next((c for c in CATEGORIES if c in active), None)
        split[SPLIT_NAMES[chosen] if chosen else "waiting"] += b - a
    return split


def round_timings(state_files: list[Path], rounds: int) -> list[dict[str, Any]]:
    """Per round: wall seconds (from the previous finalization to this one) and their split."""
    spans: dict[int, list[tuple[str, float, float]]] = {r: [] for r in range(rounds)}
    finalized: dict[int, float] = {}
    train_seconds: dict[int, list[float]] = {r: [] for r in range(rounds)}
    for path in state_files:
        state = json.loads(path.read_text())
        for key, rec in state.get("rounds", {}).items():
            r = int(key)
            if r not in spans:
                continue
            spans[r] += [(c, float(a), float(b)) for c, a, b in rec.get("spans", [])]
            if "finalized_at" in rec:
                finalized[r] = min(finalized.get(r, float("inf")), float(rec["finalized_at"]))
            if "train_seconds" in rec:
                train_seconds[r].append(float(rec["train_seconds"]))
    out, previous_end = [], None
    for r in range(rounds):
        if not spans[r]:
            break
        start = previous_end if previous_end is not None else min(a for _, a, _ in spans[r])
        end = finalized.get(r, max(b for _, _, b in spans[r]))
        out.append(
            {
                "round": r,
                "seconds": end - start,
                "split": split_round(spans[r], start, end),
                "worker_seconds": {SPLIT_NAMES[c]: sum(b - a for cc, a, b in spans[r] if cc == c) for c in CATEGORIES},
                "trainer_train_seconds": train_seconds[r],
            }
        )
        previous_end = end
    return out


def _fund_ether(rpc_url: str, count: int) -> None:
    from offchain.chain.accounts import anvil_account

    for i in range(ANVIL_FUNDED, count):
        _rpc(rpc_url, "anvil_setBalance", [anvil_account(i).address, hex(10_000 * 10**18)])


def run_ours(
    setup: Setup,
    workdir: Path,
    *,
    dataset: str | None = None,
    registration: int = 45,
    phase_seconds: int = 180,
    timeout: float = 7200.0,
    eval_samples: int = 10_000,
    tf_threads: int | None = None,
    privacy: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run one task to completion on fresh dev services in `workdir`; stop everything it started.
    `privacy`: DemoConfig's privacy fields (privacy, epsilon, clip, dp_unit, min_contributors, and
    learning_rate for a DP-SGD step)."""
    from offchain.config import load_settings
    from offchain.demo.run import finalized_rounds, prepare, settle, start_workers, stop_workers, wait_for_completion
    from offchain.demo.summary import AccuracyMeter, collect
    from offchain.devnet.services import DevServices, Ports
    from offchain.storage.ipfs import IpfsStore

    workdir.mkdir(parents=True, exist_ok=True)
    ports = Ports("127.0.0.1", _free_port(), _free_port(), _free_port())
    services = DevServices(workdir / "services", ports, block_time=1)
    config = _Config(
        dataset=dataset or setup.dataset,
        model=setup.model,
        trainers=setup.trainers,
        validators=setup.validators,
        rounds=setup.rounds,
        partition=setup.partition,
        rule="fedavg",
        rule_params=(0,),
        epochs=setup.epochs,
        batch_size=setup.batch_size,
        learning_rate=(privacy or {}).get("learning_rate", setup.learning_rate),
        eval_samples=eval_samples,
        seed=setup.seed,
        phase_seconds=phase_seconds,
        registration_seconds=registration,
        poll_seconds=0.5,
        timeout_seconds=timeout,
        tf_threads=tf_threads,
        **{k: v for k, v in (privacy or {}).items() if k != "learning_rate"},
    )
    started = time.time()
    services.up()
    run = None
    try:
        rpc, api = f"http://127.0.0.1:{ports.rpc}", f"http://127.0.0.1:{ports.ipfs_api}"
        settings = load_settings(
            env={},
            rpc_url=rpc,
            ipfs_api=api,
            ipfs_gateway=f"http://127.0.0.1:{ports.ipfs_gateway}",
            state_dir=str(workdir / "state"),
            deployments_dir=str(workdir / "deployments"),
        )
        _fund_ether(rpc, 1 + setup.trainers + setup.validators)
        run = prepare(config, settings, workdir)
        say(
            f"ours: task {run.task_id} created, {len(run.workers)} worker processes starting (registration {registration}s)"
        )
        workers_started = time.time()
        seen: list[tuple[int, str]] = []

        def tick() -> None:
            r, phase, _ = run.chain.current_round(run.task_id)
            if not seen or seen[-1] != (r, phase.name):
                seen.append((r, phase.name))
                if phase.name in ("COMMIT", "COMPLETED"):
                    say(f"ours: round {r} {phase.name.lower()} at +{time.time() - workers_started:.0f}s")

        with IpfsStore(settings.ipfs_api, timeout=settings.ipfs_timeout) as store:
            start_workers(run)
            try:
                wait_for_completion(run, tick)
            finally:
                stop_workers(run)
            workers_done = time.time()
            settle(run)
            summary = collect(run, store, AccuracyMeter(run, store))
        state_dir = workdir / "state" / "workers" / str(settings.chain_id) / f"task-{run.task_id}"
        timings = round_timings(sorted(state_dir.glob("*.json")), setup.rounds)
        rounds = [
            {**t, "accuracy": s["accuracy"], "status": s["status"], "accepted": s["accepted"]}
            for t, s in zip(timings, summary["rounds"])
        ]
        return {
            "task": run.task_id,
            "privacy": summary["privacy"],
            "cost": task_cost(run.chain, store, run.task_id, setup.rounds),
            "initial_accuracy": summary["initial_accuracy"],
            "final_accuracy": summary["final_accuracy"],
            "rounds": rounds,
            "finalized_rounds": len(finalized_rounds(run)),
            "validators": setup.validators,
            "registration_seconds": registration,
            "setup_seconds": workers_started - started,
            "workers_seconds": workers_done - workers_started,
            "total_seconds": time.time() - started,
            "eval_samples": eval_samples,
        }
    finally:
        if run is not None:
            stop_workers(run)
        services.down()
