"""The `secagg` scheme in the incentive simulation: each trainer agent's X25519 key, the masked vector
it pins instead of its plaintext update, the seeds it publishes for the round's dropouts, and the
terms validators compute the round with (`offchain.fl.secure_round.compute_secure_round`).

Everything a `dfl trainer` of a SecAgg task does (`offchain.workers.packing`) except that keys are
derived from the agent's name and quantization is seeded, so every run is reproducible. Agents never
exit, so a round's key set is every registered trainer agent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from offchain.fl.receipt import PrivacyEntry
from offchain.fl.secure_round import SecureTerms
from offchain.privacy import secagg
from offchain.privacy.keys import public_key_bytes
from offchain.types import NamedWeights

CHAIN_ID = 31337  # anvil's
MANAGER = "0x" + "5e" * 20  # any fixed address: masks and files only need every party to use the same one
MIN_CONTRIBUTORS = 2
NO_DP = PrivacyEntry("secagg", "none", "trainer", 0, 0, 0, 0)


def mask_key(name: str) -> X25519PrivateKey:
    """The agent's X25519 key, derived from its name: the same key in every run."""
    return X25519PrivateKey.from_private_bytes(hashlib.sha256(f"dfl-incentives-x25519-{name}".encode()).digest())


def flat_change(weights: NamedWeights, parent: NamedWeights) -> np.ndarray:
    """weights - parent in float64, tensors in name order (the order the secure sum is read back in)."""
    return np.concatenate(
        [weights[n].astype(np.float64).reshape(-1) - parent[n].astype(np.float64).reshape(-1) for n in sorted(parent)]
    )


@dataclass(frozen=True)
class SecaggRound:
    """One round of a SecAgg task as its trainers and validators see it."""

    context: secagg.MaskContext
    key_set: dict[str, bytes]  # every trainer agent's address -> its X25519 public key
    clip_micro: int  # the task's maxDeltaNormMicro: the clip C
    scale_bits: int

    @classmethod
    def of(cls, names: dict[str, str], task_id: int, round_id: int, clip_micro: int, scale_bits: int) -> SecaggRound:
        """`names`: address -> agent name of every registered trainer agent."""
        keys = {address: public_key_bytes(mask_key(name)) for address, name in sorted(names.items())}
        return cls(secagg.MaskContext(CHAIN_ID, MANAGER, task_id, round_id), keys, clip_micro, scale_bits)

    @property
    def terms(self) -> SecureTerms:
        return SecureTerms(self.context, self.clip_micro, self.scale_bits, MIN_CONTRIBUTORS, 0, NO_DP)

    def masked(self, address: str, name: str, change: np.ndarray, quantize_seed: int) -> bytes:
        """The bytes a trainer pins: its change clipped to C and quantized (`secagg.quantize`), plus its
        masks with every other trainer of the key set. Every strategy goes through this clip: a vector
        longer than honest clipped updates can make the round's sum out of bounds, and then nobody,
        the attacker included, is paid; a rational attacker therefore clips too."""
        rng = np.random.default_rng(quantize_seed)
        quantized = secagg.quantize(change, self.clip_micro / secagg.MICRO, self.scale_bits, rng)
        key = mask_key(name)
        seeds = {
            peer: secagg.pairwise_seed(key, address, public, peer, self.context)
            for peer, public in self.key_set.items()
            if peer != address
        }
        words = secagg.mask_update(quantized, np.zeros_like(quantized), secagg.total_mask(address, seeds, change.size))
        return secagg.encode_masked(words, self.context, address)

    def dropouts(self, revealed: Sequence[str]) -> list[str]:
        """Trainers of the key set that did not reveal, in ascending address order."""
        return sorted(set(self.key_set) - {t.lower() for t in revealed})

    def seeds(self, address: str, name: str, dropouts: Sequence[str]) -> bytes:
        """What a trainer that revealed publishes: its pairwise seed with each dropout, in order."""
        key = mask_key(name)
        return b"".join(secagg.pairwise_seed(key, address, self.key_set[d], d, self.context) for d in sorted(dropouts))
