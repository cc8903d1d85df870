"""IPFS storage: CID computation and the kubo-RPC client."""
