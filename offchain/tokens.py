"""Token amounts as a user types and reads them: exact decimals, never floats.

The reward token has 18 decimals. On-chain amounts are integers of base units;
a user writes and reads whole tokens (`10`, `0.5`, `212.5`). Going through a
float loses digits (`100000.0 * 10**18` is 99999999999999991611392), so amounts
go through `decimal.Decimal` with enough precision for any uint256.
"""

from __future__ import annotations

from decimal import Context, Decimal, InvalidOperation

from offchain.errors import ArgumentError

DECIMALS = 18
UNIT = 10**DECIMALS
SYMBOL = "DFL"
UINT96_MAX = 2**96 - 1  # the contract keeps stakes and pools in uint96

_EXACT = Context(prec=100)  # more digits than any uint256 has: no rounding anywhere


def parse_tokens(text: str | int | Decimal, *, what: str = "amount", allow_zero: bool = False) -> int:
    """Base units of a token amount written in tokens (`10`, `0.25`, `1e3`); exact or refused.

    Refused with an ArgumentError naming `what`: anything not a finite number, negative
    amounts, zero (unless `allow_zero`), and more than 18 decimal places."""
    try:
        value = Decimal(str(text).strip().replace("_", ""), context=_EXACT)
    except InvalidOperation:
        raise ArgumentError(f"{what} {text!r} is not a number of tokens (write e.g. 10 or 0.5)") from None
    if not value.is_finite():
        raise ArgumentError(f"{what} {text!r} is not a number of tokens (write e.g. 10 or 0.5)")
    if value < 0 or (value == 0 and not allow_zero):
        raise ArgumentError(f"{what} must be {'zero or ' if allow_zero else ''}more than 0 {SYMBOL}, got {text}")
    units = _EXACT.multiply(value, Decimal(UNIT))
    if units != units.to_integral_value():
        raise ArgumentError(f"{what} {text} has more than {DECIMALS} decimal places; {SYMBOL} has {DECIMALS}")
    return int(units)


def format_tokens(units: int, *, symbol: bool = False) -> str:
    """`212500000000000000000` -> `212.5` (exact, no exponent, no trailing zeros)."""
    value = _EXACT.divide(Decimal(int(units)), Decimal(UNIT))
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} {SYMBOL}" if symbol else text
