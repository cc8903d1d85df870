"""What a trainer pins for its update, in each privacy mode.

- plaintext: the clipped update as canonical safetensors (checked the way validators check it);
- sealed: the same bytes, encrypted to the round's validators (`offchain.privacy.sealed`);
- secagg: the clipped change, quantized, noised (with a DP budget) and masked with every other
  trainer of the round's key set (`offchain.privacy.secagg`). Its CID is committed at once but the
  bytes are pinned only after the reveal is on-chain: a trainer that drops out before revealing
  never publishes a vector whose masks the survivors' seeds could partly remove.
With a DP budget in plaintext and sealed tasks, each update is noised on its own (local DP):
N(0, (z·clip)²) on every coordinate of its clipped change.

With per-sample privacy (unit `sample`, DP-FedSGD) a round's contribution is one gradient step
s = −Σ_i clip(lr·∇ℓ_i, clip) over the trainer's n examples (`offchain.ml.dp_sgd`): under secagg the
masked vector carries s itself and validators divide the round's sum by the contributors' declared
samples; in plaintext and sealed tasks the update is G_r + (s + noise)/n, which sample-weighted
averaging turns into the same estimator.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

import numpy as np

from offchain.chain.protocol import PrivacyMode, PrivacyUnit, TaskParams
from offchain.fl.clipping import MICRO, change_norm, clip_to_bound
from offchain.fl.codec import encode_weights
from offchain.fl.records import Update, Verdict
from offchain.fl.screening import check_values
from offchain.privacy import secagg
from offchain.privacy.dp_bounds import max_records, screening_bound_micro
from offchain.privacy.sealed import Recipient, seal
from offchain.storage.cid import compute_cid
from offchain.types import NamedWeights
from offchain.workers.keyring import Keyring

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Packed:
    data: bytes
    cid: str
    pin_after_reveal: bool  # secagg: the masked vector is published only once its reveal is on-chain
    note: str  # what was done to it, for the log


@dataclass(frozen=True)
class Skip:
    """The round is skipped: submitting would be rejected (and penalized) or unsafe."""

    reason: str
    detail: str


def noise_rng() -> np.random.Generator:
    """A generator seeded from the OS's CSPRNG: differential-privacy noise must be unpredictable."""
    return np.random.default_rng(secrets.randbits(128))


