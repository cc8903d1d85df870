"""Sealed updates: a model update only the round's validators can read, though it is pinned on public IPFS.

Threat model. Anyone can fetch the container; only the validators it names (their X25519 keys are
registered on-chain) can read it, and the sender, who chose the content key. A fresh random content
key K encrypts the body (ChaCha20-Poly1305); K is wrapped for each recipient under a key agreed with
a fresh ephemeral X25519 key, so no two wraps share a key and no recipient can forge, or learn
anything about, another's wrap.

The sender is not trusted. It can write a bad wrap for some validator: that validator gets nothing
(`None`) and obtains K from the others in a key bundle (below). It can wrap different keys for
different validators: ChaCha20-Poly1305 is not key-committing, so two keys could open one body to
two plaintexts and split the validators' votes. Hence the header commits to K (SHA-256), and a key
that does not match the commitment is refused: everybody who opens a container reads the same bytes.
Shared secrets that are all zero (low-order points) are refused, since they would make a wrap public.

The header binds the container to one chain, task manager, task, round and sender (it is the
associated data of the body and part of every wrap's key derivation): a copy re-posted in another
task or round, or by another trainer as its own, does not open, and changing it needs K.

The construction follows age's X25519 recipient stanzas and HPKE (RFC 9180) base mode:
X25519, HKDF-SHA256, ChaCha20-Poly1305. Wire format (little-endian)::

    b"DFLSEAL1" || header_len u32 || header || body
    header = version u8 || chain_id u64 || manager 20 B || task_id u64 || round_id u32 || sender 20 B
             || key_commit 32 B || n u16 || n entries sorted by address, each:
                address 20 B || ephemeral public key 32 B || wrapped K 48 B
    key_commit = SHA-256(b"dfl-seal-key-commit-v1" || K)
    kek        = HKDF-SHA256(ikm = X25519(ephemeral, recipient), salt = ephemeral_pub || recipient_pub,
                             info = b"dfl-seal-wrap-v1" || header[version .. sender])
    wrapped K  = ChaCha20-Poly1305(kek, nonce = 0^12, K, associated data = address)
    body       = ChaCha20-Poly1305(K, nonce = 0^12, plaintext, associated data = everything before it)

Zero nonces are safe because every key encrypts exactly one message (K and each kek are fresh).
Parsing does work bounded by the header size, which is checked against the input's length and
against what `max_recipients` entries need before anything is read; format errors carry messages
built only from integers and expected values (they may become consensus data).

A key bundle is a sealed container whose plaintext is canonical JSON {"keys": {"<index>": "<hex K>"}}:
a validator re-wraps the content keys it opened for validators that could not open them. A key
from a bundle is only as good as the update's own commitment, which `open_with_key` checks.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from offchain.errors import DflError
from offchain.privacy.addresses import address_bytes, address_hex
from offchain.privacy.keys import KEY_BYTES, public_key_bytes

MAGIC = b"DFLSEAL1"
VERSION = 1
MAX_RECIPIENTS = 4096  # far above any validator set; bounds what a parser must read
BUNDLE_INDEX_LIMIT = 1 << 16  # reveal indexes in a key bundle are below this

_PREFIX = struct.Struct("<8sI")  # magic, header_len
_CONTEXT = struct.Struct("<BQ20sQI20s")  # version, chain_id, manager, task_id, round_id, sender
_COUNT = struct.Struct("<H")
_ENTRY = struct.Struct("<20s32s48s")  # address, ephemeral public key, wrapped K
_COMMIT_BYTES = 32
_TAG_BYTES = 16
_FIXED_HEADER = _CONTEXT.size + _COMMIT_BYTES + _COUNT.size
_NONCE = bytes(12)
_COMMIT_DOMAIN = b"dfl-seal-key-commit-v1"
_WRAP_DOMAIN = b"dfl-seal-wrap-v1"
_BUNDLE_EMPTY = b'{"keys":{}}'
_BUNDLE_MAX_BYTES = len(_BUNDLE_EMPTY) + BUNDLE_INDEX_LIMIT * len(b'"65535":"' + b"0" * 64 + b'",')
_HEX_DIGITS = frozenset("0123456789abcdef")


class SealedError(DflError, ValueError):
    """Root of the errors raised for sealed containers."""


class SealedFormatError(SealedError):
    """The bytes are not a well-formed sealed container (or key bundle); the message holds no input bytes."""


class SealedOpenError(SealedError):
    """A well-formed container does not open: another context, a key that fails the commitment, or altered."""


@dataclass(frozen=True)
class SealContext:
    """Where a sealed container belongs: one deployment (chain, task manager), task, round and sender."""

    chain_id: int
    manager: str
    task_id: int
    round_id: int
    sender: str

    def __post_init__(self) -> None:
        _check_uint(self.chain_id, 64, "chain_id")
        _check_uint(self.task_id, 64, "task_id")
        _check_uint(self.round_id, 32, "round_id")
        # One spelling (lowercase), so that contexts compare equal whatever case the caller used.
        object.__setattr__(self, "manager", address_hex(address_bytes(self.manager, "manager")))
        object.__setattr__(self, "sender", address_hex(address_bytes(self.sender, "sender")))


@dataclass(frozen=True)
class Recipient:
    """A validator that may read the container, with the X25519 public key it registered."""

    address: str
    public_key: bytes

    def __post_init__(self) -> None:
        object.__setattr__(self, "address", address_hex(address_bytes(self.address, "recipient")))
        if len(self.public_key) != KEY_BYTES:
            raise ValueError(f"an X25519 public key is {KEY_BYTES} bytes, got {len(self.public_key)}")


@dataclass(frozen=True)
class SealedHeader:
    """What anyone can read of a sealed container: its context, key commitment and recipients."""

    context: SealContext
    key_commit: bytes
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class _Entry:
    ephemeral: bytes
    wrapped: bytes


@dataclass(frozen=True)
class _Parsed:
    header: SealedHeader
    context_bytes: bytes
    entries: dict[bytes, _Entry]  # by the recipient's 20 address bytes
    body_start: int


# ----------------------------------------------------------------------------------------- sealing


def seal(plaintext: bytes, context: SealContext, recipients: Sequence[Recipient]) -> bytes:
    """`plaintext` sealed to `recipients` under a fresh content key and fresh ephemeral keys."""
    return seal_with_key(plaintext, context, recipients, os.urandom(KEY_BYTES), X25519PrivateKey.generate)


def seal_with_key(
    plaintext: bytes,
    context: SealContext,
    recipients: Sequence[Recipient],
    key: bytes,
    new_ephemeral: Callable[[], X25519PrivateKey],
) -> bytes:
    """`plaintext` sealed under content key `key`, wrapping it with one `new_ephemeral()` per recipient.

    The caller must give a fresh random key and fresh ephemerals (as `seal` does): both are used with
    a zero nonce. Tests pass their own to build containers a malicious sender could make. Raises
    ValueError for no, too many or duplicate recipients, or a recipient key that is a low-order point
    (see `keys.is_usable_public_key`)."""
    if len(key) != KEY_BYTES:
        raise ValueError(f"a content key is {KEY_BYTES} bytes, got {len(key)}")
    ordered = _ordered_recipients(recipients)
    context_bytes = _context_bytes(context)
    entries = b"".join(_wrap(key, context_bytes, recipient, new_ephemeral()) for recipient in ordered)
    header = context_bytes + _commit(key) + _COUNT.pack(len(ordered)) + entries
    before_body = _PREFIX.pack(MAGIC, len(header)) + header
    return before_body + ChaCha20Poly1305(key).encrypt(_NONCE, plaintext, before_body)


def sealed_overhead(recipients: int) -> int:
    """Bytes a sealed container adds to its plaintext (prefix, header and the body's tag)."""
    return _PREFIX.size + _header_size(recipients) + _TAG_BYTES


def _ordered_recipients(recipients: Sequence[Recipient]) -> list[Recipient]:
    if not 0 < len(recipients) <= MAX_RECIPIENTS:
        raise ValueError(f"a sealed container has 1 to {MAX_RECIPIENTS} recipients, got {len(recipients)}")
    ordered = sorted(recipients, key=lambda recipient: recipient.address)
    for previous, current in zip(ordered, ordered[1:]):
        if previous.address == current.address:
            raise ValueError(f"recipient {current.address} is listed twice")
    return ordered


def _wrap(key: bytes, context_bytes: bytes, recipient: Recipient, ephemeral: X25519PrivateKey) -> bytes:
    shared = _shared_secret(ephemeral, recipient.public_key)
    if shared is None:
        raise ValueError(f"recipient {recipient.address}: its public key is a low-order point")
    ephemeral_public = public_key_bytes(ephemeral)
    kek = _kek(shared, ephemeral_public, recipient.public_key, context_bytes)
    address = address_bytes(recipient.address)
    return _ENTRY.pack(address, ephemeral_public, ChaCha20Poly1305(kek).encrypt(_NONCE, key, address))


# ----------------------------------------------------------------------------------------- parsing


def is_sealed(data: bytes) -> bool:
    """Whether `data` starts like a sealed container (the magic only: parse it to know more)."""
    return data[: len(MAGIC)] == MAGIC


def parse_header(data: bytes, *, max_recipients: int = MAX_RECIPIENTS) -> SealedHeader:
    """The header of a sealed container; SealedFormatError if it is malformed or names too many recipients."""
    return _parse(data, max_recipients).header


def _parse(data: bytes, max_recipients: int = MAX_RECIPIENTS) -> _Parsed:
    if not 0 <= max_recipients <= MAX_RECIPIENTS:
        raise ValueError(f"max_recipients must be between 0 and {MAX_RECIPIENTS}")
    if len(data) < _PREFIX.size:
        raise SealedFormatError(f"shorter than the {_PREFIX.size}-byte prefix")
    magic, header_len = _PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise SealedFormatError("not a sealed container (wrong magic)")
    # Sizes first, before anything is read: the work below is bounded by max_recipients.
    available = len(data) - _PREFIX.size - _TAG_BYTES
    if header_len > available:
        raise SealedFormatError(f"header length {header_len} exceeds the {max(available, 0)} bytes available")
    if not _FIXED_HEADER <= header_len <= _header_size(max_recipients):
        raise SealedFormatError(
            f"header length {header_len} outside {_FIXED_HEADER}..{_header_size(max_recipients)} "
            f"(at most {max_recipients} recipients)"
        )
    version, chain_id, manager, task_id, round_id, sender = _CONTEXT.unpack_from(data, _PREFIX.size)
    if version != VERSION:
        raise SealedFormatError(f"version {version}, expected {VERSION}")
    commit_start = _PREFIX.size + _CONTEXT.size
    (count,) = _COUNT.unpack_from(data, commit_start + _COMMIT_BYTES)
    if count > max_recipients:
        raise SealedFormatError(f"{count} recipients, more than {max_recipients}")
    if header_len != _header_size(count):
        raise SealedFormatError(f"header length {header_len}, expected {_header_size(count)} for {count} recipients")
    body_start = _PREFIX.size + header_len
    entries = _parse_entries(data[commit_start + _COMMIT_BYTES + _COUNT.size : body_start])
    context = SealContext(chain_id, address_hex(manager), task_id, round_id, address_hex(sender))
    key_commit = data[commit_start : commit_start + _COMMIT_BYTES]
    header = SealedHeader(context, key_commit, tuple(address_hex(address) for address in entries))
    return _Parsed(header, data[_PREFIX.size : commit_start], entries, body_start)


def _parse_entries(raw: bytes) -> dict[bytes, _Entry]:
    entries: dict[bytes, _Entry] = {}
    previous = b""
    for index, (address, ephemeral, wrapped) in enumerate(_ENTRY.iter_unpack(raw)):
        # Strictly increasing: one canonical encoding, and no address listed twice.
        if address <= previous:
            raise SealedFormatError(f"recipient entry {index} is a duplicate or out of address order")
        entries[address] = _Entry(ephemeral, wrapped)
        previous = address
    return entries


def _header_size(recipients: int) -> int:
    return _FIXED_HEADER + recipients * _ENTRY.size


# ----------------------------------------------------------------------------------------- opening


def unwrap_key(data: bytes, address: str, private_key: X25519PrivateKey) -> bytes | None:
    """The content key wrapped for `address`, if its wrap opens with `private_key` and matches the
    key commitment; None otherwise (no entry, bad wrap, commitment mismatch)."""
    return _unwrap(_parse(data), address, private_key)


def open_with_key(data: bytes, key: bytes, expected: SealContext) -> bytes:
    """The plaintext, decrypted with `key` (from `unwrap_key` or a key bundle).

    Raises SealedOpenError if the container was sealed for another context, `key` fails the key
    commitment or the body does not decrypt; SealedFormatError if the container is malformed."""
    parsed = _parse(data)
    _check_context(parsed.header.context, expected)
    return _decrypt_body(parsed, data, key)


def open_sealed(data: bytes, expected: SealContext, address: str, private_key: X25519PrivateKey) -> bytes | None:
    """The plaintext if `address` can open the container with `private_key`, None if it cannot.

    Raises SealedFormatError for a malformed container and SealedOpenError for a container of
    another context or one whose body was altered (the same for everyone who holds the key)."""
    parsed = _parse(data)
    _check_context(parsed.header.context, expected)
    key = _unwrap(parsed, address, private_key)
    return None if key is None else _decrypt_body(parsed, data, key)


def _unwrap(parsed: _Parsed, address: str, private_key: X25519PrivateKey) -> bytes | None:
    address_raw = address_bytes(address)
    entry = parsed.entries.get(address_raw)
    if entry is None:
        return None
    shared = _shared_secret(private_key, entry.ephemeral)
    if shared is None:
        return None
    kek = _kek(shared, entry.ephemeral, public_key_bytes(private_key), parsed.context_bytes)
    try:
        key = ChaCha20Poly1305(kek).decrypt(_NONCE, entry.wrapped, address_raw)
    except InvalidTag:
        return None
    return key if hmac.compare_digest(_commit(key), parsed.header.key_commit) else None


def _decrypt_body(parsed: _Parsed, data: bytes, key: bytes) -> bytes:
    if len(key) != KEY_BYTES:
        raise SealedOpenError(f"a content key is {KEY_BYTES} bytes, got {len(key)}")
    if not hmac.compare_digest(_commit(key), parsed.header.key_commit):
        raise SealedOpenError("the key does not match the container's key commitment")
    try:
        return ChaCha20Poly1305(key).decrypt(_NONCE, data[parsed.body_start :], data[: parsed.body_start])
    except InvalidTag:
        raise SealedOpenError("the body does not decrypt: the container was altered") from None


def _check_context(actual: SealContext, expected: SealContext) -> None:
    if actual == expected:
        return
    fields = ("chain_id", "manager", "task_id", "round_id", "sender")
    wrong = [name for name in fields if getattr(actual, name) != getattr(expected, name)]
    # Expected values only: the message never echoes what the container says.
    details = ", ".join(f"{name} (expected {getattr(expected, name)})" for name in wrong)
    raise SealedOpenError(f"sealed for another context: {details}")


# ------------------------------------------------------------------------------------- key bundles


def seal_key_bundle(keys: Mapping[int, bytes], context: SealContext, recipients: Sequence[Recipient]) -> bytes:
    """The content keys a validator opened (by reveal index), sealed to `recipients`."""
    return seal(_bundle_json(keys), context, recipients)


def open_key_bundle(
    data: bytes, expected: SealContext, address: str, private_key: X25519PrivateKey
) -> dict[int, bytes]:
    """The content keys in a key bundle by reveal index; empty if `address` cannot open it.

    Raises SealedFormatError for a malformed container or bundle, SealedOpenError for a bundle of
    another context or an altered one. Each key must still be checked against its update's
    commitment (`open_with_key` does)."""
    plaintext = open_sealed(data, expected, address, private_key)
    return {} if plaintext is None else _parse_bundle(plaintext)


def _bundle_json(keys: Mapping[int, bytes]) -> bytes:
    for index, key in keys.items():
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < BUNDLE_INDEX_LIMIT:
            raise ValueError(f"a key bundle index is an integer in 0..{BUNDLE_INDEX_LIMIT - 1}")
        if len(key) != KEY_BYTES:
            raise ValueError(f"a content key is {KEY_BYTES} bytes, got {len(key)}")
    document = {"keys": {str(index): key.hex() for index, key in keys.items()}}
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("ascii")


def _parse_bundle(plaintext: bytes) -> dict[int, bytes]:
    if len(plaintext) > _BUNDLE_MAX_BYTES:
        raise SealedFormatError(f"key bundle of {len(plaintext)} bytes, more than {_BUNDLE_MAX_BYTES}")
    # Exactly the bundle's two objects and no arrays: the JSON parser cannot be made to recurse.
    if plaintext.count(b"{") != 2 or b"[" in plaintext:
        raise SealedFormatError("key bundle is not a JSON object of keys")
    try:
        document = json.loads(plaintext)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        raise SealedFormatError("key bundle is not JSON") from None
    if not isinstance(document, dict) or list(document) != ["keys"] or not isinstance(document["keys"], dict):
        raise SealedFormatError('key bundle is not {"keys": {...}}')
    keys = {_bundle_index(index): _bundle_key(key) for index, key in document["keys"].items()}
    # Canonical bytes only (sorted, compact, lowercase, no duplicate indexes): one bundle, one encoding.
    if _bundle_json(keys) != plaintext:
        raise SealedFormatError("key bundle is not canonical JSON")
    return keys


def _bundle_index(text: object) -> int:
    digits = len(str(BUNDLE_INDEX_LIMIT - 1))
    if not isinstance(text, str) or not 0 < len(text) <= digits or not text.isascii() or not text.isdigit():
        raise SealedFormatError(f"key bundle index is not a decimal integer below {BUNDLE_INDEX_LIMIT}")
    index = int(text)
    if index >= BUNDLE_INDEX_LIMIT or text != str(index):
        raise SealedFormatError(f"key bundle index is not a decimal integer below {BUNDLE_INDEX_LIMIT}")
    return index


def _bundle_key(text: object) -> bytes:
    if not isinstance(text, str) or len(text) != 2 * KEY_BYTES or not set(text) <= _HEX_DIGITS:
        raise SealedFormatError(f"key bundle key is not {2 * KEY_BYTES} lowercase hex digits")
    return bytes.fromhex(text)


# ----------------------------------------------------------------------------------------- helpers


def _context_bytes(context: SealContext) -> bytes:
    manager, sender = address_bytes(context.manager), address_bytes(context.sender)
    return _CONTEXT.pack(VERSION, context.chain_id, manager, context.task_id, context.round_id, sender)


def _commit(key: bytes) -> bytes:
    return hashlib.sha256(_COMMIT_DOMAIN + key).digest()


def _shared_secret(private_key: X25519PrivateKey, public_key: bytes) -> bytes | None:
    """X25519(private, public), or None for the all-zero secret a low-order point gives."""
    try:
        shared = private_key.exchange(X25519PublicKey.from_public_bytes(public_key))
    except ValueError:  # OpenSSL refuses the all-zero result itself; checked below all the same
        return None
    return None if shared == bytes(KEY_BYTES) else shared


def _kek(shared: bytes, ephemeral_public: bytes, recipient_public: bytes, context_bytes: bytes) -> bytes:
    salt = ephemeral_public + recipient_public
    hkdf = HKDF(algorithm=SHA256(), length=KEY_BYTES, salt=salt, info=_WRAP_DOMAIN + context_bytes)
    return hkdf.derive(shared)


def _check_uint(value: int, bits: int, name: str) -> None:
    if not isinstance(value, int) or not 0 <= value < 1 << bits:
        raise ValueError(f"{name} must be an integer in 0..2**{bits}-1")
