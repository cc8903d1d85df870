// The tests' one Merkle oracle: @openzeppelin/merkle-tree's StandardMerkleTree itself (leaf types
// address, uint256 unless the request names its "encoding"), driven by tests/merkle_oracle.py.
// Reads one JSON request per line, {"values": [[address, amountString], ...], "dump": <a tree dump
// or null>, "encoding": <leaf types or null>}, and answers one JSON line: the root, the proof of
// every value (input order) and the root of the dump reloaded.
const readline = require('readline');
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on('line', line => {
  let answer;
  try {
    const { values, dump, encoding } = JSON.parse(line);
    const tree = StandardMerkleTree.of(values, encoding || ['address', 'uint256']);
    const proofs = values.map((_, i) => tree.getProof(i));
    const loadedRoot = dump ? StandardMerkleTree.load(dump).root : null;
    answer = { root: tree.root, proofs, loadedRoot };
  } catch (err) {
    answer = { error: String(err && err.message ? err.message : err) };
  }
  // No process.exit() anywhere: it can truncate a large piped stdout.
  process.stdout.write(JSON.stringify(answer) + '\n');
});
