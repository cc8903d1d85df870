"""Ethereum access (the only package that imports web3): accounts, transactions, views, events."""
