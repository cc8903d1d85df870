"""One-shot operations on a task (publish and create it, claim, report, model lineage) and the
task context they share with the long-running trainer and validator in `offchain.workers`."""
