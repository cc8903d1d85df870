"""A worker's X25519 key for a task, its registration, and the round key sets it reads from the chain.

The key is derived from the worker's Ethereum account key (`offchain.privacy.keys`), so it needs no
file of its own: a worker restarted anywhere with the same keystore has the same key. It is never
logged; only the public half leaves the process (`IFLPrivacy.registerKey`).
"""

from __future__ import annotations

import logging

from offchain.chain.manager import PRIVACY_CONTRACT, TaskManager
from offchain.chain.protocol import PrivacyMode, Role
from offchain.privacy.keys import derive_private_key, public_key_bytes
from offchain.privacy.roster import RegisteredKey, exit_times, round_key_set
from offchain.privacy.sealed import SealContext
from offchain.privacy.secagg import MaskContext
from offchain.services.context import WorkerError

log = logging.getLogger(__name__)

ZERO_KEY = b"\0" * 32


class Keyring:
    def __init__(self, chain: TaskManager, task_id: int, role: Role) -> None:
        if chain.account is None:
            raise ValueError("a keyring needs a signing account")
        self.chain, self.task_id, self.role = chain, task_id, role
        self.me = chain.account.address.lower()
        self.params = chain.task_params(task_id)
        self.chain_id = chain.deployment.chain_id
        self.manager = chain.manager.address
        self.private = derive_private_key(bytes(chain.account.key), self.chain_id, self.manager, task_id)
        self.public = public_key_bytes(self.private)
        self._registered_at: dict[str, int] = {}

    @property
    def needed(self) -> bool:
        """Whether this role takes a key in the task's mode (validators in sealed, trainers in secagg)."""
        mode = self.params.privacy.mode
        return (mode == PrivacyMode.SEALED and self.role == Role.VALIDATOR) or (
            mode == PrivacyMode.SECAGG and self.role == Role.TRAINER
        )

    def ensure_registered(self) -> None:
        """Register this worker's public key once (after it staked); a different key on record is an error."""
        if not self.needed:
            return
        registered, _ = self.chain.encryption_key(self.task_id, self.me)
        if registered == self.public:
            return
        if registered != ZERO_KEY:
            raise WorkerError(
                f"task {self.task_id} holds another X25519 key for {self.me} than the one this account derives: "
                "it was registered by other software, so this worker cannot open or mask updates with it"
            )
        self.chain.register_key(self.task_id, self.public)
        log.info("%s registered its X25519 key for task %d", self.me, self.task_id)

    def key_set(self, round_id: int) -> dict[str, bytes]:
        """The round's key set (IFLPrivacy's conventions), address -> public key, ascending."""
        (started,) = self.chain.events("RoundStarted", taskId=self.task_id, round=round_id)
        events = self.chain.events("EncryptionKeyRegistered", contract=PRIVACY_CONTRACT, taskId=self.task_id)
        keys = [
            RegisteredKey(str(e.args["account"]), bytes(e.args["publicKey"]), self._registered(str(e.args["account"])))
            for e in events
        ]
        requests = [
            (str(e.args["account"]), int(e.args["unlockAt"]))
            for e in self.chain.events("ExitRequested", taskId=self.task_id)
        ]
        exits = exit_times(requests, self.params.exit_cooldown)
        return round_key_set(keys, exits, int(started.args["commitStartsAt"]))

    def _registered(self, account: str) -> int:
        """When `account`'s key was registered (the contract keeps it; it never changes)."""
        key = account.lower()
        if key not in self._registered_at:
            self._registered_at[key] = self.chain.encryption_key(self.task_id, account)[1]
        return self._registered_at[key]

    def mask_context(self, round_id: int) -> MaskContext:
        return MaskContext(self.chain_id, self.manager, self.task_id, round_id)

    def seal_context(self, round_id: int, sender: str) -> SealContext:
        return SealContext(self.chain_id, self.manager, self.task_id, round_id, sender)
