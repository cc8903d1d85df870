"""Block explorer: an indexer of the protocol's events, blocks and transactions into SQLite, and a web app over it."""
