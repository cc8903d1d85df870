"""What a validator feeds the round computation: the round's reveals and attestations from the chain,
and the updates' bytes from IPFS (fetched once, verified against their CIDs, pinned, held)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from offchain.chain.manager import PRIVACY_CONTRACT, TaskManager
from offchain.errors import ContentTooLargeError, IpfsError
from offchain.fl.availability import Attestation
from offchain.fl.round import Reveal
from offchain.fl.screening import TOO_LARGE, TooLarge
from offchain.storage.ipfs import IpfsStore

log = logging.getLogger(__name__)


def reveals_of(chain: TaskManager, task_id: int, round_id: int) -> list[Reveal]:
    events = chain.events("UpdateRevealed", taskId=task_id, round=round_id)
    return [
        Reveal(
            int(e.args["index"]), str(e.args["trainer"]).lower(), str(e.args["updateCid"]), int(e.args["numSamples"])
        )
        for e in events
    ]


def mask_seeds_of(chain: TaskManager, task_id: int, round_id: int) -> dict[str, bytes]:
    """Each SecAgg trainer's published seeds of the round (the contract accepts one publication)."""
    events = chain.events("MaskSeedsPublished", contract=PRIVACY_CONTRACT, taskId=task_id, round=round_id)
    return {str(e.args["trainer"]).lower(): bytes(e.args["seeds"]) for e in events}


def attestations_of(chain: TaskManager, task_id: int, round_id: int) -> list[Attestation]:
    """The round's availability attestations in chain order (each carries the round's stake snapshot)."""
    events = chain.events("AvailabilityAttested", taskId=task_id, round=round_id)
    return [
        Attestation(
            str(e.args["validator"]).lower(),
            bytes(e.args["held"]),
            int(e.args["weight"]),
            int(e.args["totalValidatorStake"]),
        )
        for e in events
    ]


# Opens a fetched update (a sealed one): its plaintext, or None while it does not open.
Opener = Callable[[int, Reveal, bytes], "bytes | None"]


@dataclass
class UpdateHolder:
    """Fetches revealed updates, keeps what it got (bytes, or TOO_LARGE when the file exceeds the
    task's limit) and pins it on the validator's node, so that other validators can fetch it too.
    With an `opener` (sealed tasks) an update is held only once it opened, and `content` is its
    plaintext; what is pinned and served again is always the bytes its CID names."""

    store: IpfsStore
    max_bytes: int
    name: str
    opener: Opener | None = None
    held: dict[tuple[int, int], bytes | TooLarge] = field(default_factory=dict)  # (round, index) -> content
    opened: dict[tuple[int, int], bytes] = field(default_factory=dict)  # (round, index) -> plaintext

    def has(self, round_id: int, index: int) -> bool:
        key = (round_id, index)
        if key not in self.held:
            return False
        return self.opener is None or key in self.opened or isinstance(self.held[key], TooLarge)

    def content(self, round_id: int, index: int) -> bytes | TooLarge:
        key = (round_id, index)
        return self.opened[key] if key in self.opened else self.held[key]

    def fetch(self, round_id: int, reveal: Reveal, *, timeout: float) -> bool:
        """Try once to get `reveal`'s content (and open it); True if it is held now."""
        if self.has(round_id, reveal.index):
            return True
        if (round_id, reveal.index) in self.held:
            return self._open(round_id, reveal)
        try:
            data = self.store.get(reveal.cid, max_bytes=self.max_bytes, timeout=max(timeout, 0.5))
        except ContentTooLargeError:
            self.held[(round_id, reveal.index)] = TOO_LARGE
            return True
        except IpfsError as exc:  # not retrievable (yet), not a CID, or bytes that do not hash to it
            log.info("%s: update %d of %s not held yet: %s", self.name, reveal.index, reveal.trainer, exc)
            return False
        try:
            self.store.pin(reveal.cid)  # our node keeps serving it, whatever its trainer does
        except IpfsError as exc:
            log.warning("%s: could not pin %s: %s", self.name, reveal.cid, exc)
        self.held[(round_id, reveal.index)] = data
        return self._open(round_id, reveal)

    def _open(self, round_id: int, reveal: Reveal) -> bool:
        key = (round_id, reveal.index)
        data = self.held[key]
        if self.opener is None or isinstance(data, TooLarge):
            return True
        plaintext = self.opener(round_id, reveal, data)
        if plaintext is None:
            return False
        self.opened[key] = plaintext
        return True

    def fetch_all(self, round_id: int, reveals: list[Reveal], *, deadline: float, per_update: float) -> list[int]:
        """Fetch what is not held yet, until `deadline` (monotonic); the indexes held afterwards."""
        for reveal in reveals:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.fetch(round_id, reveal, timeout=min(per_update, left))
        return sorted(r.index for r in reveals if self.has(round_id, r.index))

    def serve(self, round_id: int, indexes: list[int]) -> None:
        """Add held updates to this validator's IPFS node again (pinned), so that the network keeps
        serving them whatever their trainers do (unpinning, taking their node down)."""
        for index in indexes:
            content = self.held.get((round_id, index))
            if isinstance(content, bytes):
                try:
                    self.store.put(content)
                except IpfsError as exc:
                    log.warning("%s: could not serve update %d again: %s", self.name, index, exc)

    def forget_before(self, round_id: int) -> None:
        for kept in (self.held, self.opened):
            for key in [k for k in kept if k[0] < round_id]:
                del kept[key]
