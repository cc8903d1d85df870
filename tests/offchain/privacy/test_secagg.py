"""Secure aggregation: masks cancel, dropouts are recovered, masked words look uniform, the scale
never lets an honest sum wrap, and the file format refuses copies."""

from __future__ import annotations

import math
import struct
from decimal import Decimal, localcontext

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from scipy.stats import chisquare  # type: ignore[import-untyped]

from offchain.privacy.secagg import (
    HEADER_BYTES,
    MOD,
    MaskContext,
    MaskedFormatError,
    decode_masked,
    dequantize,
    discrete_gaussian,
    encode_masked,
    mask_sign,
    mask_update,
    noise_share_sigma,
    pairwise_seed,
    prg_words,
    quantize,
    scale_bits_for,
    sensitivity,
    sum_norm_bound_sq,
    sum_norm_sq,
    total_mask,
    unmask_sum,
)

CTX = MaskContext(chain_id=31337, manager="0x5FbDB2315678afecb367f032d93F642f64180aa3", task_id=3, round_id=7)
# Five trainers, mixed-case addresses not in sorted order, with fixed keys: every run is the same.
TRAINERS = [
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
    "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
]
KEYS = [X25519PrivateKey.from_private_bytes(bytes([i + 1]) * 32) for i in range(len(TRAINERS))]
N = 4096


def _public(i: int) -> bytes:
    return KEYS[i].public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _seed(i: int, j: int, ctx: MaskContext = CTX) -> bytes:
    return pairwise_seed(KEYS[i], TRAINERS[i], _public(j), TRAINERS[j], ctx)


def _masked(i: int, q: np.ndarray) -> np.ndarray:
    """Trainer i's published vector (no noise), masked against all five trainers."""
    seeds = {TRAINERS[j]: _seed(i, j) for j in range(len(TRAINERS)) if j != i}
    return mask_update(q, np.zeros(q.size, dtype=np.int64), total_mask(TRAINERS[i], seeds, q.size))


def _top_byte_counts(words: np.ndarray) -> np.ndarray:
    return np.bincount(words >> 24, minlength=256)


def _clear_sum(updates: list[np.ndarray]) -> np.ndarray:
    """The plain sum modulo 2^32, computed with Python integers."""
    return np.array([sum(int(u[k]) for u in updates) % MOD for k in range(updates[0].size)], dtype=np.uint32)


def _random_updates(count: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(-(2**40), 2**40, N, dtype=np.int64) for _ in range(count)]


# ---------------------------------------------------------------- masks and dropouts


def test_masks_of_all_five_trainers_cancel_exactly_in_the_sum() -> None:
    updates = _random_updates(5, seed=1)
    masked = [_masked(i, q) for i, q in enumerate(updates)]
    assert all(not np.array_equal(m, q.astype(np.uint32)) for m, q in zip(masked, updates))
    assert np.array_equal(unmask_sum(masked, []), _clear_sum(updates))


def test_unmasked_quantized_sum_dequantizes_to_the_float_sum_within_the_rounding() -> None:
    rng = np.random.default_rng(2)
    deltas = [rng.normal(0, 0.01, N) for _ in TRAINERS]
    scale_bits = 16
    quantized = [quantize(delta, 1.0, scale_bits, rng) for delta in deltas]
    total = dequantize(unmask_sum([_masked(i, q) for i, q in enumerate(quantized)], []), scale_bits)
    # Each of the five roundings moves a coordinate by less than 2^-16.
    assert np.max(np.abs(total - np.sum(deltas, axis=0))) < len(TRAINERS) * 2.0**-scale_bits


@pytest.mark.parametrize("dropouts", [(2,), (0, 3)], ids=["one dropout", "two dropouts"])
def test_survivors_seeds_with_the_dropouts_make_the_sum_exact(dropouts: tuple[int, ...]) -> None:
    updates = _random_updates(5, seed=3)
    survivors = [i for i in range(len(TRAINERS)) if i not in dropouts]
    # Everyone masked against all five; the dropouts never published theirs.
    masked = [_masked(i, updates[i]) for i in survivors]
    corrections = [(TRAINERS[s], TRAINERS[d], _seed(s, d)) for s in survivors for d in dropouts]
    expected = _clear_sum([updates[i] for i in survivors])
    assert not np.array_equal(unmask_sum(masked, []), expected)
    assert np.array_equal(unmask_sum(masked, corrections), expected)
    for missing in range(len(corrections)):
        partial = corrections[:missing] + corrections[missing + 1 :]
        assert not np.array_equal(unmask_sum(masked, partial), expected)


