// POST /api/v0/add: stream multipart file parts through the UnixFS importer with kubo's
// default DAG parameters (fixed 256 KiB chunks, balanced layout, 174 links per node).
import { Readable } from 'node:stream'
import busboy from 'busboy'
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import { RpcError, clientError, missingArg } from './errors.mjs'

const KUBO_MAX_CHUNK = 1024 * 1024 // kubo's chunker limit
const FIELD_LIMIT = 1024 * 1024

function addOptions (o) {
  const cidVersion = o.int('cid-version', 0)
  if (cidVersion !== 0 && cidVersion !== 1) throw new RpcError(`unknown CID version: ${cidVersion}`)
  const hash = o.string('hash', 'sha2-256')
  if (hash !== 'sha2-256') throw new RpcError(`hash function "${hash}" is not supported by the dev node (only sha2-256)`)
  const chunker = o.string('chunker', 'size-262144')
  const m = /^size-(\d{1,10})$/.exec(chunker)
  if (!m && chunker !== 'default') {
    throw new RpcError(`chunker "${chunker}" is not supported by the dev node (only "size-N", default size-262144)`)
  }
  const chunkSize = m ? Number(m[1]) : 262144
  if (chunkSize <= 0) throw new RpcError('chunker size must be greater than 0')
  if (chunkSize > KUBO_MAX_CHUNK) throw new RpcError(`chunker parameters may not exceed the maximum chunk size of ${KUBO_MAX_CHUNK}`)
  for (const name of ['trickle', 'wrap-with-directory', 'inline', 'nocopy', 'raw-leaves-only', 'to-files']) {
    if (o.bool(name, false)) throw new RpcError(`option "${name}" is not supported by the dev node`)
  }
  return {
    pin: o.bool('pin', true),
    onlyHash: o.bool('only-hash', false),
    quieter: o.bool('quieter', false),
    cidVersion,
    // kubo: CIDv1 implies raw leaves unless raw-leaves is given explicitly
    rawLeaves: o.bool('raw-leaves', cidVersion === 1),
    chunkSize
  }
}

function decodeFilename (name) {
  if (!name) return ''
  try { return decodeURIComponent(name.replace(/\+/g, ' ')) } catch { return name }
}

// Read and discard the rest of a request body, up to `cap` bytes; resolves true if it ended.
function drain (req, cap) {
  return new Promise(resolve => {
    if (req.readableEnded || req.destroyed) return resolve(req.readableEnded)
    let seen = 0
    const done = (ok) => { req.off('data', onData); resolve(ok) }
    const onData = (chunk) => {
      seen += chunk.length
      if (seen > cap) done(false)
    }
    req.on('data', onData)
    req.once('end', () => done(true))
    req.once('close', () => done(req.readableEnded))
    req.once('error', () => done(false))
    req.resume()
  })
}

export async function handleAdd (req, res, o, ctx) {
  const opts = addOptions(o)
  const ct = req.headers['content-type'] ?? ''
  if (!/^multipart\/form-data\b/i.test(ct)) {
    await drain(req, 1 << 20)
    throw missingArg('path')
  }
  const store = opts.onlyHash ? { put: async (cid) => cid } : ctx.repo.store
  const importerOptions = {
    cidVersion: opts.cidVersion,
    rawLeaves: opts.rawLeaves,
    reduceSingleLeafToSelf: true,
    chunker: fixedSize({ chunkSize: opts.chunkSize }),
    layout: balanced({ maxChildrenPerNode: 174 }),
    fileImportConcurrency: 1,
    blockWriteConcurrency: 8
  }

  const run = async () => {
    const results = await parseAndImport(req, ctx, store, importerOptions)
    if (results.length === 0) throw missingArg('path')
    if (opts.pin && !opts.onlyHash) {
      let changed = false
      for (const r of results) {
        const existing = ctx.repo.findPin(r.cid)
        if (existing?.type === 'recursive') continue
        if (existing) ctx.repo.pins.delete(existing.name)
        ctx.repo.pins.set(r.cid.toString(), { cid: r.cid, type: 'recursive' })
        changed = true
      }
      if (changed) ctx.repo.savePins()
    }
    return results
  }
  // only-hash writes nothing, so it does not need to hold off gc
  const results = opts.onlyHash ? await run() : await ctx.repo.lock.shared(run)

  const shown = opts.quieter ? results.slice(-1) : results
  const body = shown.map(r => JSON.stringify({ Name: r.name || r.cid.toString(), Hash: r.cid.toString(), Size: String(r.size) }) + '\n').join('')
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'X-Chunked-Output': '1',
    'Content-Length': Buffer.byteLength(body)
  })
  res.end(body)
}

