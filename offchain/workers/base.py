"""What trainers and validators share: start-up checks, staking, the polling loop over the
task's phase, and settling up (claim, withdraw) when the task completes."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod

import numpy as np

from offchain.chain.manager import TaskManager
from offchain.chain.protocol import VALIDATOR_STAKE_FROZEN, ParticipationStatus, Phase, Role
from offchain.errors import DflError
from offchain.ml.errors import MlError
from offchain.services.claims import withdraw_stake
from offchain.services.context import TaskContext, WorkerError
from offchain.storage.ipfs import IpfsStore
from offchain.tokens import format_tokens
from offchain.workers.loop import run_until_done
from offchain.workers.staking import check_stake, minimum_stake, stake
from offchain.workers.state import WorkerState

log = logging.getLogger(__name__)


class RoundWorker(ABC):
    role: Role
    commit_phases: tuple[Phase, Phase]  # where this role commits and reveals

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
        """Check everything first (any failure ends here, before a token moves), then follow the task."""
        self.prepare()
        run_until_done(self.step, poll_seconds=self._poll, name=self.name, max_seconds=max_seconds)

    # --- start-up --------------------------------------------------------------------

    def prepare(self) -> None:
        """Data against the task's model, then amount, balance and role; stake if the phase allows."""
        x, y = self.own_data()
        model = self.ctx.model  # the task's own model: a bad spec is its own error
        try:
            model.check(x, y)
        except MlError as exc:
            raise WorkerError(
                f"{self.name}: this data does not fit task {self.task_id}'s model: {exc}; nothing was staked"
            ) from None
        self._warn_lost_commitment()
        round_id, phase, _ = self.chain.current_round(self.task_id)
        if self.chain.participant(self.task_id, self.me).role != Role.NONE:
            return  # a restart: already staked
        if phase == Phase.COMPLETED:
            raise WorkerError(f"task {self.task_id} is already completed: there is nothing to take part in")
        amount = self.stake_amount()
        if self.role == Role.VALIDATOR and phase in VALIDATOR_STAKE_FROZEN:
            log.info("%s: round %d is voting; staking once the vote is over", self.name, round_id)
            return
        check_stake(self.chain, self.task_id, self.role, amount)
        stake(self.chain, self.task_id, self.role, amount)

    def stake_amount(self) -> int:
        return self._stake or minimum_stake(self.chain, self.task_id, self.role)

    def _warn_lost_commitment(self) -> None:
        """A commitment on-chain whose salt is not in the state file cannot be revealed: say so loudly."""
        round_id, _, _ = self.chain.current_round(self.task_id)
        status, _ = self.chain.participant_status(self.task_id, round_id, self.me)
        rec = self.state.round(round_id)
        if status != ParticipationStatus.COMMITTED or "salt" in rec:
            return
        params = self.ctx.params
        bps = (
            params.trainer_non_reveal_slash_bps if self.role == Role.TRAINER else params.validator_non_reveal_slash_bps
        )
        log.error(
            "%s: WARNING: round %d of task %d holds a commitment from %s that the state file %s does not: its salt is "
            "lost, so it cannot be revealed, and %.2f%% of the stake will be slashed when the round is finalized. "
            "If you have a copy of the state file, stop this worker, put the copy back and start it again.",
            self.name,
            round_id,
            self.task_id,
            self.me,
            self.state.path,
            bps / 100,
        )
        rec["commitment_lost"] = True
        self.state.save()

    # --- the loop ---------------------------------------------------------------------

    def step(self) -> bool:
        """One look at the chain and whatever this phase asks of us; False once all is done."""
        round_id, phase, _ = self.chain.current_round(self.task_id)
        self.housekeeping(round_id)
        if phase == Phase.COMPLETED:
            if self._claim and not self._settle_up():
                return True  # the stake is still locked: look again next tick
            log.info("%s: task %d completed", self.name, self.task_id)
            return False
        self._check_still_active()
        if phase in self.commit_phases and self.state.round(round_id).get("commitment_lost"):
            return True  # nothing this worker can commit or reveal in this round
        self.act(round_id, phase)
        return True

    def _settle_up(self) -> bool:
        """Claim, then withdraw once the stake unlocks; False while it is still locked."""
        if not self.state.get("claimed"):
            try:
                self.claim_rewards()
            except DflError as exc:
                if exc.transient:
                    raise
                log.error("%s: %s; withdrawing the stake anyway", self.name, exc)
                withdraw_stake(self.chain, self.task_id)
                raise
            self.state.set("claimed", True)
            self.state.save()
        return withdraw_stake(self.chain, self.task_id) is not None

    def _check_still_active(self) -> None:
        """A worker whose account was deactivated (a slash or penalty took its stake below the
        minimum) can no longer act: stop with what to do instead of failing every tick."""
        p = self.chain.participant(self.task_id, self.me)
        if p.role == Role.NONE or p.active or p.exiting:
            return
        minimum = minimum_stake(self.chain, self.task_id, self.role)
        raise WorkerError(
            f"{self.name}: no longer active in task {self.task_id}: its stake of {format_tokens(p.stake)} DFL is "
            f"below the minimum of {format_tokens(minimum)} DFL after a slash or penalty (see `dfl rewards show "
            f"--task {self.task_id}`); top it up with `dfl stake --task {self.task_id}` and start again, or leave "
            f"with `dfl exit --task {self.task_id}` and `dfl withdraw --task {self.task_id}`"
        )

    def ensure_stake(self) -> None:
        if self.chain.participant(self.task_id, self.me).role == Role.NONE:
            stake(self.chain, self.task_id, self.role, self.stake_amount())

    def housekeeping(self, round_id: int) -> None:  # noqa: B027 (optional hook, empty by default)
        """Work owed to the protocol whatever the phase (none by default)."""

    @abstractmethod
    def own_data(self) -> tuple[np.ndarray, np.ndarray]:
        """The local data this worker trains or evaluates on."""

    @abstractmethod
    def act(self, round_id: int, phase: Phase) -> None: ...

    @abstractmethod
    def claim_rewards(self) -> int: ...
