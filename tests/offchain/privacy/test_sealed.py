from __future__ import annotations

import dataclasses
import os
import struct
import tracemalloc

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from offchain.fl.codec import decode_weights, encode_weights
from offchain.fl.errors import InvalidUpdateError
from offchain.privacy.keys import derive_private_key, public_key_bytes
from offchain.privacy.sealed import (
    Recipient,
    SealContext,
    SealedError,
    SealedFormatError,
    SealedOpenError,
    is_sealed,
    open_key_bundle,
    open_sealed,
    open_with_key,
    parse_header,
    seal,
    seal_key_bundle,
    seal_with_key,
    sealed_overhead,
    unwrap_key,
)
from offchain.types import TensorSpec

CHAIN_ID = 31337
MANAGER = "0x" + "5f" * 20
TASK_ID = 4
ROUND_ID = 2
PREFIX = 12  # magic and header length
FIXED_HEADER = 95  # context, key commitment, recipient count
ENTRY = 100
TAG = 16


@dataclasses.dataclass(frozen=True)
class Worker:
    address: str
    key: X25519PrivateKey

    @property
    def recipient(self) -> Recipient:
        return Recipient(self.address, public_key_bytes(self.key))


def _worker(i: int) -> Worker:
    """Worker `i` with its X25519 key derived from a made-up Ethereum key, as a real worker's is."""
    eth_key = (i + 1).to_bytes(32, "big")
    return Worker("0x" + f"{i + 1:040x}", derive_private_key(eth_key, CHAIN_ID, MANAGER, TASK_ID))


TRAINERS = [_worker(i) for i in range(3)]
VALIDATORS = [_worker(i) for i in range(10, 14)]
OUTSIDER = _worker(99)
RECIPIENTS = [v.recipient for v in VALIDATORS]


def _context(sender: Worker = TRAINERS[0]) -> SealContext:
    return SealContext(CHAIN_ID, MANAGER, TASK_ID, ROUND_ID, sender.address)


def _update(seed: int) -> bytes:
    """A small safetensors update with structured (so recognisable) contents."""
    rng = np.random.default_rng(seed)
    kernel = np.arange(1024, dtype=np.float32).reshape(32, 32) + np.float32(seed)
    return encode_weights({"0000/kernel": kernel, "0001/bias": rng.normal(size=32).astype(np.float32)})


SPECS = [TensorSpec("0000/kernel", (32, 32)), TensorSpec("0001/bias", (32,))]
UPDATE = _update(0)


def _sealed_with_key(plaintext: bytes = UPDATE, recipients: list[Recipient] | None = None) -> tuple[bytes, bytes]:
    key = os.urandom(32)
    container = seal_with_key(plaintext, _context(), recipients or RECIPIENTS, key, X25519PrivateKey.generate)
    return container, key


def _entry_offset(container: bytes, address: str) -> int:
    return PREFIX + FIXED_HEADER + ENTRY * parse_header(container).recipients.index(address)


def _with_entry(container: bytes, key: bytes, address: str, entry: bytes) -> bytes:
    """`container` with `address`'s recipient entry replaced and the body re-encrypted under `key`:
    what a sender that wraps something else for one validator publishes."""
    plaintext = open_with_key(container, key, _context())
    start = _entry_offset(container, address)
    header = container[:start] + entry + container[start + ENTRY : len(container) - len(plaintext) - TAG]
    return header + ChaCha20Poly1305(key).encrypt(bytes(12), plaintext, header)


def _entry_of(container: bytes, address: str) -> bytes:
    start = _entry_offset(container, address)
    return container[start : start + ENTRY]


def _openers(container: bytes, workers: list[Worker]) -> dict[str, bytes | None]:
    return {w.address: open_sealed(container, _context(), w.address, w.key) for w in workers}


# ------------------------------------------------------------------------------ confidentiality


