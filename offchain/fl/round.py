"""A round's result as one pure computation: what every honest validator must reproduce byte for byte.

Inputs are on-chain data (the reveals and availability attestations of the round, the task's
parameters, the trainer pool) and content-addressed bytes (G_r's weights, the fetched updates);
outputs are the new model's bytes, the round receipt's bytes, and the reward and penalty Merkle
trees whose roots go into the vote. No I/O, no clocks, no library messages, no floats in the
receipt. The steps, in order:

1. availability: which updates are aggregated, left out, or penalized as unavailable
   (`offchain.fl.availability`, from the attestations alone);
2. screening of each included update (`offchain.fl.screening`): decoding, finite values, the norm
   bound on its change, a change at all;
3. scores (`offchain.fl.scoring`): agreement of each screened update with the consensus direction;
4. the task's rule (`offchain.fl.rules`) aggregates the screened updates, possibly leaving some out;
5. rewards: the trainer pool split by score x samples over the updates the rule kept
   (`offchain.fl.rewards`), and penalties: every trainer rejected for a reason in `PENALIZED`;
6. the receipt and both trees.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from offchain.fl import availability, rules, scoring
from offchain.fl.codec import encode_weights
from offchain.fl.errors import AggregationInputError
from offchain.fl.merkle import build_penalty_tree, build_tree
from offchain.fl.reasons import PENALIZED, Reason
from offchain.fl.receipt import MAX_CID_CHARS, PrivacyEntry, RoundReceipt, SecureSumEntry, UpdateEntry
from offchain.fl.records import Verdict
from offchain.fl.rewards import allocate
from offchain.fl.rules import Contribution, RuleConfig
from offchain.fl.screening import Checks, Screened, TooLarge, screen
from offchain.types import NamedWeights

ZERO_ROOT = b"\0" * 32


@dataclass(frozen=True)
class Reveal:
    """An UpdateRevealed event."""

    index: int
    trainer: str
    cid: str
    num_samples: int


@dataclass(frozen=True)
class RoundTerms:
    """What the task and the chain fix for the round."""

    task_id: int
    round_id: int
    rule: RuleConfig
    checks: Checks
    quorum_bps: int
    trainer_pool: int
    # False under local differential privacy: the noise hides every update's direction, so each
    # screened update scores 1 (PPM) and weighs its samples (offchain.privacy.dp_bounds).
    scored: bool = True
    privacy: PrivacyEntry | None = None  # in the receipt of a task with a privacy mode or a DP budget
    # Sealed tasks: an update counts as held only once it opened (offchain.workers.opening), so a
    # ciphertext the honest validators cannot decrypt is `unavailable` like one they cannot fetch.
    sealed: bool = False


@dataclass(frozen=True)
class Addressing:
    """Content addressing, injected so this module stays free of storage code: the CID of bytes
    (as `ipfs add` makes it) and whether a string is a CID."""

    cid_of: Callable[[bytes], str]
    is_cid: Callable[[str], bool]


@dataclass(frozen=True)
class RoundResult:
    receipt: RoundReceipt
    receipt_bytes: bytes
    model_bytes: bytes
    weights: NamedWeights
    reward_root: bytes  # ZERO_ROOT when nobody is paid
    penalty_root: bytes  # ZERO_ROOT when nobody is penalized
    verdicts: tuple[Verdict, ...]

    @property
    def void(self) -> bool:
        return self.receipt.void

    @property
    def accepted(self) -> tuple[str, ...]:
        return tuple(v.trainer for v in self.verdicts if v.accepted)


def needed(reveals: Sequence[Reveal], attestations: Sequence[availability.Attestation], quorum_bps: int) -> list[int]:
    """Reveal indexes whose content the computation needs: the updates a quorum holds."""
    return sorted(availability.decide(len(reveals), attestations, quorum_bps).included)


def compute_round(
    terms: RoundTerms,
    parent_cid: str,
    parent_weights: NamedWeights,
    reveals: Sequence[Reveal],
    attestations: Sequence[availability.Attestation],
    contents: Mapping[int, bytes | TooLarge],
    addressing: Addressing,
) -> RoundResult:
    """The round's result; `contents` must hold the fetched content of every index in `needed(...)`."""
    ordered = ordered_reveals(reveals)
    avail = availability.decide(len(reveals), attestations, terms.quorum_bps)
    verdicts: dict[str, Verdict] = {}
    screened: list[Screened] = []
    for reveal in ordered:
        checked = _screen_one(reveal, avail, contents, parent_weights, terms.checks, terms.sealed)
        if isinstance(checked, Verdict):
            verdicts[reveal.trainer] = checked
        else:
            screened.append(checked)
    samples = [rules.sample_weight(terms.rule, s.update.num_samples) for s in screened]
    score_list = (
        scoring.scores(parent_weights, [s.update for s in screened], [s.sq_delta_norm for s in screened], samples)
        if terms.scored
        else [scoring.PPM] * len(screened)
    )
    contributions = [
        Contribution(s.update, s.sq_delta_norm, score, count)
        for s, score, count in zip(screened, score_list, samples, strict=True)
    ]
    outcome = rules.aggregate(parent_weights, contributions, terms.rule)
    for c in contributions:
        verdicts[c.trainer] = outcome.excluded.get(c.trainer) or Verdict.accept(
            c.trainer, detail=outcome.notes.get(c.trainer, "")
        )
    reward_weights = {c.trainer: c.score_ppm * c.samples for c in contributions if c.trainer not in outcome.excluded}
    scores_of = {c.trainer: c.score_ppm for c in contributions}
    return settle_round(
        terms, parent_cid, ordered, avail, verdicts, scores_of, reward_weights, outcome.weights, addressing
    )


