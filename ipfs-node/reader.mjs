// Read a byte range of a UnixFS file (dag-pb + raw leaves) with back-pressure.
// The exporter's own content() walks the DAG ahead of its consumer without a bound, so a
// slow client of a large file would make it buffer the whole file; this pull-based reader
// holds at most a few blocks (the current path plus a small sibling prefetch).
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import * as raw from 'multiformats/codecs/raw'
import { RpcError } from './errors.mjs'

const PREFETCH = 4

function slice (data, pos, start, end) {
  // data covers [pos, pos + data.length); return its overlap with [start, end)
  const from = Math.max(0, start - pos)
  const to = Math.min(data.length, end - pos)
  return to > from ? data.subarray(from, to) : null
}

async function * walk (repo, cid, block, pos, start, end) {
  if (cid.code === raw.code) {
    const part = slice(block, pos, start, end)
    if (part) yield part
    return
  }
  if (cid.code !== dagPb.code) throw new RpcError(`${cid}: codec 0x${cid.code.toString(16)} is not a UnixFS file block`)
  const node = dagPb.decode(block)
  if (node.Data == null) throw new RpcError(`${cid}: dag-pb node without UnixFS data`)
  const fs = UnixFS.unmarshal(node.Data)
  if (fs.type !== 'file' && fs.type !== 'raw') throw new RpcError(`${cid}: not a file (UnixFS ${fs.type})`)
  if (fs.data != null && fs.data.length > 0) {
    const part = slice(fs.data, pos, start, end)
    if (part) yield part
    pos += fs.data.length
  }
  if (node.Links.length !== fs.blockSizes.length) throw new RpcError(`${cid}: inconsistent block sizes and links`)
  const wanted = []
  for (let i = 0; i < node.Links.length && pos < end; i++) {
    const size = Number(fs.blockSizes[i])
    if (pos + size > start) wanted.push({ cid: node.Links[i].Hash, pos })
    pos += size
  }
  const pending = []
  const fetch = (i) => {
    if (i < wanted.length && pending[i] === undefined) {
      pending[i] = repo.getBlock(wanted[i].cid)
      pending[i].catch(() => {}) // awaited below; do not report a prefetch the client abandoned
    }
  }
  for (let i = 0; i < wanted.length; i++) {
    for (let k = i; k < i + PREFETCH; k++) fetch(k)
    const childBlock = await pending[i]
    pending[i] = null
    yield * walk(repo, wanted[i].cid, childBlock, wanted[i].pos, start, end)
  }
}

// Yields the bytes [offset, offset + length) of the file at `cid`; throws if the DAG
// does not hold as many bytes as its root says.
export async function * readFile (repo, cid, offset, length) {
  if (length <= 0) return
  const root = await repo.getBlock(cid)
  let emitted = 0
  for await (const part of walk(repo, cid, root, 0, offset, offset + length)) {
    emitted += part.length
    yield part
  }
  if (emitted !== length) throw new RpcError(`${cid}: DAG holds ${emitted} bytes of the ${length} requested (inconsistent UnixFS sizes)`)
}

// Content of an exporter entry (file, raw or identity) as a back-pressured byte stream.
export function entryContent (repo, entry, offset, length) {
  if (entry.type === 'identity') return entry.content({ offset, length })
  return readFile(repo, entry.cid, offset, length)
}
