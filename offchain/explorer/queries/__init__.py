"""Read side of the explorer: each function builds one page's data from the database, as plain
JSON-ready dicts that the HTML templates render and `/api/...` returns.

`store` reads the index (typed events, receipts, snapshots); the task and round pages go through
the read model (`offchain.readmodel`), as the CLI's reports do; `chain_pages` holds the rest.
Nothing here talks to the chain or IPFS.
"""

from offchain.explorer.queries.chain_pages import account, block, blocks, home, search, transaction
from offchain.explorer.queries.round_page import round_page
from offchain.explorer.queries.store import NotFound, checksum, meta, token
from offchain.explorer.queries.task_pages import task, tasks

__all__ = [
    "NotFound",
    "account",
    "block",
    "blocks",
    "checksum",
    "home",
    "meta",
    "round_page",
    "search",
    "task",
    "tasks",
    "token",
    "transaction",
]
