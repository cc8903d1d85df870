"""Privacy terms at task creation (the ε budget is enforced there) and FLPrivacy: keys, key
bundles, mask seeds and the ε spent so far."""

# mypy: allow-untyped-defs, allow-incomplete-defs

from __future__ import annotations

import pytest

from contract_helpers import Phase, Role, as_tuple, default_params, reverts
from offchain.privacy.budget import epsilon_micro

SEALED, SECAGG = 1, 2
ATTO = 10**18
Z = 2_851_748  # calibrated: 20 rounds at δ = 1e-5 spend ε = 8 (tests/offchain/privacy/test_budget.py)
DP_SECAGG = (SECAGG, 8_000_000, 10**13, Z, 3, 16, 0)  # mode, ε budget, δ, z, min contributors, scale bits
KEY = b"\x09" * 32


@pytest.fixture(scope="module")
def privacy(FLPrivacy, manager, deployer):
    return FLPrivacy.deploy(manager, {"from": deployer})


def _task(proto, mode_params, **overrides):
    return proto.create(privacy=mode_params, maxDeltaNormMicro=1_000_000, **overrides)


BAD = [
    ({"privacy": (3, 0, 0, 0, 0, 0, 0)}, None),  # an unknown enum value fails ABI decoding
    ({"privacy": (0, 0, 1, 0, 0, 0, 0)}, "FLTaskManagerNoiseWithoutBudget: 0, 1"),
    ({"privacy": (0, 0, 0, Z, 0, 0, 0)}, f"FLTaskManagerNoiseWithoutBudget: {Z}, 0"),
    ({"privacy": (0, 8_000_000, 0, Z, 0, 0, 0)}, "FLTaskManagerInvalidDelta: 0"),
    ({"privacy": (0, 8_000_000, ATTO, Z, 0, 0, 0)}, f"FLTaskManagerInvalidDelta: {ATTO}"),
    ({"privacy": (0, 8_000_000, 10**13, 0, 0, 0, 0)}, "FLTaskManagerZeroNoiseMultiplier"),
    ({"privacy": (SEALED, 0, 0, 0, 0, 0, 1)}, "FLTaskManagerSampleUnitWithoutBudget"),
    ({"privacy": (SECAGG, 0, 0, 0, 1, 16, 0)}, "FLTaskManagerInvalidMinContributors: 1"),
    ({"privacy": (SEALED, 0, 0, 0, 2, 0, 0)}, "FLTaskManagerInvalidMinContributors: 2"),
    ({"privacy": (SECAGG, 0, 0, 0, 2, 0, 0)}, "FLTaskManagerInvalidScaleBits: 0"),
    ({"privacy": (SECAGG, 0, 0, 0, 2, 25, 0)}, "FLTaskManagerInvalidScaleBits: 25"),
    ({"privacy": (SEALED, 0, 0, 0, 0, 16, 0)}, "FLTaskManagerInvalidScaleBits: 16"),
    ({"privacy": (SECAGG, 0, 0, 0, 2, 16, 0), "ruleId": 5, "ruleParams": []}, "FLTaskManagerRuleNeedsUpdates: 5"),
    ({"privacy": (SECAGG, 0, 0, 0, 2, 16, 0), "maxDeltaNormMicro": 0}, "FLTaskManagerPrivacyWithoutClip"),
    ({"privacy": (SEALED, 8_000_000, 10**13, Z, 0, 0, 0), "maxDeltaNormMicro": 0}, "FLTaskManagerPrivacyWithoutClip"),
]


@pytest.mark.parametrize("override,error", BAD, ids=[str(e).split(":")[0] for _, e in BAD])
def test_createTask_RevertWhen_privacy_terms_invalid(manager, requester, override, error):
    p = as_tuple(default_params(**{"maxDeltaNormMicro": 1_000_000, **override}))
    if error is None:
        with pytest.raises(Exception):  # noqa: B017 (web3 refuses to encode it, the contract never sees it)
            manager.createTask(p, {"from": requester})
        return
    with reverts(error):
        manager.createTask(p, {"from": requester})


def test_createTask_RevertWhen_the_rounds_would_spend_more_than_the_budget(manager, requester):
    spent = epsilon_micro(21, Z, 10**13)
    with reverts(f"FLTaskManagerPrivacyBudgetExceeded: {spent}, 8000000"):
        manager.createTask(
            as_tuple(default_params(numRounds=21, maxDeltaNormMicro=10**6, privacy=DP_SECAGG)), {"from": requester}
        )


