"""Which revealed updates a round aggregates, decided alike by every validator from on-chain data.

Each validator attests in the Attest phase to the updates it holds (an AvailabilityAttested event:
bitmap over reveal indexes, its weight, the round's stake snapshot). With T that snapshot (the same
in every attestation of the round; taken from the first) and att(i) the summed weight of the
validators attesting update i (the weights of a round sum to at most T):

  included     att(i) >= quorum * T          some honest validator holds it (colluders hold less
                                             than quorum), so the others can fetch it from the network
  unavailable  att(i) <= (1 - quorum) * T    even the honest validators did not get it: penalized
  under_attested otherwise                   left out, not penalized (honest validators may
                                             disagree at the margin)

If the attesters together hold less than quorum * T, the round has no availability verdict at all:
nothing is aggregated or penalized for availability (the validators, not the trainers, were missing).
All comparisons are on integers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from offchain.units import BPS


@dataclass(frozen=True)
class Attestation:
    """An AvailabilityAttested event, in chain order."""

    validator: str
    held: bytes
    weight: int
    total_stake: int


@dataclass(frozen=True)
class Availability:
    included: frozenset[int]
    unavailable: frozenset[int]
    attested_bps: dict[int, int]  # index -> att(i) in basis points of T (rounded down)
    void: bool  # the attesters together held less than quorum: no verdict

    def status(self, index: int) -> str:
        if self.void:
            return "void"
        if index in self.included:
            return "included"
        return "unavailable" if index in self.unavailable else "under_attested"


def holds(bitmap: bytes, index: int) -> bool:
    """Bit `index` of an attestation bitmap (bit i of byte i // 8, least significant first)."""
    return index // 8 < len(bitmap) and bool(bitmap[index // 8] >> (index % 8) & 1)


def bitmap(held: Sequence[int], reveals: int) -> bytes:
    """The attestation bitmap of the reveal indexes `held`, for a round with `reveals` reveals."""
    bits = bytearray((reveals + 7) // 8)
    for i in held:
        bits[i // 8] |= 1 << (i % 8)
    return bytes(bits)


def decide(reveals: int, attestations: Sequence[Attestation], quorum_bps: int) -> Availability:
    """The round's availability verdicts from its attestations (chain order; a validator counts once)."""
    seen: set[str] = set()
    unique = []
    for att in attestations:
        if att.validator.lower() not in seen:
            seen.add(att.validator.lower())
            unique.append(att)
    total = unique[0].total_stake if unique else 0
    attesting = sum(a.weight for a in unique)
    held = {i: sum(a.weight for a in unique if holds(a.held, i)) for i in range(reveals)}
    bps = {i: (w * BPS // total if total else 0) for i, w in held.items()}
    if total == 0 or attesting * BPS < quorum_bps * total:
        return Availability(frozenset(), frozenset(), bps, void=True)
    included = frozenset(i for i, w in held.items() if w * BPS >= quorum_bps * total)
    unavailable = frozenset(i for i, w in held.items() if w * BPS <= (BPS - quorum_bps) * total)
    return Availability(included, unavailable, bps, void=False)
