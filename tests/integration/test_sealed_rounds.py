"""A sealed task end to end on real anvil, the real IPFS node and real TensorFlow: four trainers and
two validators as separate processes, one trainer killed right after its first commit. Nothing a
trainer pins can be read by the public; a validator that registered late opens every update with
the other's key bundle, and both vote for the same receipt."""

from __future__ import annotations

from pathlib import Path

import pytest

from integration.privacy_support import (
    ROUNDS,
    TRAINERS,
    VALIDATORS,
    assert_unreadable,
    assert_victim_slashed,
    create,
    run_task,
    stake,
)
from offchain.chain.accounts import anvil_account
from offchain.chain.protocol import PrivacyMode, RoundStatus
from offchain.privacy.sealed import is_sealed, parse_header
from offchain.services.context import round_receipt
from offchain.services.local_model import LocalModel
from offchain.services.privacy_setup import PrivacyChoice
from offchain.storage.ipfs import IpfsStore
from support import DevnetDeployment


@pytest.mark.slow
def test_a_sealed_task_hides_updates_from_the_public_and_a_late_validator_opens_them_with_key_bundles(
    protocol: DevnetDeployment, ipfs_api: str, tmp_path: Path
) -> None:
    task, published = create(protocol, ipfs_api, PrivacyChoice("sealed"), clip=10.0)
    chain = protocol.manager()
    assert chain.task_params(task).privacy.mode == PrivacyMode.SEALED
    stake(protocol, task, VALIDATORS[:1])  # the second validator registers its key once round 0 runs
    run_task(protocol, tmp_path, task, late_validator=True)

    outcomes = [chain.round_outcome(task, r) for r in range(ROUNDS)]
    assert [o.status for o in outcomes] == [RoundStatus.ACCEPTED] * ROUNDS
    # Both validators voted for the same receipt in round 0, although the trainers sealed it to one.
    votes = chain.events("VoteRevealed", taskId=task, round=0)
    assert len({v.args["proposalHash"] for v in votes}) == 1 and len(votes) == len(VALIDATORS)
    bundles = chain.events("KeyBundlePublished", contract="FLPrivacy", taskId=task, round=0)
    assert anvil_account(VALIDATORS[0]).address in {b.args["validator"] for b in bundles}
    with IpfsStore(ipfs_api) as store:
        model = LocalModel(store.get(published.spec_cid).decode(), max_update_bytes=1 << 24)
        for r in range(ROUNDS):
            reveals = chain.events("UpdateRevealed", taskId=task, round=r)
            assert len(reveals) == len(TRAINERS) - 1  # the killed trainer never revealed
            for event in reveals:
                data = store.get(event.args["updateCid"], max_bytes=1 << 24)
                assert is_sealed(data)
                # Round 0 was sealed to the first validator alone: the second one's key came later.
                expected = VALIDATORS[:1] if r == 0 else VALIDATORS
                assert parse_header(data).recipients == tuple(
                    sorted(anvil_account(v).address.lower() for v in expected)
                )
            assert_unreadable(store, reveals, model.specs)
            receipt = round_receipt(chain, store, task, r, 1 << 24)
            assert receipt is not None and receipt.privacy is not None and receipt.privacy.mode == "sealed"
            assert sum(u.accepted for u in receipt.updates) == len(TRAINERS) - 1
            assert all(u.score_ppm > 0 and u.reward > 0 for u in receipt.updates)  # scores work: validators read
    assert_victim_slashed(chain, task, anvil_account(TRAINERS[0]).address)