def test_createTask_accepts_a_budget_that_the_rounds_spend_exactly(manager, requester, privacy):
    tx = manager.createTask(
        as_tuple(default_params(numRounds=20, maxDeltaNormMicro=10**6, privacy=DP_SECAGG)), {"from": requester}
    )
    task = tx.return_value
    assert tuple(manager.taskParams(task)["privacy"]) == DP_SECAGG
    assert privacy.privacyBound(20, Z, 10**13) == epsilon_micro(20, Z, 10**13) <= 8_000_000
    # Round 0 has started: it counts.
    assert privacy.epsilonSpentMicro(task) == epsilon_micro(1, Z, 10**13)


def test_registerKey_takes_the_keyed_role_of_each_mode_once(proto, privacy, trainers, validators):
    sealed, secagg = _task(proto, (SEALED, 0, 0, 0, 0, 0, 0)), _task(proto, (SECAGG, 0, 0, 0, 2, 16, 0))
    plain = proto.create()
    for task in (sealed, secagg, plain):
        proto.stake_all(task)
    tx = privacy.registerKey(sealed, KEY, {"from": validators[0]})
    assert tx.events["EncryptionKeyRegistered"]["role"] == Role.VALIDATOR
    key, at = privacy.encryptionKey(sealed, validators[0])
    assert key == "0x" + KEY.hex() and at == tx.timestamp
    with reverts(f"FLPrivacyKeyAlreadyRegistered: {sealed}"):
        privacy.registerKey(sealed, b"\x0a" * 32, {"from": validators[0]})
    with reverts(f"FLPrivacyRoleTakesNoKey: {sealed}, {trainers[0].address.lower()}, {Role.TRAINER}"):
        privacy.registerKey(sealed, KEY, {"from": trainers[0]})
    privacy.registerKey(secagg, KEY, {"from": trainers[0]})
    with reverts(f"FLPrivacyRoleTakesNoKey: {secagg}, {validators[0].address.lower()}, {Role.VALIDATOR}"):
        privacy.registerKey(secagg, KEY, {"from": validators[0]})
    with reverts(f"FLPrivacyWrongMode: {plain}, 0"):
        privacy.registerKey(plain, KEY, {"from": trainers[0]})
    with reverts("FLPrivacyZeroKey"):
        privacy.registerKey(secagg, b"\0" * 32, {"from": trainers[1]})


def test_registerKey_RevertWhen_a_validator_registers_once_the_rounds_keys_are_fixed(proto, privacy, validators):
    task = _task(proto, (SEALED, 0, 0, 0, 0, 0, 0))
    proto.stake_all(task)
    proto.to_phase(task, Phase.COMMIT)
    for t in proto.trainers:
        proto.commit_update(task, t)
    proto.to_phase(task, Phase.REVEAL)
    for t in proto.trainers:
        proto.reveal_update(task, t)
    proto.to_phase(task, Phase.ATTEST)
    with reverts(f"FLPrivacyWrongPhase: {task}, {Phase.ATTEST}"):
        privacy.registerKey(task, KEY, {"from": validators[0]})


def test_publishKeyBundle_only_by_active_validators_of_sealed_tasks_in_reveal_or_attest(
    proto, privacy, trainers, validators
):
    task = _task(proto, (SEALED, 0, 0, 0, 0, 0, 0))
    proto.stake_all(task)
    proto.to_phase(task, Phase.COMMIT)
    with reverts(f"FLPrivacyWrongPhase: {task}, {Phase.COMMIT}"):
        privacy.publishKeyBundle(task, "QmBundle", {"from": validators[0]})
    for t in trainers:
        proto.commit_update(task, t)
    proto.to_phase(task, Phase.REVEAL)
    tx = privacy.publishKeyBundle(task, "QmBundle", {"from": validators[0]})
    assert tx.events["KeyBundlePublished"]["bundleCid"] == "QmBundle"
    with reverts(f"FLPrivacyNotActiveValidator: {task}, {trainers[0].address.lower()}"):
        privacy.publishKeyBundle(task, "QmBundle", {"from": trainers[0]})
    for cid in ("", "Q" * 129):
        with reverts(f"FLPrivacyBadCid: {len(cid)}"):
            privacy.publishKeyBundle(task, cid, {"from": validators[0]})


