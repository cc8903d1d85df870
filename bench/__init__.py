"""Benchmarks: this system against Flower and centralized training, robustness, gas and scale."""
