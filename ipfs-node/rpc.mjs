// The kubo RPC subset served on the api address.
import os from 'node:os'
import { once } from 'node:events'
import { exporter } from 'ipfs-unixfs-exporter'
import { RpcError, clientError, missingArg } from './errors.mjs'
import { parseIpfsPath } from './cidpath.mjs'
import { Options } from './options.mjs'
import { handleAdd } from './add.mjs'
import { entryContent } from './reader.mjs'

export const AGENT_VERSION = 'dfl-devnode/0.1.0'

function sendJson (res, obj) {
  const body = JSON.stringify(obj) + '\n'
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) })
  res.end(body)
}

// Resolve an `arg` (CID or /ipfs/ path) to an exporter entry; all failures are kubo-shaped.
export async function resolveEntry (arg, repo, signal) {
  const p = parseIpfsPath(arg)
  try {
    const entry = await exporter(p.rest.length ? p.text : p.cid, repo.store, { signal })
    // the exporter stops quietly at a file when path segments are left over
    if (p.rest.length && entry.path !== p.text) throw new RpcError(`no link named ${JSON.stringify(p.rest.join('/'))} under ${p.cid}`)
    return entry
  } catch (err) {
    if (err instanceof RpcError) throw err
    if (err.name === 'NotFoundError') throw new RpcError(`no link named ${JSON.stringify(p.rest.join('/'))} under ${p.cid}`)
    if (err.name === 'NoResolverError') throw new RpcError(`${p.cid}: codec 0x${p.cid.code.toString(16)} is not supported by the dev node`)
    throw new RpcError(`${arg}: ${err.message}`)
  }
}

export function entrySize (entry) {
  if (entry.type === 'file') return Number(entry.unixfs.fileSize())
  if (entry.type === 'raw' || entry.type === 'identity') return Number(entry.size)
  return null
}

// Write chunks with back-pressure; stops quietly if the client went away.
export async function pipeContent (res, iterable) {
  for await (const chunk of iterable) {
    if (res.destroyed) return
    if (!res.write(chunk)) {
      await Promise.race([once(res, 'drain'), once(res, 'close')])
    }
  }
}

async function cat (req, res, o, ctx) {
  const args = o.args()
  if (args.length === 0) throw missingArg('ipfs-path')
  let offset = o.int('offset', 0)
  if (offset < 0) throw new RpcError('cannot specify negative offset')
  let remaining = o.int('length', -1)
  if (o.has('length') && remaining < 0) throw new RpcError('cannot specify negative length')
  if (remaining < 0) remaining = Infinity

  const abort = new AbortController()
  res.on('close', () => abort.abort())
  // Resolve every path (root blocks must be local) before the status line goes out.
  const entries = []
  let total = 0
  for (const arg of args) {
    const entry = await resolveEntry(arg, ctx.repo, abort.signal)
    const size = entrySize(entry)
    if (size == null) throw new RpcError('this dag node is a directory')
    entries.push({ entry, size })
    total += size
  }
  const len = Math.max(0, Math.min(total - Math.min(offset, total), remaining))
  res.writeHead(200, {
    'Content-Type': 'text/plain',
    'X-Content-Length': String(len),
    'X-Stream-Output': '1',
    Trailer: 'X-Stream-Error'
  })
  try {
    for (const { entry, size } of entries) {
      if (remaining <= 0) break
      if (offset >= size) { offset -= size; continue }
      const n = Math.min(size - offset, remaining)
      await pipeContent(res, entryContent(ctx.repo, entry, offset, n))
      remaining -= n
      offset = 0
    }
    res.end()
  } catch (err) {
    // Headers are gone: report in the trailer like kubo and cut the connection so the
    // client cannot mistake a partial body for the whole file.
    ctx.log(`cat failed mid-stream: ${err.message}`)
    try { res.addTrailers({ 'X-Stream-Error': String(err.message).replace(/[\r\n]/g, ' ') }) } catch {}
    res.destroy(err)
  }
}

