"""Random sequences of stake, commit, reveal, vote, finalize, claim, slash, exit and withdraw over
several accounts (Brownie's hypothesis state machine). After every step:

- tokens are conserved: all holders' balances plus the manager's equal the supply;
- the manager holds exactly what it owes: stakes + unallocated pool + the running round's reward
  + the unclaimed part of every finalized round's pools;
- no round's claims exceed its trainer or validator pool; nothing is claimed twice;
- a finalized round's outcome never changes;
- no slash exceeds the stake it is taken from, and stakes never go negative.
"""

import brownie
from brownie.test import strategy

from contract_helpers import (
    E18,
    ZERO,
    MerkleTree,
    Phase,
    Role,
    Status,
    as_tuple,
    default_params,
    proposal_hash,
    salt,
    update_commitment,
    vote_commitment,
)

SUPPLY = 10**9 * E18
STATS: dict = {}  # successful transactions per function, printed with -s
N_ROUNDS = 3


class ProtocolMachine:
    st_idx = strategy("uint8", max_value=2)
    st_amount = strategy("uint256", min_value=1, max_value=150)
    st_secs = strategy("uint256", min_value=1, max_value=120)
    st_round = strategy("uint8", max_value=N_ROUNDS - 1)
    st_bool = strategy("bool")

    def __init__(self, manager, token, trainers, validators, requester, deployer):
        self.m, self.token = manager, token
        self.trainers, self.validators = trainers[:3], validators[:3]
        self.requester, self.deployer = requester, deployer
        self.holders = [deployer, requester, *trainers, *validators]

    def setup(self):
        p = default_params(
            numRounds=N_ROUNDS,
            registrationDuration=20,
            commitDuration=60,
            revealDuration=60,
            voteCommitDuration=60,
            voteRevealDuration=60,
            exitCooldown=40,
            rewardPool=999 * E18,
            minTrainerStake=50 * E18,
            minValidatorStake=50 * E18,
            trainerNonRevealSlashBps=2500,
            validatorNonRevealSlashBps=5000,
            validatorLosingSlashBps=10000,
        )
        self.task = self.m.createTask(as_tuple(p), {"from": self.requester}).return_value
        self.secrets = {}  # (round, account) -> reveal args
        self.finalized = {}  # round -> outcome snapshot
        self.claimed = set()  # (kind, round, account) paid out by a claim
        self.trees = {}  # round -> MerkleTree of its accepted proposal
        for a in self.trainers:
            self.m.stake(self.task, Role.TRAINER, 100 * E18, {"from": a})
        for a in self.validators:
            self.m.stake(self.task, Role.VALIDATOR, 100 * E18, {"from": a})

    # --- helpers -------------------------------------------------------------------------
    def _round(self):
        brownie.chain.mine()
        r, ph, _ = self.m.currentRound(self.task)
        return int(r), Phase(int(ph))

    def _try(self, fn, *args):
        stakes = {str(a): self.m.participant(self.task, a)["stake"] for a in self.trainers + self.validators}
        try:
            tx = fn(*args)
        except brownie.exceptions.VirtualMachineError:
            return None
        name = getattr(fn, "_name", str(fn))
        STATS[name] = STATS.get(name, 0) + 1
        for ev in tx.events["Slashed"] if "Slashed" in tx.events else []:  # noqa: SIM401 (brownie EventDict has no .get)
            before = stakes[str(ev["account"])]
            assert ev["amount"] <= before, "slash above the stake"
            assert ev["remainingStake"] >= 0
        return tx

    def _tree(self, rnd):
        revealers = [t for t in self.trainers if (rnd, str(t)) in self.secrets and self.secrets[(rnd, str(t))][-1]]
        if not revealers:
            return None
        pool = self.m.roundOutcome(self.task, rnd)["trainerPool"]
        return MerkleTree([(str(t), pool // len(revealers)) for t in revealers])

    # --- rules ---------------------------------------------------------------------------
    def rule_sleep(self, st_secs):
        brownie.chain.sleep(int(st_secs))

    def rule_skip_phase(self):
        _, _, deadline = self.m.currentRound(self.task)
        brownie.chain.sleep(max(0, int(deadline) - brownie.chain.time()) + 1)

    def rule_progress(self, st_idx, st_bool):
        """The action the current phase expects, by a random participant (honest if st_bool)."""
        _, phase = self._round()
        if phase == Phase.COMMIT:
            self.rule_commit_update(st_idx)
        elif phase == Phase.REVEAL and (st_bool or st_idx):
            self.rule_reveal_update(st_idx)
        elif phase == Phase.VOTE_COMMIT:
            self.rule_commit_vote(st_idx, st_bool or st_idx == 1)
        elif phase == Phase.VOTE_REVEAL and (st_bool or st_idx):
            self.rule_reveal_vote(st_idx)
        elif phase == Phase.AWAITING_FINALIZATION:
            self.rule_finalize()
        elif phase == Phase.COMPLETED:
            self.rule_withdraw(st_idx, st_bool)

    rule_progress_2 = rule_progress
    rule_progress_3 = rule_progress
    rule_progress_4 = rule_progress

    def rule_stake(self, st_idx, st_amount, st_bool):
        a = (self.trainers if st_bool else self.validators)[st_idx]
        role = Role.TRAINER if st_bool else Role.VALIDATOR
        self._try(self.m.stake, self.task, role, int(st_amount) * E18, {"from": a})

    def rule_commit_update(self, st_idx):
        t = self.trainers[st_idx]
        rnd, _ = self._round()
        cid, s = f"QmU{st_idx}r{rnd}", salt()
        c = update_commitment(self.task, rnd, t, cid, 10 + st_idx, s)
        if self._try(self.m.commitUpdate, self.task, c, {"from": t}):
            self.secrets[(rnd, str(t))] = [cid, 10 + st_idx, s, False]

    def rule_reveal_update(self, st_idx):
        t = self.trainers[st_idx]
        rnd, _ = self._round()
        sec = self.secrets.get((rnd, str(t)))
        if sec and self._try(self.m.revealUpdate, self.task, sec[0], sec[1], sec[2], {"from": t}):
            sec[3] = True

    def rule_commit_vote(self, st_idx, st_bool):
        v = self.validators[st_idx]
        rnd, _ = self._round()
        tree = self._tree(rnd)
        cid, root = (f"QmAgg{rnd}", tree.root) if (st_bool and tree) else ("", ZERO)
        s = salt()
        c = vote_commitment(self.task, rnd, v, proposal_hash(cid, root), s)
        if self._try(self.m.commitVote, self.task, c, {"from": v}):
            self.secrets[(rnd, str(v))] = [cid, root, s, False]
            if tree:
                self.trees[(rnd, proposal_hash(cid, root))] = tree

    def rule_reveal_vote(self, st_idx):
        v = self.validators[st_idx]
        rnd, _ = self._round()
        sec = self.secrets.get((rnd, str(v)))
        if sec and self._try(self.m.revealVote, self.task, sec[0], sec[1], sec[2], 7000, {"from": v}):
            sec[3] = True

    def rule_finalize(self):
        rnd, _ = self._round()
        tx = self._try(self.m.finalizeRound, self.task, {"from": self.deployer})
        if tx:
            ev = tx.events["RoundFinalized"]
            if ev["status"] == Status.ACCEPTED:
                self.trees[rnd] = self.trees[(rnd, bytes(ev["winningProposal"]))]

    def rule_claim_trainer(self, st_idx, st_round):
        t = self.trainers[st_idx]
        accepted = sorted(k for k in self.trees if isinstance(k, int))
        rnd = accepted[int(st_round) % len(accepted)] if accepted else int(st_round)
        tree = self.trees.get(rnd)
        entry = [v for a, v in tree.values if a == str(t)] if tree else []
        amount = entry[0] if entry else 1
        proof = tree.proof(t, amount) if entry else []
        tx = self._try(self.m.claimTrainerReward, self.task, rnd, amount, proof, {"from": t})
        if tx:
            key = ("trainer", rnd, str(t))
            assert key not in self.claimed, "trainer reward claimed twice"
            self.claimed.add(key)

    def rule_claim_validator(self, st_idx, st_round):
        v, rnd = self.validators[st_idx], int(st_round)
        tx = self._try(self.m.claimValidatorReward, self.task, rnd, {"from": v})
        if tx:
            key = ("validator", rnd, str(v))
            assert key not in self.claimed, "validator reward claimed twice"
            self.claimed.add(key)

    def rule_slash(self, st_idx, st_round, st_bool):
        a = (self.trainers if st_bool else self.validators)[st_idx]
        self._try(self.m.slash, self.task, int(st_round), a, {"from": self.deployer})

    def rule_exit(self, st_idx, st_bool):
        a = (self.trainers if st_bool else self.validators)[st_idx]
        self._try(self.m.requestExit, self.task, {"from": a})

    def rule_withdraw(self, st_idx, st_bool):
        a = (self.trainers if st_bool else self.validators)[st_idx]
        self._try(self.m.withdraw, self.task, {"from": a})

    def rule_return_pool(self):
        self._try(self.m.returnUnspentPool, self.task, {"from": self.deployer})

    # --- invariants ------------------------------------------------------------------------
    def invariant_tokens_conserved(self):
        total = sum(self.token.balanceOf(h) for h in self.holders) + self.token.balanceOf(self.m)
        assert total == SUPPLY, "tokens created or destroyed"

    def invariant_manager_holds_exactly_its_obligations(self):
        owed = sum(self.m.participant(self.task, a)["stake"] for a in self.trainers + self.validators)
        state = self.m.taskState(self.task)
        owed += state["unallocatedPool"]
        if state["phase"] != Phase.COMPLETED:
            owed += state["roundReward"]
        for rnd in range(N_ROUNDS):
            out = self.m.roundOutcome(self.task, rnd)
            assert out["trainerClaimed"] <= out["trainerPool"], "trainer claims above the pool"
            assert out["validatorClaimed"] <= out["validatorPool"], "validator claims above the pool"
            if out["status"] == Status.ACCEPTED:
                owed += out["trainerPool"] - out["trainerClaimed"]
            if out["status"] in (Status.ACCEPTED, Status.REJECTED):
                owed += out["validatorPool"] - out["validatorClaimed"]
        assert self.token.balanceOf(self.m) == owed, "manager balance differs from its obligations"

    def invariant_finalized_rounds_never_change(self):
        for rnd in range(N_ROUNDS):
            out = self.m.roundOutcome(self.task, rnd)
            if out["status"] == Status.OPEN:
                assert rnd not in self.finalized, "a finalized round reopened"
                continue
            snap = (out["status"], out["rewardRoot"], out["winningStake"], out["roundReward"], out["finalizedAt"])
            assert self.finalized.setdefault(rnd, snap) == snap, "a finalized round changed"


def _python_state_machine():
    """Brownie's `state_machine` from its pure-Python source: the mypyc-compiled module in this
    Brownie build rejects the machine class it generates itself (an exact-type check)."""
    import importlib.util
    from pathlib import Path

    source = Path(brownie.__file__).parent / "test" / "stateful.py"
    spec = importlib.util.spec_from_file_location("dfl_brownie_stateful", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.state_machine


def test_protocol_invariants(manager, token, trainers, validators, requester, deployer):
    settings = {
        "max_examples": int(__import__("os").environ.get("DFL_SM_EXAMPLES", 40)),
        "stateful_step_count": int(__import__("os").environ.get("DFL_SM_STEPS", 60)),
        "database": None,
    }
    _python_state_machine()(
        ProtocolMachine, manager, token, trainers, validators, requester, deployer, settings=settings
    )
    print("successful calls:", dict(sorted(STATS.items())))
