"""stake / requestExit / withdraw: roles, minimums, freezes, locks, cooldown, completion."""

from contract_helpers import E18, Phase, Role, reverts


def test_stake_registers_and_tops_up(manager, token, proto, trainers, validators):
    task = proto.create()
    t, v = trainers[0], validators[0]
    tx = manager.stake(task, Role.TRAINER, 100 * E18, {"from": t})
    ev = tx.events["Staked"]
    assert (ev["taskId"], ev["account"], ev["role"], ev["amount"], ev["stake"]) == (
        task,
        t,
        Role.TRAINER,
        100 * E18,
        100 * E18,
    )
    tx = manager.stake(task, Role.TRAINER, 5 * E18, {"from": t})
    assert tx.events["Staked"]["stake"] == 105 * E18
    manager.stake(task, Role.VALIDATOR, 300 * E18, {"from": v})
    manager.stake(task, Role.VALIDATOR, 1 * E18, {"from": v})
    p = manager.participant(task, t)
    assert p["role"] == Role.TRAINER and p["stake"] == 105 * E18 and p["active"] and not p["exiting"]
    state = manager.taskState(task)
    assert state["activeTrainers"] == 1 and state["activeValidators"] == 1
    assert state["totalValidatorStake"] == 301 * E18
    assert token.balanceOf(manager) == 3000 * E18 + 105 * E18 + 301 * E18


def test_stake_RevertWhen_role_none(manager, task_id, trainers):
    with reverts("FLTaskManagerRoleMismatch"):
        manager.stake(task_id, Role.NONE, E18, {"from": trainers[0]})


def test_stake_RevertWhen_zero_or_too_large(manager, task_id, trainers):
    with reverts("FLTaskManagerZeroAmount"):
        manager.stake(task_id, Role.TRAINER, 0, {"from": trainers[0]})
    with reverts("FLTaskManagerAmountTooLarge"):
        manager.stake(task_id, Role.TRAINER, 2**96, {"from": trainers[0]})


def test_stake_RevertWhen_unknown_task(manager, trainers):
    with reverts("FLTaskManagerUnknownTask: 42"):
        manager.stake(42, Role.TRAINER, 100 * E18, {"from": trainers[0]})


def test_stake_RevertWhen_below_minimum(manager, proto, trainers):
    task = proto.create()
    with reverts(f"FLTaskManagerStakeBelowMinimum: {task}, {99 * E18}, {100 * E18}"):
        manager.stake(task, Role.TRAINER, 99 * E18, {"from": trainers[0]})


def test_stake_RevertWhen_other_role(manager, task_id, trainers):
    with reverts("FLTaskManagerRoleMismatch"):
        manager.stake(task_id, Role.VALIDATOR, 100 * E18, {"from": trainers[0]})


def test_stake_RevertWhen_exiting(manager, task_id, trainers):
    manager.requestExit(task_id, {"from": trainers[0]})
    with reverts("FLTaskManagerAlreadyExiting"):
        manager.stake(task_id, Role.TRAINER, E18, {"from": trainers[0]})


def test_validator_stake_frozen_during_votes(manager, proto, task_id, validators, accounts, token, deployer):
    proto.to_phase(task_id, Phase.COMMIT)
    proto.commit_update(task_id, proto.trainers[0])
    proto.to_phase(task_id, Phase.REVEAL)
    proto.reveal_update(task_id, proto.trainers[0])
    proto.to_phase(task_id, Phase.VOTE_COMMIT)
    with reverts(f"FLTaskManagerValidatorStakeFrozen: {task_id}, {Phase.VOTE_COMMIT}"):
        manager.stake(task_id, Role.VALIDATOR, E18, {"from": validators[0]})
    with reverts("FLTaskManagerValidatorStakeFrozen"):
        manager.requestExit(task_id, {"from": validators[0]})
    # trainers may still stake
    manager.stake(task_id, Role.TRAINER, E18, {"from": proto.trainers[0]})


def test_stake_RevertWhen_task_completed(manager, proto, trainers):
    task = proto.create(numRounds=1)
    proto.to_phase(task, Phase.AWAITING_FINALIZATION)
    manager.finalizeRound(task, {"from": trainers[0]})
    with reverts(f"FLTaskManagerTaskAlreadyCompleted: {task}"):
        manager.stake(task, Role.TRAINER, 100 * E18, {"from": trainers[0]})
    with reverts(f"FLTaskManagerTaskAlreadyCompleted: {task}"):
        manager.requestExit(task, {"from": trainers[0]})


