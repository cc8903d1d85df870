// Query-string options parsed the way kubo's commands library does.
import { clientError } from './errors.mjs'

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True'])
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False'])

export class Options {
  constructor (searchParams) {
    this.q = searchParams
  }

  args () {
    return this.q.getAll('arg')
  }

  has (name) {
    return this.q.has(name)
  }

  string (name, dflt) {
    const v = this.q.get(name)
    return v == null ? dflt : v
  }

  bool (name, dflt) {
    const v = this.q.get(name)
    if (v == null) return dflt
    if (v === '' || TRUE.has(v)) return true
    if (FALSE.has(v)) return false
    throw clientError(`Could not convert value "${v}" to type "bool" (for option "-${name}")`)
  }

  int (name, dflt) {
    const v = this.q.get(name)
    if (v == null) return dflt
    if (!/^[+-]?\d{1,30}$/.test(v)) throw clientError(`Could not convert value "${v}" to type "int" (for option "-${name}")`)
    const n = Number(v)
    if (!Number.isSafeInteger(n)) throw clientError(`value "${v}" for option "-${name}" is out of range`)
    return n
  }
}
