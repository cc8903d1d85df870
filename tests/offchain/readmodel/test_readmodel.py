"""The read model over hand-built task logs: which model each round starts from, which validators a
round counted on, and what each participant earned. (tests/integration/test_round_views_agree.py
runs it over a real chain, through the CLI and the explorer.)"""

from __future__ import annotations

from typing import Any

import pytest

from offchain.chain.events import (
    Event,
    ExitRequested,
    RoundFinalized,
    Slashed,
    Staked,
    TaskCreated,
    TaskLog,
    TrainerRewardClaimed,
    ValidatorRewardClaimed,
    VoteCommitted,
    VoteRevealed,
)
from offchain.chain.protocol import REJECT_PROPOSAL, Role, RoundStatus, SlashReason, TaskParams, proposal_hash
from offchain.fl.receipt import RoundReceipt, UpdateEntry
from offchain.readmodel.models import HistoryError, global_model_cid, winning_receipt_cid
from offchain.readmodel.participants import participant_totals
from offchain.readmodel.rounds import UpdateView
from offchain.readmodel.validators import round_validators
from offchain.units import TOKEN

TASK = 1
A, B, C, D = (f"0x{c * 40}" for c in "ABCD")
ROOT = b"\x05" * 32
PARAMS = TaskParams(
    "QmSpec", "QmInit", "QmEval", b"\0" * 32, 0, (0,), 3, 0, 60, 60, 60, 60, 60, 0, 3600, TOKEN, 100 * TOKEN, 0,
    10, 1 << 20, 0, 6000, 1000, 2000, 1000, 500, 7000, 100 * TOKEN,
)  # fmt: skip


def _log(*records: Any) -> TaskLog:
    """Records in chain order, one per block."""
    events = [Event(type(r).__name__, {}, block, f"0x{block:064x}", 0, r) for block, r in enumerate(records, 1)]
    return TaskLog(TASK, (Event("TaskCreated", {}, 0, "0x0", 0, TaskCreated(TASK, A, PARAMS)), *events))


def _vote(round_id: int, validator: str, cid: str) -> VoteRevealed:
    proposal = proposal_hash(cid, ROOT, b"\0" * 32) if cid else REJECT_PROPOSAL
    return VoteRevealed(
        TASK, round_id, validator, proposal, cid, ROOT if cid else b"\0" * 32, b"\0" * 32, 100 * TOKEN, 9000
    )


def _finalized(round_id: int, status: RoundStatus, cid: str, stake: int = 100 * TOKEN) -> RoundFinalized:
    return RoundFinalized(
        TASK, round_id, status, proposal_hash(cid, ROOT, b"\0" * 32), ROOT, b"\0" * 32, stake, 300 * TOKEN, 0
    )


def test_each_round_starts_from_the_receipt_of_the_last_accepted_round_before_it() -> None:
    log = _log(
        _vote(0, B, "QmReceipt0"),
        _finalized(0, RoundStatus.ACCEPTED, "QmReceipt0"),
        _vote(1, B, "QmLoser"),
        _finalized(1, RoundStatus.FAILED, "QmLoser"),
        _vote(2, B, "QmReceipt2"),
        _finalized(2, RoundStatus.ACCEPTED, "QmReceipt2"),
    )
    assert [global_model_cid(log, r) for r in range(4)] == ["QmInit", "QmReceipt0", "QmReceipt0", "QmReceipt2"]
    assert [winning_receipt_cid(log, r) for r in range(3)] == ["QmReceipt0", None, "QmReceipt2"]


def test_an_accepted_round_whose_winner_nobody_revealed_is_an_error_not_a_guess() -> None:
    log = _log(_vote(0, B, "QmOther"), _finalized(0, RoundStatus.ACCEPTED, "QmReceipt0"))
    with pytest.raises(HistoryError, match="no revealed vote carries the winning proposal of round 0"):
        global_model_cid(log, 1)


