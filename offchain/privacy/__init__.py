"""Privacy: sealed updates, secure aggregation, differential privacy accounting."""
