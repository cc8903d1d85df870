"""Units of the protocol's amounts: token amounts are integers in base units, like the chain's."""

from __future__ import annotations

# Base units in one whole token: the RewardToken has 18 decimals, as most ERC20 tokens do.
TOKEN = 10**18
