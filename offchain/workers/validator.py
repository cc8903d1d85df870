"""`dfl validator`: stake, then each round fetch, verify and pin every revealed update, attest to what
it holds, compute the round's result over the updates a quorum holds (`offchain.fl.round`), pin the
model and the round receipt, evaluate, commit and reveal a vote; finalize when the round's votes are
in; slash non-revealers and apply the penalties of accepted rounds; claim rewards at the end.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from offchain.chain.errors import TxReverted
from offchain.chain.manager import TaskManager
from offchain.chain.protocol import (
    REJECT_PROPOSAL,
    ZERO_ROOT,
    ParticipationStatus,
    Phase,
    PrivacyMode,
    Role,
    RoundStatus,
    new_salt,
    proposal_hash,
    vote_commitment,
)
from offchain.errors import CidMismatchError
from offchain.fl.availability import bitmap
from offchain.fl.round import Addressing, Reveal, RoundResult, RoundTerms, compute_round, needed
from offchain.fl.screening import Checks
from offchain.fl.secure_round import compute_secure_round
from offchain.privacy.dp_bounds import scores_apply, screening_bound_micro
from offchain.privacy.terms import privacy_entry, secure_terms
from offchain.services.claims import claim_validator_rewards
from offchain.services.penalties import apply_penalties
from offchain.storage.cid import compute_cid, is_cid
from offchain.storage.ipfs import IpfsStore
from offchain.types import NamedWeights
from offchain.units import BPS
from offchain.workers.base import RoundWorker
from offchain.workers.keyring import Keyring
from offchain.workers.opening import SealedOpener
from offchain.workers.restakes import log_restakes
from offchain.workers.round_inputs import UpdateHolder, attestations_of, mask_seeds_of, reveals_of
from offchain.workers.spans import span
from offchain.workers.state import WorkerState

log = logging.getLogger(__name__)

ATTEST_MARGIN = 5.0  # seconds of the attest phase kept for the attestation itself after waiting
ADDRESSING = Addressing(cid_of=compute_cid, is_cid=is_cid)


def rejects_aggregate(global_accuracy: float, aggregate_accuracy: float, tolerance: float) -> bool:
    """`dfl validator`'s vote rule: reject a round whose aggregate is less accurate on the validator's
    own data than the current global model by more than `tolerance` (the benchmark votes by it too)."""
    return aggregate_accuracy < global_accuracy - tolerance


@dataclass(frozen=True)
class ValidatorOptions:
    stake: int | None = None  # default: the task's minimum
    tolerance: float = 0.02  # reject an aggregate this much less accurate than G_r
    fetch_timeout: float = 20.0  # per update and attempt
    poll_seconds: float = 1.0
    claim: bool = True


@dataclass(frozen=True)
class Proposal:
    receipt_cid: str  # "" for the reject vote
    reward_root: bytes
    penalty_root: bytes
    metric_bps: int
    global_accuracy: float
    aggregate_accuracy: float

    @property
    def hash(self) -> bytes:
        if not self.receipt_cid:
            return REJECT_PROPOSAL
        return proposal_hash(self.receipt_cid, self.reward_root, self.penalty_root)


class Validator(RoundWorker):
    role = Role.VALIDATOR
    commit_phases = (Phase.VOTE_COMMIT, Phase.VOTE_REVEAL)

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
        digest = hashlib.sha256(np.ascontiguousarray(x_eval).tobytes() + np.ascontiguousarray(y_eval).tobytes())
        self._data_key = digest.hexdigest()[:16]
        self.options = options
        self._public: tuple[np.ndarray, np.ndarray] | None = None
        self.mode = self.ctx.params.privacy.mode
        self.keyring = Keyring(chain, task_id, Role.VALIDATOR) if self.mode != PrivacyMode.PLAINTEXT else None
        self.opener = (
            SealedOpener(chain, store, self.keyring, self.name)
            if self.keyring is not None and self.mode == PrivacyMode.SEALED
            else None
        )
        self.holder = UpdateHolder(
            store, self.ctx.params.max_update_bytes, self.name, self.opener.open if self.opener else None
        )

    def own_data(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x_eval, self.y_eval

    def act(self, round_id: int, phase: Phase) -> None:
        if phase in (Phase.REGISTRATION, Phase.COMMIT):
            self.ensure_stake()  # validator stakes (and keys) are frozen from the Attest phase on
            self._ensure_key()
        elif phase == Phase.REVEAL:
            self.ensure_stake()
            self._ensure_key()
            self._prefetch(round_id)
        elif phase == Phase.ATTEST:
            self._attest(round_id)
        elif phase == Phase.VOTE_COMMIT:
            self._commit(round_id)
        elif phase == Phase.VOTE_REVEAL:
            self._reveal(round_id)
        elif phase == Phase.AWAITING_FINALIZATION:
            self._finalize(round_id)

    def housekeeping(self, round_id: int) -> None:
        self._slash_absentees(round_id)
        done = apply_penalties(self.chain, self.store, self.task_id, self.state.get("penalized_through", -1), round_id)
        if done != self.state.get("penalized_through", -1):
            self.state.set("penalized_through", done)
            self.state.save()
        self.holder.forget_before(round_id)
        if self.opener is not None:
            self.opener.forget_before(round_id)
        log_restakes(self.chain, self.task_id, self.state, self.name)

    def _ensure_key(self) -> None:
        if self.keyring is not None and not self.state.get("key_registered"):
            self.keyring.ensure_registered()
            self.state.set("key_registered", True)
            self.state.save()

    # --- availability -----------------------------------------------------------------

    def _prefetch(self, round_id: int) -> None:
        """Fetch and pin updates as they are revealed, so the Attest phase finds them held."""
        reveals = reveals_of(self.chain, self.task_id, round_id)
        self.holder.fetch_all(round_id, reveals, deadline=time.monotonic() + self.options.fetch_timeout, per_update=5.0)

    def _attest(self, round_id: int) -> None:
        rec = self.state.round(round_id)
        if rec.get("attested"):
            return
        p = self.chain.participant(self.task_id, self.me)
        if p.has_round and p.last_round == round_id and p.attested:
            rec["attested"] = True
            self.state.save()
            return
        if not p.active:
            return
        reveals = reveals_of(self.chain, self.task_id, round_id)
        with span(rec, "ipfs"):
            held = self.holder.fetch_all(
                round_id,
                reveals,
                deadline=time.monotonic() + self._seconds_left(),
                per_update=self.options.fetch_timeout,
            )
        if self.opener is not None or self.mode == PrivacyMode.SECAGG:
            with span(rec, "ipfs"):
                held = self._complete(round_id, reveals, held)
        rec["held"] = held
        self.state.save()
        with span(rec, "ipfs"):
            self.holder.serve(round_id, held)
        with span(rec, "chain"):
            self.chain.attest_availability(self.task_id, bitmap(held, len(reveals)))
        rec["attested"] = True
        self.state.save()
        log.info("%s: round %d attested to %d of %d updates", self.name, round_id, len(held), len(reveals))

    def _complete(self, round_id: int, reveals: list[Reveal], held: list[int]) -> list[int]:
        """Before attesting, until done or until the attest phase is nearly over: in a sealed task,
        share the content keys opened and open the rest with the other validators' bundles; in a
        SecAgg task, fetch again what is missing (a trainer pins its masked vector only once its
        reveal is on-chain, so the last revealer's may come a moment after the phase began) and
        wait for the contributors' mask seeds."""
        deadline = time.monotonic() + max(1.0, self._seconds_left() - ATTEST_MARGIN)
        if self.opener is not None:
            self.opener.share(round_id)
        while time.monotonic() < deadline:
            complete = len(held) == len(reveals)
            if self.opener is not None:
                if complete:
                    break
                if self.opener.read_bundles(round_id):
                    held = self.holder.fetch_all(round_id, reveals, deadline=deadline, per_update=5.0)
            else:
                if complete and self._seeds_in(round_id, reveals):
                    break
                if not complete:
                    held = self.holder.fetch_all(round_id, reveals, deadline=deadline, per_update=5.0)
            time.sleep(self.options.poll_seconds)
        return held

    def _seeds_in(self, round_id: int, reveals: list[Reveal]) -> bool:
        """Whether every revealed trainer of the key set published its seeds (or none are needed)."""
        assert self.keyring is not None
        key_set = self.keyring.key_set(round_id)
        revealed = {r.trainer for r in reveals}
        if not set(key_set) - revealed:
            return True
        published = mask_seeds_of(self.chain, self.task_id, round_id)
        return all(t in published for t in revealed if t in key_set)

    def _seconds_left(self) -> float:
        """Time left in the current phase (chain time), at least a second."""
        _, _, deadline = self.chain.current_round(self.task_id)
        return max(1.0, deadline - self.chain.timestamp() - 2.0)

    # --- votes ----------------------------------------------------------------------

    def _commit(self, round_id: int) -> None:
        rec = self.state.round(round_id)
        if rec.get("committed") or self.chain.participant(self.task_id, self.me).role != Role.VALIDATOR:
            return
        if "proposal" not in rec:
            proposal = self.propose(round_id)
            if proposal is None:
                return  # an update a quorum holds is not reachable yet: try again next tick
            rec.update(
                receipt_cid=proposal.receipt_cid,
                reward_root=proposal.reward_root.hex(),
                penalty_root=proposal.penalty_root.hex(),
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
                    bytes.fromhex(rec.get("penalty_root", ZERO_ROOT.hex())),
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

    def propose(self, round_id: int) -> Proposal | None:
        """Compute the round over the updates a quorum holds; pin the model and the receipt; evaluate.
        None when an update a quorum holds cannot be fetched yet."""
        rec = self.state.round(round_id)  # timing spans only; the caller saves
        with span(rec, "chain"):
            reveals = reveals_of(self.chain, self.task_id, round_id)
            attestations = attestations_of(self.chain, self.task_id, round_id)
            trainer_pool = self.chain.round_outcome(self.task_id, round_id).trainer_pool
        params = self.ctx.params
        wanted = needed(reveals, attestations, params.quorum_bps)
        by_index = {r.index: r for r in reveals}
        with span(rec, "ipfs"):
            held = self.holder.fetch_all(
                round_id,
                [by_index[i] for i in wanted],
                deadline=time.monotonic() + self._seconds_left(),
                per_update=self.options.fetch_timeout,
            )
        with span(rec, "ipfs"):
            self.holder.serve(round_id, held)  # others may need what we hold
        missing = sorted(set(wanted) - set(held))
        if missing:
            log.warning(
                "%s: round %d: updates %s are held by a quorum but not reachable from here; retrying",
                self.name,
                round_id,
                missing,
            )
            return None
        with span(rec, "ipfs"):
            model = self.ctx.global_model(round_id)
        global_weights = self.ctx.model.decode(model.weights)
        terms = RoundTerms(
            task_id=self.task_id,
            round_id=round_id,
            rule=self.ctx.rule,
            checks=Checks(
                self.ctx.model.specs,
                params.max_update_bytes,
                screening_bound_micro(params, sum(int(w.size) for w in global_weights.values())),
            ),
            quorum_bps=params.quorum_bps,
            trainer_pool=trainer_pool,
            scored=scores_apply(params),
            privacy=privacy_entry(params, round_id),
            sealed=self.mode == PrivacyMode.SEALED,
        )
        with span(rec, "aggregation"):
            contents = {i: self.holder.content(round_id, i) for i in wanted}
            if self.mode == PrivacyMode.SECAGG:
                assert self.keyring is not None
                secure = secure_terms(params, self.keyring.mask_context(round_id), round_id)
                key_set = list(self.keyring.key_set(round_id))
                seeds = mask_seeds_of(self.chain, self.task_id, round_id)
                result = compute_secure_round(
                    terms,
                    secure,
                    model.cid,
                    global_weights,
                    reveals,
                    attestations,
                    key_set,
                    seeds,
                    contents,
                    ADDRESSING,
                )
            else:
                previous = self.ctx.previous_weights(model)
                result = compute_round(
                    terms,
                    model.cid,
                    global_weights,
                    reveals,
                    attestations,
                    contents,
                    ADDRESSING,
                    None if previous is None else self.ctx.model.decode(previous),
                )
        return self._vote_on(round_id, rec, model.weights_cid, global_weights, result)

    def _vote_on(
        self, round_id: int, rec: dict[str, Any], g_cid: str, global_weights: NamedWeights, result: RoundResult
    ) -> Proposal:
        global_acc = self._known_accuracy(g_cid)
        if global_acc is None:
            with span(rec, "evaluation"):
                global_acc = self.ctx.model.evaluate(global_weights, self.x_eval, self.y_eval).accuracy
            self._remember_accuracy(g_cid, global_acc)
        metric = round(global_acc * BPS)
        if result.void:
            log.info(
                "%s: round %d: validators holding updates were fewer than a quorum; voting reject", self.name, round_id
            )
            return Proposal("", ZERO_ROOT, ZERO_ROOT, metric, global_acc, global_acc)
        with span(rec, "ipfs"):
            model_cid = self.store.put(result.model_bytes)
            receipt_cid = self.store.put(result.receipt_bytes)
        if model_cid != result.receipt.model:
            raise CidMismatchError(
                f"the IPFS node added the new model as {model_cid}, the receipt names {result.receipt.model} for the "
                "same bytes: the node must add files with kubo's defaults (CIDv0, 256 KiB chunks); check its config",
                api=self.store.api,
            )
        aggregate_acc = global_acc
        if result.accepted:
            with span(rec, "evaluation"):
                aggregate_acc = self.ctx.model.evaluate(result.weights, self.x_eval, self.y_eval).accuracy
                # Also on the task's published evaluation set, which anyone can use to recheck the claim.
                x_pub, y_pub = self._public_eval_set()
                rec["public_accuracy"] = self.ctx.model.evaluate(result.weights, x_pub, y_pub).accuracy
            self._remember_accuracy(model_cid, aggregate_acc)  # usually next round's G_r
        receipt = result.receipt
        log.info(
            "%s: round %d: %d accepted, %d rejected, %d penalized; accuracy on own data %.4f -> %.4f; receipt %s",
            self.name,
            round_id,
            len(result.accepted),
            len(result.verdicts) - len(result.accepted),
            len(receipt.penalties),
            global_acc,
            aggregate_acc,
            receipt_cid,
        )
        if result.accepted and rejects_aggregate(global_acc, aggregate_acc, self.options.tolerance):
            log.info("%s: round %d: aggregate is worse than G_r beyond tolerance; voting reject", self.name, round_id)
            return Proposal("", ZERO_ROOT, ZERO_ROOT, round(aggregate_acc * BPS), global_acc, aggregate_acc)
        return Proposal(
            receipt_cid, result.reward_root, result.penalty_root, round(aggregate_acc * BPS), global_acc, aggregate_acc
        )

    def _known_accuracy(self, model_cid: str) -> float | None:
        """Accuracy on own data of a model already evaluated (by CID: same CID, same bytes)."""
        known: float | None = self.state.get("own_accuracy", {}).get(f"{model_cid}@{self._data_key}")
        return known

    def _remember_accuracy(self, model_cid: str, accuracy: float) -> None:
        known = self.state.get("own_accuracy", {})
        known[f"{model_cid}@{self._data_key}"] = accuracy
        self.state.set("own_accuracy", dict(list(known.items())[-4:]))  # the caller saves the state

    def _public_eval_set(self) -> tuple[np.ndarray, np.ndarray]:
        if self._public is None:
            self._public = self.ctx.eval_set()  # checked against its on-chain sha256
        return self._public

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