def test_sealed_update_cannot_be_opened_without_a_validator_key() -> None:
    container, key = _sealed_with_key()
    sender = TRAINERS[0]
    assert open_sealed(container, _context(), OUTSIDER.address, OUTSIDER.key) is None
    assert open_sealed(container, _context(), VALIDATORS[0].address, OUTSIDER.key) is None  # a recipient's address
    assert open_sealed(container, _context(), sender.address, sender.key) is None  # the trainer's own task key
    assert unwrap_key(container, VALIDATORS[0].address, sender.key) is None
    with pytest.raises(SealedOpenError, match="key commitment"):
        open_with_key(container, os.urandom(32), _context())
    assert open_with_key(container, key, _context()) == UPDATE


def test_ciphertext_shows_nothing_of_the_update() -> None:
    container = seal(UPDATE, _context(), RECIPIENTS)
    windows = {UPDATE[i : i + 32] for i in range(len(UPDATE) - 31)}
    assert not any(container[i : i + 32] in windows for i in range(len(container) - 31))
    with pytest.raises(InvalidUpdateError):
        decode_weights(container, SPECS, max_bytes=1 << 20)
    assert decode_weights(UPDATE, SPECS, max_bytes=1 << 20)  # the specs do describe the update


def test_public_can_read_the_header_but_not_the_body() -> None:
    header = parse_header(seal(UPDATE, _context(), RECIPIENTS))
    assert header.context == _context()
    assert header.recipients == tuple(sorted(v.address for v in VALIDATORS))
    assert len(header.key_commit) == 32
    assert is_sealed(seal(UPDATE, _context(), RECIPIENTS)) and not is_sealed(UPDATE)


def test_two_seals_of_one_update_share_no_bytes_after_the_context() -> None:
    # Fresh content key and ephemerals each time: equal updates are not recognisable as equal.
    first, second = seal(UPDATE, _context(), RECIPIENTS), seal(UPDATE, _context(), RECIPIENTS)
    context_end = PREFIX + 61
    assert first[:context_end] == second[:context_end]
    assert first[context_end : context_end + 32] != second[context_end : context_end + 32]
    assert first[-len(UPDATE) :] != second[-len(UPDATE) :]


# ------------------------------------------------------------------------------ availability


def test_one_validator_key_opens_every_update_sealed_to_it_in_a_round() -> None:
    updates = {t.address: _update(i) for i, t in enumerate(TRAINERS)}
    containers = {t.address: seal(updates[t.address], _context(t), RECIPIENTS) for t in TRAINERS}
    for validator in VALIDATORS:
        for trainer in TRAINERS:
            opened = open_sealed(containers[trainer.address], _context(trainer), validator.address, validator.key)
            assert opened == updates[trainer.address]


def test_recipients_may_be_given_in_any_order_and_address_case() -> None:
    shuffled = [Recipient(r.address.upper().replace("0X", "0x"), r.public_key) for r in reversed(RECIPIENTS)]
    container = seal(UPDATE, _context(), shuffled)
    assert parse_header(container).recipients == tuple(sorted(r.address for r in RECIPIENTS))
    assert all(opened == UPDATE for opened in _openers(container, VALIDATORS).values())


@pytest.mark.parametrize("recipients", [1, 3, 100])
def test_overhead_is_what_sealed_overhead_says(recipients: int) -> None:
    workers = [_worker(1000 + i) for i in range(recipients)]
    container = seal(UPDATE, _context(), [w.recipient for w in workers])
    assert (
        len(container) - len(UPDATE) == sealed_overhead(recipients) == PREFIX + FIXED_HEADER + ENTRY * recipients + TAG
    )


# ------------------------------------------------------------------------------ binding to a context


@pytest.mark.parametrize(
    "elsewhere",
    [
        dataclasses.replace(_context(), task_id=TASK_ID + 1),
        dataclasses.replace(_context(), round_id=ROUND_ID + 1),
        _context(sender=TRAINERS[1]),
        dataclasses.replace(_context(), chain_id=1),
        dataclasses.replace(_context(), manager="0x" + "60" * 20),
    ],
    ids=["task", "round", "sender", "chain", "manager"],
)
def test_container_copied_into_another_context_does_not_open(elsewhere: SealContext) -> None:
    container, key = _sealed_with_key()
    with pytest.raises(SealedOpenError, match="sealed for another context") as info:
        open_sealed(container, elsewhere, VALIDATORS[0].address, VALIDATORS[0].key)
    assert str(info.value).count("expected") == 1  # names the one field that differs
    with pytest.raises(SealedOpenError, match="sealed for another context"):
        open_with_key(container, key, elsewhere)


