"""Machine-readable codes for why an update was excluded from a round."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Why an update was rejected; the value is what a round receipt records."""

    MISSING = "missing"  # bytes could not be fetched for the revealed CID
    CID_MISMATCH = "cid_mismatch"  # fetched bytes do not hash to the revealed CID
    TOO_LARGE = "too_large"  # more bytes than the task's size limit
    MALFORMED = "malformed"  # not a readable safetensors container
    MISSING_TENSOR = "missing_tensor"  # a tensor of the global model is absent
    EXTRA_TENSOR = "extra_tensor"  # a tensor the global model does not have
    WRONG_SHAPE = "wrong_shape"
    WRONG_DTYPE = "wrong_dtype"
    NO_SAMPLES = "no_samples"  # numSamples is zero: nothing to weigh
    NON_FINITE = "non_finite"  # NaN or infinity somewhere
    UNCHANGED = "unchanged"  # bit-identical to the global model: no work done
    KRUM_EXCLUDED = "krum_excluded"  # not among Multi-Krum's selected updates
