"""`dfl trainer`: stake, then each round train on local data, pin the update, commit, reveal;
claim rewards when the task completes.

Progress is written to the worker state before every transaction, so a restart
after a crash reveals what was committed and never commits twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from offchain.chain.manager import TaskManager
from offchain.chain.protocol import ParticipationStatus, Phase, Role, new_salt, update_commitment
from offchain.services.claims import claim_trainer_rewards
from offchain.services.local_model import TrainingConfig
from offchain.storage.ipfs import IpfsStore
from offchain.workers.base import RoundWorker
from offchain.workers.spans import span
from offchain.workers.state import WorkerState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainerOptions:
    stake: int | None = None  # default: the task's minimum
    training: TrainingConfig = TrainingConfig()  # noqa: RUF009 (frozen, so sharing it is safe)
    poll_seconds: float = 1.0
    claim: bool = True


class Trainer(RoundWorker):
    role = Role.TRAINER

    def __init__(
        self,
        chain: TaskManager,
        store: IpfsStore,
        state: WorkerState,
        task_id: int,
        x: np.ndarray,
        y: np.ndarray,
        options: TrainerOptions = TrainerOptions(),
    ) -> None:
        super().__init__(
            chain, store, state, task_id, stake=options.stake, poll_seconds=options.poll_seconds, claim=options.claim
        )
        self.x, self.y = x, y
        self.options = options

    def act(self, round_id: int, phase: Phase) -> None:
        self.ensure_stake()
        if phase == Phase.COMMIT:
            self._commit(round_id)
        elif phase == Phase.REVEAL:
            self._reveal(round_id)

    def _commit(self, round_id: int) -> None:
        rec = self.state.round(round_id)
        if rec.get("committed"):
            return
        if "cid" not in rec:  # train once per round, even across restarts
            with span(rec, "ipfs"):
                model = self.ctx.global_model(round_id)
            with span(rec, "train"):
                update, result = self.ctx.model.train(
                    model.weights, self.x, self.y, self.options.training, round_seed=round_id
                )
            with span(rec, "ipfs"):
                cid = self.store.put(update)
            rec.update(
                cid=cid,
                num_samples=result.num_samples,
                salt=new_salt().hex(),
                train_accuracy=result.accuracy,
                train_seconds=round(result.seconds, 3),
                global_model_cid=model.cid,
            )
            self.state.save()
            log.info(
                "%s: round %d trained on %d samples (acc %.3f) -> %s",
                self.name,
                round_id,
                result.num_samples,
                result.accuracy,
                cid,
            )
        commitment = update_commitment(
            self.task_id, round_id, self.me, rec["cid"], rec["num_samples"], bytes.fromhex(rec["salt"])
        )
        status, record = self.chain.participant_status(self.task_id, round_id, self.me)
        if not (status == ParticipationStatus.COMMITTED and record == commitment):
            with span(rec, "chain"):
                self.chain.commit_update(self.task_id, commitment)
        rec["committed"] = True
        self.state.save()
        log.info("%s: round %d committed", self.name, round_id)

    def _reveal(self, round_id: int) -> None:
        rec = self.state.round(round_id)
        if not rec.get("committed") or rec.get("revealed"):
            return
        status, _ = self.chain.participant_status(self.task_id, round_id, self.me)
        if status != ParticipationStatus.REVEALED:
            with span(rec, "chain"):
                self.chain.reveal_update(self.task_id, rec["cid"], rec["num_samples"], bytes.fromhex(rec["salt"]))
        rec["revealed"] = True
        self.state.save()
        log.info("%s: round %d revealed %s", self.name, round_id, rec["cid"])

    def claim_rewards(self) -> int:
        return claim_trainer_rewards(self.chain, self.store, self.task_id)
