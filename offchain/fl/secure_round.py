"""A SecAgg round's result as one pure computation: the sum of the masked updates, unmasked.

In a SecAgg task nobody can read one trainer's update: each trainer of the round's key set (the
trainers whose X25519 keys were registered before the round began, `offchain.privacy.roster`)
clipped its change to the task's bound, quantized it, added its share of the noise and pairwise
masks with every other trainer of the key set, and revealed only the masked vector
(`offchain.privacy.secagg`). Masks between trainers that revealed cancel in the sum; the masks
with the key set's dropouts (trainers that did not reveal) are removed with the seeds each
contributor published in the Attest phase (`IFLPrivacy.publishMaskSeeds`). What every honest
validator computes, byte for byte, from on-chain data and content-addressed bytes:

1. availability, as in plaintext tasks (`offchain.fl.availability`);
2. each reveal's verdict: not in the key set (penalized), unavailable (penalized), under-attested,
   too large or malformed (penalized); the rest are contributors;
3. the sum's status, first failure wins: `void` (no attestation quorum), `too_few` (fewer
   contributors than the task's minimum: nobody may unmask, the noise would not suffice),
   `unusable` (a contributor's masked update cannot be added), `seeds_missing` (a contributor
   did not publish its seeds with the dropouts: penalized), `out_of_bounds` (the unmasked sum is
   longer than honest clipped updates plus noise can make it: one trainer sent garbage and nobody
   can say who), else `ok`;
4. with `ok`, the new model is G_r + (unmasked sum / 2^scaleBits) / contributors (with per-sample
   privacy: / the contributors' declared samples); otherwise G_r;
5. rewards: the trainer pool split by samples (capped as the rule caps them) over the
   contributors not penalized, except for `void` and `out_of_bounds` (nobody can be credited);
   penalties: every trainer with a reason in `PENALIZED`.
Per-update screening and scores are impossible here; docs/privacy.md says what replaces them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np

from offchain.fl import availability, rules
from offchain.fl.contribution import sample_caps
from offchain.fl.reasons import PAID, Reason
from offchain.fl.receipt import PrivacyEntry, SecureSumEntry
from offchain.fl.records import Verdict
from offchain.fl.round import Addressing, Reveal, RoundResult, RoundTerms, Share, ordered_reveals, settle_round
from offchain.fl.screening import TooLarge
from offchain.privacy import secagg
from offchain.types import NamedWeights

PPM = 1_000_000


class SumStatus(StrEnum):
    OK = "ok"
    VOID = "void"
    TOO_FEW = "too_few"
    UNUSABLE = "unusable"
    SEEDS_MISSING = "seeds_missing"
    OUT_OF_BOUNDS = "out_of_bounds"


@dataclass(frozen=True)
class SecureTerms:
    """What the task fixes for a SecAgg round beyond `RoundTerms`."""

    context: secagg.MaskContext
    clip_micro: int  # the task's maxDeltaNormMicro: every honest change is clipped to it
    scale_bits: int
    min_contributors: int
    noise_multiplier_micro: int  # 0 without differential privacy
    privacy: PrivacyEntry
    # Per-sample privacy (DP-FedSGD): each masked update is a step summed over its trainer's
    # examples, so the sum is divided by the contributors' declared samples, not by their number.
    per_sample: bool = False


def compute_secure_round(
    terms: RoundTerms,
    secure: SecureTerms,
    parent_cid: str,
    parent_weights: NamedWeights,
    reveals: Sequence[Reveal],
    attestations: Sequence[availability.Attestation],
    key_set: Sequence[str],
    seeds: Mapping[str, bytes],
    contents: Mapping[int, bytes | TooLarge],
    addressing: Addressing,
) -> RoundResult:
    """The round's result. `key_set`: the round's trainers (addresses); `seeds`: each trainer's
    published seed bytes of this round (the first publication, as the contract keeps only one);
    `contents` must hold the fetched bytes of every index a quorum holds."""
    terms = replace(terms, privacy=secure.privacy)  # a SecAgg receipt always names its privacy terms
    ordered = ordered_reveals(reveals)
    avail = availability.decide(len(reveals), attestations, terms.quorum_bps)
    keyed = {a.lower() for a in key_set}
    size = sum(int(w.size) for w in parent_weights.values())
    verdicts: dict[str, Verdict] = {}
    masked: dict[str, np.ndarray] = {}
    for r in ordered:
        checked = _check(r, avail, keyed, contents, secure.context, size)
        if isinstance(checked, Verdict):
            verdicts[r.trainer] = checked
        else:
            masked[r.trainer] = checked
    revealed = {r.trainer for r in ordered}
    contributors = sorted(r.trainer for r in ordered if r.trainer in keyed)
    dropouts = sorted(keyed - revealed)
    status, detail = _status(avail.void, contributors, masked, dropouts, seeds, secure.min_contributors)
    for trainer in contributors:
        if trainer in masked and (status == SumStatus.SEEDS_MISSING and not _has_seeds(seeds, trainer, dropouts)):
            verdicts[trainer] = Verdict.reject(
                trainer, Reason.SEEDS_MISSING, f"no {32 * len(dropouts)}-byte seeds for {len(dropouts)} dropouts"
            )
    weights = parent_weights
    if status == SumStatus.OK:
        total = secagg.unmask_sum(
            [masked[t] for t in contributors],
            [(t, d, seeds[t][32 * i : 32 * (i + 1)]) for t in contributors for i, d in enumerate(dropouts)],
        )
        declared = sum(r.num_samples for r in ordered if r.trainer in masked)
        divisor = declared if secure.per_sample else len(contributors)
        bound = _norm_bound_sq(secure, len(contributors), divisor, size)
        if secagg.sum_norm_sq(total) > bound:
            status, detail = SumStatus.OUT_OF_BOUNDS, "the unmasked sum is longer than clipped updates and noise allow"
        else:
            weights = _apply_mean(parent_weights, secagg.dequantize(total, secure.scale_bits), divisor)
    for trainer in contributors:
        if trainer in verdicts:
            continue
        if status == SumStatus.OK:
            verdicts[trainer] = Verdict.accept(trainer)
        elif status == SumStatus.OUT_OF_BOUNDS:
            verdicts[trainer] = Verdict.reject(trainer, Reason.SUM_OUT_OF_BOUNDS, detail)
        else:
            verdicts[trainer] = Verdict.reject(trainer, Reason.SUM_NOT_RELEASED, f"{status}: {detail}")
    samples = {r.trainer: rules.sample_weight(terms.rule, r.num_samples) for r in ordered}
    paid = sorted(t for t, v in verdicts.items() if v.accepted or v.reason in PAID)
    # No scores under SecAgg (nobody sees an update): each is paid for its counted samples, capped by
    # the others' sample-weighted median count like in plaintext rounds (offchain.fl.contribution).
    counted = sample_caps([samples[t] for t in paid])
    index_of = {r.trainer: r.index for r in ordered}
    shares = {t: Share(PPM, PPM, index_of[t], PPM * c) for t, c in zip(paid, counted, strict=True)}
    summary = SecureSumEntry(
        status=str(status),
        detail=detail,
        contributors=tuple(contributors),
        dropouts=tuple(dropouts),
        scale_bits=secure.scale_bits,
    )
    return settle_round(terms, parent_cid, ordered, avail, verdicts, shares, weights, addressing, summary)


def _check(
    reveal: Reveal,
    avail: availability.Availability,
    keyed: set[str],
    contents: Mapping[int, bytes | TooLarge],
    context: secagg.MaskContext,
    size: int,
) -> np.ndarray | Verdict:
    """The masked words of one reveal, or why they cannot be added."""
    status = avail.status(reveal.index)
    bps = avail.attested_bps.get(reveal.index, 0)
    if reveal.trainer not in keyed:
        return Verdict.reject(reveal.trainer, Reason.NOT_ELIGIBLE, "its key was not registered before the round began")
    if status == "void":
        return Verdict.reject(reveal.trainer, Reason.UNATTESTED_ROUND, "attesting validators held less than quorum")
    if status == "unavailable":
        return Verdict.reject(reveal.trainer, Reason.UNAVAILABLE, f"held by {bps} bps of validator stake")
    if status == "under_attested":
        return Verdict.reject(reveal.trainer, Reason.UNDER_ATTESTED, f"held by {bps} bps of validator stake")
    content = contents[reveal.index]
    if isinstance(content, TooLarge):
        return Verdict.reject(reveal.trainer, Reason.TOO_LARGE, "more bytes than the task's limit")
    try:
        return secagg.decode_masked(content, context, reveal.trainer, size)
    except secagg.MaskedFormatError as exc:
        return Verdict.reject(reveal.trainer, Reason.MALFORMED, str(exc))


def _has_seeds(seeds: Mapping[str, bytes], trainer: str, dropouts: Sequence[str]) -> bool:
    return len(seeds.get(trainer, b"")) == 32 * len(dropouts)


def _status(
    void: bool,
    contributors: Sequence[str],
    masked: Mapping[str, np.ndarray],
    dropouts: Sequence[str],
    seeds: Mapping[str, bytes],
    min_contributors: int,
) -> tuple[SumStatus, str]:
    if void:
        return SumStatus.VOID, "attesting validators held less than quorum"
    needed = max(2, min_contributors)
    if len(contributors) < needed:
        return SumStatus.TOO_FEW, f"{len(contributors)} contributors, the sum may be unmasked from {needed} on"
    unusable = [t for t in contributors if t not in masked]
    if unusable:
        return SumStatus.UNUSABLE, f"{len(unusable)} contributors' masked updates cannot be added"
    if dropouts and any(not _has_seeds(seeds, t, dropouts) for t in contributors):
        missing = sum(1 for t in contributors if not _has_seeds(seeds, t, dropouts))
        return SumStatus.SEEDS_MISSING, f"{missing} contributors did not publish their seeds with the dropouts"
    return SumStatus.OK, ""


def _norm_bound_sq(secure: SecureTerms, contributors: int, records: int, size: int) -> int:
    """||sum||² of honest updates: `records` clipped pieces (updates, or examples with per-sample
    privacy) and the noise shares of `contributors` trainers."""
    sensitivity = secagg.sensitivity(secure.clip_micro, secure.scale_bits, size)
    sigma = secagg.noise_share_sigma(secure.noise_multiplier_micro / 1e6, sensitivity, max(1, secure.min_contributors))
    return secagg.sum_norm_bound_sq(contributors, sensitivity, sigma, size, records=records)


def _apply_mean(parent: NamedWeights, total: np.ndarray, divisor: int) -> NamedWeights:
    """G_r + total / divisor, tensor by tensor in name order (elementwise: bit-exact)."""
    out: NamedWeights = {}
    offset = 0
    for name in sorted(parent):
        tensor = parent[name]
        part = total[offset : offset + tensor.size].reshape(tensor.shape)
        offset += tensor.size
        out[name] = (tensor.astype(np.float64) + part / divisor).astype(np.float32)
    return out
