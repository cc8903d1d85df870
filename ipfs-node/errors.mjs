// Errors answered in kubo's RPC shape: {"Message": ..., "Code": n, "Type": "error"}.
// kubo's commands library uses Code 0 (ErrNormal, HTTP 500) for most failures and
// Code 1 (ErrClient, HTTP 400) for bad requests such as a missing argument.

export class RpcError extends Error {
  constructor (message, { status = 500, code = 0 } = {}) {
    super(message)
    this.name = 'RpcError'
    this.status = status
    this.code = code
  }
}

export const clientError = (message) => new RpcError(message, { status: 400, code: 1 })

export const missingArg = (name) => clientError(`argument "${name}" is required`)

export const offlineNotFound = (cid) => new RpcError(
  `block ${cid} not found locally; the dev node is offline and cannot fetch from the network`
)

export function rpcErrorBody (err) {
  return JSON.stringify({ Message: String(err.message ?? err), Code: err.code ?? 0, Type: 'error' })
}
