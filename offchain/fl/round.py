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
3. scores (`offchain.fl.scoring`): agreement of each screened update with the consensus direction,
   and what pays (`offchain.fl.contribution`): counted samples, reward scores, reward groups;
4. the task's rule (`offchain.fl.rules`) aggregates the screened updates, possibly leaving some out;
5. rewards: the trainer pool split by the reward weights of the screened updates, whatever the rule
   kept (`offchain.fl.rewards`), and penalties: every trainer rejected for a reason in `PENALIZED`;
6. the receipt and both trees.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from offchain.fl import availability, contribution, rules, scoring
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
from offchain.units import ZERO_ROOT


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
    previous_weights: NamedWeights | None = None,
) -> RoundResult:
    """The round's result; `contents` must hold the fetched content of every index in `needed(...)`.
    `previous_weights`: G_{r-1}, the model the parent receipt started from (None when G_r is the
    task's initial model), whose change to G_r is the public prediction rewards do not pay for."""
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
    updates = [s.update for s in screened]
    samples = [rules.sample_weight(terms.rule, u.num_samples) for u in updates]
    counted = contribution.sample_caps(samples)
    if terms.scored and updates:
        score_list, rewards, group, counted = _scores_and_rewards(
            parent_weights, screened, counted, contribution.public_change(parent_weights, previous_weights)
        )
    else:  # no scores (local DP): every screened update scores 1 and is alone in its group
        score_list = rewards = [scoring.PPM] * len(updates)
        group = list(range(len(updates)))
    pay = contribution.reward_weights(rewards, group, counted)
    # The model weighs each update by its samples (the rule's count), except that a reward group
    # counts once: its members share the group's counted samples.
    in_group = [group.count(g) > 1 for g in group]
    contributions = [
        Contribution(s.update, s.sq_delta_norm, score, count, capped if grouped else count)
        for s, score, count, capped, grouped in zip(screened, score_list, samples, counted, in_group, strict=True)
    ]
    outcome = rules.aggregate(parent_weights, contributions, terms.rule)
    for c in contributions:
        verdicts[c.trainer] = outcome.excluded.get(c.trainer) or Verdict.accept(
            c.trainer, detail=outcome.notes.get(c.trainer, "")
        )
    # Pay follows the reward weights under every rule: a rule that leaves an update out of the model
    # (Krum) makes a choice about robustness, not a finding against the update.
    index_of = {r.trainer: r.index for r in ordered}
    shares = {
        c.trainer: Share(score, reward, index_of[contributions[lead].trainer], weight)
        for c, score, reward, lead, weight in zip(contributions, score_list, rewards, group, pay, strict=True)
    }
    return settle_round(terms, parent_cid, ordered, avail, verdicts, shares, outcome.weights, addressing)


def _scores_and_rewards(
    parent_weights: NamedWeights,
    screened: Sequence[Screened],
    counted: list[int],
    public: dict[str, np.ndarray] | None,
) -> tuple[list[int], list[int], list[int], list[int]]:
    """Aggregation scores, reward scores, reward groups and counted samples of the screened updates.
    Groups are found against the consensus direction; when there are any, the direction is taken
    again with each group counting as one update (`contribution.group_counts`), and the scores and
    reward scores against it are final."""
    updates = [s.update for s in screened]
    sq_norms = [s.sq_delta_norm for s in screened]
    direction = scoring.consensus_change(parent_weights, updates, counted)
    score_list = scoring.scores_against(parent_weights, updates, sq_norms, direction)
    rewards, group = contribution.reward_scores(parent_weights, updates, score_list, direction, public)
    if group != list(range(len(updates))):
        counted = contribution.group_counts(counted, group)
        direction = scoring.consensus_change(parent_weights, updates, counted)
        score_list = scoring.scores_against(parent_weights, updates, sq_norms, direction)
        rewards, _ = contribution.reward_scores(
            parent_weights, updates, score_list, direction, public, find_groups=False
        )
    return score_list, rewards, group, counted


@dataclass(frozen=True)
class Share:
    """What a screened update's entry in the receipt says about its pay."""

    score_ppm: int  # agreement with the consensus direction (aggregation)
    reward_ppm: int  # agreement beyond the public prediction (`offchain.fl.contribution`)
    group: int  # reveal index of the first update of its group (its own index when alone)
    weight: int  # reward weight


def settle_round(
    terms: RoundTerms,
    parent_cid: str,
    ordered: Sequence[Reveal],
    avail: availability.Availability,
    verdicts: Mapping[str, Verdict],
    shares: Mapping[str, Share],
    weights: NamedWeights,
    addressing: Addressing,
    secure_sum: SecureSumEntry | None = None,
) -> RoundResult:
    """What every round computation ends with, once each reveal has its verdict: the trainer pool
    split by the reward weights, the penalized trainers, both Merkle trees, the receipt and the
    model's bytes (used by `compute_round` and by SecAgg's `compute_secure_round`)."""
    leaves = allocate(terms.trainer_pool, {t: share.weight for t, share in shares.items()})
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
            score_ppm=shares[r.trainer].score_ppm if r.trainer in shares else 0,
            reward_ppm=shares[r.trainer].reward_ppm if r.trainer in shares else 0,
            group=shares[r.trainer].group if r.trainer in shares else r.index,
            weight=shares[r.trainer].weight if r.trainer in shares else 0,
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
