// The on-disk repo: blocks (blockstore-fs, keyed by multihash), pins (pins.json,
// written atomically), the node identity and a lock file against two nodes on one repo.
import fs from 'node:fs'
import path from 'node:path'
import { FsBlockstore } from 'blockstore-fs'
import * as dagPb from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { identity } from 'multiformats/hashes/identity'
import { writeFileAtomic } from './atomic.mjs'
import { loadOrCreateIdentity } from './identity.mjs'
import { RpcError, offlineNotFound } from './errors.mjs'
import { mhKey } from './cidpath.mjs'
import { RWLock } from './rwlock.mjs'

const MAX_BLOCK = 4 * 1024 * 1024 // no block we write is near this; bounds reads of foreign files

function pidAlive (pid) {
  try { process.kill(pid, 0); return true } catch (err) { return err.code === 'EPERM' }
}

function takeLock (dir) {
  const file = path.join(dir, 'repo.lock')
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx', 0o644)
      fs.writeSync(fd, `${process.pid}\n`)
      fs.closeSync(fd)
      return file
    } catch (err) {
      if (err.code !== 'EEXIST') throw err
      const other = parseInt(fs.readFileSync(file, 'utf8'), 10)
      if (Number.isInteger(other) && other !== process.pid && pidAlive(other)) {
        throw new Error(`repo ${dir} is in use by another dev node (pid ${other}); remove ${file} if that is wrong`)
      }
      fs.rmSync(file, { force: true }) // stale lock from a killed node
    }
  }
  throw new Error(`could not lock repo ${dir}`)
}

export class Repo {
  static async open (dir) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
    const repo = new Repo(dir)
    repo.lockFile = takeLock(dir)
    try {
      const versionFile = path.join(dir, 'version')
      if (!fs.existsSync(versionFile)) writeFileAtomic(versionFile, '1\n')
      repo.identity = loadOrCreateIdentity(dir)
      repo.blocks = new FsBlockstore(path.join(dir, 'blocks'))
      await repo.blocks.open()
      repo.loadPins()
    } catch (err) {
      repo.unlock()
      throw err
    }
    return repo
  }

  constructor (dir) {
    this.dir = dir
    this.pinsFile = path.join(dir, 'pins.json')
    this.pins = new Map() // cid string -> { cid, type: 'recursive' | 'direct' }
    this.lock = new RWLock() // shared: add/pin; exclusive: gc
    this.linkCache = new Map() // multihash hex -> child CIDs of a dag-pb block
  }

  unlock () {
    if (this.lockFile) {
      try {
        if (parseInt(fs.readFileSync(this.lockFile, 'utf8'), 10) === process.pid) fs.rmSync(this.lockFile, { force: true })
      } catch { /* already gone */ }
      this.lockFile = null
    }
  }

  loadPins () {
    if (!fs.existsSync(this.pinsFile)) return
    const saved = JSON.parse(fs.readFileSync(this.pinsFile, 'utf8'))
    for (const [key, v] of Object.entries(saved.pins ?? {})) {
      this.pins.set(key, { cid: CID.parse(key), type: v.type === 'direct' ? 'direct' : 'recursive' })
    }
  }

  savePins () {
    const pins = {}
    for (const [key, v] of [...this.pins.entries()].sort()) pins[key] = { type: v.type }
    writeFileAtomic(this.pinsFile, JSON.stringify({ version: 1, pins }, null, 1) + '\n')
  }

  // A blockstore view for the importer (writes) and exporter (verified reads, offline errors).
  get store () {
    const repo = this
    return {
      put: async (cid, bytes, options) => {
        await repo.blocks.put(cid, bytes, options)
        if (cid.code === dagPb.code && bytes instanceof Uint8Array) {
          if (repo.linkCache.size >= 1_000_000) repo.linkCache.clear()
          try { repo.linkCache.set(mhKey(cid), dagPb.decode(bytes).Links.map(l => l.Hash)) } catch { /* read later */ }
        }
        return cid
      },
      has: (cid) => repo.has(cid),
      async * get (cid, options) { yield await repo.getBlock(cid, options) }
    }
  }

  async has (cid) {
    if (cid.multihash.code === identity.code) return true
    return this.blocks.has(cid)
  }

  // Read a whole block, check it against its CID, translate "missing" to the offline error.
  async getBlock (cid, options) {
    if (cid.multihash.code === identity.code) return cid.multihash.digest
    if (cid.multihash.code !== sha256.code) throw offlineNotFound(cid)
    const parts = []
    let size = 0
    try {
      for await (const chunk of this.blocks.get(cid, options)) {
        size += chunk.length
        if (size > MAX_BLOCK) throw new RpcError(`block ${cid} is larger than ${MAX_BLOCK} bytes`)
        parts.push(chunk)
      }
    } catch (err) {
      if (err.name === 'NotFoundError') throw offlineNotFound(cid)
      throw err
    }
    const bytes = parts.length === 1 ? parts[0] : Buffer.concat(parts, size)
    const digest = await sha256.digest(bytes)
    if (Buffer.compare(Buffer.from(digest.digest), Buffer.from(cid.multihash.digest)) !== 0) {
      throw new RpcError(`block ${cid} in the local repo does not match its hash (corrupt repo)`)
    }
    return bytes
  }

  // Links of one block: dag-pb children, none for raw/identity. Other codecs are not produced here.
  async links (cid) {
    if (cid.code === raw.code) {
      if (!(await this.has(cid))) throw offlineNotFound(cid)
      return []
    }
    if (cid.code !== dagPb.code) throw new RpcError(`block ${cid}: codec 0x${cid.code.toString(16)} is not supported by the dev node`)
    // Blocks are immutable, so the links of a block read (and verified) once can be remembered;
    // only its presence has to be checked again (gc may have removed it since).
    const key = mhKey(cid)
    const known = this.linkCache.get(key)
    if (known) {
      if (!(await this.has(cid))) throw offlineNotFound(cid)
      return known
    }
    const links = dagPb.decode(await this.getBlock(cid)).Links.map(l => l.Hash)
    if (this.linkCache.size >= 1_000_000) this.linkCache.clear()
    this.linkCache.set(key, links)
    return links
  }

  // Visit every block of the DAG under root once (iterative, so deep DAGs cannot overflow the stack).
  async walk (root, visit, seen = new Set()) {
    const stack = [root]
    while (stack.length > 0) {
      const cid = stack.pop()
      const key = mhKey(cid)
      if (seen.has(key)) continue
      seen.add(key)
      await visit(cid)
      const children = await this.links(cid)
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i])
    }
    return seen
  }

  findPin (cid) {
    const key = mhKey(cid)
    for (const [name, p] of this.pins) if (mhKey(p.cid) === key) return { name, ...p }
    return null
  }

  async gc () {
    return this.lock.exclusive(async () => {
      const live = new Set()
      for (const p of this.pins.values()) {
        if (p.type === 'direct') { live.add(mhKey(p.cid)); continue }
        try {
          await this.walk(p.cid, () => {}, live)
        } catch (err) {
          // keep going: a damaged pin must not make gc delete everything else's blocks
          console.error(`gc: pin ${p.cid}: ${err.message}`)
        }
      }
      const doomed = []
      for await (const { cid } of this.blocks.getAll()) {
        if (!live.has(mhKey(cid))) doomed.push(cid)
      }
      const removed = []
      for (const cid of doomed) {
        await this.blocks.delete(cid)
        removed.push(CID.createV1(raw.code, cid.multihash)) // kubo reports multihash keys as raw CIDv1
      }
      return removed
    })
  }
}
