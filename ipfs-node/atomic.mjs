import fs from 'node:fs'
import path from 'node:path'

// Write a file so that readers see either the old or the new content, never a torn one.
export function writeFileAtomic (file, data, mode = 0o644) {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`)
  const fd = fs.openSync(tmp, 'w', mode)
  try {
    fs.writeSync(fd, data)
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
  fs.renameSync(tmp, file)
  try {
    const dfd = fs.openSync(path.dirname(file), 'r')
    try { fs.fsyncSync(dfd) } finally { fs.closeSync(dfd) }
  } catch { /* directory fsync is best effort */ }
}