def test_a_round_counts_voters_and_still_active_validators_but_not_leavers_or_latecomers() -> None:
    log = _log(
        Staked(TASK, B, Role.VALIDATOR, 100 * TOKEN, 100 * TOKEN),
        Staked(TASK, C, Role.VALIDATOR, 100 * TOKEN, 100 * TOKEN),
        Staked(TASK, D, Role.VALIDATOR, 150 * TOKEN, 150 * TOKEN),
        Staked(TASK, A, Role.TRAINER, TOKEN, TOKEN),
        ExitRequested(TASK, C, 0),  # left before round 0 voted
        Slashed(TASK, 0, D, SlashReason.VALIDATOR_NON_REVEAL, 10 * TOKEN, 140 * TOKEN),  # still above the minimum
        VoteCommitted(TASK, 0, B, b"\1" * 32, 100 * TOKEN),
        _finalized(0, RoundStatus.FAILED, "QmX"),
        Slashed(TASK, 1, B, SlashReason.VALIDATOR_NON_REVEAL, 50 * TOKEN, 50 * TOKEN),  # below the minimum
        Staked(TASK, C.replace("C", "E"), Role.VALIDATOR, 100 * TOKEN, 100 * TOKEN),  # joined after round 0
    )
    assert round_validators(log, 0) == [B, D]
    assert round_validators(log, 1) == [D, C.replace("C", "E")]  # B fell below the minimum stake


def test_trainers_earn_what_the_receipts_allocate_and_validators_what_they_claimed_or_can_claim() -> None:
    log = _log(
        Staked(TASK, A, Role.TRAINER, TOKEN, TOKEN),
        Staked(TASK, B, Role.VALIDATOR, 100 * TOKEN, 100 * TOKEN),
        Staked(TASK, A, Role.TRAINER, TOKEN, 2 * TOKEN),
        TrainerRewardClaimed(TASK, 0, A, 7 * TOKEN),
        ValidatorRewardClaimed(TASK, 0, B, 3 * TOKEN, True),
        Slashed(TASK, 1, A, SlashReason.TRAINER_NON_REVEAL, TOKEN // 10, 2 * TOKEN - TOKEN // 10),
    )
    receipt = RoundReceipt(
        TASK, 0, "QmInit", "QmModel", "fedavg", 0, (0,), 7 * TOKEN, False, (), ((A.lower(), 7 * TOKEN),), "0x", (), "0x"
    )
    rows = participant_totals(log, {0: receipt}, {B.lower(): 2 * TOKEN})
    assert [(p.account, p.role, p.staked, p.earned, p.claimed, p.slashed) for p in rows] == [
        (A, Role.TRAINER, 2 * TOKEN, 7 * TOKEN, 7 * TOKEN, TOKEN // 10),
        (B, Role.VALIDATOR, 100 * TOKEN, 5 * TOKEN, 3 * TOKEN, 0),
    ]


def _why(*, accepted: bool, reason: str | None, score: int, reward_ppm: int) -> str:
    entry = UpdateEntry(0, A, "QmU", 100, 10_000, accepted, reason, False, "detail", score, reward_ppm, 0, 7, 50)
    return UpdateView(A, None, None, entry, None, reason, trainer_pool=100).why  # type: ignore[arg-type]


def test_why_says_a_secagg_update_is_paid_by_its_samples_and_a_krum_exclusion_by_its_reward_score() -> None:
    """A SecAgg round whose sum could not be released pays the fine updates by their counted samples
    (their receipt entries carry 1.0 for both scores); an update Multi-Krum left out is paid by its
    reward score, even a perfect one, and says so."""
    secagg = _why(accepted=False, reason="sum_not_released", score=1_000_000, reward_ppm=1_000_000)
    assert secagg.startswith("not in the model (sum_not_released: detail), paid by its counted samples: 50.0%")
    krum = _why(accepted=False, reason="krum_excluded", score=1_000_000, reward_ppm=1_000_000)
    assert krum.startswith("left out of the model (krum_excluded: detail) but paid for reward score 1.000")
