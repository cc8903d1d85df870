"""One round as every reader shows it: its updates with their verdicts and rewards, what each
validator did, its slashes, and what the vote came to."""

from __future__ import annotations

from dataclasses import dataclass

from offchain.chain.events import (
    AvailabilityAttested,
    Event,
    RoundFinalized,
    RoundStarted,
    Slashed,
    TaskLog,
    TrainerRewardClaimed,
    UpdateCommitted,
    UpdateRevealed,
    ValidatorRewardClaimed,
    VoteCommitted,
    VoteRevealed,
)
from offchain.chain.protocol import REJECT_PROPOSAL, RoundStatus, SlashReason
from offchain.fl.reasons import Reason
from offchain.fl.receipt import RoundReceipt, UpdateEntry
from offchain.readmodel.models import global_model_cid, winning_receipt_cid
from offchain.readmodel.validators import round_validators


@dataclass(frozen=True)
class Tally:
    """What the round's vote came to (its RoundFinalized event)."""

    status: RoundStatus
    leading_proposal: bytes
    leading_stake: int  # revealed stake behind the most-backed proposal, whether or not it reached quorum
    total_validator_stake: int
    reward_root: bytes
    penalty_root: bytes
    returned_to_pool: int

    @property
    def decided(self) -> bool:
        """A proposal reached quorum (Accepted, or Rejected by a quorum of reject votes)."""
        return self.status in (RoundStatus.ACCEPTED, RoundStatus.REJECTED)

    @property
    def winning_stake(self) -> int:
        """Stake behind the proposal that won: 0 when the round failed, as nothing won
        (the chain's `roundOutcome.winningStake`)."""
        return self.leading_stake if self.decided else 0

    @classmethod
    def of(cls, finalized: RoundFinalized) -> Tally:
        return cls(
            finalized.status,
            finalized.winning_proposal,
            finalized.winning_stake,
            finalized.total_validator_stake,
            finalized.reward_root,
            finalized.penalty_root,
            finalized.returned_to_pool,
        )


@dataclass(frozen=True)
class UpdateView:
    """A trainer's update in the round: its commit, reveal, verdict in the winning receipt, claim."""

    trainer: str
    commit: Event[UpdateCommitted]
    reveal: Event[UpdateRevealed] | None
    entry: UpdateEntry | None  # from the winning receipt; None if the round has none or it is not there
    claim: Event[TrainerRewardClaimed] | None
    reason: str | None  # why it earned nothing; None when accepted
    penalty: Event[Slashed] | None = None  # the penalty applied for this round's update, if any
    trainer_pool: int = 0  # what the round paid trainers in all, to show this update's share

    @property
    def cid(self) -> str | None:
        return self.reveal.record.update_cid if self.reveal else None

    @property
    def num_samples(self) -> int | None:
        return self.reveal.record.num_samples if self.reveal else None

    @property
    def accepted(self) -> bool | None:
        """The receipt's verdict; None when there is no verdict (not revealed, round not accepted)."""
        return self.entry.accepted if self.entry else None

    @property
    def reward(self) -> int:
        return self.entry.reward if self.entry else 0

    @property
    def claimed(self) -> int:
        return self.claim.record.amount if self.claim else 0

    @property
    def score_ppm(self) -> int | None:
        """Agreement with the round's consensus direction, parts per million (from the receipt)."""
        return self.entry.score_ppm if self.entry else None

    @property
    def penalized(self) -> bool:
        return bool(self.entry and self.entry.penalized)

    @property
    def why(self) -> str:
        """Why it earned what it earned, in words (the receipt's figures, the chain's penalty)."""
        e = self.entry
        if e is None:
            return self.reason or "no verdict"
        share = e.reward / self.trainer_pool if self.trainer_pool else 0
        group = f", shared in the reward group of update #{e.group}" if e.group != e.index else ""
        if e.reason == Reason.SUM_NOT_RELEASED:
            # a SecAgg update that was fine while the round's sum could not be released: no scores there
            return f"not in the model ({e.reason}: {e.detail}), paid by its counted samples: {share:.1%} of the trainer pool"
        if e.reward:
            where = "" if e.accepted else f"left out of the model ({e.reason}: {e.detail}) but "
            return (
                f"{where}paid for reward score {e.reward_ppm / 1e6:.3f} (agreement beyond last round's change; "
                f"score {e.score_ppm / 1e6:.3f}): weight {e.weight}{group}, {share:.1%} of the trainer pool"
            )
        if e.accepted and not e.score_ppm:
            return f"accepted, but score {e.score_ppm / 1e6:.3f} is below the floor: its change does not point where the others' do"
        if e.accepted:
            return (
                f"accepted (score {e.score_ppm / 1e6:.3f}), not paid: it agrees with the others no more than last "
                "round's global change predicts (reward score 0)"
            )
        text = f"rejected ({e.reason}: {e.detail})" if e.detail else f"rejected ({e.reason})"
        if e.penalized:
            text += "; penalized" + (f" {self.penalty.record.amount} units" if self.penalty else " (not applied yet)")
        return text


