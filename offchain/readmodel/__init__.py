"""The protocol's read model: pure functions over a task's decoded events and round receipts.

What happened in a task, computed once for every reader: the global model G_r of a round and the
receipt that won it (`models`), a round's updates, votes, slashes and tally (`rounds`), the
validators a round counted on (`validators`), and each participant's totals (`participants`).
The chain client, the workers, the CLI reports, the explorer and the demo summary all read
through here; nothing here does I/O (callers bring a `TaskLog` and the receipts).
"""
