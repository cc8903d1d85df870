"""`dfl trainer`: stake, then each round train on local data, pin the update (clipped, and sealed
or masked as the task's privacy mode says: offchain.workers.packing), commit, reveal; in SecAgg
tasks publish the mask seeds the round's dropouts call for; claim rewards when the task completes.

Progress is written to the worker state before every transaction, so a restart
after a crash reveals what was committed and never commits twice.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from offchain.chain.manager import TaskManager
from offchain.chain.protocol import (
    ParticipationStatus,
    Phase,
    PrivacyMode,
    Role,
    backed_samples,
    new_salt,
    stake_backing,
    update_commitment,
)
from offchain.ml.train import TrainResult
from offchain.privacy.secagg import pairwise_seed
from offchain.services.claims import claim_trainer_rewards
from offchain.services.context import WorkerError
from offchain.services.local_model import TrainingConfig
from offchain.storage.ipfs import IpfsStore
from offchain.workers.base import RoundWorker
from offchain.workers.keyring import Keyring
from offchain.workers.packing import Packed, Packer, Skip
from offchain.workers.round_inputs import reveals_of
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
        mode = self.ctx.params.privacy.mode
        self.keyring = Keyring(chain, task_id, Role.TRAINER) if mode != PrivacyMode.PLAINTEXT else None
        self.packer = Packer(self.ctx.params, self.keyring, self.name)

    def own_data(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x, self.y

    def stake_amount(self) -> int:
        """The stake asked for; by default at least the task's minimum and enough to back every local
        sample as collateral (with less, the trainer declares only the samples its stake backs)."""
        if self._stake:
            return self._stake
        return max(super().stake_amount(), stake_backing(len(self.x), self.ctx.params.stake_per_sample))

    def act(self, round_id: int, phase: Phase) -> None:
        self.ensure_stake()
        if self.keyring is not None and not self.state.get("key_registered"):
            self.keyring.ensure_registered()
            self.state.set("key_registered", True)
            self.state.save()
        if phase == Phase.COMMIT:
            self._commit(round_id)
        elif phase == Phase.REVEAL:
            self._reveal(round_id)
        elif phase == Phase.ATTEST and self.packer.mode == PrivacyMode.SECAGG:
            self._publish_seeds(round_id)

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
                packed, result = self._train_and_pack(round_id, model.weights)
            if isinstance(packed, Skip):
                rec["skipped"] = packed.reason
                self.state.save()
                log.warning("%s: round %d: not submitting: %s (%s)", self.name, round_id, packed.detail, packed.reason)
                return
            if packed.note:
                log.info("%s: round %d: %s", self.name, round_id, packed.note)
            if packed.pin_after_reveal:
                self._pending_path(round_id).write_bytes(packed.data)  # pinned once the reveal is on-chain
                cid = packed.cid
            else:
                with span(rec, "ipfs"):
                    cid = self.store.put(packed.data)
                if cid != packed.cid:
                    raise WorkerError(f"the IPFS node gave CID {cid} for the update, computed {packed.cid}")
            rec.update(
                cid=cid,
                pin_after_reveal=packed.pin_after_reveal,
                num_samples=self._declared_samples(result.num_samples),
                salt=new_salt().hex(),
                train_accuracy=None if math.isnan(result.accuracy) else result.accuracy,
                train_seconds=round(result.seconds, 3),
                global_model_cid=model.cid,
            )
            self.state.save()
            log.info(
                "%s: round %d trained on %d samples%s -> %s",
                self.name,
                round_id,
                result.num_samples,
                "" if math.isnan(result.accuracy) else f" (accuracy on them {result.accuracy:.3f})",
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

    def _train_and_pack(self, round_id: int, global_bytes: bytes) -> tuple[Packed | Skip, TrainResult]:
        """Local epochs from G_r (privacy per trainer, or none), or with per-sample privacy one
        clipped DP-SGD step over the samples the stake backs (and the secure sum can hold)."""
        decode = self.ctx.model.decode
        glob = decode(global_bytes)
        config = self.options.training
        if not self.packer.per_sample:
            trained, result = self.ctx.model.train(global_bytes, self.x, self.y, config, round_seed=round_id)
            return self.packer.pack(round_id, self.me, glob, decode(trained)), result
        limits = [
            n
            for n in (self.packer.max_samples(sum(int(w.size) for w in glob.values())), self._backed_samples())
            if n is not None
        ]
        step = self.ctx.model.dp_step(
            global_bytes,
            self.x,
            self.y,
            config,
            clip=self.ctx.params.max_delta_norm_micro / 1e6,
            max_samples=min(limits) if limits else None,
            round_seed=round_id,
        )
        log.info(
            "%s: round %d: DP-SGD step over %d samples (lr %g, %.0f%% of their gradients clipped)",
            self.name,
            round_id,
            step.num_samples,
            config.learning_rate,
            100 * step.clipped_fraction,
        )
        result = TrainResult(num_samples=step.num_samples, loss=math.nan, accuracy=math.nan, seconds=step.seconds)
        return self.packer.pack_step(round_id, self.me, glob, step.step, step.num_samples), result

    def _backed_samples(self) -> int | None:
        return backed_samples(self.chain.participant(self.task_id, self.me).stake, self.ctx.params.stake_per_sample)

    def _declared_samples(self, trained_on: int) -> int:
        """The samples trained on, as far as the stake backs them (the contract refuses more)."""
        backed = self._backed_samples()
        if backed is None:
            return trained_on
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
        if not rec.get("committed"):
            return
        if not rec.get("revealed"):
            status, _ = self.chain.participant_status(self.task_id, round_id, self.me)
            if status != ParticipationStatus.REVEALED:
                with span(rec, "chain"):
                    self.chain.reveal_update(self.task_id, rec["cid"], rec["num_samples"], bytes.fromhex(rec["salt"]))
            rec["revealed"] = True
            self.state.save()
            log.info("%s: round %d revealed %s", self.name, round_id, rec["cid"])
        self._pin_revealed(round_id, rec)

    def _pin_revealed(self, round_id: int, rec: dict[str, Any]) -> None:
        """A SecAgg update goes to IPFS only now that its reveal is on-chain (see offchain.workers.packing)."""
        if not rec.get("pin_after_reveal") or rec.get("pinned"):
            return
        path = self._pending_path(round_id)
        with span(rec, "ipfs"):
            cid = self.store.put(path.read_bytes())
        if cid != rec["cid"]:
            raise WorkerError(f"the IPFS node gave CID {cid} for the masked update, revealed {rec['cid']}")
        rec["pinned"] = True
        self.state.save()
        path.unlink(missing_ok=True)

    def _pending_path(self, round_id: int) -> Path:
        return self.state.path.with_name(f"{self.state.path.stem}-round-{round_id}.masked")

    def _publish_seeds(self, round_id: int) -> None:
        """SecAgg, Attest phase: this trainer's pairwise seeds with the key set's dropouts, so that the
        validators can remove their masks from the sum. Never while the sum would have fewer
        contributors than the task's minimum (their noise would not suffice)."""
        rec = self.state.round(round_id)
        if not rec.get("revealed") or rec.get("seeds_published") or self.keyring is None:
            return
        self._pin_revealed(round_id, rec)
        if self.chain.mask_seeds_published(self.task_id, round_id, self.me):
            rec["seeds_published"] = True
            self.state.save()
            return
        key_set = self.keyring.key_set(round_id)
        revealed = {r.trainer for r in reveals_of(self.chain, self.task_id, round_id)}
        dropouts = [t for t in key_set if t not in revealed]
        if not dropouts:
            rec["seeds_published"] = True  # every mask cancels: nothing to publish
            self.state.save()
            return
        contributors = sum(1 for t in key_set if t in revealed)
        needed = max(2, self.ctx.params.privacy.min_contributors)
        if contributors < needed:
            rec["seeds_published"] = "withheld"
            self.state.save()
            log.warning(
                "%s: round %d: %d of the key set revealed, fewer than the %d the sum needs: not publishing seeds",
                self.name,
                round_id,
                contributors,
                needed,
            )
            return
        context = self.keyring.mask_context(round_id)
        seeds = b"".join(pairwise_seed(self.keyring.private, self.me.lower(), key_set[d], d, context) for d in dropouts)
        with span(rec, "chain"):
            self.chain.publish_mask_seeds(self.task_id, seeds)
        rec["seeds_published"] = True
        self.state.save()
        log.info("%s: round %d: published mask seeds with %d dropouts", self.name, round_id, len(dropouts))

    def claim_rewards(self) -> int:
        return claim_trainer_rewards(self.chain, self.store, self.task_id)