async function resolveCid (arg, repo) {
  const p = parseIpfsPath(arg)
  if (p.rest.length === 0) return p.cid
  return (await resolveEntry(arg, repo)).cid
}

async function pinAdd (req, res, o, ctx) {
  const args = o.args()
  if (args.length === 0) throw missingArg('ipfs-path')
  const recursive = o.bool('recursive', true)
  const repo = ctx.repo
  const pinned = await repo.lock.shared(async () => {
    const cids = []
    for (const arg of args) {
      const cid = await resolveCid(arg, repo)
      if (recursive) {
        await repo.walk(cid, () => {}) // every block must be local (and verifies each hash)
      } else {
        await repo.getBlock(cid)
      }
      cids.push(cid)
    }
    for (const cid of cids) {
      const existing = repo.findPin(cid)
      if (existing?.type === 'recursive' && !recursive) {
        throw new RpcError(`${cid} already pinned recursively`)
      }
      if (existing) repo.pins.delete(existing.name)
      repo.pins.set(cid.toString(), { cid, type: recursive ? 'recursive' : 'direct' })
    }
    repo.savePins()
    return cids
  })
  sendJson(res, { Pins: pinned.map(String) })
}

const PIN_TYPES = ['direct', 'indirect', 'recursive', 'all']

async function pinLs (req, res, o, ctx) {
  const type = o.string('type', 'all')
  if (!PIN_TYPES.includes(type)) throw new RpcError(`invalid type '${type}', must be one of {direct, indirect, recursive, all}`)
  const stream = o.bool('stream', false)
  const repo = ctx.repo
  const keys = {}
  const args = o.args()
  const recursivePins = [...repo.pins.values()].filter(p => p.type === 'recursive')

  if (args.length > 0) {
    for (const arg of args) {
      const cid = await resolveCid(arg, repo)
      const pin = repo.findPin(cid)
      if (pin && (type === 'all' || type === pin.type)) {
        keys[pin.cid.toString()] = { Type: pin.type }
        continue
      }
      let through = null
      if (type === 'all' || type === 'indirect') {
        const key = Buffer.from(cid.multihash.bytes).toString('hex')
        for (const p of recursivePins) {
          const seen = await repo.walk(p.cid, () => {}).catch(() => new Set())
          if (seen.has(key) && !(pin && pin.cid.equals(p.cid))) { through = p.cid; break }
        }
      }
      if (through) keys[cid.toString()] = { Type: `indirect through ${through}` }
      else if (pin) throw new RpcError(`path '${arg}' is not pinned as ${type}`)
      else throw new RpcError(`path '${arg}' is not pinned`)
    }
  } else {
    for (const p of repo.pins.values()) {
      if (type === 'all' || type === p.type) keys[p.cid.toString()] = { Type: p.type }
    }
    if (type === 'all' || type === 'indirect') {
      const pinnedKeys = new Set([...repo.pins.values()].map(p => Buffer.from(p.cid.multihash.bytes).toString('hex')))
      for (const p of recursivePins) {
        const children = []
        await repo.walk(p.cid, (cid) => { children.push(cid) }).catch(err => ctx.log(`pin ls: ${p.cid}: ${err.message}`))
        for (const c of children) {
          const k = Buffer.from(c.multihash.bytes).toString('hex')
          if (!pinnedKeys.has(k) && keys[c.toString()] === undefined) keys[c.toString()] = { Type: 'indirect' }
        }
      }
    }
  }
  if (stream) {
    const body = Object.entries(keys).map(([k, v]) => JSON.stringify({ Cid: k, Type: v.Type }) + '\n').join('')
    res.writeHead(200, { 'Content-Type': 'application/json', 'X-Chunked-Output': '1', 'Content-Length': Buffer.byteLength(body) })
    res.end(body)
    return
  }
  sendJson(res, { Keys: keys })
}

