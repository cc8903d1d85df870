"""A round's key set: whose X25519 keys the round's updates are sealed to, or masked with.

Everyone must agree on it without talking: a SecAgg trainer masks with every other trainer of the
set, and validators remove the masks of the set's dropouts. So it is a pure function of on-chain
data (IFLPrivacy's conventions): the keys registered in a block with timestamp before the round's
`commitStartsAt` (a key registered during the Commit phase joins from the next round), minus the
accounts that requested exit before it (their `unlockAt` minus the task's exit cooldown is the
time of the request). Accounts leave the set only by exit: a trainer deactivated by a slash stays
in it and simply drops out. A key no shared secret can be agreed with (a low-order point, which
would make every wrap or mask with it public) is never in the set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from offchain.privacy.keys import is_usable_public_key


@dataclass(frozen=True)
class RegisteredKey:
    """An EncryptionKeyRegistered event with the time the contract stored for it."""

    account: str
    public_key: bytes
    registered_at: int


def exit_times(requests: Iterable[tuple[str, int]], exit_cooldown: int) -> dict[str, int]:
    """Account -> time of its exit request, from ExitRequested (account, unlockAt) pairs."""
    return {account.lower(): unlock_at - exit_cooldown for account, unlock_at in requests}


def round_key_set(keys: Iterable[RegisteredKey], exits: Mapping[str, int], commit_starts_at: int) -> dict[str, bytes]:
    """Address (lower case) -> public key of the round's key set, in ascending address order."""
    members = {
        k.account.lower(): k.public_key
        for k in keys
        if k.registered_at < commit_starts_at
        and exits.get(k.account.lower(), commit_starts_at) >= commit_starts_at
        and is_usable_public_key(k.public_key)
    }
    return dict(sorted(members.items(), key=lambda item: int(item[0], 16)))
