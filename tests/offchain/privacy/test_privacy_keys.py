from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from offchain.privacy.keys import derive_private_key, is_usable_public_key, load_public_key, public_key_bytes

ETH_KEY = bytes(range(1, 33))
MANAGER = "0x" + "ab" * 20


def _public(eth_key: bytes = ETH_KEY, chain_id: int = 31337, manager: str = MANAGER, task_id: int = 1) -> bytes:
    return public_key_bytes(derive_private_key(eth_key, chain_id, manager, task_id))


def test_derivation_is_deterministic_so_a_restarted_worker_recovers_its_key() -> None:
    assert _public() == _public()
    assert _public(manager=MANAGER.upper().replace("0X", "0x")) == _public()  # checksum case is the same address


def test_derivation_is_hkdf_sha256_of_the_eth_key_bound_to_chain_manager_and_task() -> None:
    # Spelled out independently: changing the derivation would orphan every key registered on-chain.
    info = (31337).to_bytes(32, "big") + bytes.fromhex("ab" * 20) + (1).to_bytes(32, "big")
    okm = HKDF(algorithm=SHA256(), length=32, salt=b"dfl-x25519-v1", info=info).derive(ETH_KEY)
    assert _public() == public_key_bytes(X25519PrivateKey.from_private_bytes(okm))


def test_keys_differ_across_tasks_deployments_and_accounts() -> None:
    variants = [
        _public(),
        _public(task_id=2),
        _public(chain_id=1),
        _public(manager="0x" + "cd" * 20),
        _public(eth_key=bytes(range(2, 34))),
    ]
    assert len(set(variants)) == len(variants)


def test_derivation_refuses_malformed_inputs() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        derive_private_key(bytes(31), 1, MANAGER, 1)
    with pytest.raises(ValueError, match="manager"):
        derive_private_key(ETH_KEY, 1, "0x1234", 1)
    with pytest.raises(ValueError, match="task_id"):
        derive_private_key(ETH_KEY, 1, MANAGER, -1)


def test_public_keys_are_32_raw_bytes_and_load_back() -> None:
    raw = _public()
    assert len(raw) == 32
    assert load_public_key(raw).public_bytes_raw() == raw
    with pytest.raises(ValueError, match="32 bytes, got 33"):
        load_public_key(raw + b"\x00")


def test_low_order_points_are_not_usable_recipient_keys() -> None:
    assert is_usable_public_key(public_key_bytes(X25519PrivateKey.generate()))
    assert not is_usable_public_key(bytes(32))  # the point at u = 0
    assert not is_usable_public_key((1).to_bytes(32, "little"))  # u = 1, order 1
    assert not is_usable_public_key(bytes(31))
