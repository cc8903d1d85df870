"""Token amounts typed and read by users: exact to the base unit, refused with a message otherwise."""

from __future__ import annotations

import pytest

from offchain.errors import ArgumentError
from offchain.tokens import UNIT, format_tokens, parse_tokens


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("100000", 100_000 * UNIT),  # through a float: 99999999999999991611392
        ("1000000000", 10**9 * UNIT),
        ("0.5", UNIT // 2),
        ("212.5", 2125 * UNIT // 10),
        ("0.000000000000000001", 1),
        ("1e3", 1000 * UNIT),
        ("1_000", 1000 * UNIT),
        (" 10 ", 10 * UNIT),
    ],
)
def test_parse_is_exact_to_the_base_unit(text: str, units: int) -> None:
    assert parse_tokens(text) == units


def test_the_float_path_it_replaces_was_off_by_8388608_units() -> None:
    assert int(100_000.0 * UNIT) == 99999999999999991611392  # the faucet bug of issue 13
    assert parse_tokens("100000") - int(100_000.0 * UNIT) == 8_388_608


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-5", "--amount must be more than 0 DFL, got -5"),
        ("0", "--amount must be more than 0 DFL, got 0"),
        ("abc", "--amount 'abc' is not a number of tokens"),
        ("nan", "is not a number of tokens"),
        ("inf", "is not a number of tokens"),
        ("0.0000000000000000001", "has more than 18 decimal places"),
    ],
)
def test_parse_refuses_with_the_option_name(text: str, message: str) -> None:
    with pytest.raises(ArgumentError, match=message.replace("(", r"\(")):
        parse_tokens(text, what="--amount")


def test_zero_is_allowed_where_asked() -> None:
    assert parse_tokens("0", allow_zero=True) == 0


@pytest.mark.parametrize(
    ("units", "text"),
    [
        (0, "0"),
        (1, "0.000000000000000001"),
        (10 * UNIT, "10"),
        (2125 * UNIT // 10, "212.5"),
        (10**9 * UNIT, "1000000000"),
        (-3 * UNIT // 2, "-1.5"),
        (1000 * UNIT // 3, "333.333333333333333333"),
    ],
)
def test_format_is_exact_without_exponent_or_trailing_zeros(units: int, text: str) -> None:
    assert format_tokens(units) == text
    assert format_tokens(units, symbol=True) == f"{text} DFL"


@pytest.mark.parametrize("units", [0, 1, 7, UNIT, 10**27 + 3, 2**96 - 1])
def test_format_then_parse_gives_the_same_units(units: int) -> None:
    assert parse_tokens(format_tokens(units), allow_zero=True) == units