@dataclass(frozen=True)
class ValidatorView:
    """What one of the round's validators did: voted (for a receipt or reject), committed and did
    not reveal, or did not commit at all."""

    validator: str
    commit: Event[VoteCommitted] | None
    reveal: Event[VoteRevealed] | None
    claim: Event[ValidatorRewardClaimed] | None
    with_winner: bool | None  # None unless it voted and a proposal won
    attestation: Event[AvailabilityAttested] | None = None

    @property
    def attested(self) -> int | None:
        """How many of the round's updates it attested to holding; None if it did not attest."""
        if self.attestation is None:
            return None
        return sum(bin(byte).count("1") for byte in self.attestation.record.held)

    @property
    def vote(self) -> str:
        """The receipt CID it voted for, or "reject", "not revealed", "not committed"."""
        if self.reveal is not None:
            proposal = self.reveal.record
            return "reject" if proposal.proposal_hash == REJECT_PROPOSAL else proposal.aggregate_cid
        return "not revealed" if self.commit is not None else "not committed"

    @property
    def weight(self) -> int | None:
        """The stake its vote counts with (fixed at its commit)."""
        return self.commit.record.weight if self.commit else None

    @property
    def metric(self) -> int | None:
        return self.reveal.record.metric if self.reveal else None

    @property
    def reward(self) -> int:
        return self.claim.record.amount if self.claim else 0


@dataclass(frozen=True)
class RoundView:
    task: int
    round: int
    started: Event[RoundStarted] | None  # None until a transaction has opened the round
    finalized: Event[RoundFinalized] | None
    global_model_cid: str  # G_r: the model the round's trainers started from
    receipt_cid: str | None  # the receipt that won (G_{r+1}); None unless accepted
    receipt: RoundReceipt | None  # its body, when the caller could fetch it
    updates: tuple[UpdateView, ...]
    validators: tuple[ValidatorView, ...]
    slashes: tuple[Event[Slashed], ...]

    @property
    def status(self) -> RoundStatus:
        return self.finalized.record.status if self.finalized else RoundStatus.OPEN

    @property
    def tally(self) -> Tally | None:
        return Tally.of(self.finalized.record) if self.finalized else None

    @property
    def accepted(self) -> int:
        return sum(1 for u in self.updates if u.accepted)

    @property
    def rewards_allocated(self) -> int:
        return sum(u.reward for u in self.updates)

    @property
    def trainer_claimed(self) -> int:
        return sum(u.claimed for u in self.updates)

    @property
    def validator_claimed(self) -> int:
        return sum(v.reward for v in self.validators)

    @property
    def slashed(self) -> int:
        return sum(s.record.amount for s in self.slashes)


def round_view(log: TaskLog, round_id: int, receipt: RoundReceipt | None = None) -> RoundView:
    """Round `round_id` of the task whose events are `log`; `receipt` is the winning receipt's body
    (see `winning_receipt_cid`), which only IPFS has."""
    finalized = log.first(RoundFinalized, round_id)
    status = finalized.record.status if finalized else RoundStatus.OPEN
    return RoundView(
        task=log.task_id,
        round=round_id,
        started=log.first(RoundStarted, round_id),
        finalized=finalized,
        global_model_cid=global_model_cid(log, round_id),
        receipt_cid=winning_receipt_cid(log, round_id),
        receipt=receipt,
        updates=tuple(_updates(log, round_id, receipt, status, receipt.trainer_pool if receipt else 0)),
        validators=tuple(_validators(log, round_id, finalized)),
        slashes=tuple(log.of(Slashed, round_id)),
    )


def _updates(
    log: TaskLog, round_id: int, receipt: RoundReceipt | None, status: RoundStatus, trainer_pool: int
) -> list[UpdateView]:
    reveals = {e.record.trainer.lower(): e for e in log.of(UpdateRevealed, round_id)}
    claims = {e.record.trainer.lower(): e for e in log.of(TrainerRewardClaimed, round_id)}
    penalties = {
        e.record.account.lower(): e
        for e in log.of(Slashed, round_id)
        if e.record.reason == SlashReason.TRAINER_REJECTED_UPDATE
    }
    entries = {u.trainer.lower(): u for u in receipt.updates} if receipt else {}
    views = []
    for commit in log.of(UpdateCommitted, round_id):
        key = commit.record.trainer.lower()
        reveal, entry = reveals.get(key), entries.get(key)
        reason = _reason(entry, reveal, status)
        views.append(
            UpdateView(
                commit.record.trainer, commit, reveal, entry, claims.get(key), reason, penalties.get(key), trainer_pool
            )
        )
    return views


def _reason(entry: UpdateEntry | None, reveal: Event[UpdateRevealed] | None, status: RoundStatus) -> str | None:
    if entry is not None:
        return None if entry.accepted else entry.reason
    if reveal is None:
        return "not revealed"
    if status == RoundStatus.ACCEPTED:
        return "not in the receipt"
    return f"round {status.name.lower()}"  # no verdict: the round is open, rejected or failed


def _validators(log: TaskLog, round_id: int, finalized: Event[RoundFinalized] | None) -> list[ValidatorView]:
    commits = {e.record.validator: e for e in log.of(VoteCommitted, round_id)}
    reveals = {e.record.validator: e for e in log.of(VoteRevealed, round_id)}
    claims = {e.record.validator: e for e in log.of(ValidatorRewardClaimed, round_id)}
    attestations = {e.record.validator: e for e in log.of(AvailabilityAttested, round_id)}
    tally = Tally.of(finalized.record) if finalized else None
    views = []
    for validator in round_validators(log, round_id):
        reveal = reveals.get(validator)
        with_winner = (
            reveal.record.proposal_hash == tally.leading_proposal if reveal and tally and tally.decided else None
        )
        views.append(
            ValidatorView(
                validator,
                commits.get(validator),
                reveal,
                claims.get(validator),
                with_winner,
                attestations.get(validator),
            )
        )
    return views
