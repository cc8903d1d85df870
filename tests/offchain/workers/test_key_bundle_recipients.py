"""Who a validator's key bundle is for, on the suite's devnet: the sealed task's other validators
that are active and have not asked to exit. A validator that leaves must stop receiving the
content keys of the task's updates, or it could read every update after it left."""

from __future__ import annotations

from integration.privacy_support import create

from offchain.chain.accounts import anvil_account
from offchain.chain.protocol import Role
from offchain.services.privacy_setup import PrivacyChoice
from offchain.storage.ipfs import IpfsStore
from offchain.workers.keyring import Keyring
from offchain.workers.opening import SealedOpener
from support import DevnetDeployment

SHARER, STAYS, LEAVES, TRAINER = 5, 6, 7, 1


def test_a_bundle_goes_to_the_other_active_validators_not_to_one_that_asked_to_exit(
    protocol: DevnetDeployment, ipfs_api: str
) -> None:
    task, _ = create(protocol, ipfs_api, PrivacyChoice("sealed"), clip=10.0)
    protocol.stake(task, (TRAINER,), (SHARER, STAYS, LEAVES))
    keyrings = {i: Keyring(protocol.manager(i), task, Role.VALIDATOR) for i in (SHARER, STAYS, LEAVES)}
    for keyring in keyrings.values():
        keyring.ensure_registered()
    with IpfsStore(ipfs_api) as store:
        opener = SealedOpener(protocol.manager(SHARER), store, keyrings[SHARER], "v5")

        def recipients() -> set[str]:
            return {r.address for r in opener.bundle_recipients()}

        everyone_else = {anvil_account(i).address.lower() for i in (STAYS, LEAVES)}
        assert recipients() == everyone_else
        protocol.manager(LEAVES).request_exit(task)
        assert recipients() == {anvil_account(STAYS).address.lower()}