def settle_round(
    terms: RoundTerms,
    parent_cid: str,
    ordered: Sequence[Reveal],
    avail: availability.Availability,
    verdicts: Mapping[str, Verdict],
    scores_of: Mapping[str, int],
    reward_weights: Mapping[str, int],
    weights: NamedWeights,
    addressing: Addressing,
    secure_sum: SecureSumEntry | None = None,
) -> RoundResult:
    """What every round computation ends with, once each reveal has its verdict: the trainer pool
    split by the reward weights, the penalized trainers, both Merkle trees, the receipt and the
    model's bytes (used by `compute_round` and by SecAgg's `compute_secure_round`)."""
    leaves = allocate(terms.trainer_pool, dict(reward_weights))
    penalized = sorted(t for t, v in verdicts.items() if v.reason in PENALIZED)
    reward_root = build_tree(leaves).root if leaves else ZERO_ROOT
    penalty_root = build_penalty_tree(penalized).root if penalized else ZERO_ROOT
    model_bytes = encode_weights(weights)
    rewards = dict(leaves)
    entries = tuple(
        UpdateEntry(
            index=r.index,
            trainer=r.trainer,
            cid=r.cid if len(r.cid) <= MAX_CID_CHARS and addressing.is_cid(r.cid) else None,
            num_samples=r.num_samples,
            attested_bps=avail.attested_bps.get(r.index, 0),
            accepted=verdicts[r.trainer].accepted,
            reason=str(verdicts[r.trainer].reason) if verdicts[r.trainer].reason else None,
            penalized=r.trainer in penalized,
            detail=verdicts[r.trainer].detail,
            score_ppm=scores_of.get(r.trainer, 0),
            weight=reward_weights.get(r.trainer, 0),
            reward=rewards.get(r.trainer, 0),
        )
        for r in ordered
    )
    receipt = RoundReceipt(
        task=terms.task_id,
        round=terms.round_id,
        parent=parent_cid,
        model=addressing.cid_of(model_bytes),
        rule=terms.rule.rule,
        rule_id=terms.rule.rule_id,
        rule_params=terms.rule.raw,
        trainer_pool=terms.trainer_pool,
        void=avail.void,
        updates=entries,
        rewards=tuple(leaves),
        reward_root="0x" + reward_root.hex(),
        penalties=tuple(penalized),
        penalty_root="0x" + penalty_root.hex(),
        privacy=terms.privacy,
        secure_sum=secure_sum,
    )
    return RoundResult(
        receipt=receipt,
        receipt_bytes=receipt.to_bytes(),
        model_bytes=model_bytes,
        weights=weights,
        reward_root=reward_root,
        penalty_root=penalty_root,
        verdicts=tuple(verdicts[t] for t in sorted(verdicts)),
    )


def ordered_reveals(reveals: Sequence[Reveal]) -> list[Reveal]:
    """The reveals in trainer address order (lower case), checked: one per trainer, indexes 0..n-1."""
    out = sorted((Reveal(r.index, r.trainer.lower(), r.cid, r.num_samples) for r in reveals), key=lambda r: r.trainer)
    trainers = [r.trainer for r in out]
    if len(set(trainers)) != len(trainers):
        raise AggregationInputError("a trainer appears more than once in the round's reveals")
    if sorted(r.index for r in out) != list(range(len(out))):
        raise AggregationInputError("reveal indexes must be 0..n-1, each once")
    return out


def _screen_one(
    reveal: Reveal,
    avail: availability.Availability,
    contents: Mapping[int, bytes | TooLarge],
    parent_weights: NamedWeights,
    checks: Checks,
    sealed: bool,
) -> Screened | Verdict:
    status = avail.status(reveal.index)
    bps = avail.attested_bps.get(reveal.index, 0)
    held = "held and opened" if sealed else "held"
    if status == "void":
        return Verdict.reject(reveal.trainer, Reason.UNATTESTED_ROUND, "attesting validators held less than quorum")
    if status == "unavailable":
        return Verdict.reject(reveal.trainer, Reason.UNAVAILABLE, f"{held} by {bps} bps of validator stake")
    if status == "under_attested":
        return Verdict.reject(reveal.trainer, Reason.UNDER_ATTESTED, f"{held} by {bps} bps of validator stake")
    if reveal.index not in contents:
        raise AggregationInputError(f"no content for update {reveal.index}, which a quorum holds: fetch it first")
    return screen(reveal.trainer, reveal.num_samples, contents[reveal.index], parent_weights, checks)