def test_checksummed_addresses_are_the_same_context() -> None:
    container = seal(UPDATE, _context(), RECIPIENTS)
    upper = dataclasses.replace(_context(), manager="0x" + MANAGER[2:].upper())
    assert upper == _context()
    assert open_sealed(container, upper, VALIDATORS[0].address, VALIDATORS[0].key) == UPDATE


# ------------------------------------------------------------------------------ a malicious sender


def test_bad_wrap_for_one_recipient_leaves_the_others_able_to_open() -> None:
    victim, others = VALIDATORS[0], VALIDATORS[1:]
    wrong_key = Recipient(victim.address, public_key_bytes(X25519PrivateKey.generate()))
    container = seal(UPDATE, _context(), [wrong_key] + [v.recipient for v in others])
    assert unwrap_key(container, victim.address, victim.key) is None
    assert open_sealed(container, _context(), victim.address, victim.key) is None
    assert all(opened == UPDATE for opened in _openers(container, others).values())


def test_low_order_ephemeral_key_gives_nothing_rather_than_a_public_wrap() -> None:
    container, key = _sealed_with_key()
    victim = VALIDATORS[1]
    entry = _entry_of(container, victim.address)
    forged = _with_entry(container, key, victim.address, entry[:20] + bytes(32) + entry[52:])
    assert unwrap_key(forged, victim.address, victim.key) is None
    assert all(opened == UPDATE for a, opened in _openers(forged, VALIDATORS).items() if a != victim.address)


def test_sealing_to_a_low_order_public_key_is_refused() -> None:
    with pytest.raises(ValueError, match="low-order"):
        seal(UPDATE, _context(), [Recipient(OUTSIDER.address, bytes(32))])


def test_two_keys_for_two_validators_cannot_open_to_two_plaintexts() -> None:
    first, second = VALIDATORS[0], VALIDATORS[1]
    container, key = _sealed_with_key(UPDATE)
    other, other_key = _sealed_with_key(_update(1))
    # The sender wraps K for the first validator and K' (which would open another update) for the second.
    forged = _with_entry(container, key, second.address, _entry_of(other, second.address))
    assert unwrap_key(forged, first.address, first.key) == key
    assert unwrap_key(forged, second.address, second.key) is None  # K' fails the key commitment
    with pytest.raises(SealedOpenError, match="key commitment"):
        open_with_key(forged, other_key, _context())
    plaintexts = {p for p in _openers(forged, VALIDATORS).values() if p is not None}
    assert plaintexts == {UPDATE}


def test_tampering_with_any_header_byte_makes_opening_fail() -> None:
    container, key = _sealed_with_key(recipients=RECIPIENTS[:2])
    body_start = PREFIX + FIXED_HEADER + 2 * ENTRY
    for position in range(body_start):
        tampered = bytearray(container)
        tampered[position] ^= 0x01
        data = bytes(tampered)
        with pytest.raises(SealedError):
            open_with_key(data, key, _context())
        for validator in VALIDATORS[:2]:
            try:
                opened = open_sealed(data, _context(), validator.address, validator.key)
            except SealedError:
                continue
            assert opened is None, f"byte {position} altered and the container still opened"


