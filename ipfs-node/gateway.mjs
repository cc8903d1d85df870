// Read-only path gateway: GET/HEAD /ipfs/<cid>[/path].
import { RpcError } from './errors.mjs'
import { parseIpfsPath } from './cidpath.mjs'
import { resolveEntry, entrySize, pipeContent } from './rpc.mjs'
import { entryContent } from './reader.mjs'

function text (res, status, msg, extra = {}) {
  const body = msg + '\n'
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), ...extra })
  res.end(res.req.method === 'HEAD' ? undefined : body)
}

// Single "bytes=a-b" ranges only; anything else is served whole.
function parseRange (header, size) {
  const m = /^bytes=(\d*)-(\d*)$/.exec((header ?? '').trim())
  if (!m || (m[1] === '' && m[2] === '')) return null
  let start, end
  if (m[1] === '') {
    const suffix = Number(m[2])
    start = Math.max(0, size - suffix)
    end = size - 1
  } else {
    start = Number(m[1])
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)
  }
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start > end || start >= size) return { invalid: true }
  return { start, end }
}

export async function handleGateway (req, res, ctx) {
  req.resume()
  res.setHeader('Access-Control-Allow-Origin', '*')
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return text(res, 405, '405 - Method Not Allowed', { Allow: 'GET, HEAD' })
  }
  const url = new URL(req.url, 'http://localhost')
  let pathname
  try { pathname = decodeURIComponent(url.pathname) } catch { return text(res, 400, 'invalid path encoding') }
  if (!pathname.startsWith('/ipfs/')) return text(res, 404, '404 page not found')

  const abort = new AbortController()
  res.on('close', () => abort.abort())
  let entry
  try {
    const p = parseIpfsPath(pathname)
    entry = await resolveEntry(pathname, ctx.repo, abort.signal)
    entry.ipfsPath = '/ipfs/' + p.text
  } catch (err) {
    const msg = String(err.message ?? err)
    if (msg.startsWith('invalid path')) return text(res, 400, msg)
    if (err instanceof RpcError) return text(res, 404, msg)
    throw err
  }
  const size = entrySize(entry)
  if (size == null) return text(res, 400, `${entry.ipfsPath} is a directory; directory listings are not supported by the dev node gateway`)

  const etag = `"${entry.cid}"`
  const headers = {
    'Content-Type': 'application/octet-stream',
    'X-Ipfs-Path': entry.ipfsPath,
    'X-Ipfs-Roots': String(entry.cid),
    Etag: etag,
    'Cache-Control': 'public, max-age=29030400, immutable',
    'Accept-Ranges': 'bytes'
  }
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers)
    return res.end()
  }
  let start = 0
  let length = size
  let status = 200
  if (req.headers.range) {
    const r = parseRange(req.headers.range, size)
    if (r?.invalid) return text(res, 416, 'requested range not satisfiable', { 'Content-Range': `bytes */${size}` })
    if (r) {
      start = r.start
      length = r.end - r.start + 1
      status = 206
      headers['Content-Range'] = `bytes ${r.start}-${r.end}/${size}`
    }
  }
  headers['Content-Length'] = String(length)
  res.writeHead(status, headers)
  if (req.method === 'HEAD' || length === 0) return res.end()
  try {
    await pipeContent(res, entryContent(ctx.repo, entry, start, length))
    res.end()
  } catch (err) {
    ctx.log(`gateway: ${entry.ipfsPath}: failed mid-stream: ${err.message}`)
    res.destroy(err)
  }
}
