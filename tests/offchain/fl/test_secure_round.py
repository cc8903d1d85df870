"""The SecAgg round computation (offchain.fl.secure_round): what every validator derives from the
chain and the masked updates. Real X25519 keys and masks, no chain: each case builds the files the
trainers would pin."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from offchain.fl.availability import Attestation, bitmap
from offchain.fl.receipt import PrivacyEntry, RoundReceipt
from offchain.fl.round import Addressing, Reveal, RoundResult, RoundTerms
from offchain.fl.rules import parse_rule
from offchain.fl.screening import Checks
from offchain.fl.secure_round import SecureTerms, SumStatus, compute_secure_round
from offchain.privacy import secagg
from offchain.privacy.keys import public_key_bytes
from offchain.types import NamedWeights, TensorSpec

CONTEXT = secagg.MaskContext(31337, "0x" + "11" * 20, 7, 3)
SCALE = 16
CLIP_MICRO = 2_000_000
ENTRY = PrivacyEntry("secagg", "none", "trainer", 0, 0, 0, 0)
ADDRESSING = Addressing(cid_of=lambda b: "Qm" + hashlib.sha256(b).hexdigest()[:44], is_cid=lambda s: s.startswith("Qm"))
G: NamedWeights = {"0000/dense/kernel": np.zeros((3, 2), np.float32), "0001/dense/bias": np.zeros(2, np.float32)}
SPECS = (TensorSpec("0000/dense/kernel", (3, 2), "float32"), TensorSpec("0001/dense/bias", (2,), "float32"))
SIZE = 8


@dataclass
class Trainer:
    address: str
    key: X25519PrivateKey
    delta: np.ndarray


def _trainers(count: int) -> list[Trainer]:
    rng = np.random.default_rng(1)
    return [
        Trainer("0x" + f"{i + 1:02x}" * 20, X25519PrivateKey.generate(), rng.uniform(-0.2, 0.2, SIZE))
        for i in range(count)
    ]


def _masked(t: Trainer, key_set: list[Trainer]) -> bytes:
    seeds = {
        p.address: secagg.pairwise_seed(t.key, t.address, public_key_bytes(p.key), p.address, CONTEXT)
        for p in key_set
        if p is not t
    }
    q = secagg.quantize(t.delta, CLIP_MICRO / 1e6, SCALE, np.random.default_rng(2))
    words = secagg.mask_update(q, np.zeros_like(q), secagg.total_mask(t.address, seeds, SIZE))
    return secagg.encode_masked(words, CONTEXT, t.address)


def _seeds(t: Trainer, dropouts: list[Trainer]) -> bytes:
    return b"".join(
        secagg.pairwise_seed(t.key, t.address, public_key_bytes(d.key), d.address, CONTEXT) for d in dropouts
    )


def _compute(
    key_set: list[Trainer],
    revealed: list[Trainer],
    contents: dict[int, bytes],
    seeds: dict[str, bytes],
    *,
    min_contributors: int = 2,
    per_sample: bool = False,
    samples: int = 100,
) -> RoundResult:
    reveals = [Reveal(i, t.address, f"QmUpdate{i}", samples) for i, t in enumerate(revealed)]
    attest = [Attestation("0x" + "ee" * 20, bitmap(range(len(reveals)), len(reveals)), 100, 100)]
    terms = RoundTerms(
        task_id=CONTEXT.task_id,
        round_id=CONTEXT.round_id,
        rule=parse_rule(0, [0]),
        checks=Checks(SPECS, 1 << 20, CLIP_MICRO),
        quorum_bps=6000,
        trainer_pool=10**18,
    )
    secure = SecureTerms(CONTEXT, CLIP_MICRO, SCALE, min_contributors, 0, ENTRY, per_sample=per_sample)
    return compute_secure_round(
        terms, secure, "QmParent", G, reveals, attest, [t.address for t in key_set], seeds, contents, ADDRESSING
    )


def _flat(weights: NamedWeights) -> np.ndarray:
    return np.concatenate([weights[n].astype(np.float64).reshape(-1) for n in sorted(weights)])


def test_the_sum_of_the_survivors_is_exact_after_removing_a_dropouts_masks() -> None:
    trainers = _trainers(4)
    survivors, dropout = trainers[:3], trainers[3]
    contents = {i: _masked(t, trainers) for i, t in enumerate(survivors)}
    seeds = {t.address: _seeds(t, [dropout]) for t in survivors}
    result = _compute(trainers, survivors, contents, seeds)
    total = result.receipt.secure_sum
    assert total is not None and total.status == SumStatus.OK
    assert list(total.dropouts) == [dropout.address] and len(total.contributors) == 3
    expected = np.mean([t.delta for t in survivors], axis=0)
    assert np.max(np.abs(_flat(result.weights) - expected)) < 2**-SCALE  # only the quantization error
    assert [u.reward for u in result.receipt.updates] == [10**18 // 3] * 3
    assert result.receipt.penalties == ()
    assert RoundReceipt.from_bytes(result.receipt_bytes) == result.receipt


def test_validators_given_the_same_inputs_in_another_order_pin_the_same_receipt() -> None:
    trainers = _trainers(4)
    contents = {i: _masked(t, trainers) for i, t in enumerate(trainers)}
    first = _compute(trainers, trainers, contents, {})
    again = _compute(trainers, trainers, dict(reversed(list(contents.items()))), {})
    assert first.receipt_bytes == again.receipt_bytes and first.model_bytes == again.model_bytes


def test_a_contributor_that_withholds_its_seeds_is_penalized_and_the_others_are_paid_for_an_unreleased_sum() -> None:
    trainers = _trainers(4)
    survivors, dropout = trainers[:3], trainers[3]
    contents = {i: _masked(t, trainers) for i, t in enumerate(survivors)}
    seeds = {t.address: _seeds(t, [dropout]) for t in survivors[1:]}  # the first withholds
    result = _compute(trainers, survivors, contents, seeds)
    assert result.receipt.secure_sum is not None and result.receipt.secure_sum.status == SumStatus.SEEDS_MISSING
    by = {u.trainer: u for u in result.receipt.updates}
    assert by[survivors[0].address].reason == "seeds_missing" and by[survivors[0].address].penalized
    assert by[survivors[0].address].reward == 0
    assert all(by[t.address].reason == "sum_not_released" and by[t.address].reward > 0 for t in survivors[1:])
    assert _flat(result.weights).tolist() == _flat(G).tolist()  # the model stays G_r


def test_a_malformed_masked_update_is_penalized_and_keeps_the_sum_from_being_released() -> None:
    trainers = _trainers(3)
    contents = {i: _masked(t, trainers) for i, t in enumerate(trainers)}
    contents[1] = contents[1][:-4]  # one word short
    result = _compute(trainers, trainers, contents, {})
    assert result.receipt.secure_sum is not None and result.receipt.secure_sum.status == SumStatus.UNUSABLE
    bad = result.receipt.updates[1]
    assert bad.reason == "malformed" and bad.penalized and "wrong length" in bad.detail


def test_a_copy_of_another_trainers_masked_update_is_malformed() -> None:
    trainers = _trainers(3)
    contents = {i: _masked(t, trainers) for i, t in enumerate(trainers)}
    contents[2] = contents[0]
    result = _compute(trainers, trainers, contents, {})
    assert result.receipt.updates[2].reason == "malformed" and result.receipt.updates[2].penalized


def test_a_trainer_outside_the_key_set_is_left_out_and_penalized_and_the_sum_still_adds_up() -> None:
    trainers = _trainers(4)
    key_set, outsider = trainers[:3], trainers[3]
    contents = {i: _masked(t, key_set) for i, t in enumerate(key_set)}
    contents[3] = _masked(outsider, trainers)
    result = _compute(key_set, trainers, contents, {})
    assert result.receipt.secure_sum is not None and result.receipt.secure_sum.status == SumStatus.OK
    assert result.receipt.updates[3].reason == "not_eligible" and result.receipt.updates[3].penalized
    expected = np.mean([t.delta for t in key_set], axis=0)
    assert np.max(np.abs(_flat(result.weights) - expected)) < 2**-SCALE


def test_fewer_contributors_than_the_minimum_release_nothing() -> None:
    trainers = _trainers(4)
    survivors = trainers[:2]
    contents = {i: _masked(t, trainers) for i, t in enumerate(survivors)}
    seeds = {t.address: _seeds(t, trainers[2:]) for t in survivors}
    result = _compute(trainers, survivors, contents, seeds, min_contributors=3)
    assert result.receipt.secure_sum is not None and result.receipt.secure_sum.status == SumStatus.TOO_FEW
    assert _flat(result.weights).tolist() == _flat(G).tolist()


def test_a_garbage_vector_inside_the_sum_makes_it_out_of_bounds_and_nobody_is_paid() -> None:
    trainers = _trainers(3)
    contents = {i: _masked(t, trainers) for i, t in enumerate(trainers)}
    attacker = trainers[0]
    seeds = {
        p.address: secagg.pairwise_seed(attacker.key, attacker.address, public_key_bytes(p.key), p.address, CONTEXT)
        for p in trainers[1:]
    }
    huge = np.full(SIZE, 2**30, dtype=np.int64)  # far beyond what a clipped update can be
    words = secagg.mask_update(huge, np.zeros_like(huge), secagg.total_mask(attacker.address, seeds, SIZE))
    contents[0] = secagg.encode_masked(words, CONTEXT, attacker.address)
    result = _compute(trainers, trainers, contents, {})
    assert result.receipt.secure_sum is not None and result.receipt.secure_sum.status == SumStatus.OUT_OF_BOUNDS
    assert result.receipt.rewards == () and result.receipt.penalties == ()
    assert _flat(result.weights).tolist() == _flat(G).tolist()


@pytest.mark.parametrize("samples", [50, 400])
def test_with_per_sample_privacy_the_sum_is_divided_by_the_declared_samples(samples: int) -> None:
    trainers = _trainers(3)
    contents = {i: _masked(t, trainers) for i, t in enumerate(trainers)}
    result = _compute(trainers, trainers, contents, {}, per_sample=True, samples=samples)
    expected = np.sum([t.delta for t in trainers], axis=0) / (3 * samples)
    assert np.max(np.abs(_flat(result.weights) - expected)) < 2**-SCALE
