"""Local dev services: anvil and the IPFS dev node as background processes."""
