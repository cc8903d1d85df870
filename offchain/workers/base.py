"""What trainers and validators share: the polling loop over the task's phase, staking, and
settling up (claim, withdraw) when the task completes."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod

from offchain.chain.manager import TaskManager
from offchain.chain.protocol import Phase, Role
from offchain.services.claims import withdraw_stake
from offchain.services.context import TaskContext
from offchain.storage.ipfs import IpfsStore
from offchain.workers.loop import run_until_done
from offchain.workers.state import WorkerState

log = logging.getLogger(__name__)


class RoundWorker(ABC):
    role: Role

    def __init__(
        self,
        chain: TaskManager,
        store: IpfsStore,
        state: WorkerState,
        task_id: int,
        *,
        stake: int | None,
        poll_seconds: float,
        claim: bool,
    ) -> None:
        if chain.address is None:
            raise ValueError("a worker needs a signing account")
        self.chain, self.store, self.state, self.task_id = chain, store, state, task_id
        self.me: str = chain.address
        self.ctx = TaskContext(chain, store, task_id)
        self.name = f"{self.role.name.lower()} {self.me[:10]}"
        self._stake, self._poll, self._claim = stake, poll_seconds, claim

    def run(self, *, max_seconds: float | None = None) -> None:
        run_until_done(self.step, poll_seconds=self._poll, name=self.name, max_seconds=max_seconds)

    def step(self) -> bool:
        """One look at the chain and whatever this phase asks of us; False once all is done."""
        round_id, phase, _ = self.chain.current_round(self.task_id)
        self.housekeeping(round_id)
        if phase == Phase.COMPLETED:
            if self._claim:
                self.claim_rewards()
                withdraw_stake(self.chain, self.task_id)
            log.info("%s: task %d completed", self.name, self.task_id)
            return False
        self.act(round_id, phase)
        return True

    def ensure_stake(self) -> None:
        if self.chain.participant(self.task_id, self.me).role == Role.NONE:
            params = self.ctx.params
            amount = self._stake or (
                params.min_trainer_stake if self.role == Role.TRAINER else params.min_validator_stake
            )
            self.chain.stake(self.task_id, self.role, amount)
            log.info("%s: staked %d in task %d", self.name, amount, self.task_id)

    def housekeeping(self, round_id: int) -> None:  # noqa: B027 (optional hook, empty by default)
        """Work owed to the protocol whatever the phase (none by default)."""

    @abstractmethod
    def act(self, round_id: int, phase: Phase) -> None: ...

    @abstractmethod
    def claim_rewards(self) -> int: ...
