"""What a new task gets unless its requester says otherwise: the one source of these defaults, read
by `TaskSettings` (services/requester.py) and by `dfl task create`'s options. Durations in seconds,
amounts in token base units. Plain constants, so that the command line can show them without
importing the chain or TensorFlow."""

from __future__ import annotations

from offchain.units import TOKEN

NUM_ROUNDS = 3
REGISTRATION = 30
COMMIT = 120
REVEAL = 60
ATTEST = 60
VOTE_COMMIT = 120
VOTE_REVEAL = 60
EXIT_COOLDOWN = 60  # also the window for penalties after a trainer's last round
CLAIM_WINDOW = 7 * 24 * 3600
MIN_TRAINER_STAKE = 10 * TOKEN
MIN_VALIDATOR_STAKE = 100 * TOKEN
STAKE_PER_SAMPLE = TOKEN // 100  # 0.01 token of stake backs each declared sample
MAX_TRAINERS = 100
MAX_UPDATE_BYTES = 16 << 20
# 10.0: about three times the largest change of an honest round of the demo (MLP, 2 epochs, lr 0.1)
# or of the benchmark's CNN (1 epoch) measured here; honest trainers clip to it before submitting.
MAX_DELTA_NORM_MICRO = 10_000_000
QUORUM_BPS = 6_000
TRAINER_NON_REVEAL_SLASH_BPS = 1_000
TRAINER_PENALTY_BPS = 2_000
VALIDATOR_NON_REVEAL_SLASH_BPS = 1_000
VALIDATOR_LOSING_SLASH_BPS = 500
TRAINER_SHARE_BPS = 7_000
REWARD_POOL = 1_000 * TOKEN
