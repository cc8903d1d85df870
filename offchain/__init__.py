"""dfl: decentralized federated learning on Ethereum (off-chain half).

Dependency direction: cli -> workers/demo/explorer -> services -> readmodel -> {chain, storage, fl, ml}
-> {types, units, retry, errors, config}.
Only `offchain.ml` imports TensorFlow; only `offchain.chain` imports web3.
"""

__version__ = "0.1.0"