def test_a_correction_given_twice_is_refused() -> None:
    masked = [_masked(0, np.zeros(8, dtype=np.int64))]
    correction = (TRAINERS[0], TRAINERS[1], _seed(0, 1))
    with pytest.raises(ValueError, match="two corrections"):
        unmask_sum(masked, [correction, correction])


def test_a_masked_update_is_indistinguishable_from_uniform_and_the_plain_one_is_not() -> None:
    rng = np.random.default_rng(4)
    q = quantize(rng.normal(0, 0.01, 2**16), 1.0, 16, rng)
    masked = _masked(0, q)
    assert chisquare(_top_byte_counts(masked)).pvalue > 0.001
    assert chisquare(_top_byte_counts(q.astype(np.uint32))).pvalue < 1e-12


def test_negative_values_wrap_to_their_residue_modulo_2_32() -> None:
    words = mask_update(
        np.array([-1, 2**31, 5], dtype=np.int64),
        np.array([0, 0, -7], dtype=np.int64),
        np.array([0, 2**31, 1], dtype=np.uint32),
    )
    assert words.tolist() == [2**32 - 1, 0, 2**32 - 1]
    assert dequantize(words, 0).tolist() == [-1.0, 0.0, -1.0]


def test_mask_sign_is_plus_for_the_lower_address_and_opposite_for_the_pair() -> None:
    low, high = "0x" + "00" * 19 + "01", "0x" + "FF" * 20
    assert mask_sign(low, high) == 1 and mask_sign(high, low) == -1
    with pytest.raises(ValueError, match="itself"):
        mask_sign(low, low.upper().replace("0X", "0x"))


# ---------------------------------------------------------------- seeds


def test_pairwise_seeds_are_symmetric() -> None:
    for i in range(len(TRAINERS)):
        for j in range(i + 1, len(TRAINERS)):
            assert _seed(i, j) == _seed(j, i)
            assert len(_seed(i, j)) == 32


def test_pairwise_seeds_differ_per_pair_round_task_chain_and_manager() -> None:
    other_contexts = [
        MaskContext(CTX.chain_id, CTX.manager, CTX.task_id, CTX.round_id + 1),
        MaskContext(CTX.chain_id, CTX.manager, CTX.task_id + 1, CTX.round_id),
        MaskContext(CTX.chain_id + 1, CTX.manager, CTX.task_id, CTX.round_id),
        MaskContext(CTX.chain_id, "0x" + "11" * 20, CTX.task_id, CTX.round_id),
    ]
    seeds = [_seed(0, 1, ctx) for ctx in [CTX, *other_contexts]]
    seeds += [_seed(i, j) for i in range(len(TRAINERS)) for j in range(i + 1, len(TRAINERS)) if (i, j) != (0, 1)]
    assert len(set(seeds)) == len(seeds)


def test_the_same_keys_claimed_by_other_addresses_give_another_seed() -> None:
    renamed = pairwise_seed(KEYS[0], "0x" + "22" * 20, _public(1), TRAINERS[1], CTX)
    assert renamed != _seed(0, 1)


def test_small_order_public_keys_and_self_pairs_are_refused() -> None:
    for small_order in (bytes(32), (1).to_bytes(32, "little")):
        with pytest.raises(ValueError, match="small order"):
            pairwise_seed(KEYS[0], TRAINERS[0], small_order, TRAINERS[1], CTX)
    with pytest.raises(ValueError, match="itself"):
        pairwise_seed(KEYS[0], TRAINERS[0], _public(1), TRAINERS[0].lower(), CTX)


# ---------------------------------------------------------------- the ChaCha20 stream

# RFC 8439 appendix A.1, test vectors 1 and 2: the keystream of the all-zero key and nonce, blocks 0 and 1.
RFC8439_ZERO_KEY_BLOCKS_0_1 = bytes.fromhex(
    "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
    "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586"
    "9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed"
    "29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f"
)
# RFC 8439 section 2.3.2: key 00..1f, nonce 000000090000004a00000000, block counter 1.
RFC8439_SECTION_2_3_2_BLOCK = bytes.fromhex(
    "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
    "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e"
)


