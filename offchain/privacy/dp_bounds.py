"""What differential privacy changes in the checks validators make on readable updates.

With local DP (a DP budget in a plaintext or sealed task) every update is its clipped change plus
N(0, (z·clip)²) noise on each of its d coordinates, so its change is longer than the clip. The
norm of that noise exceeds σ·(sqrt(d) + t) with probability at most exp(−t²/2) (Gaussian
concentration of a Lipschitz function); t = 8 puts an honest update above the bound with
probability below 1e-13. The bound is computed in integers (millionths), the same on every
machine, because an update above it is rejected and penalized.
"""

from __future__ import annotations

import math

from offchain.chain.protocol import PrivacyMode, TaskParams
from offchain.units import MICRO

TAIL = 8  # standard deviations of the noise norm's concentration beyond sqrt(d)


def screening_bound_micro(params: TaskParams, num_parameters: int) -> int:
    """The norm bound (millionths) validators apply to an update's change: the task's clip, plus the
    high-probability bound of its local DP noise when the task noises readable updates."""
    clip = params.max_delta_norm_micro
    privacy = params.privacy
    if not privacy.dp or privacy.mode == PrivacyMode.SECAGG or not clip:
        return clip
    root = math.isqrt(num_parameters)
    root += root * root < num_parameters  # ceil(sqrt(d))
    noise = -(-privacy.noise_multiplier_micro * clip * (root + TAIL) // MICRO)  # ceil
    return clip + noise


def scores_apply(params: TaskParams) -> bool:
    """Contribution scores need updates whose direction can be read: not under local DP, whose noise
    is far longer than any honest change (every score would fall under the floor)."""
    return not (params.privacy.dp and params.privacy.mode != PrivacyMode.SECAGG)


# --- SecAgg with per-sample privacy: how many examples a summed step may cover ----------------

WRAP = 2**31  # a coordinate of the sum must stay below this in magnitude (int32 words)
NOISE_TAIL = 14  # standard deviations of the summed noise kept below the wrap


def _room(
    clip_micro: int, scale_bits: int, max_trainers: int, z: float, min_contributors: int, d: int
) -> tuple[int, float]:
    """(ceil(clip·2^b), what the sum's noise tail and rounding leave below 2^31 for the steps)."""
    per_record = -(-clip_micro * (1 << scale_bits) // MICRO)
    root = math.isqrt(d)
    root += root * root < d
    sigma_total = z * (per_record + root) * math.sqrt(max_trainers / max(1, min_contributors))
    return per_record, WRAP - NOISE_TAIL * sigma_total - max_trainers * root


def max_records(params: TaskParams, num_parameters: int) -> int:
    """SecAgg with per-sample privacy: the most examples a trainer may sum in one round's step, so
    that `maxTrainersPerRound` such steps plus the noise cannot wrap a 32-bit word (a trainer with
    more data sums a random subset of this size each round)."""
    q = params.privacy
    per_record, room = _room(
        params.max_delta_norm_micro,
        q.scale_bits,
        params.max_trainers_per_round,
        q.noise_multiplier_micro / MICRO,
        q.min_contributors,
        num_parameters,
    )
    return max(0, math.floor(room / (params.max_trainers_per_round * per_record)))


def sample_scale_bits(clip_micro: int, max_trainers: int, z: float, min_contributors: int, d: int, records: int) -> int:
    """The largest scale (bits, up to 24) at which `max_trainers` steps over `records` examples each,
    plus the noise, fit 32-bit words; ValueError if none does."""
    for bits in range(24, 0, -1):
        per_record, room = _room(clip_micro, bits, max_trainers, z, min_contributors, d)
        if max_trainers * records * per_record < room:
            return bits
    raise ValueError(
        f"{max_trainers} trainers x {records} examples cannot be summed in 32-bit words even at scale 2^-1: "
        "lower the clip, the examples per trainer or the maximum trainers per round"
    )
