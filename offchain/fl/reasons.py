"""Machine-readable codes for why an update was left out of a round, and which of them cost stake."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Why an update was rejected; the value is what a round receipt records."""

    UNAVAILABLE = "unavailable"  # validators holding it stayed below 1 - quorum of the stake
    UNDER_ATTESTED = "under_attested"  # held by more than that, but less than a quorum
    UNATTESTED_ROUND = "unattested_round"  # the attesters together held less than a quorum: no verdict
    TOO_LARGE = "too_large"  # more bytes than the task's size limit
    MALFORMED = "malformed"  # not a readable safetensors container
    MISSING_TENSOR = "missing_tensor"  # a tensor of the global model is absent
    EXTRA_TENSOR = "extra_tensor"  # tensors the global model does not have
    WRONG_SHAPE = "wrong_shape"
    WRONG_DTYPE = "wrong_dtype"
    NON_FINITE = "non_finite"  # NaN or infinity somewhere
    OUT_OF_BOUNDS = "out_of_bounds"  # its change from the global model is longer than the task's bound
    UNCHANGED = "unchanged"  # bit-identical to the global model: no work done
    KRUM_EXCLUDED = "krum_excluded"  # not among Multi-Krum's selected updates
    # SecAgg (offchain.fl.secure_round): only the sum of the masked updates can be read.
    NOT_ELIGIBLE = "not_eligible"  # its key was not in the round's key set: nobody masked with it
    SEEDS_MISSING = "seeds_missing"  # revealed, but did not publish its mask seeds with the dropouts
    SUM_NOT_RELEASED = "sum_not_released"  # its update was fine; the sum could not be unmasked (paid)
    SUM_OUT_OF_BOUNDS = "sum_out_of_bounds"  # the unmasked sum is longer than honest updates can make it


# Reasons that only a broken or dishonest client produces, or that mean the trainer did not make its
# update available: the receipt's penalty root names these trainers and anyone can apply the penalty.
# An honest client checks all of them before it commits (size, format, finiteness, the norm bound,
# that it changed something) and pins what it reveals. Excluded from penalties: partial availability
# (honest validators may disagree on it at the margin), a round without an attestation quorum (the
# validators, not the trainer, were missing) and Krum's statistical selection.
PENALIZED: frozenset[Reason] = frozenset(
    {
        Reason.UNAVAILABLE,
        Reason.TOO_LARGE,
        Reason.MALFORMED,
        Reason.MISSING_TENSOR,
        Reason.EXTRA_TENSOR,
        Reason.WRONG_SHAPE,
        Reason.WRONG_DTYPE,
        Reason.NON_FINITE,
        Reason.OUT_OF_BOUNDS,
        Reason.UNCHANGED,
        Reason.NOT_ELIGIBLE,
        Reason.SEEDS_MISSING,
    }
)

# Reasons whose updates are paid although they are not in the aggregate: a SecAgg trainer that did
# everything right while another trainer kept the round's sum from being unmasked.
PAID: frozenset[Reason] = frozenset({Reason.SUM_NOT_RELEASED})
