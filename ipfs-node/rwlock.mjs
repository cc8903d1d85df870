// A small async readers/writer lock: many `shared` holders or one `exclusive` holder.
export class RWLock {
  constructor () {
    this.readers = 0
    this.writer = false
    this.waiting = [] // { exclusive, resolve }
  }

  _grant () {
    while (this.waiting.length > 0 && !this.writer) {
      const next = this.waiting[0]
      if (next.exclusive) {
        if (this.readers > 0) return
        this.waiting.shift()
        this.writer = true
        next.resolve()
        return
      }
      this.waiting.shift()
      this.readers++
      next.resolve()
    }
  }

  _acquire (exclusive) {
    return new Promise(resolve => {
      this.waiting.push({ exclusive, resolve })
      this._grant()
    })
  }

  async shared (fn) {
    await this._acquire(false)
    try { return await fn() } finally { this.readers--; this._grant() }
  }

  async exclusive (fn) {
    await this._acquire(true)
    try { return await fn() } finally { this.writer = false; this._grant() }
  }
}
