"""Live progress of a demo run: the round's phase and counts, finalized rounds, worker processes."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from offchain.chain.protocol import RoundStatus
from offchain.demo.run import DemoRun
from offchain.demo.summary import AccuracyMeter
from offchain.readmodel.models import global_model_cid


class Progress:
    """Renders on a terminal with rich.Live; elsewhere prints one line per change."""

    def __init__(self, run: DemoRun, meter: AccuracyMeter, console: Console) -> None:
        self.run, self.meter, self.console = run, meter, console
        self._finalized: dict[int, tuple[str, float]] = {}
        self._last_line = ""
        self._live: Live | None = Live(console=console, refresh_per_second=4) if console.is_terminal else None

    def __enter__(self) -> Progress:
        if self._live:
            self._live.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live:
            self._live.__exit__(exc_type, exc, tb)

    def tick(self) -> None:
        chain, task = self.run.chain, self.run.task_id
        state = chain.task_state(task)
        for r in range(len(self._finalized), state.round + 1):
            outcome = chain.round_outcome(task, r)
            if outcome.status == RoundStatus.OPEN:
                break
            # read after the view saw the round finalized, so the log has its RoundFinalized event
            accuracy = self.meter.of(global_model_cid(chain.task_log(task), r + 1))
            self._finalized[r] = (outcome.status.name.lower(), accuracy)
            if not self._live:
                self.console.print(
                    f"round {r} finalized: {outcome.status.name.lower()}, accuracy {accuracy:.4f}", highlight=False
                )
        left = max(0, state.phase_deadline - int(time.time())) if state.phase_deadline else 0
        line = (
            f"round {state.round} {state.phase.name.lower().replace('_', ' ')}: commits {state.commits}, reveals {state.reveals}, "
            f"votes {state.vote_commits} committed / {state.vote_reveals} revealed; trainers {state.active_trainers}, "
            f"validators {state.active_validators}"
        )
        if self._live:
            self._live.update(self._render(line, left))
        elif line != self._last_line:
            self.console.print(line, highlight=False)
        self._last_line = line

    def _render(self, line: str, left: int) -> Group:
        rounds = Table("round", "status", "accuracy", title=f"task {self.run.task_id}")
        rounds.add_row("init", "", f"{self.meter.of(self.run.published.weights_cid):.4f}")
        for r, (status, accuracy) in self._finalized.items():
            rounds.add_row(str(r), status, f"{accuracy:.4f}")
        workers = Table("worker", "address", "process")
        for w in self.run.workers:
            code = w.process.poll() if w.process else None
            workers.add_row(w.name, w.address, "running" if code is None else ("done" if code == 0 else f"exit {code}"))
        elapsed = time.monotonic() - self.run.started
        return Group(f"[bold]{line}[/] (phase deadline in {left}s; {elapsed:.0f}s elapsed)", rounds, workers)
