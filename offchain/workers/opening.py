"""A validator's side of sealed updates: opening them, and sharing the content keys it opened.

An update of a sealed task counts as held (and is attested) only once it opened: with this
validator's own wrap, or with a content key from another validator's key bundle (published through
`IFLPrivacy.publishKeyBundle`). Keys are checked against the update's own key commitment, so a
bundle from a dishonest validator can only fail to help. Bundles let a validator that registered
after the trainer sealed, or that was given a bad wrap, read every update a quorum holds, so a
trainer's bad wrap cannot cost an honest validator its vote.
"""

from __future__ import annotations

import logging

from offchain.chain.manager import PRIVACY_CONTRACT, TaskManager
from offchain.chain.protocol import Role
from offchain.errors import IpfsError
from offchain.fl.round import Reveal
from offchain.privacy.keys import is_usable_public_key
from offchain.privacy.sealed import (
    Recipient,
    SealedError,
    open_key_bundle,
    open_with_key,
    seal_key_bundle,
    unwrap_key,
)
from offchain.storage.ipfs import IpfsStore
from offchain.workers.keyring import Keyring

log = logging.getLogger(__name__)

BUNDLE_MAX_BYTES = 1 << 20


class SealedOpener:
    def __init__(self, chain: TaskManager, store: IpfsStore, keyring: Keyring, name: str) -> None:
        self.chain, self.store, self.keyring, self.name = chain, store, keyring, name
        self.keys: dict[tuple[int, int], bytes] = {}  # (round, index) -> content key that opened it
        self._read_bundles: set[str] = set()
        self._bundle_keys: dict[tuple[int, int], list[bytes]] = {}
        self._published: dict[int, set[int]] = {}  # round -> indexes already shared

    def open(self, round_id: int, reveal: Reveal, data: bytes) -> bytes | None:
        """The plaintext of a sealed update, or None while no key this validator has opens it."""
        context = self.keyring.seal_context(round_id, reveal.trainer)
        candidates = []
        own = unwrap_key(data, self.keyring.me, self.keyring.private)
        if own is not None:
            candidates.append(own)
        candidates += self._bundle_keys.get((round_id, reveal.index), [])
        for key in candidates:
            try:
                plaintext = open_with_key(data, key, context)
            except SealedError:
                continue
            self.keys[(round_id, reveal.index)] = key
            return plaintext
        return None

    def read_bundles(self, round_id: int) -> int:
        """Fetch the round's key bundles not read yet; the number of new keys found for this validator."""
        found = 0
        events = self.chain.events(
            "KeyBundlePublished", contract=PRIVACY_CONTRACT, taskId=self.keyring.task_id, round=round_id
        )
        for event in events:
            cid, sender = str(event.args["bundleCid"]), str(event.args["validator"]).lower()
            if cid in self._read_bundles or sender == self.keyring.me:
                continue
            try:
                data = self.store.get(cid, max_bytes=BUNDLE_MAX_BYTES, timeout=5.0)
            except IpfsError as exc:
                log.info("%s: key bundle %s of %s not readable yet: %s", self.name, cid, sender, exc)
                continue
            self._read_bundles.add(cid)
            try:
                keys = open_key_bundle(
                    data, self.keyring.seal_context(round_id, sender), self.keyring.me, self.keyring.private
                )
            except SealedError as exc:
                log.info("%s: key bundle %s of %s is unusable: %s", self.name, cid, sender, exc)
                continue
            for index, key in keys.items():
                self._bundle_keys.setdefault((round_id, index), []).append(key)
                found += 1
        return found

    def share(self, round_id: int) -> None:
        """Publish the content keys opened in `round_id` and not shared yet, wrapped to the round's
        other validators with a key (nothing to do alone, or when everything was shared)."""
        opened = {i: k for (r, i), k in self.keys.items() if r == round_id}
        new = set(opened) - self._published.get(round_id, set())
        recipients = self.bundle_recipients()
        if not new or not recipients:
            return
        data = seal_key_bundle(opened, self.keyring.seal_context(round_id, self.keyring.me), recipients)
        cid = self.store.put(data)
        self.chain.publish_key_bundle(self.keyring.task_id, cid)
        self._published.setdefault(round_id, set()).update(opened)
        log.info(
            "%s: round %d: shared %d content keys with %d validators", self.name, round_id, len(opened), len(recipients)
        )

    def bundle_recipients(self) -> list[Recipient]:
        """The other validators a bundle is for: every one with a key that is active and has not asked
        to exit, late registrants included (they are who bundles are for). A validator that left, is
        leaving or was slashed out of the task reads no more of its updates."""
        task = self.keyring.task_id
        events = self.chain.events("EncryptionKeyRegistered", contract=PRIVACY_CONTRACT, taskId=task)
        keys = {str(e.args["account"]).lower(): bytes(e.args["publicKey"]) for e in events}
        recipients = []
        for address, public in sorted(keys.items()):
            if address == self.keyring.me or not is_usable_public_key(public):
                continue
            member = self.chain.participant(task, address)
            if member.role == Role.VALIDATOR and member.active and not member.exiting:
                recipients.append(Recipient(address, public))
        return recipients

    def forget_before(self, round_id: int) -> None:
        for store in (self.keys, self._bundle_keys):
            for key in [k for k in store if k[0] < round_id]:
                del store[key]