def _chacha20_block(key: bytes, counter: int, nonce: bytes) -> bytes:
    """The RFC 8439 block function written out in Python: an independent reference."""

    def rotl(v: int, c: int) -> int:
        return ((v << c) & 0xFFFFFFFF) | (v >> (32 - c))

    def quarter(s: list[int], a: int, b: int, c: int, d: int) -> None:
        s[a] = (s[a] + s[b]) & 0xFFFFFFFF
        s[d] = rotl(s[d] ^ s[a], 16)
        s[c] = (s[c] + s[d]) & 0xFFFFFFFF
        s[b] = rotl(s[b] ^ s[c], 12)
        s[a] = (s[a] + s[b]) & 0xFFFFFFFF
        s[d] = rotl(s[d] ^ s[a], 8)
        s[c] = (s[c] + s[d]) & 0xFFFFFFFF
        s[b] = rotl(s[b] ^ s[c], 7)

    initial = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]
    initial += list(struct.unpack("<8I", key)) + [counter] + list(struct.unpack("<3I", nonce))
    state = list(initial)
    for _ in range(10):
        for a, b, c, d in ((0, 4, 8, 12), (1, 5, 9, 13), (2, 6, 10, 14), (3, 7, 11, 15)):
            quarter(state, a, b, c, d)
        for a, b, c, d in ((0, 5, 10, 15), (1, 6, 11, 12), (2, 7, 8, 13), (3, 4, 9, 14)):
            quarter(state, a, b, c, d)
    return struct.pack("<16I", *((x + y) & 0xFFFFFFFF for x, y in zip(state, initial)))


def test_prg_words_are_the_rfc_8439_chacha20_keystream() -> None:
    assert prg_words(bytes(32), 32).astype("<u4").tobytes() == RFC8439_ZERO_KEY_BLOCKS_0_1
    reference_key = bytes(range(32))
    assert _chacha20_block(reference_key, 1, bytes.fromhex("000000090000004a00000000")) == RFC8439_SECTION_2_3_2_BLOCK
    seed = bytes(range(100, 132))
    stream = b"".join(_chacha20_block(seed, block, bytes(12)) for block in range(4))
    assert prg_words(seed, 50).astype("<u4").tobytes() == stream[: 50 * 4]


def test_prg_words_are_deterministic_prefix_consistent_and_differ_per_seed() -> None:
    seed = _seed(0, 1)
    assert np.array_equal(prg_words(seed, 1000), prg_words(seed, 1000))
    assert np.array_equal(prg_words(seed, 1000)[:37], prg_words(seed, 37))
    assert prg_words(seed, 0).size == 0
    other = prg_words(_seed(0, 2), 1000)
    assert np.mean(prg_words(seed, 1000) == other) < 0.01
    with pytest.raises(ValueError, match="32 bytes"):
        prg_words(seed[:31], 10)


# ---------------------------------------------------------------- quantization

CLIP_MICRO = 1_250_000
CLIP = CLIP_MICRO / 1_000_000
D = 400


def _adversarial_deltas() -> dict[str, np.ndarray]:
    scale = 2.0**10
    one_hot = np.zeros(D)
    one_hot[17] = 1000.0
    # Every coordinate just below an integer once scaled: randomized rounding goes up almost everywhere.
    just_below = np.full(D, (math.floor(CLIP * scale / math.sqrt(D)) - 0.001) / scale)
    return {
        "all mass on one coordinate": one_hot,
        "uniform spread above the clip": np.full(D, 1.0),
        "exactly at the clip": np.array([0.6 * CLIP, -0.8 * CLIP] + [0.0] * (D - 2)),
        "above the clip": np.random.default_rng(5).normal(0, 10, D),
        "rounding up everywhere": just_below,
        "tiny values everywhere": np.full(D, 0.999 / scale),
    }


