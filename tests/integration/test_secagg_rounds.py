"""A SecAgg task with a DP budget end to end on real anvil, the real IPFS node and real TensorFlow:
four trainers and two validators as separate processes, one trainer killed right after its first
commit and never restarted, another killed right after its second commit and restarted (it reveals
and pins the masked vector it saved). The survivors' seeds remove the dropout's masks; every round's
sum is released and reports the ε spent; nothing a trainer pins can be read as weights."""

from __future__ import annotations

from pathlib import Path

import pytest

from integration.privacy_support import (
    ROUNDS,
    TRAINERS,
    assert_unreadable,
    assert_victim_slashed,
    create,
    run_task,
    stake,
)
from offchain.chain.accounts import anvil_account
from offchain.chain.protocol import PrivacyMode, RoundStatus
from offchain.privacy.secagg import MASKED_MAGIC
from offchain.services.context import round_receipt
from offchain.services.local_model import LocalModel
from offchain.services.privacy_setup import PrivacyChoice
from offchain.storage.ipfs import IpfsStore
from support import DevnetDeployment


@pytest.mark.slow
def test_a_secagg_task_with_dp_sums_masked_updates_removes_a_dropouts_masks_and_reports_epsilon(
    protocol: DevnetDeployment, ipfs_api: str, tmp_path: Path
) -> None:
    choice = PrivacyChoice("secagg", epsilon=50.0, min_contributors=3)
    task, published = create(protocol, ipfs_api, choice, clip=3.0)
    chain = protocol.manager()
    params = chain.task_params(task)
    assert params.privacy.mode == PrivacyMode.SECAGG and params.privacy.min_contributors == 3
    stake(protocol, task, ())
    run_task(protocol, tmp_path, task, restart_in_round_1=True)

    outcomes = [chain.round_outcome(task, r) for r in range(ROUNDS)]
    assert [o.status for o in outcomes] == [RoundStatus.ACCEPTED] * ROUNDS
    victim = anvil_account(TRAINERS[0]).address.lower()
    survivors = sorted(anvil_account(a).address.lower() for a in TRAINERS[1:])
    spent = []
    with IpfsStore(ipfs_api) as store:
        model = LocalModel(store.get(published.spec_cid).decode(), max_update_bytes=1 << 24)
        for r in range(ROUNDS):
            reveals = chain.events("UpdateRevealed", taskId=task, round=r)
            for event in reveals:
                assert store.get(event.args["updateCid"], max_bytes=1 << 24).startswith(MASKED_MAGIC)
            assert_unreadable(store, reveals, model.specs)
            seeds = chain.events("MaskSeedsPublished", contract="FLPrivacy", taskId=task, round=r)
            assert sorted(e.args["trainer"].lower() for e in seeds) == survivors  # one 32-byte seed each
            assert all(len(e.args["seeds"]) == 32 for e in seeds)
            receipt = round_receipt(chain, store, task, r, 1 << 24)
            assert receipt is not None and receipt.secure_sum is not None and receipt.privacy is not None
            assert receipt.secure_sum.status == "ok", receipt.secure_sum
            assert list(receipt.secure_sum.contributors) == survivors
            assert list(receipt.secure_sum.dropouts) == [victim]
            assert receipt.model != receipt.parent
            assert sorted(t for t, _ in receipt.rewards) == survivors
            spent.append(receipt.privacy.epsilon_spent_micro)
    assert 0 < spent[0] < spent[1] <= params.privacy.epsilon_budget_micro
    assert chain.epsilon_spent_micro(task) == spent[-1]
    assert_victim_slashed(chain, task, victim)
