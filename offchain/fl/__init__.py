"""Deterministic federated-learning arithmetic: codec, acceptance, rules, rewards, Merkle.

Pure numpy and hashing; no I/O, no TensorFlow, no web3.
"""