def test_requestExit_leaves_active_set(manager, task_id, validators, chain):
    v = validators[0]
    tx = manager.requestExit(task_id, {"from": v})
    ev = tx.events["ExitRequested"]
    assert ev["account"] == v and ev["unlockAt"] == chain[tx.block_number].timestamp + 30
    p = manager.participant(task_id, v)
    assert p["exiting"] and not p["active"] and p["unlockAt"] == ev["unlockAt"]
    state = manager.taskState(task_id)
    assert state["activeValidators"] == 3 and state["totalValidatorStake"] == 600 * E18


def test_requestExit_RevertWhen_not_staked_or_twice(manager, task_id, trainers, accounts):
    with reverts("FLTaskManagerNotStaked"):
        manager.requestExit(task_id, {"from": accounts[9]})
    manager.requestExit(task_id, {"from": trainers[0]})
    with reverts("FLTaskManagerAlreadyExiting"):
        manager.requestExit(task_id, {"from": trainers[0]})


def test_withdraw_after_cooldown(manager, token, task_id, trainers, chain):
    t = trainers[0]
    with reverts(f"FLTaskManagerStakeLocked: {task_id}, {t.address.lower()}, 0"):
        manager.withdraw(task_id, {"from": t})
    unlock = manager.requestExit(task_id, {"from": t}).events["ExitRequested"]["unlockAt"]
    with reverts(f"FLTaskManagerStakeLocked: {task_id}, {t.address.lower()}, {unlock}"):
        manager.withdraw(task_id, {"from": t})
    chain.sleep(31)
    before = token.balanceOf(t)
    tx = manager.withdraw(task_id, {"from": t})
    assert tx.events["Withdrawn"]["amount"] == 200 * E18
    assert token.balanceOf(t) == before + 200 * E18
    assert manager.participant(task_id, t)["role"] == Role.NONE
    with reverts("FLTaskManagerNotStaked"):
        manager.withdraw(task_id, {"from": t})


def test_requestExit_RevertWhen_committed_in_the_open_round(manager, proto, task_id, trainers):
    t = trainers[0]
    proto.to_phase(task_id, Phase.COMMIT)
    proto.commit_update(task_id, t)
    with reverts(f"FLTaskManagerRoundUnsettled: {task_id}, {t.address.lower()}, 0"):
        manager.requestExit(task_id, {"from": t})


def test_withdraw_settles_slash_first(manager, proto, token, task_id, trainers, chain):
    t = trainers[0]
    proto.to_phase(task_id, Phase.COMMIT)
    proto.commit_update(task_id, t)
    proto.to_phase(task_id, Phase.AWAITING_FINALIZATION)  # never revealed
    manager.finalizeRound(task_id, {"from": t})
    manager.requestExit(task_id, {"from": t})
    chain.sleep(31)
    tx = manager.withdraw(task_id, {"from": t})
    slash = tx.events["Slashed"]
    assert slash["reason"] == 0 and slash["amount"] == 20 * E18 and slash["round"] == 0
    assert tx.events["Withdrawn"]["amount"] == 180 * E18


def test_withdraw_after_completion_waits_the_penalty_window(manager, proto, trainers, validators, chain):
    """A trainer's stake unlocks `exitCooldown` after its last round was finalized, so a penalty for that
    round can still be applied; validators, who owe no penalties, withdraw at once."""
    task = proto.create(numRounds=1)
    proto.stake_all(task)
    proto.run_round(task)
    finalized = manager.roundOutcome(task, 0)["finalizedAt"]
    assert manager.currentRound(task)[1] == Phase.COMPLETED
    with reverts(f"FLTaskManagerStakeLocked: {task}, {trainers[0].address.lower()}, {finalized + 30}"):
        manager.withdraw(task, {"from": trainers[0]})
    for v in validators:
        assert "Withdrawn" in manager.withdraw(task, {"from": v}).events
    chain.sleep(31)
    for t in trainers:
        assert manager.withdraw(task, {"from": t}).events["Withdrawn"]["amount"] == 200 * E18
    assert manager.taskState(task)["activeTrainers"] == 0
