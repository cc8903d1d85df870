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

MICRO = 1_000_000
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
