// Parsing of CIDs and /ipfs/ paths as kubo accepts them in `arg`.
import { CID } from 'multiformats/cid'
import { bases } from 'multiformats/basics'
import { RpcError } from './errors.mjs'

// One decoder that understands every multibase prefix multiformats ships.
const anyBase = Object.values(bases).map(b => b.decoder).reduce((a, b) => a.or(b))

const MAX_PATH = 4096

export function parseCid (text) {
  if (text.length > 200) throw new Error('CID too long')
  if (text.startsWith('Qm') || text.startsWith('1')) return CID.parse(text)
  return CID.parse(text, anyBase)
}

// Accepts "<cid>", "<cid>/sub/path", "/ipfs/<cid>", "/ipfs/<cid>/sub/path".
// Returns { cid, rest: ['sub', 'path'], text } or throws kubo's `invalid path` error.
export function parseIpfsPath (arg) {
  const invalid = (why) => new RpcError(`invalid path ${JSON.stringify(arg)}: ${why}`)
  if (typeof arg !== 'string' || arg.length === 0) throw invalid('path is empty')
  if (arg.length > MAX_PATH) throw invalid('path is too long')
  let p = arg
  if (p.startsWith('/ipns/')) throw invalid('IPNS names cannot be resolved by the offline dev node')
  if (p.startsWith('/ipfs/')) p = p.slice('/ipfs/'.length)
  else if (p.startsWith('/')) throw invalid('unsupported path namespace')
  const parts = p.split('/').filter(s => s.length > 0)
  if (parts.length === 0) throw invalid('path does not have enough components')
  let cid
  try {
    cid = parseCid(parts[0])
  } catch (err) {
    throw invalid(`invalid cid: ${err.message}`)
  }
  for (const seg of parts.slice(1)) {
    if (seg === '.' || seg === '..') throw invalid('path contains "." or ".." segments')
  }
  return { cid, rest: parts.slice(1), text: [cid.toString(), ...parts.slice(1)].join('/') }
}

export function mhKey (cid) {
  // blocks are keyed by multihash (like kubo's blockstore); hex is a fine map key
  return Buffer.from(cid.multihash.bytes).toString('hex')
}
