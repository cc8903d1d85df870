"""`dfl trainer`: stake, then each round train on local data, pin the update, commit, reveal;
claim rewards when the task completes.

Progress is written to the worker state before every transaction, so a restart
after a crash reveals what was committed and never commits twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from offchain.chain.manager import TaskManager
from offchain.chain.protocol import ParticipationStatus, Phase, Role, new_salt, update_commitment
from offchain.fl.clipping import change_norm, clip_to_bound
from offchain.fl.codec import encode_weights
from offchain.fl.records import Update, Verdict
from offchain.fl.screening import check_values
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
    commit_phases = (Phase.COMMIT, Phase.REVEAL)

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

    def own_data(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x, self.y

    def stake_amount(self) -> int:
        """The stake asked for; by default at least the task's minimum and enough to back every local
        sample as collateral (with less, the trainer declares only the samples its stake backs)."""
        if self._stake:
            return self._stake
        return max(super().stake_amount(), len(self.x) * self.ctx.params.stake_per_sample)

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
        if "skipped" in rec:
            return
        if "cid" not in rec:  # train once per round, even across restarts
            with span(rec, "ipfs"):
                model = self.ctx.global_model(round_id)
            with span(rec, "train"):
                trained, result = self.ctx.model.train(
                    model.weights, self.x, self.y, self.options.training, round_seed=round_id
                )
                update = self._within_checks(round_id, rec, model.weights, trained)
            if update is None:
                return
            with span(rec, "ipfs"):
                cid = self.store.put(update)
            rec.update(
                cid=cid,
                num_samples=self._declared_samples(result.num_samples),
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

    def _within_checks(self, round_id: int, rec: dict[str, Any], global_bytes: bytes, update: bytes) -> bytes | None:
        """The update clipped to the task's norm bound and checked as validators will check it: an
        update they would reject (and penalize) is never submitted; the round is skipped instead."""
        decode = self.ctx.model.decode
        glob, weights = decode(global_bytes), decode(update)
        bound = self.ctx.params.max_delta_norm_micro
        clipped = clip_to_bound(weights, glob, bound)
        if clipped is not weights:
            log.info(
                "%s: round %d: change norm %.4f clipped to the task's bound %.4f",
                self.name,
                round_id,
                change_norm(weights, glob),
                bound / 1e6,
            )
            update = encode_weights(clipped)
        verdict = check_values(Update(self.me.lower(), 1, clipped), glob, bound)
        if isinstance(verdict, Verdict):
            rec["skipped"] = str(verdict.reason)
            self.state.save()
            log.warning(
                "%s: round %d: not submitting an update validators would reject as %s (%s)",
                self.name,
                round_id,
                verdict.reason,
                verdict.detail,
            )
            return None
        return update

    def _declared_samples(self, trained_on: int) -> int:
        """The samples trained on, as far as the stake backs them (the contract refuses more)."""
        per_sample = self.ctx.params.stake_per_sample
        if not per_sample:
            return trained_on
        backed = self.chain.participant(self.task_id, self.me).stake // per_sample
        if backed < trained_on:
            log.warning(
                "%s: the stake backs %d of the %d samples trained on; declaring %d (stake more to declare all)",
                self.name,
                backed,
                trained_on,
                backed,
            )
        return min(trained_on, backed)

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
