"""Local differential privacy in a plaintext task: what a trainer packs (its clipped change plus the
whole noise, or one per-sample DP-SGD step) is what the validators' round computation accepts, with
scores switched off and pay by samples, so an honest noised update is never rejected or penalized."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from offchain.chain.protocol import PrivacyMode, PrivacyParams, PrivacyUnit, TaskParams
from offchain.fl.availability import Attestation, bitmap
from offchain.fl.codec import decode_weights
from offchain.fl.round import Addressing, Reveal, RoundResult, RoundTerms, compute_round
from offchain.fl.rules import parse_rule
from offchain.fl.screening import Checks
from offchain.privacy.dp_bounds import scores_apply, screening_bound_micro
from offchain.privacy.terms import privacy_entry
from offchain.types import NamedWeights, TensorSpec
from offchain.workers.packing import Packed, Packer

SPECS = (TensorSpec("0000/w", (40, 25), "float32"), TensorSpec("0001/b", (25,), "float32"))
SIZE = 40 * 25 + 25
CLIP_MICRO = 1_000_000
ADDRESSING = Addressing(cid_of=lambda b: "Qm" + hashlib.sha256(b).hexdigest()[:44], is_cid=lambda s: s.startswith("Qm"))


def _params(unit: PrivacyUnit) -> TaskParams:
    privacy = PrivacyParams(PrivacyMode.PLAINTEXT, 8_000_000, 10**13, 2_000_000, unit=unit)
    return TaskParams(
        "QmSpec", "QmInit", "QmEval", b"\1" * 32, 5, (), 5, 0, 60, 60, 60, 60, 60, 60, 3600, 10, 100, 0,
        100, 1 << 24, CLIP_MICRO, 6000, 1000, 2000, 1000, 500, 7000, 10**21, privacy,
    )  # fmt: skip


def _global() -> NamedWeights:
    rng = np.random.default_rng(0)
    return {s.name: rng.normal(0, 0.1, s.shape).astype(np.float32) for s in SPECS}


def _round(params: TaskParams, g: NamedWeights, updates: list[bytes]) -> RoundResult:
    reveals = [Reveal(i, "0x" + f"{i + 1:02x}" * 20, f"QmUpdate{i}", 100 * (i + 1)) for i in range(len(updates))]
    terms = RoundTerms(
        task_id=1,
        round_id=0,
        rule=parse_rule(params.rule_id, list(params.rule_params)),
        checks=Checks(SPECS, params.max_update_bytes, screening_bound_micro(params, SIZE)),
        quorum_bps=6000,
        trainer_pool=10**18,
        scored=scores_apply(params),
        privacy=privacy_entry(params, 0),
    )
    attest = [Attestation("0x" + "ee" * 20, bitmap(range(len(updates)), len(updates)), 1, 1)]
    return compute_round(terms, "QmInit", g, reveals, attest, dict(enumerate(updates)), ADDRESSING)


def _change_norm(data: bytes, g: NamedWeights) -> float:
    w = decode_weights(data, SPECS, max_bytes=1 << 24)
    return float(np.sqrt(sum(np.sum((w[n].astype(np.float64) - g[n]) ** 2) for n in g)))


def test_per_trainer_local_noise_passes_the_validators_checks_and_is_paid_by_samples() -> None:
    params = _params(PrivacyUnit.TRAINER)
    g = _global()
    rng = np.random.default_rng(1)
    packed = []
    for _ in range(3):
        trained = {n: (w + rng.normal(0, 0.5, w.shape)).astype(np.float32) for n, w in g.items()}  # norm >> clip
        p = Packer(params, None, "trainer").pack(0, "0x" + "01" * 20, g, trained)
        assert isinstance(p, Packed) and "local DP noise z=2" in p.note
        # The clipped change is 1.0; the noise (z·clip per coordinate) makes it about z·sqrt(d) long.
        assert 0.8 * 2.0 * np.sqrt(SIZE) < _change_norm(p.data, g) * 1.0 < 1.2 * 2.0 * np.sqrt(SIZE) + 1.0
        packed.append(p.data)
    result = _round(params, g, packed)
    receipt = result.receipt
    assert all(u.accepted and not u.penalized for u in receipt.updates)
    assert [u.score_ppm for u in receipt.updates] == [1_000_000] * 3  # scores off: the noise hides directions
    # paid by counted samples: 100:200:300, the 300 capped at the others' sample-weighted median (200)
    assert [u.reward for u in receipt.updates] == [10**18 * k // 5 for k in (1, 2, 2)]
    assert receipt.privacy is not None and (receipt.privacy.dp, receipt.privacy.unit) == ("local", "trainer")


@pytest.mark.parametrize("samples", [10, 1000])
def test_a_per_sample_step_is_divided_by_its_samples_and_passes_the_checks(samples: int) -> None:
    params = _params(PrivacyUnit.SAMPLE)
    g = _global()
    step = {n: np.full(w.shape, -0.01, dtype=np.float64) for n, w in g.items()}  # -Σ clip(lr·∇ℓ)
    p = Packer(params, None, "trainer").pack_step(0, "0x" + "01" * 20, g, step, samples)
    assert isinstance(p, Packed) and f"a DP-SGD step over {samples} examples" in p.note
    noise_norm = 2.0 * np.sqrt(SIZE) / samples  # z·clip·sqrt(d), divided by the samples
    assert _change_norm(p.data, g) < 0.01 * np.sqrt(SIZE) / samples + 1.5 * noise_norm
    receipt = _round(params, g, [p.data]).receipt
    assert receipt.updates[0].accepted and receipt.privacy is not None and receipt.privacy.unit == "sample"