async function pinRm (req, res, o, ctx) {
  const args = o.args()
  if (args.length === 0) throw missingArg('ipfs-path')
  const recursive = o.bool('recursive', true)
  const repo = ctx.repo
  const removed = await repo.lock.shared(async () => {
    const found = []
    for (const arg of args) {
      const cid = await resolveCid(arg, repo)
      const pin = repo.findPin(cid)
      if (!pin) throw new RpcError(`${cid} is not pinned or pinned indirectly`)
      if (pin.type === 'recursive' && !recursive) throw new RpcError(`${cid} is pinned recursively`)
      found.push(pin)
    }
    for (const pin of found) repo.pins.delete(pin.name)
    repo.savePins()
    return found.map(p => p.cid.toString())
  })
  sendJson(res, { Pins: removed })
}

async function repoGc (req, res, o, ctx) {
  const removed = await ctx.repo.gc()
  const quiet = o.bool('quiet', false)
  const body = quiet ? '' : removed.map(c => JSON.stringify({ Key: { '/': c.toString() } }) + '\n').join('')
  res.writeHead(200, { 'Content-Type': 'application/json', 'X-Chunked-Output': '1', 'Content-Length': Buffer.byteLength(body) })
  res.end(body)
}

async function id (req, res, o, ctx) {
  const args = o.args()
  if (args.length > 0 && args[0] !== ctx.repo.identity.id) {
    throw new RpcError(`peer ${args[0]} cannot be looked up: the dev node is offline`)
  }
  sendJson(res, {
    ID: ctx.repo.identity.id,
    PublicKey: ctx.repo.identity.publicKey,
    Addresses: [],
    AgentVersion: AGENT_VERSION,
    ProtocolVersion: 'ipfs/0.1.0',
    Protocols: []
  })
}

async function version (req, res, o, ctx) {
  sendJson(res, {
    Version: '0.38.0',
    Commit: 'dfl-devnode',
    Repo: '16',
    System: `${process.arch === 'x64' ? 'amd64' : process.arch}/${os.platform()}`,
    Golang: `n/a (Node ${process.version})`
  })
}

const ROUTES = {
  '/api/v0/add': handleAdd,
  '/api/v0/cat': cat,
  '/api/v0/pin/add': pinAdd,
  '/api/v0/pin/ls': pinLs,
  '/api/v0/pin/rm': pinRm,
  '/api/v0/repo/gc': repoGc,
  '/api/v0/id': id,
  '/api/v0/version': version
}

const MAX_IGNORED_BODY = 1 << 20

// Like kubo with its default config: a browser page from another origin may not drive the
// RPC API (it can add, pin and gc); requests without Origin/Referer (CLI, scripts) are fine.
function crossOrigin (req, ctx) {
  for (const h of ['origin', 'referer']) {
    const v = req.headers[h]
    if (v === undefined) continue
    let origin
    try { origin = new URL(v) } catch { return true }
    const host = origin.hostname.replace(/^\[|\]$/g, '')
    const local = ['127.0.0.1', 'localhost', '::1'].includes(host) || host === ctx.apiHost
    if (!local || Number(origin.port || (origin.protocol === 'https:' ? 443 : 80)) !== ctx.apiPort) return true
  }
  return false
}

export async function handleApi (req, res, ctx) {
  const url = new URL(req.url, 'http://localhost')
  if (crossOrigin(req, ctx)) {
    req.resume()
    res.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8' })
    res.end('403 - Forbidden\n')
    return
  }
  const route = ROUTES[url.pathname.replace(/\/+$/, '')]
  if (!route) {
    req.resume()
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' })
    res.end('404 page not found\n')
    return
  }
  if (req.method !== 'POST') {
    req.resume()
    res.writeHead(405, { 'Content-Type': 'text/plain; charset=utf-8', Allow: 'POST' })
    res.end('405 - Method Not Allowed\n')
    return
  }
  if (route !== handleAdd) {
    // these endpoints take no body: refuse a big declared one, discard anything else
    if (Number(req.headers['content-length'] ?? 0) > MAX_IGNORED_BODY) {
      const err = new RpcError(`request body too large for ${url.pathname} (it takes no body)`, { status: 413, code: 1 })
      err.closeConnection = true
      throw err
    }
    req.resume()
  }
  await route(req, res, new Options(url.searchParams), ctx)
}

export { clientError }