@pytest.mark.parametrize("from_end", [1, TAG, TAG + 1, len(UPDATE) // 2, len(UPDATE) + TAG])
def test_tampering_with_a_body_byte_makes_opening_fail(from_end: int) -> None:
    container, key = _sealed_with_key()
    tampered = bytearray(container)
    tampered[-from_end] ^= 0x80
    with pytest.raises(SealedOpenError, match="altered"):
        open_sealed(bytes(tampered), _context(), VALIDATORS[0].address, VALIDATORS[0].key)
    with pytest.raises(SealedOpenError, match="altered"):
        open_with_key(bytes(tampered), key, _context())


def test_truncated_container_is_refused() -> None:
    container, key = _sealed_with_key()
    header_end = PREFIX + FIXED_HEADER + ENTRY * len(RECIPIENTS)
    for length in range(header_end + TAG):
        with pytest.raises(SealedFormatError):
            parse_header(container[:length])
    for length in (header_end + TAG, len(container) - 1):
        with pytest.raises(SealedOpenError, match="altered"):
            open_with_key(container[:length], key, _context())


# ------------------------------------------------------------------------------ hostile headers


def _prefix(header_len: int) -> bytes:
    return b"DFLSEAL1" + struct.pack("<I", header_len)


def _set_count(container: bytes, count: int) -> bytes:
    at = PREFIX + FIXED_HEADER - 2
    return container[:at] + struct.pack("<H", count) + container[at + 2 :]


@pytest.mark.parametrize("header_len", [1 << 30, 0xFFFFFFFF, 89])
def test_absurd_header_length_is_refused_without_allocating(header_len: int) -> None:
    data = _prefix(header_len) + bytes(88)
    tracemalloc.start()
    try:
        with pytest.raises(SealedFormatError, match=f"header length {header_len} exceeds the 72 bytes available"):
            parse_header(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024


def test_header_longer_than_max_recipients_need_is_refused_before_it_is_read() -> None:
    container, _ = _sealed_with_key()
    with pytest.raises(SealedFormatError, match="at most 3 recipients"):
        parse_header(container, max_recipients=3)
    assert len(parse_header(container, max_recipients=4).recipients) == 4
    # A megabyte of input claiming a header bigger than 4096 recipients can need.
    with pytest.raises(SealedFormatError, match="at most 4096 recipients"):
        parse_header(_prefix(1 << 20) + bytes((1 << 20) + TAG))


@pytest.mark.parametrize("count", [3, 5, 0xFFFF])
def test_recipient_count_must_match_the_header_length(count: int) -> None:
    container, _ = _sealed_with_key()
    with pytest.raises(SealedFormatError):
        parse_header(_set_count(container, count))


def test_header_with_too_many_recipients_is_refused() -> None:
    container, _ = _sealed_with_key()
    # A header length two recipients may need, and a count of four.
    with pytest.raises(SealedFormatError, match="4 recipients, more than 2"):
        parse_header(_prefix(FIXED_HEADER + 2 * ENTRY) + container[PREFIX:], max_recipients=2)


def test_duplicate_or_unsorted_recipients_are_refused() -> None:
    container, _ = _sealed_with_key()
    start = PREFIX + FIXED_HEADER
    first, second = container[start : start + ENTRY], container[start + ENTRY : start + 2 * ENTRY]
    rest = container[start + 2 * ENTRY :]
    for entries in (first + first, second + first):
        with pytest.raises(SealedFormatError, match="entry 1 is a duplicate or out of address order"):
            parse_header(container[:start] + entries + rest)


def test_sealing_refuses_duplicate_or_missing_recipients() -> None:
    with pytest.raises(ValueError, match="listed twice"):
        seal(UPDATE, _context(), [RECIPIENTS[0], RECIPIENTS[1], RECIPIENTS[0]])
    with pytest.raises(ValueError, match="1 to 4096 recipients"):
        seal(UPDATE, _context(), [])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "shorter than the 12-byte prefix"),
        (b"DFLSEAL2" + bytes(200), "wrong magic"),
        (b"\x00" * 8 + bytes(200), "wrong magic"),
        (_prefix(94) + bytes(200), "header length 94 outside 95..409695"),
        (_prefix(95) + b"\x02" + bytes(200), "version 2, expected 1"),
    ],
)
def test_format_errors_name_integers_never_input_bytes(data: bytes, message: str) -> None:
    with pytest.raises(SealedFormatError) as info:
        parse_header(data)
    assert message in str(info.value)
    assert "\\x" not in str(info.value) and "b'" not in str(info.value)


# ------------------------------------------------------------------------------ key bundles


