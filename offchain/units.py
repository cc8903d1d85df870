"""Units of the protocol's amounts: token amounts are integers in base units, like the chain's."""

from __future__ import annotations

# Base units in one whole token: the RewardToken has 18 decimals, as most ERC20 tokens do.
TOKEN = 10**18

# Basis points: 10,000 is 100 % (reward shares, quorums, slash rates and attested fractions on chain).
BPS = 10_000

# Micro-units: 1,000,000 is 1.0 (scores in ppm; norms, noise multipliers and epsilons on chain).
MICRO = 1_000_000

# The Merkle root of no leaves: a round that rewards or penalizes nobody (bytes32(0) on chain).
ZERO_ROOT = b"\0" * 32