class Packer:
    def __init__(self, params: TaskParams, keyring: Keyring | None, name: str) -> None:
        self.params, self.keyring, self.name = params, keyring, name
        self.mode = params.privacy.mode

    @property
    def per_sample(self) -> bool:
        return self.params.privacy.dp and self.params.privacy.unit == PrivacyUnit.SAMPLE

    def pack(self, round_id: int, trainer: str, global_weights: NamedWeights, trained: NamedWeights) -> Packed | Skip:
        """Pack a locally trained model (privacy per trainer, or none)."""
        clip = self.params.max_delta_norm_micro / MICRO
        if self.mode == PrivacyMode.SECAGG:
            delta = np.concatenate(
                [
                    trained[n].astype(np.float64).reshape(-1) - global_weights[n].astype(np.float64).reshape(-1)
                    for n in sorted(global_weights)
                ]
            )
            return self._mask(round_id, trainer, delta, clip, "")
        clipped = clip_to_bound(trained, global_weights, self.params.max_delta_norm_micro)
        note = ""
        if clipped is not trained:
            note = f"change norm {change_norm(trained, global_weights):.4f} clipped to {clip:.4f}"
        privacy = self.params.privacy
        if privacy.dp:
            clipped = _add_gaussian(clipped, global_weights, privacy.noise_multiplier * clip, noise_rng())
            note = (note + "; " if note else "") + f"local DP noise z={privacy.noise_multiplier:g}"
        return self._checked_and_sealed(round_id, trainer, global_weights, clipped, note)

    def pack_step(
        self, round_id: int, trainer: str, global_weights: NamedWeights, step: dict[str, np.ndarray], samples: int
    ) -> Packed | Skip:
        """Per-sample privacy: pack one clipped gradient step over `samples` examples."""
        clip = self.params.max_delta_norm_micro / MICRO
        what = f"a DP-SGD step over {samples} examples"
        if self.mode == PrivacyMode.SECAGG:
            flat = np.concatenate([step[n].reshape(-1) for n in sorted(global_weights)])
            return self._mask(round_id, trainer, flat, samples * clip, what)
        rng = noise_rng()
        sigma = self.params.privacy.noise_multiplier * clip
        noised = {
            n: (
                global_weights[n].astype(np.float64) + (step[n] + rng.normal(0.0, sigma, size=step[n].shape)) / samples
            ).astype(np.float32)
            for n in sorted(global_weights)
        }
        note = f"{what}, local noise z={self.params.privacy.noise_multiplier:g}"
        return self._checked_and_sealed(round_id, trainer, global_weights, noised, note)

    def max_samples(self, num_parameters: int) -> int | None:
        """Under secagg with per-sample privacy: the most examples whose summed step the task's scale
        holds without wrapping around 2^32 (a trainer with more uses a random subset each round)."""
        if self.mode != PrivacyMode.SECAGG or not self.per_sample:
            return None
        return max_records(self.params, num_parameters)

    # --- plaintext and sealed ---------------------------------------------------------

    def _checked_and_sealed(
        self, round_id: int, trainer: str, global_weights: NamedWeights, weights: NamedWeights, note: str
    ) -> Packed | Skip:
        """Check the update as validators will (one they would reject and penalize is never sent),
        then seal it in a sealed task."""
        size = sum(int(w.size) for w in global_weights.values())
        verdict = check_values(Update("me", 1, weights), global_weights, screening_bound_micro(self.params, size))
        if isinstance(verdict, Verdict):
            assert verdict.reason is not None
            return Skip(str(verdict.reason), verdict.detail)
        data = encode_weights(weights)
        if self.mode == PrivacyMode.SEALED:
            assert self.keyring is not None
            recipients = [Recipient(a, k) for a, k in self.keyring.key_set(round_id).items()]
            if not recipients:
                return Skip("no_recipients", "no validator of the round registered an X25519 key to seal the update to")
            data = seal(data, self.keyring.seal_context(round_id, trainer), recipients)
            note = (note + "; " if note else "") + f"sealed to {len(recipients)} validators"
        return Packed(data, compute_cid(data), False, note)

    # --- secagg -----------------------------------------------------------------------

    def _mask(self, round_id: int, trainer: str, delta: np.ndarray, norm_bound: float, what: str) -> Packed | Skip:
        """Quantize `delta` (clipped to `norm_bound`), add this trainer's noise share and its masks
        with every other trainer of the round's key set."""
        assert self.keyring is not None
        privacy = self.params.privacy
        key_set = self.keyring.key_set(round_id)
        me = trainer.lower()
        if me not in key_set:
            return Skip(
                "not_eligible",
                f"its key was registered after round {round_id} began: it masks with the others from the next round",
            )
        needed = max(2, privacy.min_contributors)
        if len(key_set) < needed:
            return Skip("too_few", f"{len(key_set)} trainers in the round's key set, secure aggregation needs {needed}")
        rng = noise_rng()
        quantized = secagg.quantize(delta, norm_bound, privacy.scale_bits, rng)
        noise = np.zeros_like(quantized)
        note = (what + ", " if what else "") + f"clipped to {norm_bound:g}, quantized at 2^-{privacy.scale_bits}"
        if privacy.dp:
            sensitivity = secagg.sensitivity(self.params.max_delta_norm_micro, privacy.scale_bits, delta.size)
            sigma = secagg.noise_share_sigma(privacy.noise_multiplier, sensitivity, privacy.min_contributors)
            noise = secagg.discrete_gaussian(sigma, delta.size, rng)
            note += f", noise share σ={sigma:.4g} (z={privacy.noise_multiplier:g} over {privacy.min_contributors})"
        context = self.keyring.mask_context(round_id)
        seeds = {
            peer: secagg.pairwise_seed(self.keyring.private, me, public, peer, context)
            for peer, public in key_set.items()
            if peer != me
        }
        mask = secagg.total_mask(me, seeds, delta.size)
        data = secagg.encode_masked(secagg.mask_update(quantized, noise, mask), context, me)
        return Packed(data, compute_cid(data), True, note + f", masked with {len(seeds)} trainers")


def _add_gaussian(
    weights: NamedWeights, global_weights: NamedWeights, sigma: float, rng: np.random.Generator
) -> NamedWeights:
    return {
        n: (
            global_weights[n].astype(np.float64)
            + (weights[n].astype(np.float64) - global_weights[n])
            + rng.normal(0.0, sigma, size=weights[n].shape)
        ).astype(np.float32)
        for n in sorted(weights)
    }