@pytest.mark.parametrize("case", list(_adversarial_deltas()))
def test_quantized_norm_stays_within_the_sensitivity(case: str) -> None:
    delta = _adversarial_deltas()[case]
    scale_bits = 10
    bound = sensitivity(CLIP_MICRO, scale_bits, D)
    assert bound == math.ceil(CLIP * 2**scale_bits) + math.isqrt(D)  # 400 is a square
    rng = np.random.default_rng(6)
    for _ in range(50):
        q = quantize(delta, CLIP, scale_bits, rng)
        assert q.dtype == np.int64 and q.shape == (D,)
        norm_sq = int(np.dot(q, q))
        assert math.sqrt(norm_sq) <= CLIP * 2**scale_bits + math.sqrt(D)
        assert norm_sq <= bound * bound


def test_quantization_rounds_without_bias() -> None:
    rng = np.random.default_rng(7)
    delta = rng.uniform(-0.01, 0.01, 50)
    scale_bits = 8
    mean = np.mean([quantize(delta, 1.0, scale_bits, rng) for _ in range(4000)], axis=0) / 2**scale_bits
    step = 2.0**-scale_bits
    # Rounding to nearest would be off by up to half a step; the average of random roundings is not.
    assert np.max(np.abs(mean - delta)) < step / 20


def test_sensitivity_rounds_clip_and_square_root_up() -> None:
    assert sensitivity(1_000_000, 0, 1) == 2
    assert sensitivity(1_000_001, 0, 2) == 2 + 2
    assert sensitivity(1_500_000, 3, 10) == 12 + 4


def test_quantize_refuses_a_scale_at_which_one_update_would_wrap() -> None:
    with pytest.raises(ValueError, match="2\\^31"):
        quantize(np.ones(3), 200.0, 24, np.random.default_rng(0))


# ---------------------------------------------------------------- discrete Gaussian noise


def _discrete_gaussian_pmf(sigma: float, support: np.ndarray) -> np.ndarray:
    radius = int(40 * sigma) + 10
    norm = np.exp(-(np.arange(-radius, radius + 1, dtype=np.float64) ** 2) / (2 * sigma**2)).sum()
    return np.exp(-(support.astype(np.float64) ** 2) / (2 * sigma**2)) / norm


@pytest.mark.parametrize("sigma", [0.5, 3.0, 1000.0])
def test_discrete_gaussian_has_mean_zero_and_the_discrete_gaussians_variance(sigma: float) -> None:
    n = 200_000
    draws = discrete_gaussian(sigma, n, np.random.default_rng(8))
    assert draws.dtype == np.int64 and draws.shape == (n,)
    radius = int(40 * sigma) + 10
    support = np.arange(-radius, radius + 1)
    variance = float(np.sum(_discrete_gaussian_pmf(sigma, support) * support.astype(np.float64) ** 2))
    if sigma >= 1:  # below 1 the lattice shows: σ = 0.5 gives 0.215, not 0.25
        assert variance == pytest.approx(sigma**2, rel=1e-9)
    assert abs(draws.mean()) < 5 * math.sqrt(variance / n)
    assert draws.var() == pytest.approx(variance, rel=0.02)  # more than four standard errors


def test_discrete_gaussian_follows_its_pmf() -> None:
    sigma, n, edge = 2.0, 100_000, 7
    draws = np.clip(discrete_gaussian(sigma, n, np.random.default_rng(9)), -edge, edge)
    observed = np.bincount(draws + edge, minlength=2 * edge + 1)
    support = np.arange(-edge, edge + 1)
    expected = _discrete_gaussian_pmf(sigma, support)
    tail = 0.5 * (1 - expected.sum())  # the bins at ±7 hold the tails beyond them
    expected[0] += tail
    expected[-1] += tail
    assert chisquare(observed, expected * n).pvalue > 0.001


def test_zero_sigma_adds_no_noise_and_a_negative_one_is_refused() -> None:
    assert not discrete_gaussian(0.0, 1000, np.random.default_rng(0)).any()
    with pytest.raises(ValueError, match="sigma"):
        discrete_gaussian(-1.0, 10, np.random.default_rng(0))


# ---------------------------------------------------------------- the masked-update file


def _reason(data: bytes, trainer: str = TRAINERS[0], ctx: MaskContext = CTX, n: int = 10) -> str:
    with pytest.raises(MaskedFormatError) as info:
        decode_masked(data, ctx, trainer, n)
    assert str(info.value) == info.value.reason
    return info.value.reason