function parseAndImport (req, ctx, store, importerOptions) {
  return new Promise((resolve, reject) => {
    let bb
    try {
      bb = busboy({
        headers: req.headers,
        defParamCharset: 'utf8',
        defCharset: 'latin1',
        preservePath: true,
        limits: { fileSize: ctx.maxUploadBytes + 1, // busboy flags a file that merely reaches the limit
                  files: 1000, fields: 100, fieldSize: FIELD_LIMIT, parts: 1100, headerPairs: 32 }
      })
    } catch (err) {
      drain(req, 1 << 20).then(() => reject(clientError(`invalid multipart request: ${err.message}`)))
      return
    }
    const results = []
    let chain = Promise.resolve()
    let failure = null
    let current = null
    let parsed = false
    let settled = false

    const finish = async () => {
      if (settled) return
      settled = true
      await chain.catch(() => {})
      if (failure) {
        req.unpipe(bb)
        // read the rest of the body before answering, so the client sees the error and not a reset
        const ended = await drain(req, 64 << 20)
        if (!ended) failure.closeConnection = true
        reject(failure)
      } else {
        resolve(results)
      }
    }
    const fail = (err) => {
      if (!failure) failure = err
      if (current && !current.destroyed) current.destroy(err)
      finish()
    }

    const importPart = (name, stream) => {
      chain = chain.then(async () => {
        if (failure) { stream.resume(); return }
        current = stream
        let last = null
        try {
          for await (const entry of importer({ content: stream }, store, importerOptions)) last = entry
        } finally {
          current = null
        }
        if (stream.truncated) throw new RpcError(`file "${name}" exceeds the dev node's upload limit of ${ctx.maxUploadBytes} bytes`)
        if (last == null) throw new RpcError('importer produced no result')
        results.push({ name, cid: last.cid, size: last.size })
      }).catch(err => {
        stream.resume()
        fail(err instanceof RpcError ? err : new RpcError(`add failed: ${err.message}`))
      })
    }

    bb.on('file', (field, stream, info) => {
      if (failure) { stream.resume(); return }
      const name = decodeFilename(info.filename)
      if (info.mimeType === 'application/x-directory') {
        stream.resume()
        fail(new RpcError('directory uploads are not supported by the dev node; add files one at a time'))
        return
      }
      if (name.includes('/')) {
        stream.resume()
        fail(new RpcError(`file name "${name}" contains a directory; directories are not supported by the dev node`))
        return
      }
      importPart(name, stream)
    })
    // kubo treats every part as a file, named or not; busboy hands unnamed, non-octet-stream
    // parts over as (latin1-decoded, so lossless) fields
    bb.on('field', (field, value, info) => {
      if (failure) return
      if (info.valueTruncated) {
        fail(clientError(`a multipart part without a filename may hold at most ${FIELD_LIMIT} bytes; give it a filename`))
        return
      }
      importPart('', Readable.from([Buffer.from(value, 'latin1')]))
    })
    bb.on('partsLimit', () => fail(clientError('too many parts in multipart request')))
    bb.on('filesLimit', () => fail(clientError('too many files in multipart request')))
    bb.on('fieldsLimit', () => fail(clientError('too many fields in multipart request')))
    bb.on('error', (err) => fail(clientError(`invalid multipart body: ${err.message}`)))
    bb.on('close', () => { parsed = true; finish() })
    req.on('close', () => {
      if (!req.readableEnded && !parsed) fail(clientError('upload aborted: the request body ended early'))
    })
    req.on('error', (err) => fail(clientError(`upload failed: ${err.message}`)))
    req.pipe(bb)
  })
}
