"""The worker loop retries what may pass and stops at once on what cannot: sorted by `transient`."""

from __future__ import annotations

import logging

import pytest

from offchain.chain.errors import NonceRace, RpcUnavailable, TxReverted
from offchain.errors import CidMismatchError, DflError, IpfsError
from offchain.ml.errors import TrainingError
from offchain.workers.loop import run_until_done
from offchain.workers.staking import StakeError


@pytest.mark.parametrize(
    "error",
    [
        RpcUnavailable("the RPC endpoint did not answer"),
        IpfsError("IPFS cat failed: could not connect"),
        NonceRace("nonce too low"),
        TxReverted("commitUpdate", "FLTaskManagerWrongPhase", (1, 2, 3)),
        TxReverted("slash", "FLTaskManagerNotSlashable", (1, 0, "0xabc")),
    ],
)
def test_transient_errors_are_retried_and_logged_once(error: DflError, caplog: pytest.LogCaptureFixture) -> None:
    calls = []

    def step() -> bool:
        calls.append(1)
        if len(calls) < 4:
            raise error
        return False

    run_until_done(step, poll_seconds=0.01, name="trainer 0x1")
    assert len(calls) == 4
    retried = [r for r in caplog.records if "(will retry)" in r.getMessage()]
    assert len(retried) == 1 and str(error) in retried[0].getMessage()


@pytest.mark.parametrize(
    "error",
    [
        TxReverted("stake", "FLTaskManagerStakeBelowMinimum", (1, 5, 10)),
        TxReverted("stake", "ERC20InsufficientBalance", ("0x1", 0, 10)),
        TxReverted("commitUpdate", "FLTaskManagerNotActive", (1, "0x1")),
        TrainingError("labels run 0..15 but the model has 10 outputs"),
        StakeError("a trainer stake of 5 DFL is below task 1's minimum of 10 DFL"),
        CidMismatchError("bytes do not hash to the CID"),
        DflError("anything not known to pass"),
    ],
)
def test_permanent_errors_end_the_loop_at_once(error: DflError) -> None:
    calls = []

    def step() -> bool:
        calls.append(1)
        raise error

    with pytest.raises(type(error)) as raised:
        run_until_done(step, poll_seconds=0.01, name="trainer 0x1")
    assert raised.value is error and len(calls) == 1


def test_a_revert_that_cannot_pass_says_what_to_do() -> None:
    assert "top it up with `dfl stake`" in str(TxReverted("commitUpdate", "FLTaskManagerNotActive", (1, "0x1")))


def test_max_seconds_gives_up_with_a_message() -> None:
    with pytest.raises(DflError, match="gave up after 0s"):
        run_until_done(lambda: True, poll_seconds=0.01, name="trainer 0x1", max_seconds=0.05)


def test_a_repeated_transient_error_is_logged_again_after_a_while(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    calls = []

    def step() -> bool:
        calls.append(1)
        if len(calls) < 12:
            raise RpcUnavailable("down")
        return False

    run_until_done(step, poll_seconds=0.01, name="trainer 0x1", repeat_every=0.05)
    assert 2 <= len([r for r in caplog.records if "(will retry)" in r.getMessage()]) < 11