def test_publishMaskSeeds_once_per_revealed_trainer_in_the_attest_phase(proto, privacy, trainers):
    task = _task(proto, (SECAGG, 0, 0, 0, 3, 16, 0))
    proto.stake_all(task)
    proto.to_phase(task, Phase.COMMIT)
    for t in trainers:
        proto.commit_update(task, t)
    proto.to_phase(task, Phase.REVEAL)
    for t in trainers[:3]:  # the fourth drops out
        proto.reveal_update(task, t)
    with reverts(f"FLPrivacyWrongPhase: {task}, {Phase.REVEAL}"):
        privacy.publishMaskSeeds(task, b"\1" * 32, {"from": trainers[0]})
    proto.to_phase(task, Phase.ATTEST)
    tx = privacy.publishMaskSeeds(task, b"\1" * 32, {"from": trainers[0]})
    assert tx.events["MaskSeedsPublished"]["seeds"] == "0x" + ("01" * 32)
    assert privacy.maskSeedsPublished(task, 0, trainers[0])
    with reverts(f"FLPrivacySeedsAlreadyPublished: {task}, 0, {trainers[0].address.lower()}"):
        privacy.publishMaskSeeds(task, b"\1" * 32, {"from": trainers[0]})
    with reverts(f"FLPrivacyNotRevealed: {task}, 0, {trainers[3].address.lower()}"):
        privacy.publishMaskSeeds(task, b"\1" * 32, {"from": trainers[3]})
    with reverts("FLPrivacyBadSeeds: 31"):
        privacy.publishMaskSeeds(task, b"\1" * 31, {"from": trainers[1]})


def test_publishMaskSeeds_RevertWhen_fewer_reveals_than_the_minimum_contributors(proto, privacy, trainers):
    task = _task(proto, (SECAGG, 0, 0, 0, 3, 16, 0))
    proto.stake_all(task)
    proto.to_phase(task, Phase.COMMIT)
    for t in trainers:
        proto.commit_update(task, t)
    proto.to_phase(task, Phase.REVEAL)
    for t in trainers[:2]:
        proto.reveal_update(task, t)
    proto.to_phase(task, Phase.ATTEST)
    with reverts(f"FLPrivacyTooFewContributors: {task}, 2, 3"):
        privacy.publishMaskSeeds(task, b"\1" * 64, {"from": trainers[0]})


def test_actions_of_the_wrong_mode_revert(proto, privacy, trainers, validators):
    sealed, secagg = _task(proto, (SEALED, 0, 0, 0, 0, 0, 0)), _task(proto, (SECAGG, 0, 0, 0, 2, 16, 0))
    with reverts(f"FLPrivacyWrongMode: {secagg}, {SECAGG}"):
        privacy.publishKeyBundle(secagg, "QmBundle", {"from": validators[0]})
    with reverts(f"FLPrivacyWrongMode: {sealed}, {SEALED}"):
        privacy.publishMaskSeeds(sealed, b"", {"from": trainers[0]})
    assert privacy.epsilonSpentMicro(sealed) == 0
    assert privacy.manager() == proto.m.address


# Gas of the privacy calls (printed; the test fails if one grows past its budget). Each reads the
# manager's views and the privacy slot of the parameter store; registerKey writes two fresh slots.
GAS_BUDGETS = {
    "registerKey": 110_000,
    "publishKeyBundle": 60_000,
    "publishMaskSeeds": 100_000,
    "createTask_dp": 800_000,  # the on-chain RDP bound over 156 orders: up to ~57k of it
}


def test_gas_of_the_privacy_calls_stays_within_budget(proto, privacy, manager, requester, trainers, validators):
    used = {}
    used["createTask_dp"] = manager.createTask(
        as_tuple(default_params(numRounds=20, maxDeltaNormMicro=10**6, privacy=DP_SECAGG)), {"from": requester}
    ).gas_used
    sealed, secagg = _task(proto, (SEALED, 0, 0, 0, 0, 0, 0)), _task(proto, (SECAGG, 0, 0, 0, 3, 16, 0))
    for task in (sealed, secagg):
        proto.stake_all(task)
    used["registerKey"] = privacy.registerKey(sealed, KEY, {"from": validators[0]}).gas_used
    proto.to_phase(sealed, Phase.COMMIT)
    for t in trainers:
        proto.commit_update(sealed, t)
    proto.to_phase(sealed, Phase.REVEAL)
    used["publishKeyBundle"] = privacy.publishKeyBundle(
        sealed, "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG", {"from": validators[0]}
    ).gas_used
    proto.to_phase(secagg, Phase.COMMIT)
    for t in trainers:
        proto.commit_update(secagg, t)
    proto.to_phase(secagg, Phase.REVEAL)
    for t in trainers[:3]:
        proto.reveal_update(secagg, t)
    proto.to_phase(secagg, Phase.ATTEST)
    used["publishMaskSeeds"] = privacy.publishMaskSeeds(secagg, b"\1" * 32, {"from": trainers[0]}).gas_used
    print("privacy gas:", used)
    assert {k: v for k, v in used.items() if v > GAS_BUDGETS[k]} == {}