def test_masked_file_round_trips_and_has_the_documented_layout() -> None:
    words = np.array([0, 1, 2**32 - 1, 12345] + [7] * 6, dtype=np.uint32)
    data = encode_masked(words, CTX, TRAINERS[0])
    assert len(data) == HEADER_BYTES + 40 == 72 + 40
    assert data[:8] == b"DFLMASK1"
    assert data[8:16] == (31337).to_bytes(8, "little")
    assert data[16:36] == bytes.fromhex(CTX.manager[2:])
    assert data[36:44] == (3).to_bytes(8, "little") and data[44:48] == (7).to_bytes(4, "little")
    assert data[48:68] == bytes.fromhex(TRAINERS[0][2:]) and data[68:72] == (10).to_bytes(4, "little")
    assert data[72:76] == bytes(4) and data[80:84] == b"\xff" * 4
    assert np.array_equal(decode_masked(data, CTX, TRAINERS[0].lower(), 10), words)


def test_masked_file_with_wrong_magic_or_length_is_refused_with_its_reason() -> None:
    data = encode_masked(np.arange(10, dtype=np.uint32), CTX, TRAINERS[0])
    assert _reason(b"EVILDATA" + data[8:]) == "wrong magic: a masked update starts with DFLMASK1"
    assert _reason(b"").startswith("wrong magic")
    assert _reason(data[:-1]) == "wrong length: 111 bytes, a masked update of 10 words has 112"
    assert _reason(data + b"\x00") == "wrong length: 113 bytes, a masked update of 10 words has 112"
    assert _reason(data, n=11).startswith("wrong length")


def test_a_copy_of_another_trainers_or_rounds_vector_is_refused_with_its_reason() -> None:
    words = np.arange(10, dtype=np.uint32)
    theirs = encode_masked(words, CTX, TRAINERS[1])
    assert _reason(theirs) == f"trainer mismatch: another trainer's vector (expected {TRAINERS[0].lower()})"
    last_round = encode_masked(words, MaskContext(CTX.chain_id, CTX.manager, CTX.task_id, 6), TRAINERS[0])
    assert _reason(last_round) == "context mismatch: another round's vector (expected round 7)"
    other_task = encode_masked(words, MaskContext(CTX.chain_id, CTX.manager, 4, CTX.round_id), TRAINERS[0])
    assert _reason(other_task) == "context mismatch: another task's vector (expected task 3)"
    other_chain = encode_masked(words, MaskContext(1, CTX.manager, CTX.task_id, CTX.round_id), TRAINERS[0])
    assert _reason(other_chain) == "context mismatch: another chain's vector (expected chain id 31337)"
    other_manager = MaskContext(CTX.chain_id, "0x" + "ab" * 20, CTX.task_id, CTX.round_id)
    assert _reason(encode_masked(words, other_manager, TRAINERS[0])).startswith("context mismatch: another manager's")


def test_a_header_declaring_another_word_count_is_refused() -> None:
    data = bytearray(encode_masked(np.arange(10, dtype=np.uint32), CTX, TRAINERS[0]))
    data[68:72] = (9).to_bytes(4, "little")
    assert _reason(bytes(data)) == "wrong word count in the header (expected 10)"


# ---------------------------------------------------------------- scale and norm bounds


def _worst_case_sum(clip_micro: int, contributors: int, z: float, min_shares: int, d: int) -> tuple[np.ndarray, int]:
    """The int64 sum of `contributors` updates with all their mass on coordinate 0 (the largest a
    coordinate can get), each with its noise share, at the scale `scale_bits_for` chose."""
    scale_bits = scale_bits_for(clip_micro, contributors, z, min_shares, d)
    sigma = noise_share_sigma(z, sensitivity(clip_micro, scale_bits, d), min_shares)
    rng = np.random.default_rng(10)
    one_hot = np.zeros(d)
    one_hot[0] = 1e6
    total = np.zeros(d, dtype=np.int64)
    for _ in range(contributors):
        total += quantize(one_hot, clip_micro / 1_000_000, scale_bits, rng) + discrete_gaussian(sigma, d, rng)
    return total, scale_bits


