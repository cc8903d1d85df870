// Oracle for tests: build an OpenZeppelin StandardMerkleTree from stdin JSON
// {"values": [[address, amountString], ...], "encoding": ["address", "uint256"]}
// (encoding optional, that by default) and print its root, the proof of every
// value (input order) and the root of the Python dump reloaded.
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', chunk => { input += chunk; });
process.stdin.on('end', () => {
  const { values, dump, encoding } = JSON.parse(input);
  const tree = StandardMerkleTree.of(values, encoding || ['address', 'uint256']);
  const proofs = values.map((_, i) => tree.getProof(i));
  const loadedRoot = dump ? StandardMerkleTree.load(dump).root : null;
  // No process.exit(): it can truncate a large piped stdout.
  process.stdout.write(JSON.stringify({ root: tree.root, proofs, loadedRoot }));
});
