"""`dfl validator`: stake, then each round fetch and verify every revealed update, aggregate
by the task's rule, pin the model and the round receipt, evaluate, commit and reveal a vote;
finalize when the round's votes are in; slash non-revealers; claim rewards at the end.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import numpy as np

from offchain.chain.errors import TxReverted
from offchain.chain.manager import TaskManager
from offchain.chain.protocol import (
    REJECT_PROPOSAL,
    ZERO_ROOT,
    ParticipationStatus,
    Phase,
    Role,
    RoundStatus,
    new_salt,
    proposal_hash,
    vote_commitment,
)
from offchain.errors import CidMismatchError, IpfsError
from offchain.fl.acceptance import screen_bytes
from offchain.fl.aggregate import aggregate
from offchain.fl.codec import encode_weights
from offchain.fl.merkle import build_tree
from offchain.fl.reasons import Reason
from offchain.fl.receipt import RoundReceipt, UpdateEntry
from offchain.fl.records import Update, Verdict
from offchain.fl.rewards import allocate
from offchain.services.claims import claim_validator_rewards
from offchain.storage.ipfs import IpfsStore
from offchain.workers.base import RoundWorker
from offchain.workers.spans import span
from offchain.workers.state import WorkerState

log = logging.getLogger(__name__)

BPS = 10_000


@dataclass(frozen=True)
class ValidatorOptions:
    stake: int | None = None  # default: the task's minimum
    tolerance: float = 0.02  # reject an aggregate this much less accurate than G_r
    fetch_timeout: float = 20.0
    poll_seconds: float = 1.0
    claim: bool = True


@dataclass(frozen=True)
class Proposal:
    receipt_cid: str  # "" for the reject vote
    reward_root: bytes
    metric_bps: int
    global_accuracy: float
    aggregate_accuracy: float
    receipt: RoundReceipt | None

    @property
    def hash(self) -> bytes:
        return proposal_hash(self.receipt_cid, self.reward_root) if self.receipt_cid else REJECT_PROPOSAL


class Validator(RoundWorker):
    role = Role.VALIDATOR

    def __init__(
        self,
        chain: TaskManager,
        store: IpfsStore,
        state: WorkerState,
        task_id: int,
        x_eval: np.ndarray,
        y_eval: np.ndarray,
        options: ValidatorOptions = ValidatorOptions(),
    ) -> None:
        super().__init__(
            chain, store, state, task_id, stake=options.stake, poll_seconds=options.poll_seconds, claim=options.claim
        )
        self.x_eval, self.y_eval = x_eval, y_eval
        # Remembered accuracies hold for this data only: a restart with other data must not reuse them.
        self._data_key = hashlib.sha256(
            np.ascontiguousarray(x_eval).tobytes() + np.ascontiguousarray(y_eval).tobytes()
        ).hexdigest()[:16]
        self.options = options
        self._public: tuple[np.ndarray, np.ndarray] | None = None

    def act(self, round_id: int, phase: Phase) -> None:
        if phase in (Phase.REGISTRATION, Phase.COMMIT, Phase.REVEAL):
            self.ensure_stake()  # validator stakes are frozen during the vote phases
        elif phase == Phase.VOTE_COMMIT:
            self._commit(round_id)
        elif phase == Phase.VOTE_REVEAL:
            self._reveal(round_id)
        elif phase == Phase.AWAITING_FINALIZATION:
            self._finalize(round_id)

    def housekeeping(self, round_id: int) -> None:
        self._slash_absentees(round_id)

    def _commit(self, round_id: int) -> None:
        rec = self.state.round(round_id)
        if rec.get("committed") or self.chain.participant(self.task_id, self.me).role != Role.VALIDATOR:
            return
        if "proposal" not in rec:
            proposal = self.propose(round_id)
            rec.update(
                receipt_cid=proposal.receipt_cid,
                reward_root=proposal.reward_root.hex(),
                metric=proposal.metric_bps,
                proposal=proposal.hash.hex(),
                salt=new_salt().hex(),
                global_accuracy=proposal.global_accuracy,
                aggregate_accuracy=proposal.aggregate_accuracy,
            )
            self.state.save()
        commitment = vote_commitment(
            self.task_id, round_id, self.me, bytes.fromhex(rec["proposal"]), bytes.fromhex(rec["salt"])
        )
        status, record = self.chain.participant_status(self.task_id, round_id, self.me)
        if not (status == ParticipationStatus.COMMITTED and record == commitment):
            with span(rec, "chain"):
                self.chain.commit_vote(self.task_id, commitment)
        rec["committed"] = True
        self.state.save()
        log.info("%s: round %d vote committed (%s)", self.name, round_id, rec["receipt_cid"] or "reject")

    def _reveal(self, round_id: int) -> None:
        rec = self.state.round(round_id)
        if not rec.get("committed") or rec.get("revealed"):
            return
        status, _ = self.chain.participant_status(self.task_id, round_id, self.me)
        if status != ParticipationStatus.REVEALED:
            with span(rec, "chain"):
                self.chain.reveal_vote(
                    self.task_id,
                    rec["receipt_cid"],
                    bytes.fromhex(rec["reward_root"]),
                    bytes.fromhex(rec["salt"]),
                    rec["metric"],
                )
        rec["revealed"] = True
        self.state.save()
        log.info("%s: round %d vote revealed", self.name, round_id)

    def _finalize(self, round_id: int) -> None:
        rec = self.state.round(round_id)
        try:
            with span(rec, "chain"):
                self.chain.finalize_round(self.task_id)
        except TxReverted as exc:
            if exc.error != "FLTaskManagerWrongPhase":
                raise
            log.debug("%s: round %d was finalized by someone else", self.name, round_id)
            return
        rec["finalized_at"] = rec["spans"][-1][2]
        self.state.save()
        outcome = self.chain.round_outcome(self.task_id, round_id)
        log.info("%s: finalized round %d: %s", self.name, round_id, outcome.status.name.lower())

    # --- the round's computation --------------------------------------------------

    def propose(self, round_id: int) -> Proposal:
        """Fetch, screen and aggregate the round's updates; pin the model and the receipt; evaluate."""
        rec = self.state.round(round_id)  # timing spans only; the caller saves
        with span(rec, "ipfs"):
            model = self.ctx.global_model(round_id)
        global_weights = self.ctx.model.decode(model.weights)
        with span(rec, "chain"):
            reveals = self.chain.events("UpdateRevealed", taskId=self.task_id, round=round_id)
        updates, rejected, entries = self._screen(reveals, rec)
        with span(rec, "aggregation"):
            result = aggregate(global_weights, updates, self.ctx.rule, rejected=rejected)
        global_acc = self._known_accuracy(model.weights_cid)
        if global_acc is None:
            with span(rec, "evaluation"):
                global_acc = self.ctx.model.evaluate(global_weights, self.x_eval, self.y_eval).accuracy
            self._remember_accuracy(model.weights_cid, global_acc)
        if not result.trainer_weights:
            log.info("%s: round %d: no acceptable update; voting reject", self.name, round_id)
            return Proposal("", ZERO_ROOT, round(global_acc * BPS), global_acc, global_acc, None)
        with span(rec, "evaluation"):
            aggregate_acc = self.ctx.model.evaluate(result.weights, self.x_eval, self.y_eval).accuracy
            # Also on the task's published evaluation set, which anyone can use to recheck the claim.
            x_pub, y_pub = self._public_eval_set()
            rec["public_accuracy"] = self.ctx.model.evaluate(result.weights, x_pub, y_pub).accuracy
        with span(rec, "ipfs"):
            model_cid = self.store.put(encode_weights(result.weights))
        self._remember_accuracy(model_cid, aggregate_acc)  # usually next round's G_r: no need to evaluate it again
        trainer_pool = self.chain.round_outcome(self.task_id, round_id).trainer_pool
        leaves = allocate(trainer_pool, result.trainer_weights)
        root = build_tree(leaves).root if leaves else ZERO_ROOT
        rewards = dict(leaves)
        receipt = RoundReceipt(
            task=self.task_id,
            round=round_id,
            parent=model.cid,
            model=model_cid,
            rule=self.ctx.rule.rule,
            rule_params=dict(self.ctx.rule.params),
            trainer_pool=trainer_pool,
            updates=tuple(
                UpdateEntry(
                    **{
                        **entries[v.trainer],
                        "accepted": v.accepted,
                        "reason": str(v.reason) if v.reason else None,
                        "message": v.message,
                        "weight": result.trainer_weights.get(v.trainer, 0),
                        "reward": rewards.get(v.trainer, 0),
                    }
                )
                for v in result.verdicts
            ),
            rewards=tuple(leaves),
            reward_root="0x" + root.hex(),
        )
        with span(rec, "ipfs"):
            receipt_cid = self.store.put(receipt.to_bytes())
        log.info(
            "%s: round %d: %d accepted, %d rejected; accuracy on own data %.4f -> %.4f, on the task's evaluation set %.4f; receipt %s",
            self.name,
            round_id,
            len(result.accepted),
            len(result.verdicts) - len(result.accepted),
            global_acc,
            aggregate_acc,
            rec["public_accuracy"],
            receipt_cid,
        )
        if not leaves or aggregate_acc < global_acc - self.options.tolerance:
            log.info("%s: round %d: aggregate is worse than G_r beyond tolerance; voting reject", self.name, round_id)
            return Proposal("", ZERO_ROOT, round(aggregate_acc * BPS), global_acc, aggregate_acc, receipt)
        return Proposal(receipt_cid, root, round(aggregate_acc * BPS), global_acc, aggregate_acc, receipt)

    def _known_accuracy(self, model_cid: str) -> float | None:
        """Accuracy on own data of a model already evaluated (by CID: same CID, same bytes)."""
        return self.state.get("own_accuracy", {}).get(f"{model_cid}@{self._data_key}")

    def _remember_accuracy(self, model_cid: str, accuracy: float) -> None:
        known = self.state.get("own_accuracy", {})
        known[f"{model_cid}@{self._data_key}"] = accuracy
        self.state.set("own_accuracy", dict(list(known.items())[-4:]))  # the caller saves the state

    def _public_eval_set(self) -> tuple[np.ndarray, np.ndarray]:
        if self._public is None:
            self._public = self.ctx.eval_set()  # checked against its on-chain sha256
        return self._public

    def _screen(self, reveals: list, rec: dict) -> tuple[list[Update], list[Verdict], dict[str, dict]]:
        updates: list[Update] = []
        rejected: list[Verdict] = []
        entries: dict[str, dict] = {}
        max_bytes = self.ctx.params.max_update_bytes
        for event in reveals:
            trainer, cid, samples = (
                event.args["trainer"].lower(),
                event.args["updateCid"],
                int(event.args["numSamples"]),
            )
            entries[trainer] = {"trainer": trainer, "cid": cid, "num_samples": samples}
            try:
                with span(rec, "ipfs"):
                    data = self.store.get(cid, max_bytes=max_bytes, timeout=self.options.fetch_timeout)
            except CidMismatchError:
                rejected.append(Verdict.reject(trainer, Reason.CID_MISMATCH, "bytes do not hash to the revealed CID"))
                continue
            except IpfsError as exc:
                too_large = "larger than the limit" in str(exc)
                # Fixed messages: every honest validator must write the same receipt bytes.
                reason, message = (
                    (Reason.TOO_LARGE, f"more than {max_bytes} bytes")
                    if too_large
                    else (Reason.MISSING, "not retrievable from IPFS")
                )
                log.warning("%s: update %s of %s excluded: %s", self.name, cid, trainer, exc)
                rejected.append(Verdict.reject(trainer, reason, message))
                continue
            with span(rec, "aggregation"):  # decoding and the deterministic checks
                screened = screen_bytes(trainer, samples, data, specs=self.ctx.model.specs, max_bytes=max_bytes)
            if isinstance(screened, Verdict):
                log.warning(
                    "%s: update %s of %s excluded: %s (%s)", self.name, cid, trainer, screened.reason, screened.message
                )
                rejected.append(screened)
            else:
                updates.append(screened)
        return updates, rejected, entries

    # --- housekeeping -------------------------------------------------------------

    def _slash_absentees(self, round_id: int) -> None:
        """After a round is finalized, slash whoever committed in it and did not reveal (anyone may)."""
        done = self.state.get("slashed_through", -1)
        for r in range(done + 1, round_id + 1):
            if self.chain.round_outcome(self.task_id, r).status == RoundStatus.OPEN:
                return
            for commit_event, reveal_event, who in (
                ("UpdateCommitted", "UpdateRevealed", "trainer"),
                ("VoteCommitted", "VoteRevealed", "validator"),
            ):
                committed = {e.args[who] for e in self.chain.events(commit_event, taskId=self.task_id, round=r)}
                revealed = {e.args[who] for e in self.chain.events(reveal_event, taskId=self.task_id, round=r)}
                for account in sorted(committed - revealed):
                    p = self.chain.participant(self.task_id, account)
                    if p.unsettled and p.last_round == r:
                        self.chain.slash(self.task_id, r, account)
                        log.info("%s: slashed %s %s for not revealing in round %d", self.name, who, account, r)
            self.state.set("slashed_through", r)
            self.state.save()

    def claim_rewards(self) -> int:
        return claim_validator_rewards(self.chain, self.task_id)
