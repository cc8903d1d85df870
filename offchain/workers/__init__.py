"""Long-running trainer and validator processes that follow a task on-chain."""