@pytest.mark.parametrize(
    ("clip_micro", "contributors", "z", "min_shares", "d"),
    [(1_000_000, 100, 1.0, 50, 1000), (5_000_000, 500, 0.0, 1, 10_000), (1_000_000, 50, 4.0, 5, 10_000)],
)
def test_scale_bits_never_let_a_worst_case_sum_wrap(
    clip_micro: int, contributors: int, z: float, min_shares: int, d: int
) -> None:
    total, scale_bits = _worst_case_sum(clip_micro, contributors, z, min_shares, d)
    assert 0 <= scale_bits <= 24
    assert np.abs(total).max() < 2**31
    words = (total & 0xFFFFFFFF).astype(np.uint32)
    assert np.array_equal(dequantize(words, scale_bits), total / 2.0**scale_bits)  # no sign flipped


def test_scale_bits_are_the_largest_that_fit() -> None:
    clip_micro, contributors, d = 5_000_000, 500, 10_000
    scale_bits = scale_bits_for(clip_micro, contributors, 0.0, 1, d)
    assert contributors * sensitivity(clip_micro, scale_bits, d) < 2**31
    assert contributors * sensitivity(clip_micro, scale_bits + 1, d) >= 2**31
    assert scale_bits_for(1_000_000, 2, 0.0, 1, 10) == 24  # capped


def test_impossible_parameters_say_which_one_to_reduce() -> None:
    with pytest.raises(ValueError, match="reduce max_contributors, the clip or d"):
        scale_bits_for(10**12, 10_000, 0.0, 1, 1000)
    with pytest.raises(ValueError, match="reduce z"):
        scale_bits_for(1_000_000, 10, 1e9, 1, 1000)


def test_honest_sums_pass_the_norm_bound_and_one_wild_trainer_does_not() -> None:
    clip_micro, contributors, z, min_shares, d = 1_000_000, 20, 1.0, 10, 1000
    scale_bits = scale_bits_for(clip_micro, contributors, z, min_shares, d)
    delta_bound = sensitivity(clip_micro, scale_bits, d)
    sigma = noise_share_sigma(z, delta_bound, min_shares)
    bound = sum_norm_bound_sq(contributors, delta_bound, sigma, d)
    rng = np.random.default_rng(11)
    honest = [quantize(rng.normal(0, 1, d), 1.0, scale_bits, rng) + discrete_gaussian(sigma, d, rng) for _ in range(20)]
    total = unmask_sum([(q & 0xFFFFFFFF).astype(np.uint32) for q in honest], [])
    assert sum_norm_sq(total) <= bound
    wild = rng.integers(0, 2**32, d, dtype=np.uint32)  # any vector modulo 2^32
    assert sum_norm_sq(unmask_sum([total, wild], [])) > bound


def test_norm_bound_is_an_integer_above_the_real_valued_formula() -> None:
    bound = sum_norm_bound_sq(7, 1000, 123.456, 5000)
    assert isinstance(bound, int)
    with localcontext(prec=60):  # σ at its exact binary value, as the bound reads it
        real = (7 * 1000 + Decimal.from_float(123.456) * Decimal(7).sqrt() * (Decimal(5000).sqrt() + 10)) ** 2
        assert real <= bound <= real * (1 + Decimal(10) ** -9)
    assert sum_norm_bound_sq(3, 10, 0.0, 100) == 900


def test_sum_norm_sq_is_exact_at_the_extremes() -> None:
    words = np.array([2**31, 2**31 - 1, 2**32 - 1, 0, 1] * 1000, dtype=np.uint32)
    expected = 1000 * (2**62 + (2**31 - 1) ** 2 + 1 + 0 + 1)
    assert sum_norm_sq(words) == expected


@pytest.mark.parametrize("shares", [3, 10])
def test_the_noise_shares_of_min_contributors_add_up_to_the_central_mechanisms_noise(shares: int) -> None:
    """Distributed DP loses nothing against a trusted server: the sum of `shares` noise shares has
    the variance (z·Δ)² the central Gaussian mechanism would add, and nothing less."""
    z, sensitivity = 1.5, 40_000
    sigma = noise_share_sigma(z, sensitivity, shares)
    rng = np.random.default_rng(7)
    total = sum(discrete_gaussian(sigma, 200_000, rng) for _ in range(shares))
    central = (z * sensitivity) ** 2
    assert abs(float(np.var(total)) / central - 1) < 0.02
    assert abs(float(np.mean(total))) < 4 * z * sensitivity / math.sqrt(200_000)