def test_key_bundle_round_trips_and_lets_a_validator_with_a_bad_wrap_open() -> None:
    victim, helper = VALIDATORS[0], VALIDATORS[1]
    wrong_key = Recipient(victim.address, public_key_bytes(X25519PrivateKey.generate()))
    update = seal(UPDATE, _context(), [wrong_key, helper.recipient])
    assert open_sealed(update, _context(), victim.address, victim.key) is None
    content_key = unwrap_key(update, helper.address, helper.key)
    assert content_key is not None
    keys = {0: content_key, 7: os.urandom(32), 65535: os.urandom(32)}
    bundle_context = _context(sender=helper)  # the helping validator sends the bundle
    bundle = seal_key_bundle(keys, bundle_context, [victim.recipient])
    received = open_key_bundle(bundle, bundle_context, victim.address, victim.key)
    assert received == keys
    assert open_with_key(update, received[0], _context()) == UPDATE


def test_key_bundle_not_addressed_to_me_is_empty() -> None:
    bundle = seal_key_bundle({1: os.urandom(32)}, _context(), [VALIDATORS[0].recipient])
    assert open_key_bundle(bundle, _context(), OUTSIDER.address, OUTSIDER.key) == {}


def test_wrong_key_in_a_bundle_is_caught_by_the_updates_key_commitment() -> None:
    update, _ = _sealed_with_key()
    bundle = seal_key_bundle({0: os.urandom(32)}, _context(), [VALIDATORS[0].recipient])
    received = open_key_bundle(bundle, _context(), VALIDATORS[0].address, VALIDATORS[0].key)
    with pytest.raises(SealedOpenError, match="key commitment"):
        open_with_key(update, received[0], _context())


KEY_HEX = "ab" * 32


@pytest.mark.parametrize(
    "plaintext",
    [
        b"",
        b"not json",
        b"[]",
        b'{"keys":[]}',
        b'{"keys":{},"more":1}',
        b'{"other":{}}',
        b'{"keys":{"-1":"' + KEY_HEX.encode() + b'"}}',
        b'{"keys":{"01":"' + KEY_HEX.encode() + b'"}}',
        b'{"keys":{"1.0":"' + KEY_HEX.encode() + b'"}}',
        b'{"keys":{"65536":"' + KEY_HEX.encode() + b'"}}',
        b'{"keys":{"\xd9\xa1":"' + KEY_HEX.encode() + b'"}}',  # an Arabic-Indic digit one
        b'{"keys":{"1":"' + KEY_HEX[:-2].encode() + b'"}}',
        b'{"keys":{"1":"' + KEY_HEX.upper().encode() + b'"}}',
        b'{"keys":{"1":1}}',
        b'{"keys": {"1":"' + KEY_HEX.encode() + b'"}}',
        b'{"keys":{"2":"' + KEY_HEX.encode() + b'","1":"' + KEY_HEX.encode() + b'"}}',
        b'{"keys":{"1":"' + KEY_HEX.encode() + b'","1":"' + KEY_HEX.encode() + b'"}}',
        b'{"keys":{"1":{"' + b"{" * 100_000 + b"}}",
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=lambda p: repr(p[:40]),
)
def test_malformed_key_bundle_is_rejected(plaintext: bytes) -> None:
    bundle = seal(plaintext, _context(), [VALIDATORS[0].recipient])
    with pytest.raises(SealedFormatError):
        open_key_bundle(bundle, _context(), VALIDATORS[0].address, VALIDATORS[0].key)


def test_key_bundle_encoding_is_canonical() -> None:
    keys = {10: bytes(32), 2: bytes([1]) * 32}
    bundle = seal_key_bundle(keys, _context(), [VALIDATORS[0].recipient])
    plaintext = open_sealed(bundle, _context(), VALIDATORS[0].address, VALIDATORS[0].key)
    assert plaintext == b'{"keys":{"10":"' + b"00" * 32 + b'","2":"' + b"01" * 32 + b'"}}'


@pytest.mark.parametrize("keys", [{-1: bytes(32)}, {65536: bytes(32)}, {0: bytes(31)}])
def test_sealing_a_malformed_key_bundle_is_refused(keys: dict[int, bytes]) -> None:
    with pytest.raises(ValueError):
        seal_key_bundle(keys, _context(), [VALIDATORS[0].recipient])
