"""Reference model of the phase clock, written from the conventions block of IFLTaskManager.sol.

The question it answers: given a round's clock (phase, phase end, counters), the task's schedule
and a time `now`, where is the round? The specification, in the interface's words:

- a round goes Commit -> Reveal -> Attest -> VoteCommit -> VoteReveal -> AwaitingFinalization, and
  round 0 is preceded by Registration;
- each timed phase ends at its deadline (`now >= deadline`) or as soon as everyone who can act in it
  has acted (the table in `everyone_acted`); Registration only at its deadline;
- a phase that ends early ends at the timestamp of the transaction that completed it; a phase whose
  condition already holds when it starts ends when it starts;
- the next phase's deadline is the previous phase's end plus its duration;
- AwaitingFinalization reports the time the vote reveal ended; the untimed phases (None,
  AwaitingFinalization, Completed) only change through transactions, never with time.

The clock is the one the manager stores: it was brought up to date by the last transaction. So if
everyone has already acted in its phase, the transaction that completed the phase is the one at
`now` (unless the deadline came first). Counters do not change with time: the model says where the
round is at `now` if nobody acts between the clock and `now`.

Unlike PhaseClock.advance, which steps through phases in a loop, the model lays out the rest of the
round as a timeline (when each phase would end) and then looks up `now` in it.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, replace

from offchain.chain.protocol import Phase

# The phases that end with time, in order; AwaitingFinalization follows the last one.
TIMED = (Phase.REGISTRATION, Phase.COMMIT, Phase.REVEAL, Phase.ATTEST, Phase.VOTE_COMMIT, Phase.VOTE_REVEAL)


@dataclass(frozen=True)
class Clock:
    """PhaseClock.Clock, field for field (the harness takes and returns it as a tuple)."""

    round: int
    phase: Phase
    phase_end: int
    commits: int = 0
    reveals: int = 0
    attests: int = 0
    vote_commits: int = 0
    vote_reveals: int = 0
    active_trainers: int = 0
    active_validators: int = 0

    def as_tuple(self) -> tuple[int, ...]:
        return tuple(int(v) for v in astuple(self))

    @classmethod
    def from_tuple(cls, values) -> Clock:
        fields = [int(v) for v in values]
        return cls(fields[0], Phase(fields[1]), *fields[2:])


@dataclass(frozen=True)
class Schedule:
    """PhaseClock.Schedule, field for field."""

    commit_duration: int
    reveal_duration: int
    attest_duration: int
    vote_commit_duration: int
    vote_reveal_duration: int
    exit_cooldown: int = 0
    num_rounds: int = 1
    max_trainers_per_round: int = 1
    quorum_bps: int = 6_000
    trainer_share_bps: int = 5_000

    def as_tuple(self) -> tuple[int, ...]:
        return astuple(self)

    def duration(self, phase: Phase) -> int:
        return {
            Phase.COMMIT: self.commit_duration,
            Phase.REVEAL: self.reveal_duration,
            Phase.ATTEST: self.attest_duration,
            Phase.VOTE_COMMIT: self.vote_commit_duration,
            Phase.VOTE_REVEAL: self.vote_reveal_duration,
        }[phase]


def everyone_acted(phase: Phase, c: Clock, s: Schedule) -> bool:
    """Whether everyone who can act in `phase` has acted (the interface's table, row for row)."""
    if phase == Phase.COMMIT:
        return c.commits > 0 and c.commits >= min(c.active_trainers, s.max_trainers_per_round)
    if phase == Phase.REVEAL:
        return c.reveals >= c.commits
    if phase == Phase.ATTEST:
        return c.reveals == 0 or (c.attests > 0 and c.attests >= c.active_validators)
    if phase == Phase.VOTE_COMMIT:
        return c.reveals == 0 or (c.vote_commits > 0 and c.vote_commits >= c.active_validators)
    if phase == Phase.VOTE_REVEAL:
        return c.vote_reveals >= c.vote_commits
    return False  # Registration: anyone may still stake until its deadline


def timeline(c: Clock, s: Schedule, now: int) -> list[tuple[Phase, int]]:
    """When the clock's phase and each later timed phase end, if the counters stay as they are."""
    phases = TIMED[TIMED.index(c.phase) :]
    if everyone_acted(c.phase, c, s):
        end = min(now, c.phase_end)  # completed by the transaction at `now`, unless the deadline came first
    else:
        end = c.phase_end
    ends = [(c.phase, end)]
    for phase in phases[1:]:
        start = end
        end = start if everyone_acted(phase, c, s) else start + s.duration(phase)
        ends.append((phase, end))
    return ends


def advance(c: Clock, s: Schedule, now: int) -> Clock:
    """The clock as of `now`: the first phase of the timeline still running at `now`, with its deadline."""
    if c.phase not in TIMED:
        return c
    ends = timeline(c, s, now)
    for phase, end in ends:
        if now < end:  # a phase is over once `now >= end`
            return replace(c, phase=phase, phase_end=end)
    return replace(c, phase=Phase.AWAITING_FINALIZATION, phase_end=ends[-1][1])
