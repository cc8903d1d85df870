"""X25519 keys for sealed updates, derived from the worker's Ethereum key.

A worker's X25519 key for a task is HKDF-SHA256 of its Ethereum private key, bound to the
chain, the task manager and the task: a worker restarted on any machine with the same keystore
recovers the key it registered, so there is nothing new to back up, and keys of different tasks
(or deployments) are unrelated, so publishing one task's key material reveals nothing of another.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from offchain.privacy.addresses import address_bytes

KEY_BYTES = 32  # an X25519 key, private or public, and an Ethereum private key
_DERIVE_SALT = b"dfl-x25519-v1"


def derive_private_key(eth_private_key: bytes, chain_id: int, manager: str, task_id: int) -> X25519PrivateKey:
    """The worker's X25519 key for one task: the same inputs always give the same key."""
    if len(eth_private_key) != KEY_BYTES:
        raise ValueError(f"an Ethereum private key is {KEY_BYTES} bytes, got {len(eth_private_key)}")
    info = _uint256(chain_id, "chain_id") + address_bytes(manager, "manager") + _uint256(task_id, "task_id")
    hkdf = HKDF(algorithm=SHA256(), length=KEY_BYTES, salt=_DERIVE_SALT, info=info)
    # X25519 clamps any 32 bytes into a valid scalar, so the HKDF output is used as is.
    return X25519PrivateKey.from_private_bytes(hkdf.derive(eth_private_key))


def public_key_bytes(key: X25519PrivateKey) -> bytes:
    """The 32 raw bytes of `key`'s public key, as registered on-chain."""
    return key.public_key().public_bytes_raw()


def load_public_key(raw: bytes) -> X25519PublicKey:
    """An X25519 public key from its 32 raw bytes; ValueError for any other length."""
    if len(raw) != KEY_BYTES:
        raise ValueError(f"an X25519 public key is {KEY_BYTES} bytes, got {len(raw)}")
    return X25519PublicKey.from_public_bytes(raw)


def is_usable_public_key(raw: bytes) -> bool:
    """Whether anything can be sealed to `raw`: 32 bytes and not a low-order point.

    A low-order point gives the all-zero shared secret with every private key (X25519 scalars are
    multiples of the cofactor), so a wrap to it would be readable by anyone; sealers skip such keys."""
    if len(raw) != KEY_BYTES:
        return False
    try:
        shared = X25519PrivateKey.generate().exchange(X25519PublicKey.from_public_bytes(raw))
    except ValueError:  # OpenSSL refuses the all-zero result itself
        return False
    return shared != bytes(KEY_BYTES)


def _uint256(value: int, name: str) -> bytes:
    if not 0 <= value < 1 << 256:
        raise ValueError(f"{name} must be a uint256")
    return value.to_bytes(32, "big")
