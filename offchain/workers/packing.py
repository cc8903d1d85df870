"""What a trainer pins for its update, in each privacy mode.

- plaintext: the clipped update as canonical safetensors (checked the way validators check it);
- sealed: the same bytes, encrypted to the round's validators (`offchain.privacy.sealed`);
- secagg: the clipped change, quantized, noised (with a DP budget) and masked with every other
  trainer of the round's key set (`offchain.privacy.secagg`). Its CID is committed at once but the
  bytes are pinned only after the reveal is on-chain: a trainer that drops out before revealing
  never publishes a vector whose masks the survivors' seeds could partly remove.
With a DP budget in plaintext and sealed tasks, each update is noised on its own (local DP):
N(0, (z·clip)²) on every coordinate of its clipped change.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

import numpy as np

from offchain.chain.protocol import PrivacyMode, TaskParams
from offchain.fl.clipping import MICRO, change_norm, clip_to_bound
from offchain.fl.codec import encode_weights
from offchain.fl.records import Update, Verdict
from offchain.fl.screening import check_values
from offchain.privacy import secagg
from offchain.privacy.dp_bounds import screening_bound_micro
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

    def pack(self, round_id: int, trainer: str, global_weights: NamedWeights, trained: NamedWeights) -> Packed | Skip:
        if self.mode == PrivacyMode.SECAGG:
            return self._masked(round_id, trainer, global_weights, trained)
        checked = self._clipped_and_noised(round_id, global_weights, trained)
        if isinstance(checked, Skip):
            return checked
        weights, note = checked
        data = encode_weights(weights)
        if self.mode == PrivacyMode.SEALED:
            recipients = self._validators(round_id)
            if not recipients:
                return Skip("no_recipients", "no validator of the round registered an X25519 key to seal the update to")
            assert self.keyring is not None
            data = seal(data, self.keyring.seal_context(round_id, trainer), recipients)
            note += f"; sealed to {len(recipients)} validators"
        return Packed(data, compute_cid(data), False, note)

    # --- plaintext and sealed ---------------------------------------------------------

    def _clipped_and_noised(
        self, round_id: int, global_weights: NamedWeights, trained: NamedWeights
    ) -> tuple[NamedWeights, str] | Skip:
        bound = self.params.max_delta_norm_micro
        clipped = clip_to_bound(trained, global_weights, bound)
        note = ""
        if clipped is not trained:
            note = f"change norm {change_norm(trained, global_weights):.4f} clipped to {bound / MICRO:.4f}"
        privacy = self.params.privacy
        if privacy.dp:
            clipped = _add_gaussian(clipped, global_weights, privacy.noise_multiplier * bound / MICRO, noise_rng())
            note = (note + "; " if note else "") + f"local DP noise z={privacy.noise_multiplier:g}"
        size = sum(int(w.size) for w in global_weights.values())
        verdict = check_values(Update("me", 1, clipped), global_weights, screening_bound_micro(self.params, size))
        if isinstance(verdict, Verdict):
            assert verdict.reason is not None
            return Skip(str(verdict.reason), verdict.detail)
        return clipped, note

    def _validators(self, round_id: int) -> list[Recipient]:
        assert self.keyring is not None
        return [Recipient(a, k) for a, k in self.keyring.key_set(round_id).items()]

    # --- secagg -----------------------------------------------------------------------

    def _masked(
        self, round_id: int, trainer: str, global_weights: NamedWeights, trained: NamedWeights
    ) -> Packed | Skip:
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
        names = sorted(global_weights)
        delta = np.concatenate(
            [
                trained[n].astype(np.float64).reshape(-1) - global_weights[n].astype(np.float64).reshape(-1)
                for n in names
            ]
        )
        clip = self.params.max_delta_norm_micro / MICRO
        rng = noise_rng()
        quantized = secagg.quantize(delta, clip, privacy.scale_bits, rng)
        noise = np.zeros_like(quantized)
        note = f"clipped to {clip:g}, quantized at 2^-{privacy.scale_bits}"
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
