"""What a worker reads from IPFS that others wrote: a damaged evaluation set or a malformed winning
receipt is a one-line WorkerError (a DflError), never a ValueError traceback."""

from __future__ import annotations

import numpy as np
import pytest

from offchain.errors import DflError
from offchain.fl.receipt import KIND
from offchain.services.context import WorkerError, dump_npz_xy, load_global_model, load_npz_xy
from offchain.storage.ipfs import IpfsStore


@pytest.mark.parametrize(
    "body",
    [
        b'{"kind":"' + KIND.encode() + b'","version":1}',  # no fields
        b'{"kind":"' + KIND.encode() + b'","version":2,"task":1}',  # unknown version
        b'{"kind":"' + KIND.encode() + b'", not json',
    ],
)
def test_a_malformed_receipt_on_ipfs_is_a_worker_error_naming_its_cid(ipfs_api: str, body: bytes) -> None:
    with IpfsStore(ipfs_api) as store:
        cid = store.put(body)
        with pytest.raises(WorkerError) as raised:
            load_global_model(store, cid, 1 << 20)
    message = str(raised.value)
    assert isinstance(raised.value, DflError)
    assert cid in message and "malformed round receipt" in message and "\n" not in message


def test_a_damaged_evaluation_set_is_a_worker_error() -> None:
    good = dump_npz_xy(np.zeros((4, 3), dtype=np.float32), np.array([0, 1, 0, 1]))
    assert load_npz_xy(good)[0].shape == (4, 3)
    with pytest.raises(WorkerError, match=r"evaluation set is not an \.npz"):
        load_npz_xy(good[: len(good) // 2])
