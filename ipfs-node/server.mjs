#!/usr/bin/env node
// dfl IPFS dev node: a kubo-RPC-compatible, offline IPFS node for local development.
//   node ipfs-node/server.mjs --repo DIR --api HOST:PORT --gateway HOST:PORT
// Prints `READY api=http://HOST:PORT gateway=http://HOST:PORT` once both listeners are up.
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { Repo } from './repo.mjs'
import { handleApi } from './rpc.mjs'
import { handleGateway } from './gateway.mjs'
import { RpcError, rpcErrorBody } from './errors.mjs'

const USAGE = `usage: server.mjs [--repo DIR] [--api HOST:PORT] [--gateway HOST:PORT] [--max-upload-bytes N]
  defaults: --repo ~/.dfl/ipfs --api 127.0.0.1:5001 --gateway 127.0.0.1:8080`

function parseArgs (argv) {
  const out = {
    repo: path.join(os.homedir(), '.dfl', 'ipfs'),
    api: '127.0.0.1:5001',
    gateway: '127.0.0.1:8080',
    maxUploadBytes: 8 * 1024 ** 3
  }
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i]
    let v
    if (a.includes('=')) [a, v] = [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
    const value = () => {
      if (v !== undefined) return v
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`)
      return argv[++i]
    }
    if (a === '--repo') out.repo = path.resolve(value())
    else if (a === '--api') out.api = value()
    else if (a === '--gateway') out.gateway = value()
    else if (a === '--max-upload-bytes') out.maxUploadBytes = Number(value())
    else if (a === '-h' || a === '--help') { process.stdout.write(USAGE + '\n'); process.exit(0) } else throw new Error(`unknown argument ${a}\n${USAGE}`)
  }
  if (!Number.isSafeInteger(out.maxUploadBytes) || out.maxUploadBytes <= 0) throw new Error('--max-upload-bytes must be a positive integer')
  return out
}

// "HOST:PORT", "[v6]:PORT" or a multiaddr "/ip4/HOST/tcp/PORT"
function parseHostPort (s) {
  let m = /^\/ip[46]\/([^/]+)\/tcp\/(\d+)(\/http)?$/.exec(s)
  if (!m) m = /^\[([^\]]+)\]:(\d+)$/.exec(s)
  if (!m) m = /^([^:]+):(\d+)$/.exec(s)
  if (!m) throw new Error(`bad address ${JSON.stringify(s)}: want HOST:PORT`)
  const port = Number(m[2])
  if (port > 65535) throw new Error(`bad port in ${s}`)
  return { host: m[1], port }
}

const log = (msg) => process.stderr.write(`${new Date().toISOString()} ${msg}\n`)

function makeServer (name, handler, ctx) {
  const server = http.createServer({
    maxHeaderSize: 16 * 1024,
    headersTimeout: 30_000,
    requestTimeout: 0, // uploads may be long; idle sockets are cut by setTimeout below
    keepAliveTimeout: 5_000
  }, (req, res) => {
    const t0 = Date.now()
    res.on('close', () => {
      const status = res.writableFinished ? res.statusCode : `${res.statusCode}(aborted)`
      log(`${name} ${req.method} ${String(req.url).slice(0, 200)} ${status} ${Date.now() - t0}ms`)
    })
    Promise.resolve().then(() => handler(req, res, ctx)).catch(err => {
      if (!(err instanceof RpcError)) log(`${name} error: ${err.stack ?? err}`)
      else log(`${name} error: ${err.message}`)
      try {
        if (res.headersSent) { res.destroy(); return }
        const body = rpcErrorBody(err instanceof RpcError ? err : new RpcError(err.message ?? String(err)))
        const headers = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }
        if (err.closeConnection) headers.Connection = 'close'
        res.writeHead(err.status ?? 500, headers)
        res.end(body)
      } catch (e) {
        res.destroy()
      }
    })
  })
  server.setTimeout(120_000, (socket) => socket.destroy())
  server.on('clientError', (err, socket) => {
    log(`${name} client error: ${err.code ?? ''} ${err.message}`)
    if (!socket.writable || err.code === 'ECONNRESET') return socket.destroy()
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request'
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
  })
  return server
}

function listen (server, { host, port }) {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      const a = server.address()
      const h = a.family === 'IPv6' || a.family === 6 ? `[${a.address}]` : a.address
      resolve(`http://${h}:${a.port}`)
    })
  })
}

async function main () {
  const args = parseArgs(process.argv.slice(2))
  const apiAddr = parseHostPort(args.api)
  const gwAddr = parseHostPort(args.gateway)
  const repo = await Repo.open(args.repo)
  const ctx = { repo, log, maxUploadBytes: args.maxUploadBytes }
  const api = makeServer('api', handleApi, ctx)
  const gateway = makeServer('gateway', handleGateway, ctx)
  let stopping = false
  const stop = (sig) => {
    if (stopping) return
    stopping = true
    log(`${sig}: shutting down`)
    const force = setTimeout(() => { api.closeAllConnections(); gateway.closeAllConnections() }, 2000)
    force.unref()
    let open = 2
    const closed = () => {
      if (--open > 0) return
      repo.unlock()
      process.exit(0)
    }
    api.close(closed)
    gateway.close(closed)
    api.closeIdleConnections()
    gateway.closeIdleConnections()
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('exit', () => repo.unlock())
  let apiUrl, gwUrl
  try {
    apiUrl = await listen(api, apiAddr)
    ctx.apiHost = apiAddr.host
    ctx.apiPort = api.address().port
    gwUrl = await listen(gateway, gwAddr)
  } catch (err) {
    repo.unlock()
    throw err
  }
  log(`repo ${repo.dir}, peer ${repo.identity.id}`)
  process.stdout.write(`READY api=${apiUrl} gateway=${gwUrl}\n`)
}

process.on('uncaughtException', (err) => log(`uncaught exception (node keeps running): ${err.stack ?? err}`))
process.on('unhandledRejection', (err) => log(`unhandled rejection (node keeps running): ${err?.stack ?? err}`))

main().catch(err => {
  log(`fatal: ${err.message}`)
  process.exitCode = 1
  setImmediate(() => process.exit(1))
})
