"""PhaseClock called directly (through contracts/test/PhaseClockHarness.sol) against the reference
model of tests/contracts/phase_clock_model.py, over random clocks, schedules, counters and times:

- advance agrees with the model everywhere, and in the cases that make the clock subtle: phases
  whose condition already holds when they start (several phases crossed in one call), `now` just
  before, at and just after a deadline, no reveal (Attest and VoteCommit skipped), the Commit phase
  full at maxTrainersPerRound, and the untimed phases (None, AwaitingFinalization, Completed);
- properties that need no model: advancing twice is advancing once at the later time, the deadline
  never decreases and the phase never goes backwards as time passes, a running phase's deadline is
  in the future, and advance only ever changes the phase and its end;
- isDone follows the interface's table, and isTimed/duration name the right phases and fields.

Timestamps stay below 2**40 - 5 * 2**32 (year 36,000 and more): PhaseClock stores phase ends as
uint40 and relies on block timestamps being far from that bound ("cannot overflow in practice").
Every test is derandomized: the same examples on every run.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import assume, example, settings
from hypothesis import strategies as st

# Hypothesis' own `given`, not brownie.test.given: these tests only make calls (eth_call), never
# transactions, so the chain needs no revert between examples (Brownie's costs ~30 ms per example).
from hypothesis.core import given

from contract_helpers import Phase
from phase_clock_model import TIMED, Clock, Schedule, advance, everyone_acted, timeline

UINT16 = 2**16 - 1
UINT32 = 2**32 - 1
# Largest phase end for which the end of VoteReveal (five uint32 durations later) still fits uint40.
MAX_PHASE_END = 2**40 - 1 - 5 * UINT32
UNTIMED = (Phase.NONE, Phase.AWAITING_FINALIZATION, Phase.COMPLETED)
ROUND_PHASES = TIMED[1:]

# Example counts keep this file near 30 s on a 2-core machine: each example makes one to three
# eth_calls on anvil (about 5 ms each); the comparison with the model gets the most.
MODEL = settings(max_examples=600, derandomize=True, deadline=None)
FAST = settings(max_examples=250, derandomize=True, deadline=None)
SLOW = settings(max_examples=150, derandomize=True, deadline=None)


# --- strategies -----------------------------------------------------------------------------

# Small counters make the phase conditions flip both ways; the full uint16 range checks the bounds.
counter = st.integers(0, 4) | st.integers(0, UINT16)
duration = st.integers(1, 200) | st.integers(1, UINT32)


@st.composite
def schedules(draw) -> Schedule:
    return Schedule(
        commit_duration=draw(duration),
        reveal_duration=draw(duration),
        attest_duration=draw(duration),
        vote_commit_duration=draw(duration),
        vote_reveal_duration=draw(duration),
        exit_cooldown=draw(st.integers(0, UINT32)),
        num_rounds=draw(st.integers(1, UINT16)),
        max_trainers_per_round=draw(st.integers(1, 5) | st.integers(1, UINT16)),
        quorum_bps=draw(st.integers(5_001, 10_000)),
        trainer_share_bps=draw(st.integers(0, 10_000)),
    )


@st.composite
def clocks(draw, phases=TIMED, **fixed) -> Clock:
    fields = {
        "round": draw(st.integers(0, UINT16)),
        "phase": draw(st.sampled_from(phases)),
        "phase_end": draw(st.integers(0, 10_000) | st.integers(0, MAX_PHASE_END)),
        "commits": draw(counter),
        "reveals": draw(counter),
        "attests": draw(counter),
        "vote_commits": draw(counter),
        "vote_reveals": draw(counter),
        "active_trainers": draw(counter),
        "active_validators": draw(counter),
    }
    fields.update({name: draw(value) for name, value in fixed.items()})
    return Clock(**fields)


def times_around(c: Clock, s: Schedule) -> st.SearchStrategy[int]:
    """Times that matter for `c`: just before, at and just after each phase end, and anything else."""
    points = [c.phase_end]
    if c.phase in TIMED:
        points += [end for _, end in timeline(c, s, c.phase_end)]  # the phase ends if nobody acts any more
        points += [end for _, end in timeline(c, s, max(0, c.phase_end - 1))]  # and if it ended early
    near = st.sampled_from(points).flatmap(lambda p: st.integers(max(0, p - 1), p + 1))
    return near | st.integers(0, MAX_PHASE_END + 6 * UINT32) | st.integers(0, 2**64)


@st.composite
def situations(draw, phases=TIMED, **fixed) -> tuple[Clock, Schedule, int]:
    c, s = draw(clocks(phases, **fixed)), draw(schedules())
    return c, s, draw(times_around(c, s))


@st.composite
def two_times(draw, phases=TIMED + UNTIMED, stored=False) -> tuple[Clock, Schedule, int, int]:
    """A clock, a schedule and two times `t1 <= t2`. A `stored` clock is one the manager could have
    stored: its phase is not done yet (PhaseClock.advance's precondition; a done phase ends at the
    time of the call that sees it done, so advancing it later is not advancing it twice)."""
    c, s = draw(clocks(phases)), draw(schedules())
    if stored:
        assume(c.phase not in TIMED or not everyone_acted(c.phase, c, s))
    t1, t2 = sorted((draw(times_around(c, s)), draw(times_around(c, s))))
    return c, s, t1, t2


@st.composite
def full_commit_phases(draw) -> tuple[Clock, Schedule, int]:
    """Commit phases with maxTrainersPerRound commits and at least as many active trainers."""
    s = draw(schedules())
    full = s.max_trainers_per_round
    c = draw(
        clocks(
            (Phase.COMMIT,),
            commits=st.just(full),
            active_trainers=st.integers(full, min(UINT16, full + 5)),
        )
    )
    return c, s, draw(times_around(c, s))


@st.composite
def cascades(draw) -> tuple[Clock, Schedule, int]:
    """Clocks whose later phases already hold their conditions: several phases cross at once."""
    s = draw(schedules())
    commits = draw(st.integers(0, 6))
    reveals = draw(st.sampled_from([0, commits]))  # no reveal, or everyone revealed
    validators = draw(st.integers(0, 6))
    vote_commits = draw(st.sampled_from([0, validators]))
    c = Clock(
        round=draw(st.integers(0, UINT16)),
        phase=draw(st.sampled_from(TIMED)),
        phase_end=draw(st.integers(0, 10_000)),
        commits=commits,
        reveals=reveals,
        attests=draw(st.sampled_from([0, validators])),
        vote_commits=vote_commits,
        vote_reveals=draw(st.sampled_from([0, vote_commits])),
        active_trainers=draw(st.integers(0, commits)),  # everyone who can commit did
        active_validators=validators,
    )
    return c, s, draw(times_around(c, s))


# --- helpers --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clock(PhaseClockHarness, deployer):
    return PhaseClockHarness.deploy({"from": deployer})


def advanced(harness, c: Clock, s: Schedule, now: int) -> Clock:
    return Clock.from_tuple(harness.advance(c.as_tuple(), s.as_tuple(), now))


def check_against_model(harness, c: Clock, s: Schedule, now: int) -> Clock:
    got, want = advanced(harness, c, s, now), advance(c, s, now)
    assert got == want, f"advance({c}, {s}, now={now}) = {got}, the model says {want}"
    return got


# --- advance against the model ----------------------------------------------------------------


@MODEL
@given(case=situations(phases=TIMED + UNTIMED))
@example(  # the latest phase end the domain allows: VoteReveal ends at 2**40 - 1, the largest uint40
    case=(
        Clock(0, Phase.REGISTRATION, MAX_PHASE_END, 2, 1, 0, 1, 0, active_trainers=3, active_validators=2),
        Schedule(UINT32, UINT32, UINT32, UINT32, UINT32, max_trainers_per_round=5),
        2**64,
    )
)
@example(  # nobody committed: Reveal, Attest, VoteCommit and VoteReveal end when they start
    case=(
        Clock(0, Phase.COMMIT, 1_000, active_trainers=3, active_validators=2),
        Schedule(100, 100, 100, 100, 100),
        1_000,
    )
)
@example(  # the last reveal at 950 completes Reveal; no validator: Attest and VoteCommit are vacuous too
    case=(
        Clock(0, Phase.REVEAL, 1_000, commits=2, reveals=2, active_trainers=2),
        Schedule(100, 100, 100, 100, 100),
        950,
    )
)
def testFuzz_advance_matches_the_reference_model(clock, case):
    check_against_model(clock, *case)


@FAST
@given(case=cascades())
def testFuzz_phases_done_when_they_start_are_crossed_in_one_call(clock, case):
    c, s, now = case
    got = check_against_model(clock, c, s, now)
    assert got.phase >= c.phase, f"phase went back from {c.phase!r} to {got.phase!r}"


@FAST
@given(case=situations(), offset=st.sampled_from([-1, 0, 1]))
def testFuzz_a_phase_ends_at_its_deadline_not_before(clock, case, offset):
    c, s, _ = case
    now = max(0, c.phase_end + offset)
    got = check_against_model(clock, c, s, now)
    if not everyone_acted(c.phase, c, s):
        if now < c.phase_end:
            assert got == c, f"{c.phase!r} ended at {now}, before its deadline {c.phase_end}"
        else:
            assert got.phase != c.phase, f"{c.phase!r} still running at {now}, at or after its deadline {c.phase_end}"


@FAST
@given(case=situations(reveals=st.just(0)))
def testFuzz_no_reveal_skips_attest_and_vote_commit(clock, case):
    got = check_against_model(clock, *case)
    assert got.phase not in (Phase.ATTEST, Phase.VOTE_COMMIT), f"round with no reveal is in {got.phase!r}: {got}"


@FAST
@given(case=full_commit_phases())
def testFuzz_commit_ends_when_max_trainers_committed(clock, case):
    c, s, now = case
    got = check_against_model(clock, c, s, now)
    assert got.phase != Phase.COMMIT, f"Commit still running with {c.commits} commits, the maximum: {got}"
    if c.commits > c.reveals and now < c.phase_end:
        want = replace(c, phase=Phase.REVEAL, phase_end=now + s.reveal_duration)
        assert got == want, f"full Commit phase of {c} ended at {now} but the clock is {got}"


@FAST
@given(case=situations(phases=UNTIMED))
def testFuzz_untimed_phases_are_untouched(clock, case):
    c, s, now = case
    got = advanced(clock, c, s, now)
    assert got == c, f"advance changed an untimed clock {c} at {now} into {got}"


# --- properties without the model --------------------------------------------------------------


@SLOW
@given(case=two_times(stored=True))
def testFuzz_advancing_twice_is_advancing_once_at_the_later_time(clock, case):
    c, s, t1, t2 = case
    twice = advanced(clock, advanced(clock, c, s, t1), s, t2)
    once = advanced(clock, c, s, t2)
    assert twice == once, f"advance at {t1} then {t2} gives {twice}, at {t2} alone {once} (clock {c}, {s})"


@FAST
@given(case=situations(phases=TIMED + UNTIMED))
def testFuzz_advancing_again_at_the_same_time_changes_nothing(clock, case):
    c, s, now = case
    first = advanced(clock, c, s, now)
    again = advanced(clock, first, s, now)
    assert again == first, f"advance at {now} is not idempotent: {first} then {again} (clock {c}, {s})"


@SLOW
@given(case=two_times())
def testFuzz_deadline_never_decreases_and_phase_never_goes_back_as_time_passes(clock, case):
    c, s, t1, t2 = case
    early, late = advanced(clock, c, s, t1), advanced(clock, c, s, t2)
    assert early.phase >= c.phase, f"phase went back from {c.phase!r} to {early.phase!r} at {t1}"
    assert late.phase >= early.phase, f"phase went back from {early.phase!r} at {t1} to {late.phase!r} at {t2}"
    if c.phase in TIMED:
        assert late.phase_end >= early.phase_end, (
            f"deadline went from {early.phase_end} at {t1} to {late.phase_end} at {t2}"
        )


@FAST
@given(case=situations())
def testFuzz_only_the_phase_and_its_end_change_and_a_running_phase_ends_in_the_future(clock, case):
    c, s, now = case
    got = advanced(clock, c, s, now)
    assert replace(got, phase=c.phase, phase_end=c.phase_end) == c, f"advance changed more than the phase: {c} -> {got}"
    if got.phase in TIMED:
        assert got.phase_end > now, f"{got.phase!r} still running at {now} past its deadline {got.phase_end}"
    else:
        assert got.phase == Phase.AWAITING_FINALIZATION, f"timed clock {c} ended in {got.phase!r}"
        assert got.phase_end <= now, f"vote reveal ended at {got.phase_end}, after now {now}"


# --- the pieces ---------------------------------------------------------------------------------


@FAST
@given(c=clocks(phases=tuple(Phase)), s=schedules())
def testFuzz_isDone_follows_the_interface_table(clock, c, s):
    got = clock.isDone(c.as_tuple(), s.as_tuple())
    assert got == everyone_acted(c.phase, c, s), f"isDone({c}, {s}) = {got}"


def test_isTimed_and_duration_for_every_phase(clock):
    s = Schedule(11, 22, 33, 44, 55, exit_cooldown=66)
    for phase in Phase:
        timed = clock.isTimed(phase)
        assert timed == (phase in TIMED), f"isTimed({phase!r}) = {timed}"
    for phase in ROUND_PHASES:
        got = clock.duration(phase, s.as_tuple())
        assert got == s.duration(phase), f"duration({phase!r}) = {got}, schedule says {s.duration(phase)}"
